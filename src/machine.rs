//! The machine state and the paths every engine shares: register access,
//! access checks, traps, user ECALL and MRET. Host calls (machine ECALL)
//! live in `host_calls.rs`.

use std::collections::HashSet;

use serde::Serialize;

use crate::cycle_model::{Access, CycleModel};
use crate::decoder::Instruction;
use crate::host::HostIo;
use crate::memory::GuestMemory;
use crate::mode::Mode;
use crate::platform::*;
use crate::profile::Profiler;
use crate::segments::{ImageDigests, SegmentEnd, SegmentRecorder, SegmentSink, TerminateState};
use crate::stop::{Fault, FaultReason, Stop, Trap, TrapCause};

/// How a guest halted (the low 16 bits of TERMINATE's a0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HaltKind {
    /// The program ended.
    Terminate,
    /// The program paused (it could be resumed; zkjit ends the run).
    Pause,
    /// Another halt type, as given.
    Other(u32),
}

/// The guest's halt, as TERMINATE reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Halt {
    /// Terminate or pause.
    pub kind: HaltKind,
    /// The user exit code (the high 16 bits of TERMINATE's a0).
    pub exit_code: u32,
    /// TERMINATE's a1 (a segment's claim holds it).
    pub a1: u32,
    /// The output digest the kernel left at GLOBAL_OUTPUT.
    pub output_digest: [u8; 32],
}

impl Halt {
    /// TERMINATE's a0: the exit code in the high half, the halt type in the low.
    pub fn a0(&self) -> u32 {
        let kind = match self.kind {
            HaltKind::Terminate => 0,
            HaltKind::Pause => 1,
            HaltKind::Other(kind) => kind,
        };
        (self.exit_code << 16) | kind
    }
}

/// The state of the zkVM: memory (with the register files in it), pc, mode,
/// the user-cycle count and the host's I/O.
pub struct Machine {
    /// All of guest memory.
    pub mem: GuestMemory,
    /// The program counter.
    pub pc: u32,
    /// The mode the pc's code runs in.
    mode: Mode,
    /// Address of the current mode's register file (follows the mode).
    reg_file: u32,
    /// Completed user cycles (instructions plus host-call cycles).
    pub user_cycles: u64,
    /// The host's side of I/O.
    pub io: HostIo,
    /// Set when the guest halts.
    pub halt: Option<Halt>,
    /// Paging and segments (off unless the session turns it on).
    pub cycle_model: CycleModel,
    /// The user trap whose kernel handler is running, for fault reports.
    pending_user_trap: Option<Trap>,
    /// The 1 KiB page (address / PAGE_BYTES) a fetch last passed its checks
    /// in, or `NO_PAGE`: until the mode changes or a segment ends, every
    /// fetch from that page passes them too, with nothing to record.
    fetch_page: u32,
    /// The segments being made of the run, when they are.
    pub(crate) segments: Option<Box<SegmentRecorder>>,
    /// Whether software syscalls may only name buffers in user memory
    /// ([`crate::platform::is_user_range`]): set when a kernel runs a user
    /// program, whose buffers those are.
    pub user_buffers_only: bool,
    /// The line the kernel is writing to the host (WRITE), and the last
    /// whole line it wrote that starts with [`KERNEL_REPORT_PREFIX`]: the
    /// reason it gives before it stops the machine.
    pub(crate) kernel_line: Vec<u8>,
    pub(crate) kernel_report: Option<String>,
    /// Follows the call stack and counts cycles per stack, when the run
    /// is profiled.
    pub profiler: Option<Box<Profiler>>,
    /// Where a debugger wrote an EBREAK over an instruction: executing one
    /// there stops the run with [`Stop::DebuggerBreakpoint`] instead of
    /// trapping.
    pub debugger_breakpoints: HashSet<u32>,
}

/// How zkjit's kernel begins the line it writes before stopping the machine.
pub const KERNEL_REPORT_PREFIX: &str = "zkjit kernel: ";

/// No page: a `fetch_page` no address has.
const NO_PAGE: u32 = u32::MAX;

impl Machine {
    /// A machine with empty memory and the given I/O.
    pub fn new(io: HostIo) -> std::io::Result<Self> {
        Ok(Self {
            mem: GuestMemory::new()?,
            pc: 0,
            mode: Mode::Machine,
            reg_file: Mode::Machine.reg_file(),
            user_cycles: 0,
            io,
            halt: None,
            cycle_model: CycleModel::user_only(),
            pending_user_trap: None,
            fetch_page: NO_PAGE,
            segments: None,
            user_buffers_only: false,
            kernel_line: Vec::new(),
            kernel_report: None,
            profiler: None,
            debugger_breakpoints: HashSet::new(),
        })
    }

