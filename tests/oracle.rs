//! Differential tests against the reference executor (risc0-circuit-rv32im
//! 4.0.5) running the reference kernel (risc0-zkos-v1compat 2.2.3): exit
//! code, journal, stdout, cycles of every kind and the segments (their
//! encodings, byte for byte, with the image ID and post-state) must be
//! identical, on both of zkjit's engines. The oracle's software syscalls are served by zkjit's own
//! syscall code through the oracle's `SyscallContext`, so what differs is
//! only the machine.

mod common;

use common::oracle::OracleRun;
use common::{bench_guests, exit_code, pattern, GuestRun};
use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::host::HostIo;
use zkjit::syscalls::Assumption;
use zkjit::{Config, Engine, Outcome, Program, Session, Stop, KERNEL_ELF};

/// Segment sizes every guest is checked at.
const PO2S: [u32; 3] = [14, 16, 20];

fn run_oracle(run: &GuestRun, po2: u32) -> anyhow::Result<OracleRun> {
    let mut io = HostIo::captured();
    io.args = run.args.clone();
    io.env = run.env.clone();
    io.assumptions = run.assumptions.clone();
    io.stdin = Box::new(std::io::Cursor::new(run.input.clone()));
    io.set_random_seed(1);
    common::oracle::run_oracle(&common::guest(run.name), run.bare, io, po2)
}

/// Runs `run` on the oracle and on zkjit (v1compat kernel, then zkjit's own
/// kernel) and checks that everything observable agrees: at each segment
/// size, the cycles of every kind and the segment count too.
fn check_against_oracle(run: GuestRun) {
    check_against_oracle_at(run, &PO2S);
}

/// `check_against_oracle` at the segment sizes `po2s`.
fn check_against_oracle_at(run: GuestRun, po2s: &[u32]) {
    let kernel = if run.bare { KERNEL_ELF } else { V1COMPAT_ELF };
    let name = run.name;
    let mut oracle_outputs = None;
    for &po2 in po2s {
        let oracle = run_oracle(&run, po2)
            .unwrap_or_else(|e| panic!("{name}: oracle failed at po2 {po2}: {e:#}"));
        let (ours, segments) = run.clone().po2(po2).run_both_recording(kernel);
        assert_eq!(exit_code(&ours), oracle.exit_code, "{name}: exit code");
        common::assert_segments_match(name, po2, &ours, &segments, &oracle);
        assert_eq!(ours.journal, oracle.journal, "{name}: journal");
        assert_eq!(ours.stdout, oracle.stdout, "{name}: stdout");
        common::assert_cycles_match(name, po2, &ours, &oracle);
        oracle_outputs = Some(oracle);
    }
    let oracle = oracle_outputs.expect("checked at some po2");
    if !run.bare {
        let own_kernel = run.run_both(KERNEL_ELF);
        assert_eq!(
            exit_code(&own_kernel),
            oracle.exit_code,
            "{name}: exit code under zkjit's kernel"
        );
        assert_eq!(
            own_kernel.journal, oracle.journal,
            "{name}: journal under zkjit's kernel"
        );
        if name != "cycles" {
            assert_eq!(
                own_kernel.stdout, oracle.stdout,
                "{name}: stdout under zkjit's kernel"
            );
        }
    }
}

#[test]
fn hello() {
    check_against_oracle(GuestRun::new("hello"));
}

#[test]
fn echo_of_stdin_to_the_journal() {
    check_against_oracle(GuestRun::new("echo").input(pattern(5003)));
    check_against_oracle(GuestRun::new("echo").input(Vec::new()));
}

#[test]
fn exit_codes() {
    check_against_oracle(GuestRun::new("exit_code"));
    check_against_oracle(GuestRun::new("exit_code").args(&["0"]));
    check_against_oracle(GuestRun::new("exit_code").args(&["255"]));
}

#[test]
fn args_and_env() {
    check_against_oracle(
        GuestRun::new("args_env")
            .args(&["one", "two words", ""])
            .env("ZKJIT_GREETING", "hello"),
    );
    check_against_oracle(GuestRun::new("args_env"));
}

#[test]
fn sha_accelerator_against_software_sha() {
    check_against_oracle(GuestRun::new("sha"));
}

#[test]
fn poseidon2_accelerator_in_every_mode() {
    check_against_oracle(GuestRun::new("poseidon2"));
}

