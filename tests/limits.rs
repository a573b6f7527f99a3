//! Limits for untrusted runs, in the library and on the command line: a
//! wall-clock timeout, an output limit, a memory limit and Ctrl-C each stop
//! the run cleanly with their own stop (and exit status), the statistics so
//! far kept; and a run is the same every time for the same inputs and seed.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::{guest_path, text, zkjit, GuestRun};
use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::session::{LimitReached, Limits};
use zkjit::{Config, Engine, Outcome, Program, Report, Session, Stop};

const ZKJIT: &str = env!("CARGO_BIN_EXE_zkjit");

/// risc0's datasheet loop (an R0BF binary), for `iterations` iterations:
/// billions of cycles for a large count.
fn run_loop(iterations: u32, engine: Engine, limits: Limits) -> Report {
    let binary = std::fs::read(common::real_guest_path("loop.bin")).unwrap();
    let program = Program::from_bytes(&binary, false, zkjit::KERNEL_ELF, false).unwrap();
    let config = Config {
        engine,
        input: zkjit::Input::Bytes(iterations.to_le_bytes().to_vec()),
        capture_output: true,
        limits,
        ..Config::default()
    };
    Session::new(&program, config).unwrap().run()
}

fn limit_of(report: &Report) -> Option<LimitReached> {
    match &report.outcome {
        Outcome::Stopped(Stop::Limit { reached, .. }) => Some(*reached),
        _ => None,
    }
}

#[test]
fn a_timeout_stops_a_long_run_with_its_statistics() {
    for engine in [Engine::Jit, Engine::Interp] {
        let limits = Limits {
            timeout: Some(Duration::from_millis(50)),
            ..Limits::default()
        };
        let report = run_loop(u32::MAX, engine, limits);
        assert_eq!(
            limit_of(&report),
            Some(LimitReached::Timeout { millis: 50 })
        );
        assert!(report.wall_seconds < 2.0, "{}", report.wall_seconds);
        assert!(report.user_cycles > 0);
        let error = report.error.unwrap();
        assert!(
            error.starts_with("timeout: the run took longer than 0.050 s, at pc 0x"),
            "{error}"
        );
    }
}

#[test]
fn an_interrupt_stops_the_run_at_the_next_slice() {
    static INTERRUPTED: AtomicBool = AtomicBool::new(true);
    let limits = Limits {
        interrupt: Some(&INTERRUPTED),
        ..Limits::default()
    };
    let report = run_loop(u32::MAX, Engine::Jit, limits);
    assert_eq!(limit_of(&report), Some(LimitReached::Interrupted));
    // One slice of cycles, at most.
    assert!(report.user_cycles <= zkjit::progress::SLICE_CYCLES + 1000);
}

#[test]
fn the_output_limit_refuses_the_write_that_would_pass_it() {
    for engine in [Engine::Jit, Engine::Interp] {
        let program =
            Program::from_bytes(&common::guest("hello"), false, zkjit::KERNEL_ELF, false).unwrap();
        let run = |limit| {
            let config = Config {
                engine,
                capture_output: true,
                limits: Limits {
                    max_output_bytes: Some(limit),
                    ..Limits::default()
                },
                ..Config::default()
            };
            Session::new(&program, config).unwrap().run()
        };
        let report = run(3);
        assert_eq!(limit_of(&report), Some(LimitReached::Output { limit: 3 }));
        assert!(report.stdout.len() + report.stderr.len() <= 3);
        // What hello writes fits a limit of its size.
        let written = GuestRun::new("hello")
            .run_with(zkjit::KERNEL_ELF, engine)
            .stdout
            .len();
        assert_eq!(
            run(written as u64).outcome,
            GuestRun::new("hello")
                .run_with(zkjit::KERNEL_ELF, engine)
                .outcome
        );
    }
}

