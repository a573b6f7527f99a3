//! The debugged machine as gdbstub sees a target: registers of the mode
//! the stopped code runs in, memory (with the breakpoints' original
//! words), software breakpoints, continue and single step.

use std::collections::BTreeMap;
use std::time::Instant;

use gdbstub::common::Signal;
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::{Target, TargetResult};
use gdbstub_arch::riscv::reg::RiscvCoreRegs;

use super::{signal_of, DebugEngine};
use crate::interpreter::Interpreter;
use crate::loader::Symbols;
use crate::machine::Machine;
use crate::session::Limits;
use crate::stop::Stop;

/// EBREAK, which a breakpoint writes over its instruction.
const EBREAK: u32 = 0x0010_0073;

/// What gdb asked the guest to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Run until a breakpoint, a stop, or gdb's Ctrl-C.
    Continue,
    /// Run one instruction.
    Step,
}

/// How a run of the guest ended, for gdb.
pub enum Outcome {
    /// At a breakpoint.
    Breakpoint,
    /// One instruction done.
    Stepped,
    /// The guest halted, or stopped (a fault, a limit).
    Ended(Result<(), Stop>),
}

/// The machine and engine gdb drives.
pub struct Debuggee<'a> {
    machine: &'a mut Machine,
    engine: &'a mut DebugEngine,
    /// Steps over breakpoints and single steps.
    interpreter: Interpreter,
    /// Each breakpoint's address and the instruction word under it.
    breakpoints: BTreeMap<u32, u32>,
    limit: u64,
    symbols: &'a Symbols,
    /// Time, memory and interrupt limits, checked between slices.
    limits: &'a Limits,
    started: Instant,
    /// What gdb asked for last.
    pub resume: Resume,
    /// How the run ended, once it has.
    pub ended: Option<Result<(), Stop>>,
}

impl<'a> Debuggee<'a> {
    /// A machine stopped before its first instruction, with no breakpoints.
    pub fn new(
        machine: &'a mut Machine,
        engine: &'a mut DebugEngine,
        limit: u64,
        symbols: &'a Symbols,
        limits: &'a Limits,
    ) -> Self {
        Self {
            machine,
            engine,
            interpreter: Interpreter::new(),
            breakpoints: BTreeMap::new(),
            limit,
            symbols,
            limits,
            started: Instant::now(),
            resume: Resume::Continue,
            ended: None,
        }
    }

    /// The exit code gdb is told (the guest's, as the shell would see it).
    pub fn exit_code(&self) -> u8 {
        self.machine
            .halt
            .map_or(0, |halt| halt.exit_code.min(255) as u8)
    }

    /// Puts every original instruction back (gdb has gone).
    pub fn remove_all_breakpoints(&mut self) {
        for addr in self.breakpoints.keys().copied().collect::<Vec<_>>() {
            self.remove(addr);
        }
    }

    fn remove(&mut self, addr: u32) -> bool {
        let Some(word) = self.breakpoints.remove(&addr) else {
            return false;
        };
        self.machine.mem.store_u32(addr, word);
        self.machine.debugger_breakpoints.remove(&addr);
        self.engine.code_changed(self.machine, addr);
        true
    }

    /// Executes the instruction at the pc, the original one where a
    /// breakpoint is: the step out of a breakpoint, and gdb's single step.
    fn step_one(&mut self) -> Result<(), Stop> {
        let m = &mut *self.machine;
        let pc = m.pc;
        let breakpoint = self.breakpoints.get(&pc).copied();
        if let Some(word) = breakpoint {
            m.mem.store_u32(pc, word);
        }
        let result = m
            .before_instruction(self.limit)
            .and_then(|()| self.interpreter.step_maybe_profiled(m));
        if breakpoint.is_some() {
            m.mem.store_u32(pc, EBREAK);
        }
        result
    }

    /// gdb's single step.
    pub fn step(&mut self) -> Outcome {
        match self.step_one() {
            Ok(()) if self.machine.halt.is_some() => Outcome::Ended(Ok(())),
            Ok(()) => Outcome::Stepped,
            Err(stop) => Outcome::Ended(Err(stop)),
        }
    }

    /// Continues for up to `cycles` user cycles; `None` when the slice
    /// ended with the guest still running.
    pub fn run_slice(&mut self, cycles: u64) -> Option<Outcome> {
        if self.breakpoints.contains_key(&self.machine.pc) {
            // Out of the breakpoint gdb continues from.
            match self.step() {
                Outcome::Stepped => {}
                ended => return Some(ended),
            }
        }
        let end = self
            .machine
            .user_cycles
            .saturating_add(cycles)
            .min(self.limit);
        match self.engine.run(self.machine, end) {
            Ok(()) => Some(Outcome::Ended(Ok(()))),
            Err(Stop::CycleLimit { .. }) if end < self.limit => {
                match self.limits.check(self.started, self.machine.pc) {
                    Ok(()) => None,
                    Err(stop) => Some(Outcome::Ended(Err(stop))),
                }
            }
            Err(Stop::DebuggerBreakpoint { .. }) => Some(Outcome::Breakpoint),
            Err(stop) => Some(Outcome::Ended(Err(stop))),
        }
    }

