//! Traps and the reasons a run stops short. A trap in user mode enters the
//! kernel's handler from TRAP_DISPATCH; one that cannot (machine mode, or no
//! handler installed) ends the run as a [`Fault`].

use serde::Serialize;

/// The trap causes of the machine, numbered as TRAP_DISPATCH indexes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TrapCause {
    /// A jump or taken branch to an address not divisible by 4.
    InstructionMisaligned = 0,
    /// Fetch from an address the mode may not execute.
    InstructionFault = 1,
    /// An encoding the machine does not implement.
    IllegalInstruction = 2,
    /// EBREAK.
    Breakpoint = 3,
    /// LH/LHU/LW at an address not aligned to the access size.
    LoadAddressMisaligned = 4,
    /// Load from an address the mode may not read.
    LoadAccessFault = 5,
    /// SH/SW at an address not aligned to the access size.
    StoreAddressMisaligned = 6,
    /// Store to an address the mode may not write.
    StoreAccessFault = 7,
    /// User ECALL with no valid ECALL_DISPATCH address.
    UserEnvCall = 9,
}

impl TrapCause {
    /// The cause number (the index into TRAP_DISPATCH).
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The cause with the given number, if there is one.
    pub fn from_number(number: u32) -> Option<Self> {
        use TrapCause::*;
        Some(match number {
            0 => InstructionMisaligned,
            1 => InstructionFault,
            2 => IllegalInstruction,
            3 => Breakpoint,
            4 => LoadAddressMisaligned,
            5 => LoadAccessFault,
            6 => StoreAddressMisaligned,
            7 => StoreAccessFault,
            9 => UserEnvCall,
            _ => return None,
        })
    }

    /// A short human description.
    pub fn describe(self) -> &'static str {
        use TrapCause::*;
        match self {
            InstructionMisaligned => "misaligned jump target",
            InstructionFault => "instruction fetch fault",
            IllegalInstruction => "illegal instruction",
            Breakpoint => "breakpoint",
            LoadAddressMisaligned => "misaligned load",
            LoadAccessFault => "load access fault",
            StoreAddressMisaligned => "misaligned store",
            StoreAccessFault => "store access fault",
            UserEnvCall => "invalid ECALL dispatch",
        }
    }
}

/// One trap: what, where, and the address involved (the data address of a
/// load or store, the target of a jump, the pc of a fetch, or the
/// instruction word of an illegal instruction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Trap {
    /// Why.
    pub cause: TrapCause,
    /// The pc of the trapping instruction.
    pub pc: u32,
    /// The address involved (see the type's documentation).
    pub addr: u32,
}

/// Why a trap ended the run instead of entering a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FaultReason {
    /// The trap happened in machine mode, where traps are fatal.
    MachineMode,
    /// TRAP_DISPATCH holds no aligned kernel address for the cause.
    NoHandler {
        /// The word found in TRAP_DISPATCH (or ECALL_DISPATCH).
        handler: u32,
    },
    /// MRET executed in user mode, which is fatal.
    MretInUserMode,
    /// The kernel's trap handler stopped the machine (with an illegal
    /// instruction or a second trap) after a user trap.
    KernelHandlerStopped {
        /// Where the kernel stopped.
        kernel_pc: u32,
    },
}

/// A trap that ended the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// The trap.
    pub trap: Trap,
    /// Whether the trap happened in user mode.
    pub user_mode: bool,
    /// Why it ended the run.
    pub reason: FaultReason,
}

impl Fault {
    /// Describes the fault, naming code addresses with `symbolize`.
    pub fn describe(&self, symbolize: &dyn Fn(u32) -> Option<String>) -> String {
        let at = |addr: u32| match symbolize(addr) {
            Some(sym) => format!("{addr:#010x} <{sym}>"),
            None => format!("{addr:#010x}"),
        };
        let trap = &self.trap;
        let mode = if self.user_mode { "user" } else { "machine" };
        let mut text = format!(
            "{} ({:?}, cause {}) at pc {} in {mode} mode",
            trap.cause.describe(),
            trap.cause,
            trap.cause.number(),
            at(trap.pc)
        );
        match trap.cause {
            TrapCause::IllegalInstruction => {
                text += &format!(", instruction word {:#010x}", trap.addr)
            }
            TrapCause::InstructionMisaligned | TrapCause::InstructionFault => {
                text += &format!(", target {:#010x}", trap.addr)
            }
            TrapCause::Breakpoint => {}
            _ => text += &format!(", address {:#010x}", trap.addr),
        }
        match self.reason {
            FaultReason::MachineMode => {}
            FaultReason::MretInUserMode => text += "; MRET is fatal in user mode",
            FaultReason::NoHandler { handler } => {
                text += &format!("; no kernel handler for it (dispatch word {handler:#010x})")
            }
            FaultReason::KernelHandlerStopped { kernel_pc } => {
                text += &format!("; the kernel stopped the run at {}", at(kernel_pc))
            }
        }
        text
    }
}

