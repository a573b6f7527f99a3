//! `cargo bench --bench compare [NAME...] [--repeat N] [--no-reference]`
//!
//! Runs every benchmark guest (benches/guests/*.c) on zkjit's interpreter,
//! on its JIT (counting total cycles, then user cycles only, then making
//! and encoding every segment), on the reference executor
//! (risc0-circuit-rv32im 4.0.5 at po2 20, making and encoding its segments,
//! all under the reference v1compat kernel), and natively (the same C source built for
//! the host with `cc -O2`), and prints the times with their ratios side by
//! side. User, paging and total cycles and segments must agree with the
//! reference's. Interpreter, JIT and native times are the best of
//! `--repeat` runs (default 3); the reference runs once. Guests that use
//! the accelerators (secp256k1) have no native build.

#[path = "../tests/common/oracle.rs"]
mod oracle;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::host::HostIo;
use zkjit::{Config, Engine, Outcome, Program, Session};

const BENCHES: [&str; 12] = [
    "sha256",
    "matmul",
    "sieve",
    "quicksort",
    "crc32",
    "fib",
    "modexp",
    "bytecode",
    "secp256k1",
    "rewrite_10k",
    "rewrite_40k",
    "rewrite_200k",
];

/// The benchmarks built from one source at several sizes: name, source,
/// the macro that sets the size.
const SIZED: [(&str, &str, &str); 3] = [
    ("rewrite_10k", "rewrite", "-DREWRITES=10000"),
    ("rewrite_40k", "rewrite", "-DREWRITES=40000"),
    ("rewrite_200k", "rewrite", "-DREWRITES=200000"),
];

/// Benchmarks that use the zkVM's accelerators, so have no native build.
const ACCELERATED: [&str; 1] = ["secp256k1"];

struct Row {
    name: &'static str,
    cycles: u64,
    total_cycles: u64,
    segments: u64,
    interp: f64,
    jit: f64,
    jit_user_only: f64,
    jit_segments: f64,
    reference: Option<f64>,
    native: Option<f64>,
}

/// What a zkjit run measured: seconds, user cycles, (total cycles,
/// paging cycles, segments) unless only user cycles were counted, stdout.
struct Timed {
    seconds: f64,
    user_cycles: u64,
    cycles: Option<(u64, u64, u64)>,
    stdout: Vec<u8>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the native version of a benchmark; `None` without a host C compiler.
fn build_native(name: &str) -> Option<PathBuf> {
    let out_dir = root().join("target/bench-native");
    std::fs::create_dir_all(&out_dir).ok()?;
    let exe = out_dir.join(name);
    let (source, define) = match SIZED.iter().find(|(sized, _, _)| *sized == name) {
        Some(&(_, source, define)) => (source, Some(define)),
        None => (name, None),
    };
    let source = root().join("benches/guests").join(format!("{source}.c"));
    let status = Command::new("cc")
        .args(["-O2"])
        .args(define)
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .status()
        .ok()?;
    status.success().then_some(exe)
}

fn time_native(exe: &Path, expected_stdout: &[u8]) -> f64 {
    let start = Instant::now();
    let out = Command::new(exe).output().expect("native benchmark runs");
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(
        out.stdout,
        expected_stdout,
        "{}: native output differs from the guest's",
        exe.display()
    );
    elapsed
}

/// Runs on one of zkjit's engines.
/// What a run makes of its segments.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Segments {
    /// Nothing: counted only.
    Counted,
    /// Each encoded, as a prover pipeline would before sending it on.
    Encoded,
}

fn time_zkjit(
    program: &Program,
    engine: Engine,
    user_cycles_only: bool,
    segments: Segments,
) -> Timed {
    let config = Config {
        engine,
        capture_output: true,
        random_seed: Some(1),
        user_cycles_only,
        ..Config::default()
    };
    let mut session = Session::new(program, config).expect("session");
    if segments == Segments::Encoded {
        session
            .on_segment(|segment| {
                std::hint::black_box(segment.encode());
                Ok(())
            })
            .expect("segments");
    }
    let report = session.run();
    assert!(
        matches!(report.outcome, Outcome::Halted(h) if h.exit_code == 0),
        "{:?}",
        report.error
    );
    Timed {
        seconds: report.wall_seconds,
        user_cycles: report.user_cycles,
        cycles: report
            .cycles
            .map(|c| (c.total_cycles, c.paging_cycles, c.segments)),
        stdout: report.stdout,
    }
}

fn best<T>(repeat: usize, mut run: impl FnMut() -> (f64, T)) -> (f64, T) {
    let (mut best_time, mut last) = run();
    for _ in 1..repeat {
        let (time, value) = run();
        best_time = best_time.min(time);
        last = value;
    }
    (best_time, last)
}

