//! The library API: load a program, configure a run, run it, read the exit,
//! journal and statistics. The CLI is a thin layer over this, and so are
//! the tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::cycle_model::{CycleModel, CycleSummary, Segment, DEFAULT_PO2, PO2_RANGE};
use crate::differential;
use crate::host::{HostIo, Sink};
use crate::interpreter::Interpreter;
use crate::jit::{self, JitEngine, JitOptions, JitStats};
use crate::loader::{LoadError, Program, Symbols};
use crate::machine::{Halt, HaltKind, Machine};
use crate::progress::{Progress, SLICE_CYCLES};
use crate::trap::Stop;

/// The kernel zkjit runs user ELFs under unless told otherwise.
pub const KERNEL_ELF: &[u8] = include_bytes!("../kernel/kernel.elf");

/// Which engine executes the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Cranelift-compiled basic blocks over the interpreter.
    #[default]
    Jit,
    /// The reference interpreter.
    Interp,
    /// The JIT and the interpreter in lockstep, stopping at the first divergence.
    Diff,
}

impl Engine {
    /// The engine's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Jit => "jit",
            Engine::Interp => "interp",
            Engine::Diff => "diff",
        }
    }
}

/// Where guest stdin comes from.
#[derive(Clone, Debug, Default)]
pub enum Input {
    /// Nothing: reads see end of input.
    #[default]
    Empty,
    /// The process's stdin.
    Stdin,
    /// These bytes.
    Bytes(Vec<u8>),
    /// This file.
    File(PathBuf),
}

/// How to run a program.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The engine.
    pub engine: Engine,
    /// Stop with [`Stop::CycleLimit`] after this many user cycles.
    pub max_cycles: Option<u64>,
    /// Guest arguments (SYS_ARGC/SYS_ARGV).
    pub args: Vec<String>,
    /// Guest environment (SYS_GETENV).
    pub env: BTreeMap<String, String>,
    /// Guest stdin.
    pub input: Input,
    /// Keep guest stdout and stderr in the report instead of passing them through.
    pub capture_output: bool,
    /// Seed of SYS_RANDOM (a fixed one when output is captured, else from the clock).
    pub random_seed: Option<u64>,
    /// Entries of a block before the JIT translates it (default:
    /// [`jit::DEFAULT_THRESHOLD`], after [`jit::DEFAULT_WARMUP_CYCLES`]; a
    /// threshold given here applies from the first cycle).
    pub jit_threshold: Option<u32>,
    /// Show a live progress line on stderr when the run lasts over a second.
    pub progress: bool,
    /// Segment size of the cycle model, as log2 of its cycles (13 to 24;
    /// default [`DEFAULT_PO2`]).
    pub po2: Option<u32>,
    /// Count user cycles only: no paging, no segments (the fastest run).
    pub user_cycles_only: bool,
}

impl Config {
    /// The cycle model this configuration asks for.
    fn cycle_model(&self) -> anyhow::Result<CycleModel> {
        if self.user_cycles_only {
            return Ok(CycleModel::user_only());
        }
        let po2 = self.po2.unwrap_or(DEFAULT_PO2);
        if !PO2_RANGE.contains(&po2) {
            anyhow::bail!(
                "segment po2 {po2} is out of range: provers take {} to {}",
                PO2_RANGE.start(),
                PO2_RANGE.end()
            );
        }
        Ok(CycleModel::new(po2))
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The guest halted.
    Halted(Halt),
    /// The run stopped without a halt.
    Stopped(Stop),
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// How the run ended.
    pub outcome: Outcome,
    /// The engine that ran it.
    pub engine: Engine,
    /// User cycles executed.
    pub user_cycles: u64,
    /// Segments, paging and total cycles (unless only user cycles were counted).
    pub cycles: Option<CycleSummary>,
    /// Wall-clock time of the run.
    pub wall_seconds: f64,
    /// The journal (fd 3) bytes.
    pub journal: Vec<u8>,
    /// Captured guest stdout (empty unless `capture_output`).
    pub stdout: Vec<u8>,
    /// Captured guest stderr (empty unless `capture_output`).
    pub stderr: Vec<u8>,
    /// The one-line description of a stop, with guest symbols.
    pub error: Option<String>,
    /// What the JIT did (JIT engine only).
    pub jit: Option<JitStats>,
}

/// The statistics `--stats-json` writes.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    /// The guest's exit code, when it halted.
    pub exit_code: Option<u32>,
    /// `terminate`, `pause` or `fault` (any run that did not halt).
    pub halt: &'static str,
    /// User cycles executed.
    pub user_cycles: u64,
    /// Segment size (log2 of cycles) the run was split at.
    pub po2: Option<u32>,
    /// Segments proving will take.
    pub segments: Option<u64>,
    /// Paging cycles, over all segments.
    pub paging_cycles: Option<u64>,
    /// Reserved cycles, over all segments.
    pub reserved_cycles: Option<u64>,
    /// All cycles proving will cost: user + paging + reserved.
    pub total_cycles: Option<u64>,
    /// Each segment: its po2 and its cycles.
    pub per_segment: Option<Vec<Segment>>,
    /// The engine.
    pub engine: Engine,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// Millions of user cycles per second.
    pub guest_mips: f64,
    /// Journal length in bytes.
    pub journal_bytes: usize,
    /// The output digest as hex, when the guest halted.
    pub output_digest: Option<String>,
    /// Why the run stopped, when it did not halt.
    pub error: Option<String>,
    /// What the JIT did (JIT engine only).
    pub jit: Option<JitStats>,
}

