//! The library API: load a program, configure a run ([`Config`]), run it,
//! read the exit, journal and statistics ([`Report`]). The CLI is a thin
//! layer over this, and so are the tests.

mod config;
mod limits;
mod report;

use std::time::Instant;

pub use config::{Config, Engine, Input};
pub use limits::{LimitReached, Limits};
pub use report::{Outcome, Report};

use crate::differential;
use crate::gdb::{self, DebugEngine};
use crate::host::{HostIo, Sink};
use crate::interpreter::Interpreter;
use crate::jit::{self, JitEngine, JitOptions, JitStats};
use crate::loader::{Program, Symbols};
use crate::machine::Machine;
use crate::profile::Profiler;
use crate::progress::{Progress, SLICE_CYCLES};
use crate::segments::{Segment, SegmentSink};
use crate::stop::Stop;

/// A program loaded into a machine, ready to run.
pub struct Session {
    machine: Machine,
    /// The interpreter's machine of a differential run.
    reference: Option<Machine>,
    symbols: Symbols,
    /// The pages the program was loaded into.
    loaded_pages: Vec<u32>,
    config: Config,
    /// Where gdb will connect, when the run is debugged.
    gdb: Option<std::net::TcpListener>,
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
        let symbols = program.symbols();
        if config.profile {
            if diff {
                anyhow::bail!("profiling needs the jit or the interp engine, not diff");
            }
            let profiler = Profiler::new(symbols.clone(), machine.start_pc());
            machine.profiler = Some(Box::new(profiler));
        }
        let mut session = Self {
            machine,
            reference,
            symbols,
            loaded_pages: program.loaded_pages(),
            config,
            gdb: None,
        };
        if session.config.image_digests {
            session.record_segments(None)?;
        }
        Ok(session)
    }

    /// Hands each segment of the run to `sink` as soon as it is made, on a
    /// thread of its own, while execution goes on: a prover pipeline
    /// streams them to its workers from there. The segments are the
    /// reference executor's, byte for byte ([`Segment::encode`]); an error
    /// from `sink` stops the run. Needs the cycle model (segments are
    /// its).
    pub fn on_segment(
        &mut self,
        sink: impl FnMut(Segment) -> anyhow::Result<()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.record_segments(Some(Box::new(sink)))
    }

    /// Runs the guest under gdb: [`Session::run`] waits for a GDB
    /// remote-protocol connection on `listener`, then runs as gdb says
    /// (see [`crate::gdb`]). Not with the differential engine, segments or
    /// image digests (breakpoints change the code in memory).
    pub fn debug_with_gdb(&mut self, listener: std::net::TcpListener) -> anyhow::Result<()> {
        if self.config.engine == Engine::Diff {
            anyhow::bail!("gdb needs the jit or the interp engine, not diff");
        }
        if self.machine.segments.is_some() {
            anyhow::bail!("gdb cannot run with segments or image digests: breakpoints change the code in memory");
        }
        self.gdb = Some(listener);
        Ok(())
    }

    fn record_segments(&mut self, sink: Option<SegmentSink>) -> anyhow::Result<()> {
        if self.gdb.is_some() {
            anyhow::bail!("segments and image digests cannot be made under gdb: breakpoints change the code in memory");
        }
        if !self.machine.cycle_model.enabled() {
            anyhow::bail!("segments and image digests need the cycle model, which counting user cycles only turns off");
        }
        self.machine
            .record_segments(self.loaded_pages.clone(), sink);
        Ok(())
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
        io.assumptions = config.assumptions.clone();
        io.max_output_bytes = config.limits.max_output_bytes;
        if let Some(seed) = config.random_seed {
            io.set_random_seed(seed);
        }
        let mut machine = Machine::new(io)
            .map_err(|e| anyhow::anyhow!("cannot reserve 4 GiB of guest address space: {e}"))?;
        program.write_to(&mut machine.mem);
        machine.user_buffers_only = matches!(program, Program::WithKernel { .. });
        Ok(machine)
    }

    /// Runs the program to its end.
    pub fn run(mut self) -> Report {
        self.run_to_end()
    }

    /// Runs the program to its end; the report and the machine as the run
    /// left it (its memory, to inspect).
    pub fn run_keeping_machine(mut self) -> (Report, Machine) {
        let report = self.run_to_end();
        (report, self.machine)
    }

    fn run_to_end(&mut self) -> Report {
        let start = Instant::now();
        let mut jit_stats = None;
        let mut result = self
            .machine
            .resume()
            .and_then(|()| self.execute(&mut jit_stats));
        // A run that halted or reached its cycle limit ends in a last
        // segment; after any other stop the segments made so far are
        // handed over (dropping the recorder waits for them).
        let image = match &result {
            Ok(()) | Err(Stop::CycleLimit { .. }) => {
                self.machine.finish_segments().unwrap_or_else(|stop| {
                    result = Err(stop);
                    None
                })
            }
            Err(_) => {
                self.machine.segments = None;
                None
            }
        };
        let wall_seconds = start.elapsed().as_secs_f64();
        let profile = self.machine.profiler.take().map(|profiler| {
            let paging = self.machine.cycle_model.paging_cycles_total();
            profiler.finish(self.machine.user_cycles, paging)
        });
        let outcome = match result {
            Ok(()) => Outcome::Halted(self.machine.halt.expect("a run without a stop has halted")),
            Err(stop) => Outcome::Stopped(stop),
        };
        let error = match &outcome {
            Outcome::Stopped(stop) => {
                let symbolize = |addr: u32| self.symbols.lookup(addr);
                let user_pc = self.machine.user_pc();
                let called_from =
                    (self.machine.mode().is_machine() && user_pc != 0).then_some(user_pc);
                Some(stop.describe(&symbolize, called_from))
            }
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
            image,
            journal: std::mem::take(&mut io.journal),
            assumptions_used: std::mem::take(&mut io.assumptions_used),
            keccak_proofs: io.keccak.proofs,
            stdout,
            stderr,
            error,
            jit: jit_stats,
            profile,
        }
    }

    /// Runs the configured engine from the machine's current state.
    fn execute(&mut self, jit_stats: &mut Option<JitStats>) -> Result<(), Stop> {
        let slices = Slices {
            max_cycles: self.config.max_cycles,
            progress: self.config.progress,
            limits: &self.config.limits,
            started: Instant::now(),
        };
        let max_cycles = self.config.max_cycles;
        if self.config.engine == Engine::Interp && self.gdb.is_none() {
            let machine = &mut self.machine;
            let mut interpreter = Interpreter::new();
            return slices.run(machine, |m, limit| {
                interpreter.run_maybe_profiled(m, Some(limit))
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
            profiling: self.config.profile,
            ..JitOptions::default()
        };
        let mut engine = JitEngine::new(options);
        if let Some(listener) = self.gdb.take() {
            let mut engine = match self.config.engine {
                Engine::Interp => DebugEngine::Interp(Interpreter::new()),
                _ => DebugEngine::Jit(Box::new(engine)),
            };
            let limit = max_cycles.unwrap_or(u64::MAX);
            let result = gdb::serve(
                listener,
                &mut self.machine,
                &mut engine,
                limit,
                &self.symbols,
                &self.config.limits,
            );
            *jit_stats = engine.stats();
            return result;
        }
        let result = match &mut self.reference {
            None => slices.run(&mut self.machine, |m, limit| engine.run(m, Some(limit))),
            Some(reference) => {
                let result = reference.resume().and_then(|()| {
                    differential::run(
                        &mut engine,
                        &mut self.machine,
                        reference,
                        max_cycles.unwrap_or(u64::MAX),
                    )
                });
                result.and_then(|()| differential::compare_output(&self.machine, reference))
            }
        };
        *jit_stats = Some(engine.stats);
        result
    }

    /// The guest's I/O, to wire its files to an embedder's readers and
    /// writers before the run (in a differential run, the JIT's side only).
    pub fn io_mut(&mut self) -> &mut HostIo {
        &mut self.machine.io
    }

    /// The machine, for inspection.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }
}

/// How an engine runs: to the cycle limit, and in slices of
/// [`SLICE_CYCLES`] when a progress line is wanted or a limit is checked
/// between slices.
struct Slices<'a> {
    max_cycles: Option<u64>,
    progress: bool,
    limits: &'a Limits,
    started: Instant,
}

impl Slices<'_> {
    /// Runs an engine (`run(machine, limit)`) to the end. A slice ends
    /// exactly like a cycle limit, which leaves the machine ready to go on.
    fn run(
        &self,
        machine: &mut Machine,
        mut run: impl FnMut(&mut Machine, u64) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let limit = self.max_cycles.unwrap_or(u64::MAX);
        if !self.progress && !self.limits.checked_between_slices() {
            return run(machine, limit);
        }
        let mut line = self.progress.then(Progress::new);
        let result = loop {
            let slice_end = machine.user_cycles.saturating_add(SLICE_CYCLES).min(limit);
            match run(machine, slice_end) {
                Err(Stop::CycleLimit { .. }) if slice_end < limit => {
                    if let Some(line) = &mut line {
                        line.update(machine.user_cycles);
                    }
                    if let Err(stop) = self.limits.check(self.started, machine.pc) {
                        break Err(stop);
                    }
                }
                other => break other,
            }
        };
        if let Some(line) = line {
            line.finish();
        }
        result
    }
}