#[test]
fn poseidon2_errors_stop_both_with_the_cause() {
    for (what, cause) in [
        ("bad-check", "POSEIDON2 check failed"),
        ("bad-address", "runs past the end of memory"),
    ] {
        let run = GuestRun::new("poseidon2").args(&[what]);
        assert!(
            run_oracle(&run, 20).is_err(),
            "{what}: the oracle should fail"
        );
        for kernel in [V1COMPAT_ELF, KERNEL_ELF] {
            let ours = run.clone().run_both(kernel);
            // zkjit's kernel refuses the bad address before the host call.
            let (stopped, cause) = match ours.outcome {
                Outcome::Stopped(Stop::KernelRefused { .. }) if what == "bad-address" => {
                    (true, "POSEIDON2 input: buffer 0xfffffff0")
                }
                Outcome::Stopped(Stop::HostCall { .. }) => {
                    (kernel == V1COMPAT_ELF || what != "bad-address", cause)
                }
                _ => (false, cause),
            };
            assert!(stopped, "{what}: {:?}", ours.outcome);
            let error = ours.error.unwrap_or_default();
            assert!(
                error.contains(cause) && error.contains("pc 0x"),
                "{what}: {error}"
            );
        }
    }
}

#[test]
fn bigint2_with_the_programs_risc0_bigint2_ships() {
    // (The 4096-bit multiply costs more cycles than a segment of po2 14
    // holds: see the next test.)
    check_against_oracle_at(GuestRun::new("bigint2"), &[16, 20]);
    check_against_oracle_at(GuestRun::new("bigint2").args(&["0"]), &[16, 20]);
}

#[test]
fn a_host_call_larger_than_a_segment_stops_both() {
    let run = GuestRun::new("bigint2").po2(14);
    let oracle = std::panic::catch_unwind(|| run_oracle(&run, 14));
    assert!(
        !matches!(oracle, Ok(Ok(_))),
        "the reference refuses a segment past 2^14 cycles"
    );
    let ours = run.run_both(V1COMPAT_ELF);
    assert!(
        matches!(
            ours.outcome,
            Outcome::Stopped(Stop::SegmentOverflow { po2: 14, .. })
        ),
        "{:?}",
        ours.outcome
    );
}

#[test]
fn a_corrupt_bigint_program_stops_both_with_the_cause() {
    let run = GuestRun::new("bigint2").args(&["bad-program"]);
    // (The reference's decoder panics on it.)
    let oracle = std::panic::catch_unwind(|| run_oracle(&run, 20));
    assert!(!matches!(oracle, Ok(Ok(_))), "the oracle should fail");
    for kernel in [V1COMPAT_ELF, KERNEL_ELF] {
        let ours = run.clone().run_both(kernel);
        let error = ours.error.unwrap_or_default();
        assert!(
            matches!(ours.outcome, Outcome::Stopped(Stop::HostCall { .. }))
                && error.contains("not a bigint program")
                && error.contains("pc 0x"),
            "{:?}: {error}",
            ours.outcome
        );
    }
}