impl Report {
    /// The guest's exit code when it halted.
    pub fn exit_code(&self) -> Option<u32> {
        match &self.outcome {
            Outcome::Halted(halt) => Some(halt.exit_code),
            Outcome::Stopped(_) => None,
        }
    }

    /// Millions of user cycles per second.
    pub fn guest_mips(&self) -> f64 {
        if self.wall_seconds > 0.0 {
            self.user_cycles as f64 / self.wall_seconds / 1e6
        } else {
            0.0
        }
    }

    /// The statistics of the run.
    pub fn stats(&self) -> Stats {
        let (halt, output_digest) = match &self.outcome {
            Outcome::Halted(h) => {
                let kind = match h.kind {
                    HaltKind::Terminate | HaltKind::Other(_) => "terminate",
                    HaltKind::Pause => "pause",
                };
                (
                    kind,
                    Some(h.output_digest.iter().map(|b| format!("{b:02x}")).collect()),
                )
            }
            Outcome::Stopped(_) => ("fault", None),
        };
        let cycles = self.cycles.as_ref();
        Stats {
            exit_code: self.exit_code(),
            halt,
            user_cycles: self.user_cycles,
            po2: cycles.map(|c| c.po2),
            segments: cycles.map(|c| c.segments),
            paging_cycles: cycles.map(|c| c.paging_cycles),
            reserved_cycles: cycles.map(|c| c.reserved_cycles),
            total_cycles: cycles.map(|c| c.total_cycles),
            per_segment: cycles.map(|c| c.per_segment.clone()),
            engine: self.engine,
            wall_seconds: self.wall_seconds,
            guest_mips: self.guest_mips(),
            journal_bytes: self.journal.len(),
            output_digest,
            error: self.error.clone(),
            jit: self.jit.clone(),
        }
    }
}

/// A program loaded into a machine, ready to run.
pub struct Session {
    machine: Machine,
    /// The interpreter's machine of a differential run.
    reference: Option<Machine>,
    symbols: Symbols,
    config: Config,
}

impl Session {
    /// Loads `program` into a fresh machine configured by `config`.
    pub fn new(program: &Program, mut config: Config) -> anyhow::Result<Self> {
        let diff = config.engine == Engine::Diff;
        if diff {
            // Both machines get the same input and the same randomness.
            let bytes = match &config.input {
                Input::Empty => Vec::new(),
                Input::Bytes(bytes) => bytes.clone(),
                Input::Stdin => {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                        .map_err(|e| anyhow::anyhow!("cannot read stdin: {e}"))?;
                    bytes
                }
                Input::File(path) => std::fs::read(path).map_err(|e| {
                    anyhow::anyhow!("cannot read input file {}: {e}", path.display())
                })?,
            };
            config.input = Input::Bytes(bytes);
            config
                .random_seed
                .get_or_insert_with(|| HostIo::process().next_random_seed());
        }
        // In differential mode output is kept, compared, then passed on.
        let mut machine = Self::load(program, &config, config.capture_output || diff)?;
        machine.set_cycle_model(config.cycle_model()?);
        let reference = diff
            .then(|| -> anyhow::Result<Machine> {
                let mut reference = Self::load(program, &config, true)?;
                reference.set_cycle_model(config.cycle_model()?);
                Ok(reference)
            })
            .transpose()?;
        Ok(Self {
            machine,
            reference,
            symbols: program.symbols(),
            config,
        })
    }

