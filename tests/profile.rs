//! Cycle profiles (`Config::profile`, `zkjit run --profile`): the samples
//! add up to the run's user and paging cycles, are the same on both
//! engines, name the guest's functions (C, Rust and kernel), and the pprof
//! file reads back to the same stacks.

mod common;

use zkjit::profile::{pprof, Profile, Stack, MAX_DEPTH};
use zkjit::{Config, Engine, Input, Outcome, Program, Report, Session, KERNEL_ELF};

fn profiled(program: &Program, engine: Engine, max_cycles: Option<u64>, input: &[u8]) -> Report {
    let config = Config {
        engine,
        max_cycles,
        input: Input::Bytes(input.to_vec()),
        capture_output: true,
        random_seed: Some(1),
        po2: Some(16),
        profile: true,
        // Translate early, so that short runs are mostly translated code.
        jit_threshold: Some(2),
        ..Config::default()
    };
    Session::new(program, config).expect("a session").run()
}

/// Runs `program` profiled on both engines; checks the profiles are equal
/// and add up to the run's cycles; returns the profile.
fn profile_on_both(
    what: &str,
    program: &Program,
    max_cycles: Option<u64>,
    input: &[u8],
) -> Profile {
    let [interp, jit] =
        [Engine::Interp, Engine::Jit].map(|e| profiled(program, e, max_cycles, input));
    let profile = interp.profile.clone().expect("a profile");
    assert_eq!(
        jit.profile.as_ref(),
        Some(&profile),
        "{what}: the engines' profiles"
    );
    let cycles: u64 = profile.stacks.iter().map(|s| s.cycles).sum();
    let paging: u64 = profile.stacks.iter().map(|s| s.paging_cycles).sum();
    let report_paging = interp
        .cycles
        .as_ref()
        .expect("the cycle model")
        .paging_cycles;
    assert_eq!(cycles, interp.user_cycles, "{what}: user cycles");
    assert_eq!(paging, report_paging, "{what}: paging cycles");
    assert_eq!(
        (profile.cycles, profile.paging_cycles),
        (cycles, paging),
        "{what}"
    );
    assert!(
        profile
            .stacks
            .iter()
            .all(|s| s.frames.len() <= MAX_DEPTH as usize),
        "{what}: a stack deeper than MAX_DEPTH"
    );
    profile
}

fn user_program(elf: &[u8]) -> Program {
    Program::from_bytes(elf, false, KERNEL_ELF, false).expect("a user ELF")
}

fn has_stack(profile: &Profile, path: &[&str]) -> bool {
    profile.stacks.iter().any(|s| {
        let names: Vec<&str> = s.frames.iter().map(|f| f.name.as_str()).collect();
        names.ends_with(path) && s.cycles > 0
    })
}

#[test]
fn profiles_of_the_benchmark_guests_add_up_and_agree_on_both_engines() {
    for name in common::bench_guests() {
        let program = user_program(&common::bench_guest(&name));
        // A few segments' worth of each (the whole of the short ones).
        let profile = profile_on_both(&name, &program, Some(3_000_000), &[]);
        let in_main = |s: &&Stack| s.frames.iter().any(|f| f.name == "main");
        assert!(
            profile.stacks.iter().filter(in_main).any(|s| s.cycles > 0),
            "{name}: no cycles in main: {:?}",
            profile.functions().first()
        );
    }
}

/// The same over whole runs (about 10^9 cycles on the interpreter, a
/// minute in a release build): `cargo test --release --test profile --
/// --ignored`.
#[test]
#[ignore]
fn whole_benchmark_runs_profile_exactly() {
    for name in common::bench_guests() {
        let program = user_program(&common::bench_guest(&name));
        let profile = profile_on_both(&name, &program, None, &[]);
        eprintln!(
            "{name}: {} stacks, {} user and {} paging cycles",
            profile.stacks.len(),
            profile.cycles,
            profile.paging_cycles
        );
    }
}

#[test]
fn stacks_follow_calls_returns_and_recursion() {
    let profile = profile_on_both(
        "recursion",
        &user_program(&common::guest("recursion")),
        None,
        &[],
    );
    // Direct recursion is one frame: depth(100000) and ackermann are
    // called from main, and return to it.
    assert!(has_stack(
        &profile,
        &["_start", "_zkjit_start", "main", "depth"]
    ));
    assert!(has_stack(&profile, &["main", "ackermann"]));
    assert!(has_stack(&profile, &["main", "printf", "__d_vfprintf"]));
    let functions = profile.functions();
    let depth = functions.iter().find(|f| f.name == "depth").expect("depth");
    // 100 001 calls of about 9 instructions each.
    assert!(
        (800_000..1_000_000).contains(&depth.self_cycles),
        "{depth:?}"
    );
    // The 100 000 frames' stack pages were paged in and out by depth.
    assert!(depth.self_paging_cycles > 1_000_000, "{depth:?}");
}

