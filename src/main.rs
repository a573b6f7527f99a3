//! The `zkjit` command line: a thin layer over the library's session API.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use zkjit::decoder::decode;
use zkjit::loader::{Program, Symbols};
use zkjit::segments::SegmentDir;
use zkjit::session::{LimitReached, Limits};
use zkjit::syscalls::Assumption;
use zkjit::{load_program_file, Config, Engine, Input, Outcome, Session, Stop};

/// Exit status when zkjit itself fails (bad arguments, unreadable or malformed program).
const EXIT_USAGE: u8 = 2;
/// Exit status when the guest stopped without halting (fault, panic...).
const EXIT_GUEST_STOPPED: u8 = 1;
/// Exit statuses of the limits of `zkjit run` (the guest's own code when
/// it halts; these when a limit stops it).
const EXIT_MAX_CYCLES: u8 = 3;
const EXIT_TIMEOUT: u8 = 4;
const EXIT_MAX_OUTPUT: u8 = 5;
const EXIT_MAX_MEMORY: u8 = 6;
/// 128 + SIGINT, as shells report a run ended by Ctrl-C.
const EXIT_INTERRUPTED: u8 = 130;

/// What `zkjit run --help` ends with.
const RUN_EXIT_STATUS_HELP: &str =
    "Exit status: the guest's exit code when it halts; 1 when it faults, \
panics or a host call fails; 2 when zkjit cannot start the run (bad arguments, unreadable \
program); and when a limit stops it: 3 --max-cycles, 4 --timeout, 5 --max-output, \
6 --max-memory, 130 Ctrl-C (a second Ctrl-C ends zkjit at once). A stopped run still prints \
its statistics so far (and writes --stats-json and --journal).";

#[derive(Parser)]
#[command(
    name = "zkjit",
    version,
    about = "Run RISC Zero zkVM guest programs, exactly and fast"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    /// Cranelift-compiled basic blocks, tiered over the interpreter.
    Jit,
    /// The reference interpreter.
    Interp,
    /// The JIT and the interpreter in lockstep, stopping at the first divergence.
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CyclesArg {
    /// User, paging and reserved cycles, split into segments as proving will.
    Total,
    /// User cycles only (no paging model: the fastest run).
    User,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program: a user ELF (under the built-in kernel), a RISC Zero
    /// program binary (R0BF), or with --bare a machine-mode ELF.
    #[command(after_help = RUN_EXIT_STATUS_HELP)]
    Run(Box<RunArgs>),
    /// Print a program's image ID (hex), as the risc0 tools compute it: of
    /// an R0BF binary as it is, of a user ELF with the kernel given (risc0's
    /// tools use the v1compat kernel: pass it with --kernel), or with --bare
    /// of a machine-mode ELF.
    ImageId {
        /// The program file.
        program: PathBuf,
        /// Treat the ELF as a bare machine-mode program.
        #[arg(long)]
        bare: bool,
        /// The kernel ELF (default: the one in an R0BF binary, else the built-in kernel).
        #[arg(long, value_name = "ELF", conflicts_with = "bare")]
        kernel: Option<PathBuf>,
    },
    /// Disassemble a program's code, with symbols.
    Disasm {
        /// The program file.
        program: PathBuf,
        /// Treat the ELF as a bare machine-mode program.
        #[arg(long)]
        bare: bool,
        /// Also disassemble this kernel (default: the built-in kernel is not shown).
        #[arg(long, value_name = "ELF", conflicts_with = "bare")]
        kernel: Option<PathBuf>,
    },
}

