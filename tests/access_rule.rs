//! The one access rule and what runs agree: on the edge addresses of every
//! mode's memory, a load or store (alone, or one of a group from the same
//! base register, which translated code checks together) faults exactly
//! when `Mode::may_access` says, or is misaligned exactly when its address
//! is, on the interpreter and in translated code, with the cycle model off
//! and on (its pages cold or already loaded).

mod common;

use common::asm::*;
use common::rig::*;
use zkjit::cycle_model::Access;
use zkjit::platform::MEPC_ADDR;
use zkjit::{Mode, Stop, TrapCause};

/// One load or store kind: its funct3 and its size in bytes.
#[derive(Clone, Copy, Debug)]
struct Kind {
    store: bool,
    funct3: u32,
    size: u32,
}

const KINDS: [Kind; 8] = [
    Kind {
        store: false,
        funct3: 0,
        size: 1,
    }, // lb
    Kind {
        store: false,
        funct3: 4,
        size: 1,
    }, // lbu
    Kind {
        store: false,
        funct3: 1,
        size: 2,
    }, // lh
    Kind {
        store: false,
        funct3: 5,
        size: 2,
    }, // lhu
    Kind {
        store: false,
        funct3: 2,
        size: 4,
    }, // lw
    Kind {
        store: true,
        funct3: 0,
        size: 1,
    }, // sb
    Kind {
        store: true,
        funct3: 1,
        size: 2,
    }, // sh
    Kind {
        store: true,
        funct3: 2,
        size: 4,
    }, // sw
];

/// Base addresses at the edges: the invalid page's end, user memory's end
/// (the kernel's start), the top of the address space, and misaligned
/// neighbours of each. (None in the register files, which stores would
/// change under the test.)
const EDGES: [u32; 15] = [
    0,
    0xfffc,
    0xfffe,
    0xffff,
    0x1_0000,
    0x1_0001,
    0x1_0002,
    0xbfff_fffc,
    0xbfff_fffe,
    0xbfff_ffff,
    0xc000_0000,
    0xc000_0002,
    0xffff_fffc,
    0xffff_fffe,
    0xffff_ffff,
];

/// `kind` at `offset` from x1; loads write x3 upwards by position `k`,
/// stores write x2.
fn encode(kind: Kind, offset: i32, k: u32) -> u32 {
    if kind.store {
        s(offset, 2, 1, kind.funct3)
    } else {
        i(offset, 1, kind.funct3, 3 + k, 0x03)
    }
}

/// The first access of `accesses` from `base` that the rule says traps,
/// with its cause and address.
fn expected_trap(
    mode: Mode,
    base: u32,
    accesses: &[(Kind, i32)],
) -> Option<(usize, TrapCause, u32)> {
    accesses
        .iter()
        .enumerate()
        .find_map(|(k, &(kind, offset))| {
            let addr = base.wrapping_add(offset as u32);
            let cause = if !mode.may_access(addr) {
                if kind.store {
                    TrapCause::StoreAccessFault
                } else {
                    TrapCause::LoadAccessFault
                }
            } else if !addr.is_multiple_of(kind.size) {
                if kind.store {
                    TrapCause::StoreAddressMisaligned
                } else {
                    TrapCause::LoadAddressMisaligned
                }
            } else {
                return None;
            };
            Some((k, cause, addr))
        })
}

/// Runs `accesses` from `base` and checks the run against the rule.
fn check(engine: Engine, warm: bool, mode: Mode, base: u32, accesses: &[(Kind, i32)]) {
    let code: Vec<u32> = accesses
        .iter()
        .enumerate()
        .map(|(k, &(kind, offset))| encode(kind, offset, k as u32))
        .collect();
    let mut m = rig(engine, mode, &code);
    m.set_reg(1, base);
    m.set_reg(2, 0x5a5a_5a5a);
    if warm {
        for &(_, offset) in accesses {
            let addr = base.wrapping_add(offset as u32);
            if mode.may_access(addr) {
                m.cycle_model.access(addr, Access::Write);
            }
        }
    }
    let what = format!("{engine:?} (warm: {warm}) {mode} from {base:#x}: {accesses:?}");
    let result = m.steps(code.len() as u64);
    match expected_trap(mode, base, accesses) {
        None => {
            assert!(result.is_ok(), "{what}: {result:?}");
            assert_eq!(m.pc, CODE + 4 * code.len() as u32, "{what}");
            assert_eq!(m.user_cycles, code.len() as u64, "{what}");
        }
        Some((k, cause, addr)) => {
            let pc = CODE + 4 * k as u32;
            assert_eq!(
                m.user_cycles, k as u64,
                "{what}: the accesses before the trap ran"
            );
            match mode {
                Mode::User => {
                    assert!(result.is_ok(), "{what}: {result:?}");
                    assert_eq!(m.pc, HANDLER, "{what}: {cause:?} enters the kernel");
                    assert_eq!(m.mem.load_u32(MEPC_ADDR), pc, "{what}");
                }
                Mode::Machine => match result {
                    Err(Stop::Fault(f)) => {
                        assert_eq!(
                            (f.trap.cause, f.trap.pc, f.trap.addr),
                            (cause, pc, addr),
                            "{what}"
                        )
                    }
                    other => panic!("{what}: expected {cause:?} at {addr:#x}, got {other:?}"),
                },
            }
        }
    }
}

/// Every engine with the cycle model's pages cold, and the paged ones warm.
fn configurations() -> impl Iterator<Item = (Engine, bool)> {
    ENGINES
        .into_iter()
        .map(|engine| (engine, false))
        .chain([(Engine::InterpPaged, true), (Engine::JitPaged, true)])
}

#[test]
fn single_accesses_fault_exactly_where_the_rule_says() {
    for (engine, warm) in configurations() {
        for mode in Mode::ALL {
            for base in EDGES {
                for kind in KINDS {
                    check(engine, warm, mode, base, &[(kind, 0)]);
                }
            }
        }
    }
}

#[test]
fn grouped_accesses_fault_exactly_where_the_rule_says() {
    let lw = KINDS[4];
    let (sb, lhu, sw) = (KINDS[5], KINDS[3], KINDS[7]);
    let mixed = [(lw, -4), (sb, 0), (lhu, 2), (sw, 4)];
    for (engine, warm) in configurations() {
        for mode in Mode::ALL {
            for base in EDGES {
                for kind in KINDS {
                    for offsets in [[-4, 0, 4], [0, 4, 8], [-8, -4, 0]] {
                        let group = offsets.map(|offset| (kind, offset));
                        check(engine, warm, mode, base, &group);
                    }
                }
                check(engine, warm, mode, base, &mixed);
            }
        }
    }
}
