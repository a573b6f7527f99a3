//! The JIT engine: exact on code that changes, at cycle limits, at segment
//! ends, on loops and traces of blocks and on the cycle counter, compared
//! with the interpreter.

mod common;

use common::GuestRun;
use zkjit::{Config, Engine, Input, Outcome, Session, Stop, KERNEL_ELF};

#[test]
fn code_that_changes_is_retranslated() {
    let report = GuestRun::new("smc").run();
    assert_eq!(report.exit_code(), Some(0), "{:?}", report.error);
    assert_eq!(
        String::from_utf8_lossy(&report.stdout),
        "total=129500\nbeside=1001000\n"
    );
    let jit = report.jit.expect("JIT statistics");
    assert!(
        jit.blocks_invalidated > 0,
        "the rewritten code had been translated: {jit:?}"
    );
}

fn run_limited(name: &'static str, engine: Engine, limit: u64, threshold: u32) -> (Outcome, u64) {
    let config = Config {
        engine,
        max_cycles: Some(limit),
        input: Input::Empty,
        capture_output: true,
        jit_threshold: Some(threshold),
        ..Config::default()
    };
    let program = GuestRun::new(name).program(KERNEL_ELF);
    let report = Session::new(&program, config).unwrap().run();
    (report.outcome, report.user_cycles)
}

#[test]
fn cycle_limit_stops_at_the_same_instruction_on_both_engines() {
    for limit in [1, 2, 100, 2_999, 3_000, 123_457, 1_000_000] {
        let interp = run_limited("recursion", Engine::Interp, limit, 1);
        assert!(
            matches!(interp.0, Outcome::Stopped(Stop::CycleLimit { .. })),
            "{limit}: {interp:?}"
        );
        assert_eq!(interp.1, limit);
        for threshold in [1, 2, 50] {
            let jit = run_limited("recursion", Engine::Jit, limit, threshold);
            assert_eq!(jit, interp, "limit {limit}, threshold {threshold}");
        }
    }
}

#[test]
fn translated_code_runs_most_cycles_of_a_long_program() {
    let report = GuestRun::new("heap").run();
    let jit = report.jit.expect("JIT statistics");
    assert!(
        jit.translated_cycles * 10 > report.user_cycles * 9,
        "only {} of {} cycles ran translated",
        jit.translated_cycles,
        report.user_cycles
    );
}

#[test]
fn running_in_progress_slices_changes_nothing() {
    // heap runs 18.8M cycles: several slices of 4M
    let program = GuestRun::new("heap").program(KERNEL_ELF);
    for engine in [Engine::Interp, Engine::Jit] {
        let run = |progress: bool| {
            let config = Config {
                engine,
                capture_output: true,
                progress,
                ..Config::default()
            };
            Session::new(&program, config).unwrap().run()
        };
        let (plain, sliced) = (run(false), run(true));
        assert_eq!(sliced.outcome, plain.outcome, "{engine:?}");
        assert_eq!(sliced.user_cycles, plain.user_cycles, "{engine:?}");
        assert_eq!(sliced.stdout, plain.stdout, "{engine:?}");
    }
}

#[test]
fn loops_of_blocks_run_as_one_function_exactly() {
    // The software SHA-256 has loops of several small blocks; run_both
    // checks every output and cycle count against the interpreter, with
    // small segments so that segments end inside the loops too.
    for po2 in [13, 20] {
        let report = GuestRun::new("sha").po2(po2).run();
        let jit = report.jit.expect("JIT statistics");
        assert!(jit.loops_compiled > 0, "no loop was translated: {jit:?}");
    }
}

#[test]
fn segments_end_at_the_same_instruction_on_both_engines() {
    // At po2 13 a segment holds a few hundred instructions, so segments
    // end inside translated blocks all the time.
    for name in ["recursion", "heap", "sha"] {
        let report = GuestRun::new(name).po2(13).run();
        let cycles = report.cycles.expect("cycle model on");
        assert!(
            cycles.segments > 100,
            "{name}: {} segments",
            cycles.segments
        );
    }
}

/// Runs benchmark guest `name` for `limit` cycles at segment size `po2`
/// on both engines (the JIT at `threshold`, or its default), checks that
/// they agree, and returns what the JIT did.
fn bench_guest_on_both_engines(
    name: &str,
    po2: u32,
    limit: u64,
    threshold: Option<u32>,
) -> zkjit::jit::JitStats {
    let elf = common::bench_guest(name);
    let program = zkjit::Program::from_bytes(&elf, false, KERNEL_ELF, true).unwrap();
    let run = |engine: Engine| {
        let config = Config {
            engine,
            max_cycles: Some(limit),
            capture_output: true,
            jit_threshold: threshold,
            po2: Some(po2),
            ..Config::default()
        };
        Session::new(&program, config).unwrap().run()
    };
    let (interp, jit) = (run(Engine::Interp), run(Engine::Jit));
    assert_eq!(jit.outcome, interp.outcome, "{name}, po2 {po2}");
    assert_eq!(jit.user_cycles, interp.user_cycles, "{name}, po2 {po2}");
    assert_eq!(jit.cycles, interp.cycles, "{name}, po2 {po2}");
    jit.jit.expect("JIT statistics")
}