fn geomean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0), |(s, n), v| (s + v.ln(), n + 1));
    (sum / n as f64).exp()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut repeat = 3;
    let mut with_reference = true;
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--repeat" => repeat = it.next().and_then(|v| v.parse().ok()).expect("--repeat N"),
            "--no-reference" => with_reference = false,
            name => only.push(name.to_string()),
        }
    }
    let mut rows = Vec::new();
    for name in BENCHES
        .iter()
        .filter(|n| only.is_empty() || only.iter().any(|o| o == *n))
    {
        let elf = std::fs::read(root().join("benches/guests").join(format!("{name}.elf")))
            .expect("benchmark ELF");
        let program =
            Program::from_bytes(&elf, false, V1COMPAT_ELF, true).expect("benchmark loads");
        let (interp, interp_run) = best(repeat, || {
            let run = time_zkjit(&program, Engine::Interp, false, Segments::Counted);
            (run.seconds, run)
        });
        let (jit, jit_run) = best(repeat, || {
            let run = time_zkjit(&program, Engine::Jit, false, Segments::Counted);
            (run.seconds, run)
        });
        let (jit_segments, segments_run) = best(repeat, || {
            let run = time_zkjit(&program, Engine::Jit, false, Segments::Encoded);
            (run.seconds, run)
        });
        let (jit_user_only, user_only_run) = best(repeat, || {
            let run = time_zkjit(&program, Engine::Jit, true, Segments::Counted);
            (run.seconds, run)
        });
        let (cycles, stdout) = (interp_run.user_cycles, interp_run.stdout);
        for run in [&jit_run, &user_only_run, &segments_run] {
            assert_eq!(run.stdout, stdout, "{name}: JIT output differs");
            assert_eq!(run.user_cycles, cycles, "{name}: JIT user cycles differ");
        }
        assert_eq!(
            jit_run.cycles, interp_run.cycles,
            "{name}: JIT cycles differ"
        );
        let (total_cycles, paging_cycles, segments) = interp_run.cycles.expect("cycle model on");
        let reference = with_reference.then(|| {
            let start = Instant::now();
            // The reference makes its segments and encodes each, as
            // zkjit's segments column does.
            let image = risc0_binfmt::ProgramBinary::new(&elf, V1COMPAT_ELF)
                .to_image()
                .expect("benchmark image");
            let run = oracle::run_oracle_image_with(image, HostIo::captured(), 20, None, |s| {
                std::hint::black_box(s.encode()?);
                Ok(())
            })
            .expect("reference executor runs");
            let elapsed = start.elapsed().as_secs_f64();
            assert_eq!(run.user_cycles, cycles, "{name}: reference cycles differ");
            assert_eq!(
                (run.total_cycles, run.paging_cycles, run.segments),
                (total_cycles, paging_cycles, segments),
                "{name}: reference total and paging cycles or segments differ"
            );
            assert_eq!(run.stdout, stdout, "{name}: reference output differs");
            elapsed
        });
        let native = (!ACCELERATED.contains(name))
            .then(|| build_native(name))
            .flatten()
            .map(|exe| best(repeat, || (time_native(&exe, &stdout), ())).0);
        eprintln!("{name}: done");
        rows.push(Row {
            name,
            cycles,
            total_cycles,
            segments,
            interp,
            jit,
            jit_user_only,
            jit_segments,
            reference,
            native,
        });
    }
    print_table(&rows);
}

fn print_table(rows: &[Row]) {
    let ms = |s: f64| format!("{:.1}", s * 1e3);
    let opt = |v: Option<f64>| v.map_or("-".to_string(), ms);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.1}", a / b),
        _ => "-".to_string(),
    };
    println!(
        "| program | user cycles | total cycles | segments | interp ms | JIT ms | JIT user-only ms | JIT + segments ms | reference ms | native ms | reference/interp | reference/JIT | reference/JIT user-only | reference/JIT + segments | JIT/native | JIT MIPS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
            r.name,
            r.cycles,
            r.total_cycles,
            r.segments,
            ms(r.interp),
            ms(r.jit),
            ms(r.jit_user_only),
            ms(r.jit_segments),
            opt(r.reference),
            opt(r.native),
            ratio(r.reference, Some(r.interp)),
            ratio(r.reference, Some(r.jit)),
            ratio(r.reference, Some(r.jit_user_only)),
            ratio(r.reference, Some(r.jit_segments)),
            ratio(Some(r.jit), r.native),
            r.cycles as f64 / r.jit / 1e6,
        );
    }
    // (Over the rows that have the column: accelerated guests have no
    // native time.)
    let g = |f: &dyn Fn(&Row) -> Option<f64>| {
        let values: Vec<f64> = rows.iter().filter_map(f).collect();
        if values.is_empty() {
            "-".into()
        } else {
            format!("{:.1}", geomean(values.into_iter()))
        }
    };
    println!(
        "| geometric mean | | | | | | | | | | {} | {} | {} | {} | {} | |",
        g(&|r| r.reference.map(|x| x / r.interp)),
        g(&|r| r.reference.map(|x| x / r.jit)),
        g(&|r| r.reference.map(|x| x / r.jit_user_only)),
        g(&|r| r.reference.map(|x| x / r.jit_segments)),
        g(&|r| r.native.map(|n| r.jit / n)),
    );
}