#[test]
fn keccak_and_composition_syscalls() {
    let claim = Assumption::parse(&"11".repeat(32)).expect("a claim digest");
    let run = GuestRun::new("composition").assumption(claim);
    check_against_oracle(run.clone());
    let ours = run.run_both(V1COMPAT_ELF);
    // keccak-f[1600] of the zero state starts with this lane.
    let stdout = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(
        stdout.contains("\nf1258f7940e1dde7 84d5ccf933c0478a"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pipe 4/4: 16 bytes: through the pipe"),
        "{stdout}"
    );
    assert_eq!(ours.keccak_proofs, 1);
    assert_eq!(ours.assumptions_used.len(), 2);
    assert_eq!(ours.assumptions_used[0].requested, claim);
    // Without the assumption, SYS_VERIFY_INTEGRITY names what is missing.
    let ours = GuestRun::new("composition").run_both(V1COMPAT_ELF);
    let error = ours.error.unwrap_or_default();
    assert!(
        error.contains("no assumption resolves claim 1111") && error.contains("--assumption"),
        "{error}"
    );
}

#[test]
fn heap() {
    check_against_oracle(GuestRun::new("heap"));
}

#[test]
fn deep_recursion() {
    check_against_oracle(GuestRun::new("recursion"));
}

#[test]
fn cycle_count_syscall() {
    check_against_oracle(GuestRun::new("cycles"));
}

#[test]
fn self_modifying_code() {
    check_against_oracle(GuestRun::new("smc"));
}

#[test]
fn isa_checks_in_user_mode() {
    check_against_oracle(GuestRun::new("isa_user"));
}

#[test]
fn isa_checks_in_bare_machine_mode() {
    check_against_oracle(GuestRun::new("isa_bare").bare());
}

#[test]
fn user_traps_stop_both_under_the_reference_kernel() {
    // v1compat installs no trap handlers, so every user trap ends the run.
    for what in [
        "misaligned-jump",
        "instruction-fault",
        "illegal",
        "ebreak",
        "misaligned-load",
        "load-fault",
        "misaligned-store",
        "store-fault",
        "late-misaligned-load",
        "late-load-fault",
        "late-misaligned-store",
        "late-store-fault",
        "panic",
    ] {
        let run = GuestRun::new("trap").args(&[what]);
        assert!(
            run_oracle(&run, 20).is_err(),
            "{what}: the oracle should fail"
        );
        let ours = run.run_both(V1COMPAT_ELF);
        assert!(
            matches!(ours.outcome, Outcome::Stopped(_)),
            "{what}: zkjit should stop"
        );
    }
}

/// Runs benchmark guest `name` under the v1compat kernel on the oracle and
/// on both engines with segments of `2^po2` cycles, for at most
/// `max_cycles` user cycles, and checks that output, cycles of every kind
/// and the segments' bytes agree.
fn check_benchmark_guest(
    name: &str,
    po2: u32,
    max_cycles: Option<u64>,
    jit_threshold: Option<u32>,
) {
    let elf = common::bench_guest(name);
    let program = Program::from_bytes(&elf, false, V1COMPAT_ELF, true).expect("guest loads");
    {
        let started = std::time::Instant::now();
        let oracle =
            common::oracle::run_oracle_until(&elf, false, HostIo::captured(), po2, max_cycles)
                .unwrap_or_else(|e| panic!("{name}: oracle failed at po2 {po2}: {e:#}"));
        for engine in [Engine::Interp, Engine::Jit] {
            let config = Config {
                engine,
                max_cycles,
                capture_output: true,
                jit_threshold,
                po2: Some(po2),
                ..Config::default()
            };
            let mut session = Session::new(&program, config).expect("session");
            let segments = common::record_segments(&mut session);
            let ours = session.run();
            common::assert_segments_match(name, po2, &ours, &segments.take(), &oracle);
            match &ours.outcome {
                Outcome::Stopped(Stop::CycleLimit { .. }) => {
                    assert_eq!(oracle.exit_code, u32::MAX, "{name}: only zkjit stopped")
                }
                _ => assert_eq!(exit_code(&ours), oracle.exit_code, "{name}: exit code"),
            }
            assert_eq!(ours.stdout, oracle.stdout, "{name}: stdout");
            common::assert_cycles_match(name, po2, &ours, &oracle);
        }
        // Shown with --nocapture: the full runs take a while.
        println!(
            "{name} at po2 {po2}: {} segments, {} total cycles, agreed ({:.1} s)",
            oracle.segments,
            oracle.total_cycles,
            started.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn benchmark_guests_first_three_million_cycles() {
    // The benchmarks in full take minutes in a debug build; their first
    // cycles already span hundreds of segments at po2 14.
    let names = bench_guests();
    assert_eq!(names.len(), 12, "{names:?}");
    for po2 in PO2S {
        for name in &names {
            check_benchmark_guest(name, po2, Some(3_000_000), Some(2));
        }
    }
}

#[test]
#[ignore = "takes long: cargo test --release --test oracle -- --ignored --nocapture"]
fn benchmark_guests_in_full() {
    // Largest segments first: at po2 14 the reference executor spends
    // minutes on the memory-heavy guests' many segments. Choose with
    // ZKJIT_ORACLE_PO2S=14,16 and ZKJIT_ORACLE_GUESTS=fib,sieve.
    let chosen = |var: &str| {
        std::env::var(var)
            .ok()
            .map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
    };
    let po2s = chosen("ZKJIT_ORACLE_PO2S");
    let guests = chosen("ZKJIT_ORACLE_GUESTS");
    for po2 in PO2S.into_iter().rev() {
        if po2s.as_ref().is_some_and(|p| !p.contains(&po2.to_string())) {
            continue;
        }
        for name in &bench_guests() {
            if guests.as_ref().is_some_and(|g| !g.contains(name)) {
                continue;
            }
            check_benchmark_guest(name, po2, None, None);
        }
    }
}
