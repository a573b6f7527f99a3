//! A GDB remote-protocol stub (`zkjit run --gdb ADDR:PORT`): gdb connects,
//! reads and writes registers and memory, sets software breakpoints,
//! single-steps and continues, on either engine.
//!
//! A breakpoint is an EBREAK written over the instruction, which the
//! machine reports as [`Stop::DebuggerBreakpoint`] instead of trapping to
//! the kernel (see `Machine::ebreak`); gdb reads the original word. Writing
//! it drops the JIT's translations of its code page, so translated code
//! stops exactly there (a block ends at an EBREAK, and translated code
//! leaves it to the interpreter); removing it drops them again, so that
//! the code is translated anew without the stop, at full speed. Resuming
//! from a breakpoint puts the original instruction back for one
//! interpreted step.
//!
//! The parts: `target` (what gdbstub asks of a target: registers, memory,
//! breakpoints, resuming) and this file (the connection and the loop that
//! runs the guest between stops).

mod target;

use std::net::TcpListener;

use gdbstub::common::Signal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::{run_blocking, DisconnectReason, GdbStub, SingleThreadStopReason};

use crate::interpreter::Interpreter;
use crate::jit::{JitEngine, JitStats};
use crate::loader::Symbols;
use crate::machine::Machine;
use crate::session::{LimitReached, Limits};
use crate::stop::{Stop, TrapCause};
use target::{Debuggee, Resume};

/// Cycles the guest runs between two looks at the connection (for gdb's
/// Ctrl-C).
const SLICE_CYCLES: u64 = 1 << 22;

/// The engine the debugged guest runs on.
pub enum DebugEngine {
    /// Translated code, tiered over the interpreter.
    Jit(Box<JitEngine>),
    /// The interpreter.
    Interp(Interpreter),
}

impl DebugEngine {
    fn run(&mut self, m: &mut Machine, limit: u64) -> Result<(), Stop> {
        match self {
            DebugEngine::Jit(engine) => engine.run(m, Some(limit)),
            DebugEngine::Interp(interpreter) => interpreter.run_maybe_profiled(m, Some(limit)),
        }
    }

    /// Forgets translated code of the page holding `addr`, which the
    /// debugger changed.
    fn code_changed(&mut self, m: &mut Machine, addr: u32) -> usize {
        match self {
            DebugEngine::Jit(engine) => engine.drop_translations_at(m, addr),
            DebugEngine::Interp(_) => 0,
        }
    }

    /// The JIT's statistics, for the report.
    pub fn stats(self) -> Option<JitStats> {
        match self {
            DebugEngine::Jit(engine) => Some(engine.stats),
            DebugEngine::Interp(_) => None,
        }
    }
}

/// Waits for gdb on `listener`, then runs the guest as it says, up to
/// `limit` user cycles and within `limits` (checked between slices). When gdb detaches, the guest runs on to its end;
/// when it kills the guest, the run stops as interrupted.
pub fn serve(
    listener: TcpListener,
    machine: &mut Machine,
    engine: &mut DebugEngine,
    limit: u64,
    symbols: &Symbols,
    limits: &Limits,
) -> Result<(), Stop> {
    let io_error = |e: std::io::Error| Stop::Io(format!("gdb connection: {e}"));
    let (stream, peer) = listener.accept().map_err(io_error)?;
    tracing::info!(%peer, "gdb connected");
    let _ = stream.set_nodelay(true);
    let connection: Box<dyn ConnectionExt<Error = std::io::Error>> = Box::new(stream);
    let mut debuggee = Debuggee::new(machine, engine, limit, symbols, limits);
    let result = GdbStub::new(connection).run_blocking::<EventLoop>(&mut debuggee);
    let ended = debuggee.ended.take();
    debuggee.remove_all_breakpoints();
    match result {
        Ok(DisconnectReason::Kill) => {
            return Err(Stop::Limit {
                reached: LimitReached::Interrupted,
                pc: machine.pc,
            })
        }
        Ok(reason) => tracing::info!(?reason, "gdb disconnected"),
        Err(error) => {
            return Err(Stop::Io(format!("gdb connection: {error}")));
        }
    }
    // The run's end as gdb saw it, or the rest of the run without gdb.
    match ended {
        Some(result) => result,
        None if machine.halt.is_some() => Ok(()),
        None => engine.run(machine, limit),
    }
}

/// The signal gdb is told a stop is.
fn signal_of(stop: &Stop) -> Signal {
    match stop {
        Stop::Fault(fault) => match fault.trap.cause {
            TrapCause::IllegalInstruction => Signal::SIGILL,
            TrapCause::Breakpoint => Signal::SIGTRAP,
            TrapCause::InstructionMisaligned
            | TrapCause::LoadAddressMisaligned
            | TrapCause::StoreAddressMisaligned => Signal::SIGBUS,
            _ => Signal::SIGSEGV,
        },
        Stop::CycleLimit { .. } | Stop::Limit { .. } => Signal::SIGXCPU,
        _ => Signal::SIGABRT,
    }
}

/// gdbstub's loop: run the guest until it stops, or gdb sends something.
struct EventLoop<'a>(std::marker::PhantomData<&'a ()>);

impl<'a> run_blocking::BlockingEventLoop for EventLoop<'a> {
    type Target = Debuggee<'a>;
    type Connection = Box<dyn ConnectionExt<Error = std::io::Error>>;
    type StopReason = SingleThreadStopReason<u32>;

    fn wait_for_stop_reason(
        target: &mut Self::Target,
        conn: &mut Self::Connection,
    ) -> Result<
        run_blocking::Event<Self::StopReason>,
        run_blocking::WaitForStopReasonError<
            <Self::Target as gdbstub::target::Target>::Error,
            std::io::Error,
        >,
    > {
        use run_blocking::{Event, WaitForStopReasonError};
        if let Some(ended) = &target.ended {
            // A stopped guest does not run again.
            return Ok(Event::TargetStopped(match ended {
                Ok(()) => SingleThreadStopReason::Exited(target.exit_code()),
                Err(stop) => SingleThreadStopReason::Terminated(signal_of(stop)),
            }));
        }
        let outcome = match target.resume {
            Resume::Step => target.step(),
            Resume::Continue => loop {
                match target.run_slice(SLICE_CYCLES) {
                    Some(outcome) => break outcome,
                    None => {
                        let waiting = conn.peek().map_err(WaitForStopReasonError::Connection)?;
                        if waiting.is_some() {
                            let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                            return Ok(Event::IncomingData(byte));
                        }
                    }
                }
            },
        };
        Ok(Event::TargetStopped(target.report(outcome)))
    }

    fn on_interrupt(
        _target: &mut Self::Target,
    ) -> Result<Option<Self::StopReason>, <Self::Target as gdbstub::target::Target>::Error> {
        Ok(Some(SingleThreadStopReason::Signal(Signal::SIGINT)))
    }
}
