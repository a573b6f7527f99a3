//! The state translated code shares with Rust: a `#[repr(C)]` block that a
//! compiled block reads at entry and writes at exit.

use std::mem::offset_of;

/// Why translated code returned to Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Exit {
    /// Continue at `pc` (no translation there, or chaining is off).
    Jump = 0,
    /// ECALL at `pc`, to be performed by the machine.
    Ecall = 1,
    /// MRET at `pc`.
    Mret = 2,
    /// The instruction at `pc` traps with `trap_cause` and `trap_addr`.
    Trap = 3,
    /// The block at `pc` needs more cycles than the limit leaves.
    Budget = 4,
    /// A store hit translated code; continue at `pc`.
    CodeWritten = 5,
}

impl Exit {
    /// The exit with the given number.
    pub fn from_u32(value: u32) -> Self {
        match value {
            0 => Exit::Jump,
            1 => Exit::Ecall,
            2 => Exit::Mret,
            3 => Exit::Trap,
            4 => Exit::Budget,
            5 => Exit::CodeWritten,
            other => unreachable!("translated code wrote exit {other}"),
        }
    }
}

/// Shared state of one entry into translated code.
#[repr(C)]
#[derive(Debug)]
pub struct JitContext {
    /// User cycles; read at block entry, written at every exit and chain.
    pub cycles: u64,
    /// A block runs only if all its instructions fit under this count.
    pub cycle_limit: u64,
    /// Where execution continues (or the instruction the exit is about).
    pub pc: u32,
    /// An [`Exit`] number.
    pub exit: u32,
    /// The trap cause of an [`Exit::Trap`].
    pub trap_cause: u32,
    /// The address of an [`Exit::Trap`] or [`Exit::CodeWritten`].
    pub trap_addr: u32,
    /// The machine's memory, for calls from translated code into Rust.
    pub memory: *mut crate::memory::GuestMemory,
}

impl Default for JitContext {
    fn default() -> Self {
        Self {
            cycles: 0,
            cycle_limit: 0,
            pc: 0,
            exit: 0,
            trap_cause: 0,
            trap_addr: 0,
            memory: std::ptr::null_mut(),
        }
    }
}

/// Byte offsets of the fields, for the code generator.
pub mod offsets {
    use super::*;
    /// `cycles`.
    pub const CYCLES: i32 = offset_of!(JitContext, cycles) as i32;
    /// `cycle_limit`.
    pub const CYCLE_LIMIT: i32 = offset_of!(JitContext, cycle_limit) as i32;
    /// `pc`.
    pub const PC: i32 = offset_of!(JitContext, pc) as i32;
    /// `exit`.
    pub const EXIT: i32 = offset_of!(JitContext, exit) as i32;
    /// `trap_cause`.
    pub const TRAP_CAUSE: i32 = offset_of!(JitContext, trap_cause) as i32;
    /// `trap_addr`.
    pub const TRAP_ADDR: i32 = offset_of!(JitContext, trap_addr) as i32;
}
