//! Semantics of every instruction, edge cases included, in both modes, on
//! both engines with the cycle model off and on: hand-encoded instructions
//! run on the test rig (`common/rig.rs`), by the reference interpreter and
//! by the JIT (which translates at the first entry).

mod common;

use common::asm::*;
use common::rig::*;
use zkjit::platform::*;
use zkjit::stop::FaultReason;
use zkjit::{Mode, Stop, TrapCause};

/// Runs one register-register instruction with x1 = a, x2 = b; returns x3.
fn rr(engine: Engine, mode: Mode, funct7: u32, funct3: u32, a: u32, b: u32) -> u32 {
    let mut m = rig(engine, mode, &[r(funct7, 2, 1, funct3, 3, 0x33)]);
    m.set_reg(1, a);
    m.set_reg(2, b);
    m.steps(1).unwrap();
    assert_eq!(m.user_cycles, 1);
    assert_eq!(m.pc, CODE + 4);
    m.reg(3)
}

/// Runs one register-immediate instruction with x1 = a; returns x3.
fn ri(engine: Engine, mode: Mode, funct3: u32, a: u32, imm: i32) -> u32 {
    let mut m = rig(engine, mode, &[i(imm, 1, funct3, 3, 0x13)]);
    m.set_reg(1, a);
    m.steps(1).unwrap();
    m.reg(3)
}

#[test]
fn register_register_alu() {
    for (engine, mode) in ENGINE_MODES {
        let cases: &[(u32, u32, u32, u32, u32)] = &[
            // funct7, funct3, a, b, expected
            (0x00, 0, 0xffff_ffff, 1, 0),           // add wraps
            (0x00, 0, 0x7fff_ffff, 1, 0x8000_0000), // add overflows into the sign
            (0x20, 0, 0, 1, 0xffff_ffff),           // sub wraps
            (0x20, 0, 0x8000_0000, 1, 0x7fff_ffff),
            (0x00, 1, 1, 31, 0x8000_0000), // sll
            (0x00, 1, 1, 32, 1),           // shift amount: low 5 bits
            (0x00, 1, 1, 0xffff_ffe1, 2),
            (0x00, 2, 0x8000_0000, 0x7fff_ffff, 1), // slt signed
            (0x00, 2, 0x7fff_ffff, 0x8000_0000, 0),
            (0x00, 3, 0x8000_0000, 0x7fff_ffff, 0), // sltu unsigned
            (0x00, 3, 0, 0xffff_ffff, 1),
            (0x00, 4, 0xff00_ff00, 0x0ff0_0ff0, 0xf0f0_f0f0), // xor
            (0x00, 5, 0x8000_0000, 31, 1),                    // srl
            (0x00, 5, 0x8000_0000, 33, 0x4000_0000),
            (0x20, 5, 0x8000_0000, 31, 0xffff_ffff), // sra
            (0x20, 5, 0x7fff_ffff, 1, 0x3fff_ffff),
            (0x00, 6, 0xff00_ff00, 0x0ff0_0ff0, 0xfff0_fff0), // or
            (0x00, 7, 0xff00_ff00, 0x0ff0_0ff0, 0x0f00_0f00), // and
        ];
        for &(f7, f3, a, b, want) in cases {
            assert_eq!(
                rr(engine, mode, f7, f3, a, b),
                want,
                "{mode:?} funct7 {f7:#x} funct3 {f3} {a:#x} {b:#x}"
            );
        }
    }
}