    /// A machine with `program` loaded and I/O as `config` says.
    fn load(program: &Program, config: &Config, capture: bool) -> anyhow::Result<Machine> {
        let mut io = if capture {
            HostIo::captured()
        } else {
            HostIo::process()
        };
        io.stdin = match &config.input {
            Input::Empty => Box::new(std::io::empty()),
            Input::Stdin => Box::new(std::io::stdin()),
            Input::Bytes(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
            Input::File(path) => {
                Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(
                    |e| anyhow::anyhow!("cannot open input file {}: {e}", path.display()),
                )?))
            }
        };
        io.args = config.args.clone();
        io.env = config.env.clone();
        if let Some(seed) = config.random_seed {
            io.set_random_seed(seed);
        }
        let mut machine = Machine::new(io)
            .map_err(|e| anyhow::anyhow!("cannot reserve 4 GiB of guest address space: {e}"))?;
        program.write_to(&mut machine.mem);
        Ok(machine)
    }

    /// Runs the program to its end.
    pub fn run(mut self) -> Report {
        let start = Instant::now();
        let mut jit_stats = None;
        let result = self
            .machine
            .resume()
            .and_then(|()| self.execute(&mut jit_stats));
        let wall_seconds = start.elapsed().as_secs_f64();
        let outcome = match result {
            Ok(()) => Outcome::Halted(self.machine.halt.expect("a run without a stop has halted")),
            Err(stop) => Outcome::Stopped(stop),
        };
        let error = match &outcome {
            Outcome::Stopped(stop) => Some(self.describe(stop)),
            Outcome::Halted(_) => None,
        };
        let io = &mut self.machine.io;
        let (stdout, stderr) = (io.stdout.captured().to_vec(), io.stderr.captured().to_vec());
        let (stdout, stderr) = if self.config.capture_output {
            (stdout, stderr)
        } else {
            // A differential run kept its output to compare it; pass it on now.
            let _ = Sink::Stdout.write_all(&stdout);
            let _ = Sink::Stderr.write_all(&stderr);
            (Vec::new(), Vec::new())
        };
        Report {
            outcome,
            engine: self.config.engine,
            user_cycles: self.machine.user_cycles,
            cycles: self.machine.cycle_model.summary(self.machine.user_cycles),
            wall_seconds,
            journal: std::mem::take(&mut io.journal),
            stdout,
            stderr,
            error,
            jit: jit_stats,
        }
    }

    /// Runs the configured engine from the machine's current state.
    fn execute(&mut self, jit_stats: &mut Option<JitStats>) -> Result<(), Stop> {
        let max_cycles = self.config.max_cycles;
        let progress = self.config.progress;
        if self.config.engine == Engine::Interp {
            let machine = &mut self.machine;
            let mut interpreter = Interpreter::new();
            return run_in_slices(max_cycles, progress, machine, |m, limit| {
                interpreter.run(m, Some(limit))
            });
        }
        let diff = self.config.engine == Engine::Diff;
        let default_threshold = if diff { 1 } else { jit::DEFAULT_THRESHOLD };
        let options = JitOptions {
            threshold: self.config.jit_threshold.unwrap_or(default_threshold),
            warmup_cycles: match (diff, self.config.jit_threshold) {
                (false, None) => jit::DEFAULT_WARMUP_CYCLES,
                _ => 0,
            },
            chain: !diff,
            track_pages: diff,
            loops: !diff,
            traces: !diff,
        };
        let mut engine = JitEngine::new(options);
        let result = match &mut self.reference {
            None => run_in_slices(max_cycles, progress, &mut self.machine, |m, limit| {
                engine.run(m, Some(limit))
            }),
            Some(reference) => {
                let result = reference.resume().and_then(|()| {
                    differential::run(
                        &mut engine,
                        &mut self.machine,
                        reference,
                        max_cycles.unwrap_or(u64::MAX),
                    )
                });
                result.and_then(|()| compare_output(&self.machine, reference))
            }
        };
        *jit_stats = Some(engine.stats);
        result
    }

    /// The machine, for inspection.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// One line describing `stop`, naming guest symbols.
    fn describe(&self, stop: &Stop) -> String {
        let symbolize = |addr: u32| self.symbols.lookup(addr);
        let at = |pc: u32| match symbolize(pc) {
            Some(sym) => format!("{pc:#010x} <{sym}>"),
            None => format!("{pc:#010x}"),
        };
        let user_pc = self.machine.user_pc();
        let from_user = if self.machine.mode().is_machine() && user_pc != 0 {
            format!(" (called from user pc {})", at(user_pc))
        } else {
            String::new()
        };
        match stop {
            Stop::Fault(fault) => format!("fault: {}", fault.describe(&symbolize)),
            Stop::Unsupported { what, pc } => {
                format!("not supported: {what}, at pc {}{from_user}", at(*pc))
            }
            Stop::GuestPanic(msg) => format!("guest panicked: {msg}{from_user}"),
            Stop::HostCall { pc, message } => {
                format!("host call failed at pc {}{from_user}: {message}", at(*pc))
            }
            Stop::CycleLimit { limit, pc } => format!(
                "cycle limit of {limit} user cycles reached at pc {}",
                at(*pc)
            ),
            Stop::Io(message) => format!("host I/O error: {message}"),
            Stop::Divergence(report) => report.clone(),
        }
    }
}

