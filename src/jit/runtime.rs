//! Where translated code meets Rust: the `#[repr(C)]` context a
//! translation reads at entry and writes at exit (with the reason for the
//! exit), and the Rust functions translated code calls without leaving.

use std::mem::offset_of;

use crate::cycle_model::Access;

/// Why translated code returned to Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Exit {
    /// Continue at `pc` (no translation there, or chaining is off).
    Jump = 0,
    /// The interpreter takes over at `pc`, checking the cycle limit and the
    /// segment before each instruction: the block there needs more cycles
    /// than are left, or the instruction is one only the machine performs
    /// (ECALL, MRET, EBREAK).
    Interpret = 1,
    /// The instruction at `pc` has passed the checks that come before an
    /// instruction (the block's cycles fit), but the interpreter performs
    /// it, and goes on up to translated code: it traps; it is a fetch or
    /// the first of a group of accesses and changes a page's state; its
    /// page change (recorded already) leaves the block no room in the
    /// segment; or it is the first of a group of stores into 1 KiB pages
    /// that hold translated code.
    Finish = 2,
    /// A store hit translated code; continue at `pc`.
    CodeWritten = 3,
}

impl Exit {
    /// The exit with the given number.
    pub fn from_u32(value: u32) -> Self {
        match value {
            0 => Exit::Jump,
            1 => Exit::Interpret,
            2 => Exit::Finish,
            3 => Exit::CodeWritten,
            other => unreachable!("translated code wrote exit {other}"),
        }
    }
}

/// Shared state of one entry into translated code.
#[repr(C)]
#[derive(Debug)]
pub struct JitContext {
    /// User cycles left under `cycle_limit` (negative once paging has
    /// passed it): set before an entry, written at every exit. The user
    /// cycle count is the limit minus this.
    pub budget: i64,
    /// A block runs only if all its instructions fit under this count: the
    /// run's limit or the segment's, whichever comes first.
    pub cycle_limit: u64,
    /// Where execution continues (or the instruction the exit is about).
    pub pc: u32,
    /// An [`Exit`] number.
    pub exit: u32,
    /// The address an [`Exit::CodeWritten`] store wrote.
    pub written_addr: u32,
    /// Host address of guest memory (for translations that keep it in a
    /// register: see `Translator::new`).
    pub guest_memory: *mut u8,
    /// The machine's memory, for calls from translated code into Rust.
    pub memory: *mut crate::memory::GuestMemory,
    /// The machine's cycle model, for pages translated code loads.
    pub cycle_model: *mut crate::cycle_model::CycleModel,
    /// The address of a data access whose page changes state, for Rust to
    /// record (with `page_access`).
    pub page_addr: u32,
    /// That access: a `cycle_model::Access` number.
    pub page_access: u32,
    /// The block of a loop translation to begin at, set by an entry stub
    /// (see `Compiler::compile_entry`); 0, the loop's head, otherwise.
    pub loop_entry: u32,
}

impl Default for JitContext {
    fn default() -> Self {
        Self {
            budget: 0,
            cycle_limit: 0,
            pc: 0,
            exit: 0,
            written_addr: 0,
            guest_memory: std::ptr::null_mut(),
            memory: std::ptr::null_mut(),
            cycle_model: std::ptr::null_mut(),
            page_addr: 0,
            page_access: 0,
            loop_entry: 0,
        }
    }
}

/// Byte offsets of the fields, for the code generator.
pub mod offsets {
    use super::*;
    /// `budget`.
    pub const BUDGET: i32 = offset_of!(JitContext, budget) as i32;
    /// `cycle_limit`.
    pub const CYCLE_LIMIT: i32 = offset_of!(JitContext, cycle_limit) as i32;
    /// `pc`.
    pub const PC: i32 = offset_of!(JitContext, pc) as i32;
    /// `exit`.
    pub const EXIT: i32 = offset_of!(JitContext, exit) as i32;
    /// `written_addr`.
    pub const WRITTEN_ADDR: i32 = offset_of!(JitContext, written_addr) as i32;
    /// `guest_memory`.
    pub const GUEST_MEMORY: i32 = offset_of!(JitContext, guest_memory) as i32;
    /// `page_addr`.
    pub const PAGE_ADDR: i32 = offset_of!(JitContext, page_addr) as i32;
    /// `page_access`.
    pub const PAGE_ACCESS: i32 = offset_of!(JitContext, page_access) as i32;
    /// `loop_entry`.
    pub const LOOP_ENTRY: i32 = offset_of!(JitContext, loop_entry) as i32;
}

/// Records a store translated code made (differential runs: see
/// `Env::note_store`).
pub extern "C" fn note_store(ctx: *mut JitContext, addr: u32) {
    // SAFETY: translated code passes the context Rust entered it with,
    // whose memory pointer is live for the entry.
    unsafe { (*(*ctx).memory).note_store(addr) }
}

/// Records the access translated code left in the context (see
/// `compiler::PageIn`).
pub extern "C" fn page_in(ctx: *mut JitContext) {
    // SAFETY: translated code passes the context Rust entered it with,
    // whose cycle model pointer is live for the entry.
    let ctx = unsafe { &mut *ctx };
    let model = unsafe { &mut *ctx.cycle_model };
    let access = if ctx.page_access == Access::Write as u32 {
        Access::Write
    } else {
        Access::Read
    };
    model.access(ctx.page_addr, access);
    // Paging only ever brings the segment's end closer.
    ctx.cycle_limit = ctx.cycle_limit.min(model.segment_cycle_limit());
}
