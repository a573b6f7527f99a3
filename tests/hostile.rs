//! Hostile guests: software syscalls and accelerator calls whose buffers
//! point into kernel memory, cross into it, wrap around the address space,
//! are null or are huge (`bad_buffers.elf`), under zkjit's kernel and risc0's v1compat
//! kernel, on both engines. Each run must stop with the same error on both
//! engines, quickly, without the host writing a byte of kernel memory.

mod common;

use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::{Config, Engine, Outcome, Program, Report, Session, KERNEL_ELF};

/// The kernel memory the buffers reach: where "kernel" points and where
/// "cross" runs into.
const KERNEL_TARGETS: [(u32, u32); 2] = [(0xc000_0000, 0x40), (0xc000_1000, 0x40)];

/// Cycles a run may take.
const MAX_CYCLES: u64 = 20_000_000;

/// Syscalls that take a buffer from the host (the buffer in a0/a1),
/// syscalls that give the host one (in their arguments), and each buffer of
/// the SHA and POSEIDON2 accelerators and a BIGINT2 program's input and
/// output; for fixed-size buffers, "huge" does
/// not apply.
const SYSCALLS: [(&str, bool); 20] = [
    ("random", true),
    ("read", true),
    ("argv", true),
    ("getenv", true),
    ("keccak", false),
    ("write", true),
    ("log", true),
    ("panic", true),
    ("getenv-name", true),
    ("keccak-state", false),
    ("verify", false),
    ("name", false),
    ("sha-out", false),
    ("sha-in", false),
    ("sha-data", true),
    ("poseidon2-state", false),
    ("poseidon2-in", false),
    ("poseidon2-out", false),
    ("bigint2-in", false),
    ("bigint2-out", false),
];

fn run(kernel: &[u8], engine: Engine, args: &[&str]) -> (Report, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let program = Program::from_bytes(&common::guest("bad_buffers"), false, kernel, true).unwrap();
    let config = Config {
        engine,
        args: args.iter().map(|a| a.to_string()).collect(),
        capture_output: true,
        random_seed: Some(1),
        jit_threshold: Some(2),
        // v1compat hashes a huge SHA buffer as it comes (as the reference
        // does), far past any real run: the limit ends it.
        max_cycles: Some(MAX_CYCLES),
        ..Config::default()
    };
    let session = Session::new(&program, config).unwrap();
    let snapshot = |machine: &zkjit::Machine| {
        KERNEL_TARGETS
            .iter()
            .map(|&(at, len)| machine.mem.slice(at, len).unwrap().to_vec())
            .collect::<Vec<_>>()
    };
    let before = snapshot(session.machine());
    let (report, machine) = session.run_keeping_machine();
    let after = snapshot(&machine);
    (report, before, after)
}

/// Every case, both kernels, both engines: the same outcome on both
/// engines, no byte of kernel memory written, and a stop that names the
/// buffer; on v1compat, a run that goes on (v1compat passes over some bad
/// buffers without a host call) must end as the reference's does.
#[test]
fn bad_buffers_stop_the_run_before_the_host_touches_them() {
    for (kernel_name, kernel) in [("zkjit", KERNEL_ELF), ("v1compat", V1COMPAT_ELF)] {
        for (syscall, sized) in SYSCALLS {
            for buffer in ["kernel", "cross", "wrap", "null", "huge"] {
                // A null POSEIDON2 state is the call without one.
                if (buffer == "huge" && !sized) || (syscall, buffer) == ("poseidon2-state", "null")
                {
                    continue;
                }
                let case = format!("{kernel_name} {syscall} {buffer}");
                let started = std::time::Instant::now();
                let (jit, before, after) = run(kernel, Engine::Jit, &[syscall, buffer]);
                let (interp, _, _) = run(kernel, Engine::Interp, &[syscall, buffer]);
                assert!(started.elapsed().as_secs() < 5, "{case}: too slow");
                assert_eq!(jit.outcome, interp.outcome, "{case}: engines differ");
                assert_eq!(jit.error, interp.error, "{case}: engines differ");
                assert_eq!(before, after, "{case}: kernel memory was written");
                let stderr = String::from_utf8_lossy(&jit.stderr);
                match (&jit.outcome, kernel_name) {
                    (Outcome::Stopped(_), _) => {
                        let error = jit.error.as_deref().unwrap_or_default();
                        let named = [
                            "outside user memory",
                            "out of range",
                            "wraps around",
                            "syscall name",
                            "invalid page",
                            "past the end of memory",
                            "invalid bigint address",
                        ]
                        .iter()
                        .any(|what| error.contains(what) || stderr.contains(what));
                        // v1compat refuses with a fault of its own; a
                        // name not in user memory is not a syscall's.
                        let v1compat_refusal =
                            kernel_name == "v1compat" && error.contains("illegal instruction");
                        let no_such_syscall = error.contains("not supported");
                        let v1compat_limit =
                            kernel_name == "v1compat" && jit.user_cycles >= MAX_CYCLES;
                        assert!(
                            named || v1compat_refusal || no_such_syscall || v1compat_limit,
                            "{case}: unclear error {error:?} {stderr:?}"
                        );
                    }
                    (Outcome::Halted(_), "v1compat") => {
                        let mut io = zkjit::host::HostIo::captured();
                        io.args = vec![syscall.into(), buffer.into()];
                        io.set_random_seed(1);
                        let oracle = common::oracle::run_oracle(
                            &common::guest("bad_buffers"),
                            false,
                            io,
                            20,
                        )
                        .unwrap_or_else(|e| panic!("{case}: the reference stopped: {e:#}"));
                        assert_eq!(common::exit_code(&jit), oracle.exit_code, "{case}");
                        assert_eq!(jit.stdout, oracle.stdout, "{case}");
                        assert_eq!(jit.user_cycles, oracle.user_cycles, "{case}");
                    }
                    (Outcome::Halted(_), _) => {
                        panic!("{case}: the host took the buffer: {stderr}")
                    }
                }
            }
        }
    }
}