/// Runs an engine (`run(machine, limit)`) to the end, in slices of
/// [`SLICE_CYCLES`] when a progress line is wanted, so that the line can be
/// redrawn between slices. A slice ends exactly like a cycle limit, which
/// leaves the machine ready to go on.
fn run_in_slices(
    max_cycles: Option<u64>,
    progress: bool,
    machine: &mut Machine,
    mut run: impl FnMut(&mut Machine, u64) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let limit = max_cycles.unwrap_or(u64::MAX);
    if !progress {
        return run(machine, limit);
    }
    let mut line = Progress::new();
    let result = loop {
        let slice_end = machine.user_cycles.saturating_add(SLICE_CYCLES).min(limit);
        match run(machine, slice_end) {
            Err(Stop::CycleLimit { .. }) if slice_end < limit => line.update(machine.user_cycles),
            other => break other,
        }
    };
    line.finish();
    result
}

/// Checks that both machines of a differential run wrote the same output.
fn compare_output(jit: &Machine, reference: &Machine) -> Result<(), Stop> {
    let streams = [
        (
            "stdout",
            jit.io.stdout.captured(),
            reference.io.stdout.captured(),
        ),
        (
            "stderr",
            jit.io.stderr.captured(),
            reference.io.stderr.captured(),
        ),
        ("journal", &jit.io.journal[..], &reference.io.journal[..]),
    ];
    for (name, a, b) in streams {
        if a != b {
            return Err(Stop::Divergence(format!(
                "the JIT and the interpreter wrote different {name}: {} bytes against {}",
                a.len(),
                b.len()
            )));
        }
    }
    Ok(())
}

/// Loads a program file as the CLI does: `bare` for machine-mode ELFs, an
/// optional kernel ELF replacing the built-in one.
pub fn load_program_file(
    path: &std::path::Path,
    bare: bool,
    kernel: Option<&std::path::Path>,
) -> anyhow::Result<Program> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
    };
    let bytes = read(path)?;
    let kernel_bytes = match kernel {
        Some(k) => read(k)?,
        None => KERNEL_ELF.to_vec(),
    };
    Program::from_bytes(&bytes, bare, &kernel_bytes, kernel.is_some()).map_err(|LoadError(msg)| {
        // Name the file the problem is in.
        let file = match kernel {
            Some(kernel) if msg.starts_with("kernel ELF") => kernel,
            _ => path,
        };
        anyhow::anyhow!("{}: {msg}", file.display())
    })
}