#[test]
fn multiply_and_divide() {
    for (engine, mode) in ENGINE_MODES {
        let m_ext: &[(u32, u32, u32, u32)] = &[
            (0, 0xffff_ffff, 0xffff_ffff, 1), // mul
            (0, 0x8000_0000, 2, 0),
            (1, 0x8000_0000, 0x8000_0000, 0x4000_0000), // mulh MIN * MIN
            (1, 0xffff_ffff, 0xffff_ffff, 0),           // mulh -1 * -1
            (1, 5, 0xffff_fffe, 0xffff_ffff),           // mulh 5 * -2
            (2, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), // mulhsu -1 * (2^32 - 1)
            (2, 0x8000_0000, 0xffff_ffff, 0x8000_0000),
            (3, 0xffff_ffff, 0xffff_ffff, 0xffff_fffe), // mulhu
            (4, 0xffff_fff9, 2, 0xffff_fffd),           // div -7 / 2 = -3
            (4, 7, 0, 0xffff_ffff),                     // div by zero
            (4, 0x8000_0000, 0xffff_ffff, 0x8000_0000), // MIN / -1
            (5, 0xffff_fff9, 2, 0x7fff_fffc),           // divu
            (5, 7, 0, 0xffff_ffff),                     // divu by zero
            (6, 0xffff_fff9, 2, 0xffff_ffff),           // rem -7 % 2 = -1
            (6, 7, 0, 7),                               // rem by zero: the dividend
            (6, 0x8000_0000, 0xffff_ffff, 0),           // MIN % -1
            (7, 0xffff_fff9, 2, 1),                     // remu
            (7, 0xffff_fff9, 0, 0xffff_fff9),           // remu by zero
        ];
        for &(f3, a, b, want) in m_ext {
            assert_eq!(
                rr(engine, mode, 1, f3, a, b),
                want,
                "{mode:?} M funct3 {f3} {a:#x} {b:#x}"
            );
        }
    }
}

#[test]
fn register_immediate_alu() {
    for (engine, mode) in ENGINE_MODES {
        let cases: &[(u32, u32, i32, u32)] = &[
            (0, 1, -1, 0), // addi, sign-extended immediate
            (0, 0x7fff_ffff, 2047, 0x8000_07fe),
            (0, 0x8000_0000, -2048, 0x7fff_f800),
            (2, 0xffff_ffff, 0, 1),                    // slti
            (3, 0, -1, 1),                             // sltiu compares with 0xffffffff
            (4, 0x0000_ff0f, -1, 0xffff_00f0),         // xori
            (6, 0, -2048, 0xffff_f800),                // ori
            (7, 0xffff_ffff, 0x0f, 0x0f),              // andi
            (1, 1, 31, 0x8000_0000),                   // slli
            (5, 0x8000_0000, 31, 1),                   // srli
            (5, 0x8000_0000, 0x400 | 31, 0xffff_ffff), // srai
        ];
        for &(f3, a, imm, want) in cases {
            assert_eq!(
                ri(engine, mode, f3, a, imm),
                want,
                "{mode:?} funct3 {f3} {a:#x} {imm}"
            );
        }
    }
}

#[test]
fn upper_immediates() {
    for (engine, mode) in ENGINE_MODES {
        let mut m = rig(engine, mode, &[lui(5, 0xfffff), auipc(6, 0x80000)]);
        m.steps(2).unwrap();
        assert_eq!(m.reg(5), 0xffff_f000);
        assert_eq!(m.reg(6), (CODE + 4).wrapping_add(0x8000_0000));
    }
}

#[test]
fn x0_stays_zero() {
    for (engine, mode) in ENGINE_MODES {
        let mut m = rig(
            engine,
            mode,
            &[addi(0, 0, 5), lui(0, 0x12345), jal(0, 4), addi(1, 0, 0)],
        );
        m.steps(4).unwrap();
        assert_eq!(m.reg(0), 0);
        assert_eq!(m.reg(1), 0);
        // the write landed in the mode's x0 sink, not in x0
        assert_eq!(m.mem.load_u32(m.reg_base()), 0);
    }
}

#[test]
fn loads_sign_and_zero_extend() {
    for (engine, mode) in ENGINE_MODES {
        let data = 0x0030_0000;
        let code = [
            i(0, 1, 0, 10, 0x03),   // lb
            i(0, 1, 4, 11, 0x03),   // lbu
            i(2, 1, 1, 12, 0x03),   // lh
            i(2, 1, 5, 13, 0x03),   // lhu
            i(4, 1, 2, 14, 0x03),   // lw
            i(-4, 15, 2, 16, 0x03), // lw, negative offset
        ];
        let mut m = rig(engine, mode, &code);
        m.mem.store_u32(data, 0x8001_7f80);
        m.mem.store_u32(data + 4, 0xdead_beef);
        m.set_reg(1, data);
        m.set_reg(15, data + 8);
        m.steps(code.len() as u64).unwrap();
        assert_eq!(m.reg(10), 0xffff_ff80);
        assert_eq!(m.reg(11), 0x80);
        assert_eq!(m.reg(12), 0xffff_8001);
        assert_eq!(m.reg(13), 0x8001);
        assert_eq!(m.reg(14), 0xdead_beef);
        assert_eq!(m.reg(16), 0xdead_beef);
    }
}