/// What `zkjit run` takes.
#[derive(Args)]
struct RunArgs {
    /// The program file.
    program: PathBuf,
    /// Run the ELF in machine mode with no kernel.
    #[arg(long)]
    bare: bool,
    /// Kernel ELF to run a user program under (default: the built-in kernel).
    #[arg(long, value_name = "ELF", conflicts_with = "bare")]
    kernel: Option<PathBuf>,
    /// Execution engine.
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineArg,
    /// Entries of a block in the interpreter before the JIT translates it
    /// (default: 250, and nothing is translated in a run's first 10000
    /// cycles; with --engine diff, 1).
    #[arg(long, value_name = "N")]
    jit_threshold: Option<u32>,
    /// File to use as guest stdin (default: this process's stdin).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write the journal (fd 3) to this file.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Write run statistics as JSON to this file (with the image ID and
    /// the post-state digest).
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
    /// Write each segment, ready for a prover, to DIR/segment-N.bin: the
    /// reference executor's encoding, byte for byte.
    #[arg(long, value_name = "DIR")]
    segments: Option<PathBuf>,
    /// Let --segments use a directory that is not empty (the
    /// segment-N.bin files in it are deleted first).
    #[arg(long, requires = "segments")]
    force: bool,
    /// Stop after this many user cycles (exit status 3).
    #[arg(long, value_name = "N")]
    max_cycles: Option<u64>,
    /// Stop after this much wall-clock time (exit status 4).
    #[arg(long, value_name = "SECONDS", value_parser = seconds_parser)]
    timeout: Option<std::time::Duration>,
    /// Stop when the guest's stdout, stderr and journal together pass
    /// this many bytes (exit status 5).
    #[arg(long, value_name = "BYTES")]
    max_output: Option<u64>,
    /// Stop when zkjit's resident memory (guest pages touched, translated
    /// code, host buffers) passes this many MiB (exit status 6).
    #[arg(long, value_name = "MIB")]
    max_memory: Option<u64>,
    /// Segment size for the cycle model: 2^N cycles, N from 13 to 24
    /// (default 20).
    #[arg(long, value_name = "N", value_parser = po2_parser())]
    po2: Option<u32>,
    /// Which cycles to count.
    #[arg(long, value_enum, default_value = "total")]
    cycles: CyclesArg,
    /// Set a guest environment variable (SYS_GETENV); repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// A receipt claim the guest may verify (SYS_VERIFY_INTEGRITY): its
    /// digest and, optionally, its control root, 64 hex digits each;
    /// repeatable.
    #[arg(long = "assumption", value_name = "CLAIM[:CONTROL_ROOT]", value_parser = assumption_parser)]
    assumptions: Vec<Assumption>,
    /// Seed for SYS_RANDOM (default: from the clock).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Write a cycle profile (gzipped pprof protobuf: `pprof`, speedscope)
    /// of user and paging cycles per call stack of guest functions.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Write the cycle profile as a flame graph (SVG), paging cycles as
    /// `[paging]` frames.
    #[arg(long, value_name = "FILE.svg")]
    flamegraph: Option<PathBuf>,
    /// Profile the run and print the functions that took the most cycles.
    #[arg(short, long)]
    verbose: bool,
    /// Wait for gdb on ADDR:PORT (GDB remote protocol) and run the guest
    /// as it says: `target remote ADDR:PORT` in gdb-multiarch, with the
    /// ELF loaded and `set architecture riscv:rv32`.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "segments")]
    gdb: Option<String>,
    /// Print no summary line.
    #[arg(short, long)]
    quiet: bool,
    /// Guest arguments (SYS_ARGC/SYS_ARGV).
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("ZKJIT_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(*args),
        Command::Disasm {
            program,
            bare,
            kernel,
        } => disasm(&program, bare, kernel.as_deref()).map(|()| ExitCode::SUCCESS),
        Command::ImageId {
            program,
            bare,
            kernel,
        } => print_image_id(&program, bare, kernel.as_deref()).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        eprintln!("zkjit: error: {e:#}");
        ExitCode::from(EXIT_USAGE)
    })
}

/// `--po2`: a segment size the cycle model accepts.
fn po2_parser() -> clap::builder::RangedI64ValueParser<u32> {
    let range = zkjit::cycle_model::PO2_RANGE;
    clap::value_parser!(u32).range(i64::from(*range.start())..=i64::from(*range.end()))
}

/// `--assumption`: a claim digest with an optional control root.
fn assumption_parser(text: &str) -> Result<Assumption, String> {
    Assumption::parse(text)
}

