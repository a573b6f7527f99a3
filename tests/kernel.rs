//! zkjit's own kernel: user traps are reported by its handlers, and the run
//! ends with a fault that names the user trap.

mod common;

use common::GuestRun;
use zkjit::stop::FaultReason;
use zkjit::{Outcome, Stop, TrapCause};

#[test]
fn every_user_trap_is_reported_by_the_kernel() {
    let cases = [
        ("misaligned-jump", TrapCause::InstructionMisaligned),
        ("instruction-fault", TrapCause::InstructionFault),
        ("illegal", TrapCause::IllegalInstruction),
        ("ebreak", TrapCause::Breakpoint),
        ("misaligned-load", TrapCause::LoadAddressMisaligned),
        ("load-fault", TrapCause::LoadAccessFault),
        ("misaligned-store", TrapCause::StoreAddressMisaligned),
        ("store-fault", TrapCause::StoreAccessFault),
        // The same from a loop that has run before: on the JIT, from
        // translated code, whose checks of an access wait for its page's.
        ("late-misaligned-load", TrapCause::LoadAddressMisaligned),
        ("late-load-fault", TrapCause::LoadAccessFault),
        ("late-misaligned-store", TrapCause::StoreAddressMisaligned),
        ("late-store-fault", TrapCause::StoreAccessFault),
    ];
    for (arg, cause) in cases {
        let report = GuestRun::new("trap").args(&[arg]).run();
        let Outcome::Stopped(Stop::Fault(fault)) = &report.outcome else {
            panic!("{arg}: expected a fault, got {:?}", report.outcome);
        };
        assert_eq!(fault.trap.cause, cause, "{arg}");
        assert!(fault.user_mode, "{arg}");
        assert!(
            matches!(fault.reason, FaultReason::KernelHandlerStopped { .. }),
            "{arg}"
        );
        let kernel_says = String::from_utf8_lossy(&report.stderr).into_owned();
        let expected = format!(
            "zkjit kernel: user trap, cause {} at pc {:#010x}",
            cause.number(),
            fault.trap.pc
        );
        assert!(
            kernel_says.contains(&expected),
            "{arg}: kernel said {kernel_says:?}"
        );
        let error = report.error.as_deref().unwrap();
        assert!(error.contains(&format!("{cause:?}")), "{error}");
        let function = if arg.starts_with("late-") {
            "<late_access+0x"
        } else {
            "<main+0x"
        };
        assert!(
            error.contains(function) || cause == TrapCause::InstructionFault,
            "{error}"
        );
        if arg.starts_with("late-") {
            let jit = report.jit.as_ref().expect("JIT statistics");
            assert!(jit.translated_cycles > 0, "{arg}: {jit:?}");
        }
    }
}

#[test]
fn a_guest_panic_ends_the_run_with_its_message() {
    let report = GuestRun::new("trap").args(&["panic"]).run();
    assert_eq!(
        report.outcome,
        Outcome::Stopped(Stop::GuestPanic("something went wrong".into()))
    );
}