#[test]
fn stores_merge_into_words() {
    for (engine, mode) in ENGINE_MODES {
        let data = 0x0030_0000;
        let code = [s(0, 2, 1, 2), s(1, 3, 1, 0), s(2, 3, 1, 1), s(-4, 2, 4, 2)];
        let mut m = rig(engine, mode, &code);
        m.set_reg(1, data);
        m.set_reg(2, 0x1122_3344);
        m.set_reg(3, 0xaabb_ccdd);
        m.set_reg(4, data + 8);
        m.steps(code.len() as u64).unwrap();
        assert_eq!(m.mem.load_u32(data), 0xccdd_dd44);
        assert_eq!(m.mem.load_u32(data + 4), 0x1122_3344);
    }
}

#[test]
fn branches_and_jumps() {
    for (engine, mode) in ENGINE_MODES {
        // (funct3, a, b, taken)
        let cases = [
            (0, 5, 5, true),
            (0, 5, 6, false),
            (1, 5, 6, true),
            (1, 7, 7, false),
            (4, 0xffff_ffff, 0, true),
            (4, 0, 0xffff_ffff, false),
            (5, 3, 3, true),
            (5, 0x8000_0000, 0x7fff_ffff, false),
            (6, 0, 0xffff_ffff, true),
            (6, 0xffff_ffff, 0, false),
            (7, 0xffff_ffff, 0, true),
            (7, 0, 1, false),
        ];
        for (f3, a, v, taken) in cases {
            let mut m = rig(engine, mode, &[b(-8, 2, 1, f3)]);
            m.set_reg(1, a);
            m.set_reg(2, v);
            m.steps(1).unwrap();
            let want = if taken { CODE - 8 } else { CODE + 4 };
            assert_eq!(m.pc, want, "{mode:?} branch funct3 {f3} {a:#x} {v:#x}");
            assert_eq!(m.user_cycles, 1);
        }
        let mut m = rig(engine, mode, &[jal(1, 12)]);
        m.steps(1).unwrap();
        assert_eq!((m.pc, m.reg(1)), (CODE + 12, CODE + 4));
        // jalr clears bit 0 of the target; rd == rs1 uses the old value
        let mut m = rig(engine, mode, &[jalr(5, 5, 1)]);
        m.set_reg(5, CODE + 0x100);
        m.steps(1).unwrap();
        assert_eq!((m.pc, m.reg(5)), (CODE + 0x100, CODE + 4));
    }
}

/// Runs one instruction that must trap with `cause` and `addr`; checks the
/// trap had no effect, cost nothing, and went where the mode sends it.
fn expect_trap(
    engine: Engine,
    mode: Mode,
    code: &[u32],
    setup: &[(usize, u32)],
    cause: TrapCause,
    addr: u32,
) {
    let mut m = rig(engine, mode, code);
    for &(reg, value) in setup {
        m.set_reg(reg, value);
    }
    let before: Vec<u32> = (0..32).map(|k| m.reg(k)).collect();
    let result = m.steps(1);
    match mode {
        Mode::User => {
            result.unwrap();
            assert_eq!(m.pc, HANDLER, "{cause:?}: handler");
            assert_eq!(m.mode(), Mode::Machine);
            assert_eq!(m.mem.load_u32(MEPC_ADDR), CODE, "{cause:?}: MEPC");
            assert_eq!(m.user_cycles, 0, "{cause:?}: a trap costs no cycle");
            let after: Vec<u32> = (0..32).map(|k| m.user_reg(k)).collect();
            assert_eq!(before, after, "{cause:?}: a trap has no effect");
        }
        Mode::Machine => match result {
            Err(Stop::Fault(f)) => {
                assert_eq!((f.trap.cause, f.trap.pc, f.trap.addr), (cause, CODE, addr));
                assert_eq!(f.reason, FaultReason::MachineMode);
                assert!(!f.user_mode);
            }
            other => panic!("{cause:?} in machine mode: expected a fault, got {other:?}"),
        },
    }
}