    /// Makes `model` the machine's cycle model, with its page-state table
    /// where translated code reaches it from the JIT's context.
    pub fn set_cycle_model(&mut self, mut model: CycleModel) {
        if let Some(table) = self.mem.take_host_table() {
            model.place_page_states(table);
        }
        model.follow_code_pages(self.mem.code_page_flags());
        self.cycle_model = model;
    }

    /// Where [`Machine::resume`] starts execution (SUSPEND_PC).
    pub fn start_pc(&self) -> u32 {
        self.mem.load_u32(SUSPEND_PC_ADDR)
    }

    /// Starts execution where SUSPEND_PC and SUSPEND_MODE say, and writes the
    /// (all-zero) input digest.
    pub fn resume(&mut self) -> Result<(), Stop> {
        let pc = self.mem.load_u32(SUSPEND_PC_ADDR);
        self.set_mode(Mode::from_machine(
            self.mem.load_u32(SUSPEND_MODE_ADDR) != 0,
        ));
        self.pc = pc;
        self.write_input_digest();
        if pc < USER_START {
            return Err(self.fault_now(TrapCause::InstructionFault, pc, pc));
        }
        Ok(())
    }

    /// What every segment starts with: SUSPEND_PC and SUSPEND_MODE are read
    /// and the (all-zero) input digest written. This dirties the page of the
    /// register files, so register writes never page in a segment.
    fn write_input_digest(&mut self) {
        self.cycle_model.access(SUSPEND_PC_ADDR, Access::Read);
        self.cycle_model.access(SUSPEND_MODE_ADDR, Access::Read);
        for i in 0..8 {
            self.mem.store_u32(GLOBAL_INPUT_ADDR + 4 * i, 0);
        }
        self.cycle_model
            .access_range(GLOBAL_INPUT_ADDR, 32, Access::Write);
    }

    /// What comes before every instruction: the run stops at `limit` user
    /// cycles, and a full segment ends (the machine suspends and resumes at
    /// the same pc in a new segment).
    #[inline(always)]
    pub fn before_instruction(&mut self, limit: u64) -> Result<(), Stop> {
        if self.user_cycles >= limit {
            return Err(Stop::CycleLimit { limit, pc: self.pc });
        }
        if self.cycle_model.segment_full(self.user_cycles) {
            self.split_segment()?;
        }
        Ok(())
    }

    #[cold]
    fn split_segment(&mut self) -> Result<(), Stop> {
        if let Some(cycles) = self.cycle_model.overflowing_cycles(self.user_cycles) {
            return Err(Stop::SegmentOverflow {
                pc: self.pc,
                cycles,
                po2: self.cycle_model.po2(),
            });
        }
        self.suspend();
        if let Some(segments) = &mut self.segments {
            segments
                .end_segment(
                    &self.mem,
                    &self.cycle_model,
                    self.user_cycles,
                    SegmentEnd::Split,
                )
                .map_err(Stop::Segments)?;
        }
        self.cycle_model.split(self.user_cycles);
        self.fetch_page = NO_PAGE;
        self.write_input_digest();
        Ok(())
    }

    /// Suspends: the pc and mode are saved (the register files are
    /// written back to the same, already dirty, page).
    fn suspend(&mut self) {
        self.mem.store_u32(SUSPEND_PC_ADDR, self.pc);
        self.mem
            .store_u32(SUSPEND_MODE_ADDR, u32::from(self.mode.is_machine()));
        self.cycle_model.access(SUSPEND_PC_ADDR, Access::Write);
        self.cycle_model.access(SUSPEND_MODE_ADDR, Access::Write);
    }

    /// Makes segments of the run from now on (it has not started yet:
    /// memory holds the program, in `pages`), handing each to `sink`; with
    /// no sink only the image's digests are kept.
    pub(crate) fn record_segments(&mut self, pages: Vec<u32>, sink: Option<SegmentSink>) {
        self.segments = Some(Box::new(SegmentRecorder::start(&self.mem, pages, sink)));
    }