#[test]
fn the_memory_limit_stops_a_run_that_touches_more() {
    let program =
        Program::from_bytes(&common::bench_guest("sieve"), false, V1COMPAT_ELF, false).unwrap();
    let config = Config {
        capture_output: true,
        limits: Limits {
            max_memory_bytes: Some(8 << 20),
            ..Limits::default()
        },
        ..Config::default()
    };
    let report = Session::new(&program, config).unwrap().run();
    match limit_of(&report) {
        Some(LimitReached::Memory { limit, used }) => {
            assert_eq!(limit, 8 << 20);
            assert!(used > limit);
        }
        other => panic!("{other:?}: {:?}", report.outcome),
    }
}

/// `zkjit run` of risc0's datasheet loop with `args`: its exit status and
/// stderr.
fn cli_loop(args: &[&str], interrupt_after: Option<Duration>) -> (Option<i32>, String) {
    let input = std::env::temp_dir().join(format!("zkjit-limits-{}.in", std::process::id()));
    std::fs::write(&input, u32::MAX.to_le_bytes()).unwrap();
    let loop_bin = common::real_guest_path("loop.bin");
    let child = Command::new(ZKJIT)
        .args([
            "run",
            loop_bin.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(after) = interrupt_after {
        std::thread::sleep(after);
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    }
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(input);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_limit_has_its_exit_status_on_the_command_line() {
    let (code, stderr) = cli_loop(&["--timeout", "0.05"], None);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("zkjit: error: timeout:") && stderr.contains("zkjit: stopped after"),
        "{stderr}"
    );
    let (code, stderr) = cli_loop(&["--max-cycles", "1000000"], None);
    assert_eq!(code, Some(3), "{stderr}");
    let (code, stderr) = cli_loop(&["--max-memory", "1"], None);
    assert_eq!(code, Some(6), "{stderr}");
    assert!(stderr.contains("memory limit:"), "{stderr}");
    let (code, stderr) = cli_loop(&[], Some(Duration::from_millis(300)));
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("zkjit: error: interrupted"), "{stderr}");
    let out = zkjit(&[
        "run",
        guest_path("hello").to_str().unwrap(),
        "--max-output",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(5));
    assert!(text(&out.stderr).contains("output limit:"));
    let help = text(&zkjit(&["run", "--help"]).stdout);
    assert!(
        help.contains("3 --max-cycles, 4 --timeout, 5 --max-output"),
        "{help}"
    );
}

#[test]
fn the_same_inputs_and_seed_give_the_same_run() {
    // Host randomness, the journal, stdout, cycles and segments.
    let run = GuestRun::new("random_words").po2(16);
    for kernel in [V1COMPAT_ELF, zkjit::KERNEL_ELF] {
        let (first, first_segments) = run.run_both_recording(kernel);
        let (second, second_segments) = run.run_both_recording(kernel);
        assert_eq!(first.outcome, second.outcome);
        assert!(!first.stdout.is_empty());
        assert_eq!(first.stdout, second.stdout);
        assert_eq!(first.journal, second.journal);
        assert_eq!(first.cycles, second.cycles);
        assert_eq!(first.user_cycles, second.user_cycles);
        assert_eq!(first_segments, second_segments);
    }
    // On the command line, with --seed: stdout and statistics (less the
    // times), on both engines.
    let stats = std::env::temp_dir().join(format!("zkjit-seed-{}.json", std::process::id()));
    let cli = |engine: &str| {
        let out = zkjit(&[
            "run",
            guest_path("random_words").to_str().unwrap(),
            "--seed",
            "7",
            "--engine",
            engine,
            "--stats-json",
            stats.to_str().unwrap(),
        ]);
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
        let object = json.as_object_mut().unwrap();
        for timing in ["wall_seconds", "guest_mips", "engine", "jit"] {
            object.remove(timing);
        }
        (out.stdout, json)
    };
    let first = cli("jit");
    assert_eq!(first, cli("jit"));
    assert_eq!(first, cli("interp"));
    let _ = std::fs::remove_file(stats);
}