#[test]
fn host_calls_are_the_kernel_functions_of_the_stack_that_made_them() {
    let profile = profile_on_both("hello", &user_program(&common::guest("hello")), None, &[]);
    // main's output leaves through the kernel's ECALL dispatch, which
    // checks the buffer.
    let checks = ["_ecall_dispatch [kernel]", "_check_user_buffer [kernel]"];
    assert!(profile.stacks.iter().any(|s| {
        let names: Vec<&str> = s.frames.iter().map(|f| f.name.as_str()).collect();
        names.ends_with(&checks) && names.contains(&"main")
    }));
    // The kernel's own start is a stack of its own, before the user's.
    assert_eq!(profile.stacks[0].frames[0].name, "_start [kernel]");
    assert_eq!(profile.stacks[1].frames[0].name, "_start");
}

#[test]
fn a_rust_guest_under_v1compat_profiles_with_demangled_names() {
    let binary = std::fs::read(common::real_guest_path("risc0-povw-log-builder.bin")).unwrap();
    let program = user_program(&binary);
    // No input: the guest panics reading it, through core::fmt.
    let profile = profile_on_both("povw log builder", &program, None, &[]);
    let names: Vec<String> = profile.functions().into_iter().map(|f| f.name).collect();
    assert!(names.iter().any(|n| n == "core::fmt::write"), "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with("_ZN")), "{names:?}");
}

#[test]
fn the_pprof_file_holds_the_profiles_stacks_and_both_sample_types() {
    let report = profiled(
        &user_program(&common::guest("recursion")),
        Engine::Jit,
        None,
        &[],
    );
    assert!(matches!(report.outcome, Outcome::Halted(_)));
    let profile = report.profile.expect("a profile");
    let file = pprof::decode(&profile.to_pprof("recursion.elf").unwrap()).expect("decodes");
    let string = |index: i64| file.string_table[index as usize].as_str();
    assert_eq!(string(0), "");
    let types: Vec<&str> = file.sample_type.iter().map(|t| string(t.r#type)).collect();
    assert_eq!(types, ["cycles", "paging_cycles"]);
    assert_eq!(file.sample.len(), profile.stacks.len());
    let mut totals = [0i64; 2];
    for (sample, stack) in file.sample.iter().zip(&profile.stacks) {
        totals[0] += sample.value[0];
        totals[1] += sample.value[1];
        // Innermost first: each location's address and function name.
        let frames: Vec<(u64, &str)> = sample
            .location_id
            .iter()
            .map(|&id| {
                let location = &file.location[id as usize - 1];
                assert_eq!(location.id, id);
                let function = &file.function[location.line[0].function_id as usize - 1];
                (location.address, string(function.name))
            })
            .collect();
        let expected: Vec<(u64, &str)> = stack
            .frames
            .iter()
            .rev()
            .map(|f| (u64::from(f.address), f.name.as_str()))
            .collect();
        assert_eq!(frames, expected);
    }
    assert_eq!(
        totals,
        [profile.cycles as i64, profile.paging_cycles as i64]
    );
}

#[test]
fn the_cli_writes_the_profile_the_flame_graph_and_a_summary() {
    let dir = std::env::temp_dir().join(format!("zkjit-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pb, svg) = (dir.join("fib.pb.gz"), dir.join("fib.svg"));
    let fib = common::guest_path("recursion");
    let output = common::zkjit(&[
        "run",
        "-v",
        "--profile",
        pb.to_str().unwrap(),
        "--flamegraph",
        svg.to_str().unwrap(),
        fib.to_str().unwrap(),
    ]);
    let stderr = common::text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("cycles by function"), "{stderr}");
    assert!(stderr.lines().any(|l| l.ends_with(" depth")), "{stderr}");
    let file = pprof::decode(&std::fs::read(&pb).unwrap()).expect("a pprof file");
    assert!(!file.sample.is_empty());
    let svg = common::text(&std::fs::read(&svg).unwrap());
    assert!(svg.starts_with("<?xml"), "{}", &svg[..80.min(svg.len())]);
    assert!(svg.contains("ackermann") && svg.contains("[paging]"));
    // Profiling with the differential engine is refused, with the reason.
    let output = common::zkjit(&["run", "--engine", "diff", "-v", fib.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(common::text(&output.stderr).contains("profiling needs the jit or the interp engine"));
    std::fs::remove_dir_all(&dir).unwrap();
}