fn parse_env(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("--env takes KEY=VALUE, got {pair:?}"),
        })
        .collect()
}

fn run(mut opts: RunArgs) -> Result<ExitCode> {
    let user_cycles_only = opts.cycles == CyclesArg::User;
    if user_cycles_only && opts.po2.is_some() {
        bail!("--po2 sizes segments, which --cycles user does not count");
    }
    if user_cycles_only && opts.segments.is_some() {
        bail!("--segments needs the segments --cycles user does not count");
    }
    let program = load_program_file(&opts.program, opts.bare, opts.kernel.as_deref())?;
    let config = Config {
        engine: match opts.engine {
            EngineArg::Jit => Engine::Jit,
            EngineArg::Interp => Engine::Interp,
            EngineArg::Diff => Engine::Diff,
        },
        max_cycles: opts.max_cycles,
        args: std::mem::take(&mut opts.args),
        env: parse_env(&opts.env)?,
        input: opts.input.take().map_or(Input::Stdin, Input::File),
        capture_output: false,
        random_seed: opts.seed,
        jit_threshold: opts.jit_threshold,
        progress: !opts.quiet && std::io::stderr().is_terminal(),
        po2: opts.po2,
        user_cycles_only,
        assumptions: std::mem::take(&mut opts.assumptions),
        image_digests: opts.stats_json.is_some() && !user_cycles_only && opts.gdb.is_none(),
        limits: Limits {
            timeout: opts.timeout,
            max_output_bytes: opts.max_output,
            max_memory_bytes: opts.max_memory.map(|mib| mib.saturating_mul(1 << 20)),
            interrupt: Some(interrupt::on_ctrl_c()),
        },
        profile: opts.profile.is_some() || opts.flamegraph.is_some() || opts.verbose,
    };
    let mut session = Session::new(&program, config)?;
    if let Some(dir) = &opts.segments {
        session.on_segment(SegmentDir::prepare(dir, opts.force)?.sink())?;
    }
    if let Some(addr) = &opts.gdb {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen for gdb on {addr}"))?;
        let local = listener.local_addr()?;
        session.debug_with_gdb(listener)?;
        eprintln!(
            "zkjit: waiting for gdb on {local} (in gdb-multiarch: file {}, target remote {local})",
            opts.program.display()
        );
    }
    let report = session.run();
    if let Some(file) = &opts.journal {
        std::fs::write(file, &report.journal)
            .with_context(|| format!("cannot write journal {}", file.display()))?;
    }
    if let Some(profile) = &report.profile {
        write_profile(&opts, profile)?;
    }
    if let Some(file) = &opts.stats_json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(file, json + "\n")
            .with_context(|| format!("cannot write stats {}", file.display()))?;
    }
    let cycles = match &report.cycles {
        Some(c) => format!(
            "{} user + {} paging + {} reserved = {} total cycles in {} segment{} (po2 {})",
            c.user_cycles,
            c.paging_cycles,
            c.reserved_cycles,
            c.total_cycles,
            c.segments,
            if c.segments == 1 { "" } else { "s" },
            c.po2,
        ),
        None => format!("{} user cycles", report.user_cycles),
    };
    let timing = format!(
        "{cycles}, {:.3} s, {:.1} guest MIPS [{}]",
        report.wall_seconds,
        report.guest_mips(),
        report.engine.name()
    );
    let _ = std::io::stdout().flush();
    match &report.outcome {
        Outcome::Halted(halt) => {
            if !opts.quiet {
                let kind = report.halt_name();
                eprintln!("zkjit: exit code {} ({kind}), {timing}", halt.exit_code);
            }
            Ok(ExitCode::from(halt.exit_code.min(255) as u8))
        }
        Outcome::Stopped(_) => {
            eprintln!(
                "zkjit: error: {}",
                report.error.as_deref().unwrap_or("run stopped")
            );
            if !opts.quiet {
                eprintln!("zkjit: stopped after {timing}");
            }
            Ok(ExitCode::from(match &report.outcome {
                Outcome::Stopped(Stop::CycleLimit { .. }) => EXIT_MAX_CYCLES,
                Outcome::Stopped(Stop::Limit { reached, .. }) => match reached {
                    LimitReached::Timeout { .. } => EXIT_TIMEOUT,
                    LimitReached::Output { .. } => EXIT_MAX_OUTPUT,
                    LimitReached::Memory { .. } => EXIT_MAX_MEMORY,
                    LimitReached::Interrupted => EXIT_INTERRUPTED,
                },
                _ => EXIT_GUEST_STOPPED,
            }))
        }
    }
}