#[test]
fn loops_entered_at_an_inner_block_run_exactly() {
    // modexp's multiply loop (10 blocks) is entered at different blocks
    // from interpreted code: those entries go into the one translation of
    // the loop. Small segments make the loop leave and be re-entered at
    // every block too.
    for po2 in [13, 20] {
        let stats = bench_guest_on_both_engines("modexp", po2, 3_000_000, Some(2));
        assert!(
            stats.loop_entries_compiled > 0,
            "no loop was entered at an inner block: {stats:?}"
        );
    }
}

#[test]
fn traces_of_blocks_run_exactly() {
    // The bytecode interpreter's ops are traces: the op's case, then the
    // jumps and never-taken bounds check back to the `switch`'s indirect
    // jump, each trace one function. Small segments make segments (and
    // the cycle limit) end inside traces too.
    for (po2, limit) in [(14, 3_000_000), (20, 2_999_999)] {
        let stats = bench_guest_on_both_engines("bytecode", po2, limit, None);
        assert!(
            stats.traces_compiled > 0,
            "no trace was translated: {stats:?}"
        );
    }
}

#[test]
fn short_runs_translate_nothing_by_default() {
    // Translating costs more than a run of a few thousand cycles takes to
    // interpret; yet the runtime's bss-clearing loop passes the default
    // threshold in every program. With the defaults nothing is translated
    // in a run's first DEFAULT_WARMUP_CYCLES.
    let program = GuestRun::new("hello").program(KERNEL_ELF);
    let config = Config {
        capture_output: true,
        ..Config::default()
    };
    let report = Session::new(&program, config).unwrap().run();
    assert_eq!(report.exit_code(), Some(0), "{:?}", report.error);
    assert!(report.user_cycles < zkjit::jit::DEFAULT_WARMUP_CYCLES);
    let jit = report.jit.expect("JIT statistics");
    assert_eq!(jit.blocks_compiled, 0, "{jit:?}");
}

#[test]
fn differential_mode_agrees_across_segment_ends_and_retranslation() {
    // smc retranslates the code it rewrites: a JIT step that only
    // translates, right after a segment ended, must not look like a
    // divergence.
    let program = GuestRun::new("smc").program(KERNEL_ELF);
    for po2 in [13, 14, 15, 20] {
        let config = Config {
            engine: Engine::Diff,
            capture_output: true,
            po2: Some(po2),
            ..Config::default()
        };
        let report = Session::new(&program, config).unwrap().run();
        assert_eq!(report.exit_code(), Some(0), "po2 {po2}: {:?}", report.error);
    }
}

#[test]
fn a_full_code_arena_is_flushed_and_the_run_goes_on() {
    use zkjit::cycle_model::{CycleModel, DEFAULT_PO2};
    use zkjit::host::HostIo;
    use zkjit::interpreter::Interpreter;
    use zkjit::jit::{JitEngine, JitOptions};
    use zkjit::Machine;
    // sha translates dozens of functions: an arena of 16 KiB fills often.
    let program = GuestRun::new("sha").program(KERNEL_ELF);
    let run = |jit: Option<JitOptions>| {
        let mut m = Machine::new(HostIo::captured()).expect("machine");
        m.set_cycle_model(CycleModel::new(DEFAULT_PO2));
        program.write_to(&mut m.mem);
        let mut stats = None;
        let result = m.resume().and_then(|()| match jit {
            None => Interpreter::new().run(&mut m, None),
            Some(options) => {
                let mut engine = JitEngine::new(options);
                let result = engine.run(&mut m, None);
                stats = Some(engine.stats);
                result
            }
        });
        let stdout = m.io.stdout.captured().to_vec();
        (
            result,
            m.user_cycles,
            m.cycle_model.summary(m.user_cycles),
            stdout,
            stats,
        )
    };
    let (result, cycles, summary, stdout, _) = run(None);
    let (jit_result, jit_cycles, jit_summary, jit_stdout, stats) = run(Some(JitOptions {
        threshold: 2,
        code_arena_bytes: 16 << 10,
        ..JitOptions::default()
    }));
    assert_eq!(
        (jit_result, jit_cycles, jit_summary),
        (result, cycles, summary)
    );
    assert_eq!(jit_stdout, stdout);
    let stats = stats.unwrap();
    assert!(stats.flushes > 0, "the arena never filled: {stats:?}");
    assert!(
        stats.entries > 0,
        "nothing ran translated after a flush: {stats:?}"
    );
}

#[test]
fn code_rewritten_again_and_again_is_left_to_the_interpreter() {
    // The rewrite benchmark's smallest size: one function rewritten 10 000
    // times, called 300 times after each.
    let program = zkjit::Program::from_bytes(
        &common::bench_guest("rewrite_10k"),
        false,
        KERNEL_ELF,
        false,
    )
    .unwrap();
    let run = |engine| {
        let config = Config {
            engine,
            capture_output: true,
            user_cycles_only: true,
            ..Config::default()
        };
        Session::new(&program, config).unwrap().run()
    };
    let (interp, jit) = (run(Engine::Interp), run(Engine::Jit));
    assert_eq!(jit.outcome, interp.outcome);
    assert_eq!(jit.user_cycles, interp.user_cycles);
    assert_eq!(jit.stdout, interp.stdout);
    let stats = jit.jit.unwrap();
    // A few translations of the rewritten page, then none: not one a rewrite.
    assert!(stats.blocks_left_rewritten >= 1, "{stats:?}");
    assert!(stats.blocks_invalidated <= 8, "{stats:?}");
    assert!(stats.burst_cycles * 2 > jit.user_cycles, "{stats:?}");
}