    /// The stop reason of `outcome` for gdb; a guest's end is kept (and a
    /// stop's message printed, as the CLI would print it).
    pub fn report(&mut self, outcome: Outcome) -> SingleThreadStopReason<u32> {
        match outcome {
            Outcome::Breakpoint => SingleThreadStopReason::SwBreak(()),
            Outcome::Stepped => SingleThreadStopReason::DoneStep,
            Outcome::Ended(Ok(())) => {
                self.ended = Some(Ok(()));
                SingleThreadStopReason::Exited(self.exit_code())
            }
            Outcome::Ended(Err(stop)) => {
                let symbolize = |addr: u32| self.symbols.lookup(addr);
                eprintln!("zkjit: error: {}", stop.describe(&symbolize, None));
                let signal = signal_of(&stop);
                self.ended = Some(Err(stop));
                // Stopped where it faulted, for gdb to look at; resuming
                // ends it.
                SingleThreadStopReason::Signal(signal)
            }
        }
    }
}

impl Target for Debuggee<'_> {
    type Error = String;
    type Arch = gdbstub_arch::riscv::Riscv32;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for Debuggee<'_> {
    fn read_registers(&mut self, regs: &mut RiscvCoreRegs<u32>) -> TargetResult<(), Self> {
        for (i, x) in regs.x.iter_mut().enumerate() {
            *x = self.machine.reg(i);
        }
        regs.pc = self.machine.pc;
        Ok(())
    }

    fn write_registers(&mut self, regs: &RiscvCoreRegs<u32>) -> TargetResult<(), Self> {
        for (i, &x) in regs.x.iter().enumerate() {
            self.machine.set_reg(i, x);
        }
        self.machine.pc = regs.pc;
        Ok(())
    }

    fn read_addrs(&mut self, start: u32, data: &mut [u8]) -> TargetResult<usize, Self> {
        for (addr, byte) in (start..).zip(data.iter_mut()) {
            *byte = self.machine.mem.load_u8(addr);
        }
        // gdb sees the instructions, not the breakpoints over them.
        let end = u64::from(start) + data.len() as u64;
        for (&at, &word) in &self.breakpoints {
            for (k, &byte) in word.to_le_bytes().iter().enumerate() {
                let addr = u64::from(at) + k as u64;
                if (u64::from(start)..end).contains(&addr) {
                    data[(addr - u64::from(start)) as usize] = byte;
                }
            }
        }
        Ok(data.len())
    }

    fn write_addrs(&mut self, start: u32, data: &[u8]) -> TargetResult<(), Self> {
        for (addr, &byte) in (start..).zip(data) {
            // A byte under a breakpoint changes the instruction kept.
            match self.breakpoints.get_mut(&(addr & !3)) {
                Some(word) => {
                    let mut bytes = word.to_le_bytes();
                    bytes[(addr & 3) as usize] = byte;
                    *word = u32::from_le_bytes(bytes);
                }
                None => self.machine.mem.store_u8(addr, byte),
            }
        }
        // What was written may be code.
        let mut page = start & !(crate::platform::PAGE_BYTES - 1);
        let last = start.saturating_add(data.len().saturating_sub(1) as u32);
        while page <= last {
            self.engine.code_changed(self.machine, page);
            match page.checked_add(crate::platform::PAGE_BYTES) {
                Some(next) => page = next,
                None => break,
            }
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Debuggee<'_> {
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume = Resume::Continue;
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for Debuggee<'_> {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume = Resume::Step;
        Ok(())
    }
}

impl Breakpoints for Debuggee<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for Debuggee<'_> {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        if !addr.is_multiple_of(4) || addr < crate::platform::USER_START {
            return Ok(false);
        }
        if self.breakpoints.contains_key(&addr) {
            return Ok(true);
        }
        let word = self.machine.mem.load_u32(addr);
        self.breakpoints.insert(addr, word);
        self.machine.mem.store_u32(addr, EBREAK);
        self.machine.debugger_breakpoints.insert(addr);
        let dropped = self.engine.code_changed(self.machine, addr);
        tracing::info!("breakpoint at {addr:#010x}: {dropped} translation(s) of its page dropped");
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove(addr))
    }
}
