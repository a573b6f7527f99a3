//! The JIT engine: guest basic blocks compiled to native code with
//! Cranelift, tiered over the interpreter. A block runs in the interpreter
//! until it has been entered `threshold` times, then it is translated.
//! Translated blocks chain to each other through the pc-to-code table; an
//! ECALL, MRET, trap, or a store into translated code returns to Rust, where
//! the machine's own paths (the interpreter's) handle it. A load or store
//! that changes a page's state calls the cycle model without leaving.
//!
//! The rooms: `engine` runs the loop between native code and the
//! interpreter; `tiering` decides what to translate and when; `region`
//! finds what one translation covers (a block, a trace, a loop) and
//! `block_plan` what it needs before emitting (which accesses to check
//! together); `translate` emits Cranelift IR (its `access_checks` holds
//! every bounds and page-state check), `compiler` compiles it into the
//! `code_arena`; `code_cache` maps guest pcs to code, `jump_cache`
//! serves indirect jumps, `code_watch` installs translations and drops
//! them when the guest writes their code; `runtime` is the context and
//! the callbacks native code calls. `docs/design.md` tells the whole story.

mod block_plan;
mod code_arena;
mod code_cache;
mod code_watch;
mod compiler;
mod engine;
mod jump_cache;
mod region;
mod runtime;
mod tiering;
mod translate;

use serde::Serialize;

pub use engine::JitEngine;
pub use region::MAX_BLOCK_INSNS;

/// Entries of a block before it is translated, by default.
pub const DEFAULT_THRESHOLD: u32 = 250;
/// User cycles a run executes before anything is translated, with the
/// default threshold: Cranelift costs more than a run this short takes to
/// interpret, and the runtime's bss-clearing loop alone passes the
/// threshold.
pub const DEFAULT_WARMUP_CYCLES: u64 = 10_000;

/// How the JIT behaves.
#[derive(Clone, Copy, Debug)]
pub struct JitOptions {
    /// Entries of a block in the interpreter before it is translated (0 and
    /// 1 both translate at the first entry).
    pub threshold: u32,
    /// Chain translated blocks to each other (off: one block per entry).
    pub chain: bool,
    /// Record the page of every store (for differential runs).
    pub track_pages: bool,
    /// Translate a loop of small blocks (within a page, without calls) as
    /// one function.
    pub loops: bool,
    /// Translate a block with the blocks it certainly goes on to as one
    /// function (see `discover_trace`).
    pub traces: bool,
    /// User cycles a run executes before anything is translated.
    pub warmup_cycles: u64,
    /// Bytes of translated code before the engine drops every translation
    /// and starts anew (at most 128 MiB).
    pub code_arena_bytes: usize,
    /// The run is profiled: calls and returns (see
    /// `profile::call_stack::stack_op`) are left to the interpreter, which
    /// tells the profiler of each; translations are otherwise the same.
    pub profiling: bool,
}

impl Default for JitOptions {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            chain: true,
            track_pages: false,
            loops: true,
            traces: true,
            warmup_cycles: 0,
            code_arena_bytes: code_arena::ARENA_BYTES,
            profiling: false,
        }
    }
}

/// What the JIT did during a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct JitStats {
    /// Blocks translated.
    pub blocks_compiled: u64,
    /// Of those, loops of several blocks translated as one function.
    pub loops_compiled: u64,
    /// Of those, traces of several blocks translated as one function.
    pub traces_compiled: u64,
    /// Seconds spent translating.
    pub compile_seconds: f64,
    /// Entries from Rust into translated code.
    pub entries: u64,
    /// Inner blocks of translated loops made to enter them (instead of
    /// being translated as loops of their own).
    pub loop_entries_compiled: u64,
    /// Blocks dropped because their code was overwritten.
    pub blocks_invalidated: u64,
    /// Blocks left to the interpreter because their code page is
    /// rewritten too often.
    pub blocks_left_rewritten: u64,
    /// Times the code arena filled and every translation was dropped.
    pub flushes: u64,
    /// Cycles interpreted in bursts from code left to the interpreter.
    pub burst_cycles: u64,
    /// User cycles executed by translated code.
    pub translated_cycles: u64,
}