/// Why a run ended without the guest halting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// A trap that could not be handled.
    #[error("fault: {}", .0.describe(&|_| None))]
    Fault(Fault),
    /// The guest asked for something zkjit does not implement.
    #[error("not supported: {what} (pc {pc:#010x})")]
    Unsupported {
        /// What was asked for.
        what: String,
        /// The pc of the ECALL.
        pc: u32,
    },
    /// The guest called SYS_PANIC.
    #[error("guest panicked: {0}")]
    GuestPanic(String),
    /// A host call was malformed (bad pointer, length or file descriptor).
    #[error("host call failed at pc {pc:#010x}: {message}")]
    HostCall {
        /// The pc of the ECALL.
        pc: u32,
        /// What was wrong.
        message: String,
    },
    /// zkjit's kernel refused a user call (a buffer outside user memory,
    /// an unknown syscall...) and stopped the machine, saying why.
    #[error("the kernel refused the call: {message} (pc {pc:#010x})")]
    KernelRefused {
        /// The kernel's reason.
        message: String,
        /// Where the kernel stopped.
        pc: u32,
    },
    /// A limit of the run's other than cycles (time, output, memory, an
    /// interrupt).
    #[error("{reached}, at pc {pc:#010x}")]
    Limit {
        /// Which limit.
        reached: crate::session::LimitReached,
        /// Where the run was.
        pc: u32,
    },
    /// The cycle limit was reached before the guest halted.
    #[error("cycle limit of {limit} user cycles reached at pc {pc:#010x}")]
    CycleLimit {
        /// The limit.
        limit: u64,
        /// Where execution stopped.
        pc: u32,
    },
    /// An instruction (a host call, in practice) took the segment past
    /// `2^po2` cycles, so no segment can hold it: the reference executor
    /// refuses such a run too.
    #[error("the segment ending before pc {pc:#010x} holds {cycles} cycles, more than a segment of po2 {po2} can")]
    SegmentOverflow {
        /// Where the next instruction would be.
        pc: u32,
        /// The segment's cycles.
        cycles: u64,
        /// The segment size.
        po2: u32,
    },
    /// The JIT and the interpreter disagreed (differential mode); the
    /// report names the block, its instructions and both states.
    #[error("{0}")]
    Divergence(String),
    /// Making the run's segments failed (writing one, most likely).
    #[error("segments: {0}")]
    Segments(String),
    /// The guest reached a breakpoint a debugger set (the instruction
    /// there has not run).
    #[error("stopped at a debugger breakpoint at pc {pc:#010x}")]
    DebuggerBreakpoint {
        /// The breakpoint.
        pc: u32,
    },
    /// Writing the guest's output failed on the host.
    #[error("host I/O error: {0}")]
    Io(String),
}

impl Stop {
    /// One line describing the stop, naming code addresses with
    /// `symbolize`; `called_from` is the user pc that entered the kernel,
    /// when the stop came from kernel code.
    pub fn describe(
        &self,
        symbolize: &dyn Fn(u32) -> Option<String>,
        called_from: Option<u32>,
    ) -> String {
        let at = |pc: u32| match symbolize(pc) {
            Some(sym) => format!("{pc:#010x} <{sym}>"),
            None => format!("{pc:#010x}"),
        };
        let from_user = match called_from {
            Some(user_pc) => format!(" (called from user pc {})", at(user_pc)),
            None => String::new(),
        };
        match self {
            Stop::Fault(fault) => format!("fault: {}", fault.describe(symbolize)),
            Stop::Unsupported { what, pc } => {
                format!("not supported: {what}, at pc {}{from_user}", at(*pc))
            }
            Stop::GuestPanic(msg) => format!("guest panicked: {msg}{from_user}"),
            Stop::HostCall { pc, message } => {
                format!("host call failed at pc {}{from_user}: {message}", at(*pc))
            }
            Stop::KernelRefused { message, pc } => {
                format!("{message}; the kernel stopped the run at pc {}{from_user}", at(*pc))
            }
            Stop::CycleLimit { limit, pc } => format!(
                "cycle limit of {limit} user cycles reached at pc {}",
                at(*pc)
            ),
            Stop::SegmentOverflow { pc, cycles, po2 } => format!(
                "the segment ending before pc {} holds {cycles} cycles, more than a segment of po2 {po2} can (a larger --po2 fits it)",
                at(*pc)
            ),
            Stop::Limit { reached, pc } => format!("{reached}, at pc {}", at(*pc)),
            Stop::DebuggerBreakpoint { pc } => {
                format!("stopped at a debugger breakpoint at pc {}", at(*pc))
            }
            Stop::Io(message) => format!("host I/O error: {message}"),
            Stop::Segments(message) => format!("segments: {message}"),
            Stop::Divergence(report) => report.clone(),
        }
    }
}