#[test]
fn every_trap_cause_in_both_modes() {
    for (engine, mode) in ENGINE_MODES {
        let user_data = 0x0030_0000;
        expect_trap(
            engine,
            mode,
            &[b(6, 0, 0, 0)],
            &[],
            TrapCause::InstructionMisaligned,
            CODE + 6,
        );
        expect_trap(
            engine,
            mode,
            &[jal(1, 2)],
            &[],
            TrapCause::InstructionMisaligned,
            CODE + 2,
        );
        expect_trap(
            engine,
            mode,
            &[jalr(1, 5, 2)],
            &[(5, CODE)],
            TrapCause::InstructionMisaligned,
            CODE + 2,
        );
        expect_trap(
            engine,
            mode,
            &[0x0000_0000],
            &[],
            TrapCause::IllegalInstruction,
            0,
        );
        expect_trap(
            engine,
            mode,
            &[0x3400_1073],
            &[],
            TrapCause::IllegalInstruction,
            0x3400_1073,
        );
        expect_trap(engine, mode, &[EBREAK], &[], TrapCause::Breakpoint, CODE);
        expect_trap(
            engine,
            mode,
            &[i(2, 1, 2, 3, 0x03)],
            &[(1, user_data)],
            TrapCause::LoadAddressMisaligned,
            user_data + 2,
        );
        expect_trap(
            engine,
            mode,
            &[i(1, 1, 5, 3, 0x03)],
            &[(1, user_data)],
            TrapCause::LoadAddressMisaligned,
            user_data + 1,
        );
        expect_trap(
            engine,
            mode,
            &[i(0, 1, 2, 3, 0x03)],
            &[(1, 0xfffc)],
            TrapCause::LoadAccessFault,
            0xfffc,
        );
        expect_trap(
            engine,
            mode,
            &[s(1, 2, 1, 1)],
            &[(1, user_data)],
            TrapCause::StoreAddressMisaligned,
            user_data + 1,
        );
        expect_trap(
            engine,
            mode,
            &[s(0, 2, 1, 2)],
            &[(1, 0x100)],
            TrapCause::StoreAccessFault,
            0x100,
        );
    }
    // user mode may not touch kernel memory; machine mode may
    for engine in ENGINES {
        expect_trap(
            engine,
            Mode::User,
            &[i(0, 1, 2, 3, 0x03)],
            &[(1, KERNEL_START)],
            TrapCause::LoadAccessFault,
            KERNEL_START,
        );
        expect_trap(
            engine,
            Mode::User,
            &[s(0, 2, 1, 0)],
            &[(1, 0xffff_0000)],
            TrapCause::StoreAccessFault,
            0xffff_0000,
        );
        let mut m = rig(engine, Mode::Machine, &[i(0, 1, 2, 3, 0x03)]);
        m.set_reg(1, KERNEL_START);
        m.mem.store_u32(KERNEL_START, 99);
        m.steps(1).unwrap();
        assert_eq!(m.reg(3), 99);
    }
}

#[test]
fn accesses_at_the_edges_of_memory() {
    for engine in ENGINES {
        // the last word, halfword and byte of user memory are the user's
        for (f3, addr) in [
            (2, USER_END - 4),
            (1, USER_END - 2),
            (5, USER_END - 2),
            (0, USER_END - 1),
        ] {
            let mut m = rig(engine, Mode::User, &[i(0, 1, f3, 3, 0x03)]);
            m.set_reg(1, addr);
            m.mem.store_u32(USER_END - 4, 0x8182_8384);
            m.steps(1).unwrap();
            assert_eq!(m.pc, CODE + 4, "{engine:?} load funct3 {f3} at {addr:#x}");
        }
        // the first word of kernel memory is not
        expect_trap(
            engine,
            Mode::User,
            &[i(0, 1, 2, 3, 0x03)],
            &[(1, USER_END)],
            TrapCause::LoadAccessFault,
            USER_END,
        );
        expect_trap(
            engine,
            Mode::User,
            &[s(0, 2, 1, 0)],
            &[(1, USER_END)],
            TrapCause::StoreAccessFault,
            USER_END,
        );
        // machine mode reaches the top of memory
        let mut m = rig(engine, Mode::Machine, &[i(0, 1, 2, 3, 0x03), s(0, 3, 1, 0)]);
        m.set_reg(1, 0xffff_fffc);
        m.mem.store_u32(0xffff_fffc, 77);
        m.steps(2).unwrap();
        assert_eq!(m.reg(3), 77, "{engine:?}");
        expect_trap(
            engine,
            Mode::Machine,
            &[i(0, 1, 2, 3, 0x03)],
            &[(1, 0xffff)],
            TrapCause::LoadAccessFault,
            0xffff,
        );
        expect_trap(
            engine,
            Mode::Machine,
            &[i(0, 1, 2, 3, 0x03)],
            &[(1, 0xffff_fffe)],
            TrapCause::LoadAddressMisaligned,
            0xffff_fffe,
        );
    }
}

