//! Host calls with arbitrary arguments: every host call (and an unknown
//! one), with registers holding random values, edge addresses and
//! pointers to random bytes, either completes or stops the run with a
//! report that names the pc. It never panics, on any engine, with the
//! cycle model off or on.

mod common;

use common::asm::ECALL;
use common::rig::*;
use proptest::prelude::*;
use zkjit::platform::reg;
use zkjit::{Mode, Stop};

/// Where arguments point when they point at random bytes.
const JUNK: u32 = 0x0040_0000;

fn value() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(4),
        Just(0xffff),
        Just(0x1_0000),
        Just(0xbfff_fffc),
        Just(0xc000_0000),
        Just(0xffff_fffc),
        Just(u32::MAX),
        Just(JUNK),
        Just(JUNK / 4),
        (0u32..4096).prop_map(|k| JUNK + k),
        any::<u32>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_host_call_completes_or_stops_with_a_report(
        call in prop_oneof![0u32..=5, Just(6), any::<u32>()],
        args in proptest::collection::vec(value(), 8),
        junk in proptest::collection::vec(any::<u32>(), 64),
        engine in proptest::sample::select(ENGINES.to_vec()),
    ) {
        let mut m = rig(engine, Mode::Machine, &[ECALL]);
        for (k, word) in junk.iter().enumerate() {
            m.mem.store_u32(JUNK + 4 * k as u32, *word);
        }
        // A blob header that is not absurd half of the time.
        if junk[0] % 2 == 0 {
            m.mem.store_u32(JUNK, junk[1] % 64);
            m.mem.store_u32(JUNK + 4, junk[2] % 64);
            m.mem.store_u32(JUNK + 8, junk[3] % 64);
        }
        let regs = [reg::A0, reg::A1, reg::A2, reg::A3, reg::A4, reg::T0, reg::T1, reg::T2];
        for (r, v) in regs.iter().zip(&args) {
            m.set_reg(*r, *v);
        }
        m.set_reg(reg::T3, args[0] ^ args[1]);
        m.set_reg(reg::A7, call);
        match m.steps(1) {
            Ok(()) => {}
            Err(Stop::HostCall { pc, message }) => {
                prop_assert_eq!(pc, CODE);
                prop_assert!(!message.is_empty());
            }
            Err(Stop::Unsupported { pc, .. }) => prop_assert_eq!(pc, CODE),
            Err(Stop::GuestPanic(_) | Stop::Io(_) | Stop::SegmentOverflow { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected stop {:?}", other),
        }
    }
}