    /// Ends the run's last segment (the run halted or reached its cycle
    /// limit) and waits for every segment to be handed over: the image's
    /// roots, when segments were being made.
    pub(crate) fn finish_segments(&mut self) -> Result<Option<ImageDigests>, Stop> {
        let Some(mut segments) = self.segments.take() else {
            return Ok(None);
        };
        if self.io.exit_requested {
            return Err(Stop::Segments(
                "the guest ended with SYS_EXIT, which no segment can prove: the last segment is not made".into(),
            ));
        }
        self.suspend();
        let end = SegmentEnd::Last {
            output: self.halt.map(|halt| halt.output_digest.into()),
            terminate_state: self.halt.map(|halt| TerminateState {
                a0: halt.a0().into(),
                a1: halt.a1.into(),
            }),
        };
        segments
            .end_segment(&self.mem, &self.cycle_model, self.user_cycles, end)
            .and_then(|()| segments.finish())
            .map(Some)
            .map_err(Stop::Segments)
    }

    /// The mode the pc's code runs in.
    #[inline(always)]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Switches to `mode`, and to that mode's register file.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        self.reg_file = mode.reg_file();
        // (What may be fetched differs between the modes.)
        self.fetch_page = NO_PAGE;
    }

    /// Address of the current mode's register file.
    #[inline(always)]
    pub fn reg_base(&self) -> u32 {
        self.reg_file
    }

    /// Register `idx` of the current mode.
    #[inline(always)]
    pub fn reg(&self, idx: usize) -> u32 {
        self.mem.load_u32(self.reg_base() + 4 * idx as u32)
    }

    /// Sets register `idx` of the current mode; writes to x0 land in the
    /// mode's x0 sink so that x0 reads stay what memory holds (zero).
    /// Register words are never translated code (the JIT leaves their page
    /// to the interpreter), so the store need not be watched.
    #[inline(always)]
    pub fn set_reg(&mut self, idx: usize, value: u32) {
        let addr = if idx == 0 {
            self.reg_base() + X0_SINK_OFFSET
        } else {
            self.reg_base() + 4 * idx as u32
        };
        self.mem.store_register_word(addr, value);
    }

    /// Register `idx` of the user register file, whatever the mode.
    pub fn user_reg(&self, idx: usize) -> u32 {
        self.mem.load_u32(USER_REGS_ADDR + 4 * idx as u32)
    }

    /// Sets register `idx` of the user register file (x0 writes are dropped).
    pub fn set_user_reg(&mut self, idx: usize, value: u32) {
        if idx != 0 {
            self.mem.store_u32(USER_REGS_ADDR + 4 * idx as u32, value);
        }
    }

    /// Whether the current mode may fetch at `pc`; when it may, the fetch's
    /// page is paged in (a read).
    #[inline(always)]
    pub fn check_fetch(&mut self, pc: u32) -> bool {
        if pc / PAGE_BYTES == self.fetch_page {
            return true;
        }
        if !self.mode.may_fetch(pc) {
            return false;
        }
        self.cycle_model.access(pc, Access::Read);
        // (A fetch from the register words pages nothing in: not remembered.)
        if self.cycle_model.is_loaded(pc) {
            self.fetch_page = pc / PAGE_BYTES;
        }
        true
    }

    /// Whether the current mode may load from or store to `addr`.
    #[inline(always)]
    pub fn can_access(&self, addr: u32) -> bool {
        self.mode.may_access(addr)
    }

    /// Raises a trap at the current pc: enters the kernel's handler for a
    /// user-mode trap, or ends the run. The trapping instruction has no
    /// effect and costs no cycle.
    pub fn raise(&mut self, cause: TrapCause, addr: u32) -> Result<(), Stop> {
        let trap = Trap {
            cause,
            pc: self.pc,
            addr,
        };
        let dispatch_slot = TRAP_DISPATCH_ADDR + 4 * cause.number();
        self.cycle_model.access(dispatch_slot, Access::Read);
        let handler = self.mem.load_u32(dispatch_slot);
        if self.mode.is_machine() {
            return Err(self.machine_fault(trap));
        }
        if !handler.is_multiple_of(4) || !is_kernel_memory(handler) {
            return Err(Stop::Fault(Fault {
                trap,
                user_mode: true,
                reason: FaultReason::NoHandler { handler },
            }));
        }
        self.pending_user_trap = Some(trap);
        self.enter_kernel(handler);
        Ok(())
    }

    /// A fault for a trap at `pc` in the current mode, raised outside `raise`.
    fn fault_now(&self, cause: TrapCause, pc: u32, addr: u32) -> Stop {
        let trap = Trap { cause, pc, addr };
        if self.mode.is_machine() {
            self.machine_fault(trap)
        } else {
            Stop::Fault(Fault {
                trap,
                user_mode: true,
                reason: FaultReason::NoHandler { handler: addr },
            })
        }
    }

    /// A trap in machine mode. When the kernel was handling a user trap,
    /// the user trap is what the report is about.
    fn machine_fault(&self, trap: Trap) -> Stop {
        match (self.pending_user_trap, &self.kernel_report) {
            (Some(user_trap), _) => Stop::Fault(Fault {
                trap: user_trap,
                user_mode: true,
                reason: FaultReason::KernelHandlerStopped { kernel_pc: trap.pc },
            }),
            // The kernel said why it stops (zkjit's kernel does, then
            // executes an illegal instruction).
            (None, Some(report)) if trap.cause == TrapCause::IllegalInstruction => {
                Stop::KernelRefused {
                    message: report.clone(),
                    pc: trap.pc,
                }
            }
            (None, _) => Stop::Fault(Fault {
                trap,
                user_mode: false,
                reason: FaultReason::MachineMode,
            }),
        }
    }

    /// Saves the user pc in MEPC and continues at `handler` in machine mode.
    fn enter_kernel(&mut self, handler: u32) {
        self.cycle_model.access(MEPC_ADDR, Access::Write);
        self.mem.store_u32(MEPC_ADDR, self.pc);
        self.pc = handler;
        self.set_mode(Mode::Machine);
        if let Some(profiler) = &mut self.profiler {
            let paging = self.cycle_model.paging_cycles_total();
            profiler.entered_kernel(handler, self.user_cycles, paging);
        }
    }

    /// The JAL or JALR `insn` at `pc` has jumped to the pc: a call or a
    /// return, for the profiler (every engine's jumps come here: the
    /// JIT's through the interpreter).
    #[cold]
    #[inline(never)]
    pub fn profile_jump(&mut self, pc: u32, insn: Instruction) {
        let paging = self.cycle_model.paging_cycles_total();
        if let Some(profiler) = &mut self.profiler {
            profiler.jumped(pc, &insn, self.pc, self.user_cycles, paging);
        }
    }

    /// ECALL: a host call in machine mode, a kernel entry in user mode.
    pub fn ecall(&mut self) -> Result<(), Stop> {
        if self.mode.is_machine() {
            return self.host_call();
        }
        self.cycle_model.access(ECALL_DISPATCH_ADDR, Access::Read);
        let dispatch = self.mem.load_u32(ECALL_DISPATCH_ADDR);
        if dispatch < USER_START {
            return Err(Stop::Fault(Fault {
                trap: Trap {
                    cause: TrapCause::UserEnvCall,
                    pc: self.pc,
                    addr: dispatch,
                },
                user_mode: true,
                reason: FaultReason::NoHandler { handler: dispatch },
            }));
        }
        if !dispatch.is_multiple_of(4) || !is_kernel_memory(dispatch) {
            return self.raise(TrapCause::UserEnvCall, dispatch);
        }
        self.pending_user_trap = None;
        self.enter_kernel(dispatch);
        self.user_cycles += 1;
        Ok(())
    }

    /// EBREAK: a debugger's breakpoint, or a breakpoint trap.
    pub fn ebreak(&mut self) -> Result<(), Stop> {
        if self.debugger_breakpoints.contains(&self.pc) {
            return Err(Stop::DebuggerBreakpoint { pc: self.pc });
        }
        self.raise(TrapCause::Breakpoint, self.pc)
    }

    /// MRET: back to user mode at MEPC + 4.
    pub fn mret(&mut self) -> Result<(), Stop> {
        if !self.mode.is_machine() {
            return Err(Stop::Fault(Fault {
                trap: Trap {
                    cause: TrapCause::IllegalInstruction,
                    pc: self.pc,
                    addr: self.mem.load_u32(self.pc),
                },
                user_mode: true,
                reason: FaultReason::MretInUserMode,
            }));
        }
        self.cycle_model.access(MEPC_ADDR, Access::Read);
        let mepc = self.mem.load_u32(MEPC_ADDR);
        if mepc < USER_START {
            return Err(self.fault_now(TrapCause::InstructionFault, self.pc, mepc));
        }
        self.pc = mepc.wrapping_add(4);
        self.set_mode(Mode::User);
        self.pending_user_trap = None;
        self.user_cycles += 1;
        if let Some(profiler) = &mut self.profiler {
            let paging = self.cycle_model.paging_cycles_total();
            profiler.left_kernel(self.pc, self.user_cycles, paging);
        }
        Ok(())
    }

    /// The pc of the user instruction that entered the kernel (MEPC).
    pub fn user_pc(&self) -> u32 {
        self.mem.load_u32(MEPC_ADDR)
    }
}