/// Functions `--verbose` lists.
const TOP_FUNCTIONS: usize = 20;

/// Writes what `--profile`, `--flamegraph` and `--verbose` ask for.
fn write_profile(opts: &RunArgs, profile: &zkjit::profile::Profile) -> Result<()> {
    let name = opts.program.display().to_string();
    if let Some(file) = &opts.profile {
        std::fs::write(file, profile.to_pprof(&name)?)
            .with_context(|| format!("cannot write profile {}", file.display()))?;
    }
    if let Some(file) = &opts.flamegraph {
        let title = format!(
            "{name}: {} user + {} paging cycles",
            profile.cycles, profile.paging_cycles
        );
        std::fs::write(file, profile.flame_graph(&title)?)
            .with_context(|| format!("cannot write flame graph {}", file.display()))?;
    }
    if opts.verbose {
        eprint!(
            "zkjit: cycles by function ({} user, {} paging):\n{}",
            profile.cycles,
            profile.paging_cycles,
            profile.summary(TOP_FUNCTIONS)
        );
    }
    Ok(())
}

fn print_image_id(path: &Path, bare: bool, kernel: Option<&Path>) -> Result<()> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let bytes = read(path)?;
    let kernel_bytes = match kernel {
        Some(k) => read(k)?,
        None => zkjit::KERNEL_ELF.to_vec(),
    };
    let id = zkjit::image_id::image_id(&bytes, bare, &kernel_bytes, kernel.is_some())
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.0))?;
    println!(
        "{}",
        id.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    Ok(())
}

fn disasm(path: &Path, bare: bool, kernel: Option<&Path>) -> Result<()> {
    let program = load_program_file(path, bare, kernel)?;
    let symbols = program.symbols();
    let mut out = std::io::stdout().lock();
    let images = match (&program, kernel) {
        (Program::WithKernel { user, .. }, None) => vec![user],
        _ => program.images(),
    };
    for image in images {
        for segment in image.segments.iter().filter(|s| s.executable) {
            writeln!(
                out,
                "\nsegment {:#010x}..{:#010x}:",
                segment.vaddr,
                segment.vaddr + segment.mem_size
            )?;
            print_code(&mut out, segment.vaddr, &segment.data, &symbols)?;
        }
    }
    Ok(())
}

fn print_code(out: &mut impl Write, base: u32, code: &[u8], symbols: &Symbols) -> Result<()> {
    for (i, word) in code.chunks_exact(4).enumerate() {
        let pc = base + 4 * i as u32;
        if let Some(name) = symbols.at(pc) {
            writeln!(out, "\n{pc:08x} <{name}>:")?;
        }
        let word = u32::from_le_bytes(word.try_into().expect("chunks of four"));
        writeln!(
            out,
            "  {pc:08x}:  {word:08x}  {}",
            decode(word).disassemble(Some(pc))
        )?;
    }
    Ok(())
}

/// A duration in seconds, as `--timeout` takes it.
fn seconds_parser(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text} seconds is not a duration (it must be 0 or more)"))
}

/// Ctrl-C: the first sets a flag the run stops at (cleanly, with its
/// statistics); the second ends the process at once.
mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_sigint(_: libc::c_int) {
        if INTERRUPTED.swap(true, Ordering::Relaxed) {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(130) };
        }
    }

    /// Installs the handler; the flag it sets.
    pub fn on_ctrl_c() -> &'static AtomicBool {
        let handler: extern "C" fn(libc::c_int) = on_sigint;
        // SAFETY: the handler only touches an atomic and calls _exit.
        unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
        &INTERRUPTED
    }
}