#[test]
fn fetch_faults() {
    for engine in ENGINES {
        // user mode cannot execute kernel memory
        let mut m = rig(engine, Mode::User, &[]);
        m.pc = KERNEL_START;
        m.steps(1).unwrap();
        assert_eq!((m.pc, m.mem.load_u32(MEPC_ADDR)), (HANDLER, KERNEL_START));
        // no mode can execute the invalid page
        let mut m = rig(engine, Mode::Machine, &[]);
        m.pc = 0x100;
        assert!(
            matches!(m.steps(1), Err(Stop::Fault(f)) if f.trap.cause == TrapCause::InstructionFault)
        );
    }
}

#[test]
fn user_ecall_enters_the_kernel_and_mret_returns() {
    for engine in ENGINES {
        let mut m = rig(engine, Mode::User, &[ECALL]);
        m.mem.store_u32(HANDLER, MRET);
        m.steps(1).unwrap();
        assert_eq!(
            (m.pc, m.mode(), m.mem.load_u32(MEPC_ADDR)),
            (HANDLER, Mode::Machine, CODE)
        );
        m.steps(1).unwrap();
        assert_eq!((m.pc, m.mode()), (CODE + 4, Mode::User));
        assert_eq!(m.user_cycles, 2, "ECALL and MRET each cost one cycle");
    }
}

#[test]
fn user_ecall_without_a_valid_dispatch_traps() {
    for engine in ENGINES {
        let mut m = rig(engine, Mode::User, &[ECALL]);
        m.mem.store_u32(ECALL_DISPATCH_ADDR, 0x0020_0000); // user memory: not a kernel address
        m.steps(1).unwrap();
        assert_eq!(m.pc, HANDLER, "UserEnvCall goes to TRAP_DISPATCH[9]");
        let mut m = rig(engine, Mode::User, &[ECALL]);
        m.mem.store_u32(ECALL_DISPATCH_ADDR, 0);
        assert!(
            matches!(m.steps(1), Err(Stop::Fault(f)) if f.trap.cause == TrapCause::UserEnvCall)
        );
    }
}

#[test]
fn mret_in_user_mode_is_fatal() {
    for engine in ENGINES {
        let mut m = rig(engine, Mode::User, &[MRET]);
        match m.steps(1) {
            Err(Stop::Fault(f)) => assert_eq!(f.reason, FaultReason::MretInUserMode),
            other => panic!("expected a fault, got {other:?}"),
        }
    }
}

#[test]
fn a_user_trap_without_a_handler_is_fatal() {
    for engine in ENGINES {
        let mut m = rig(engine, Mode::User, &[EBREAK]);
        m.mem.store_u32(TRAP_DISPATCH_ADDR + 4 * 3, 0);
        match m.steps(1) {
            Err(Stop::Fault(f)) => assert_eq!(f.reason, FaultReason::NoHandler { handler: 0 }),
            other => panic!("expected a fault, got {other:?}"),
        }
    }
}

#[test]
fn fence_is_a_no_op() {
    for (engine, mode) in ENGINE_MODES {
        let mut m = rig(engine, mode, &[FENCE]);
        m.steps(1).unwrap();
        assert_eq!((m.pc, m.user_cycles), (CODE + 4, 1));
    }
}

#[test]
fn registers_are_memory() {
    for engine in ENGINES {
        // the kernel reads and writes user registers with lw/sw
        let mut m = rig(
            engine,
            Mode::Machine,
            &[i(4 * 10, 1, 2, 3, 0x03), s(4 * 11, 3, 1, 2)],
        );
        m.set_reg(1, USER_REGS_ADDR);
        m.set_user_reg(10, 1234);
        m.steps(2).unwrap();
        assert_eq!(m.user_reg(11), 1234);
    }
}

#[test]
fn cycle_limit_stops_exactly() {
    for engine in ENGINES {
        let mut m = rig(engine, Mode::Machine, &[jal(0, 0)]);
        let err = m.run(1000).unwrap_err();
        assert!(matches!(err, Stop::CycleLimit { limit: 1000, .. }));
        assert_eq!(m.user_cycles, 1000);
    }
}
