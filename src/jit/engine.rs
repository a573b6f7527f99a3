//! The JIT engine's run loop: translated code where there is some (entered
//! with a fresh context, its exit handled), the interpreter elsewhere, one
//! unit at a time, with the tiering (`tiering`) and the dropping of
//! overwritten code (`code_watch`) between units.

use std::collections::HashMap;

use super::code_cache::{self, CodeCache};
use super::compiler::Compiler;
use super::jump_cache::JumpCaches;
use super::region;
use super::runtime::{Exit, JitContext};
use super::{JitOptions, JitStats};
use crate::cycle_model::CycleModel;
use crate::interpreter::Interpreter;
use crate::machine::Machine;
use crate::memory::{GuestMemory, HOST_TAIL_BYTES};
use crate::mode::Mode;
use crate::stop::Stop;

/// Blocks the interpreter runs at most, uncounted, after translated code
/// left it an instruction: as many as a loop translation holds.
const RESUME_BLOCKS: usize = region::MAX_LOOP_BLOCKS;

/// The JIT engine of one machine.
pub struct JitEngine {
    /// Made at the first translation, so that short runs never pay for it;
    /// `Err` when Cranelift cannot target this host (everything is then
    /// interpreted).
    pub(super) compiler: Option<Result<Compiler, String>>,
    pub(super) cache: CodeCache,
    pub(super) entry_counts: HashMap<(Mode, u32), u32>,
    pub(super) options: JitOptions,
    /// Runs what is not translated.
    pub(super) interpreter: Interpreter,
    /// The jump caches of translated JALRs.
    pub(super) jump_caches: JumpCaches,
    /// The inner blocks of translated loops: the loop's code and the
    /// block's index in it (see `Compiler::compile_entry`).
    pub(super) loop_entries: HashMap<(Mode, u32), (code_cache::Code, u32)>,
    /// How often each code page's translations were dropped because the
    /// guest wrote its code (see `code_watch`).
    pub(super) page_rewrites: HashMap<u32, u32>,
    /// Statistics of the run so far.
    pub stats: JitStats,
}

impl JitEngine {
    /// A JIT engine for one machine (Cranelift is set up at the first translation).
    pub fn new(options: JitOptions) -> Self {
        Self {
            compiler: None,
            cache: CodeCache::new(),
            entry_counts: HashMap::new(),
            options,
            interpreter: Interpreter::new(),
            jump_caches: JumpCaches::default(),
            loop_entries: HashMap::new(),
            page_rewrites: HashMap::new(),
            stats: JitStats::default(),
        }
    }

    /// Runs until the guest halts, a stop, or `max_cycles` user cycles.
    pub fn run(&mut self, m: &mut Machine, max_cycles: Option<u64>) -> Result<(), Stop> {
        if self.options.track_pages {
            m.mem.track_written_pages();
        }
        let limit = max_cycles.unwrap_or(u64::MAX);
        while m.halt.is_none() {
            self.step(m, limit)?;
        }
        Ok(())
    }

    /// Executes one unit: translated code until it exits (with the exit's
    /// instruction handled), or one block in the interpreter, or a
    /// translation. Returns how many interpreter steps the unit amounts to.
    pub fn step(&mut self, m: &mut Machine, limit: u64) -> Result<u64, Stop> {
        m.before_instruction(limit)?;
        let steps = match self.cache.lookup(m.mode(), m.pc) {
            // Translated code is entered only with its first page loaded.
            Some(code) if m.cycle_model.is_loaded(m.pc) => self.run_translated(m, code, limit)?,
            Some(_) => self.interpret_block(m, limit)?,
            None => match self.count_entry(m) {
                Some(true) if self.translate(m) => 0,
                // Code left to the interpreter: interpret on from there
                // for a while, at the interpreter's own speed.
                None if !self.options.track_pages => self.interpret_burst(m, limit)?,
                _ => self.interpret_block(m, limit)?,
            },
        };
        if m.mem.code_was_written() {
            for addr in m.mem.take_written_code() {
                self.invalidate(m, addr);
            }
        }
        Ok(steps)
    }

    fn run_translated(
        &mut self,
        m: &mut Machine,
        code: code_cache::Code,
        limit: u64,
    ) -> Result<u64, Stop> {
        // Segments start only here, in Rust: translated code stops at the
        // segment's end.
        self.jump_caches.enter_segment(m.cycle_model.segment_tag());
        // (Translated code counts down from the limit as a signed budget,
        // so no limit is beyond i64::MAX.)
        let cycle_limit = limit
            .min(m.cycle_model.segment_cycle_limit())
            .min(i64::MAX as u64);
        let context = JitContext {
            budget: cycle_limit as i64 - m.user_cycles as i64,
            cycle_limit,
            pc: m.pc,
            guest_memory: m.mem.base_ptr(),
            memory: &mut m.mem as *mut GuestMemory,
            cycle_model: &mut m.cycle_model as *mut CycleModel,
            ..JitContext::default()
        };
        // Translated code reaches the register files at fixed offsets from
        // the context (see `GuestMemory::host_tail_ptr`).
        let at = m.mem.host_tail_ptr().cast::<JitContext>();
        const { assert!(size_of::<JitContext>() <= HOST_TAIL_BYTES) };
        // SAFETY: the tail is page-aligned, large enough (above) and used
        // for nothing else; `code` was translated for this machine, whose
        // memory and this engine's tables are alive and unmoved.
        let compiler = match &self.compiler {
            Some(Ok(compiler)) => compiler,
            _ => unreachable!("translated code exists only once the compiler does"),
        };
        let ctx = unsafe {
            at.write(context);
            compiler.enter(at, code);
            at.read()
        };
        self.stats.entries += 1;
        let cycles = (ctx.cycle_limit as i64 - ctx.budget) as u64;
        let ran = cycles - m.user_cycles;
        self.stats.translated_cycles += ran;
        m.user_cycles = cycles;
        m.pc = ctx.pc;
        match Exit::from_u32(ctx.exit) {
            Exit::Jump => Ok(ran),
            Exit::CodeWritten => {
                self.invalidate(m, ctx.written_addr);
                Ok(ran)
            }
            Exit::Interpret => Ok(ran + self.interpret_block(m, limit)?),
            Exit::Finish => Ok(ran + self.resume_after_finish(m, limit)?),
        }
    }

    /// Interprets one basic block (stopping early at a halt, a mode change,
    /// or translated code). Returns the steps taken.
    pub(super) fn interpret_block(&mut self, m: &mut Machine, limit: u64) -> Result<u64, Stop> {
        let mode = m.mode();
        let mut steps = 0;
        loop {
            m.before_instruction(limit)?;
            let ends_block = self.interpreter.decode_at(m).op.ends_block();
            self.interpreter.step_maybe_profiled(m)?;
            steps += 1;
            if ends_block || self.interpreting_ends(m, mode) {
                return Ok(steps);
            }
        }
    }

    /// Interprets from code left to the interpreter (untranslatable, or
    /// rewritten too often) for up to [`super::tiering::BURST_CYCLES`], with the plain
    /// interpreter: no entry counting and no lookups between instructions,
    /// which would make interpreting here slower than the interpreter
    /// engine. Returns the cycles run.
    fn interpret_burst(&mut self, m: &mut Machine, limit: u64) -> Result<u64, Stop> {
        let started = m.user_cycles;
        let end = limit.min(started.saturating_add(super::tiering::BURST_CYCLES));
        match self.interpreter.run_maybe_profiled(m, Some(end)) {
            Err(Stop::CycleLimit { .. }) if end < limit => {}
            other => other?,
        }
        self.stats.burst_cycles += m.user_cycles - started;
        Ok(m.user_cycles - started)
    }

    /// Whether the interpreter, which started in `mode`, hands back before
    /// the instruction at the pc: a halt, a mode change, a store into
    /// translated code (to invalidate first), or translated code here.
    fn interpreting_ends(&self, m: &Machine, mode: Mode) -> bool {
        m.halt.is_some()
            || m.mode() != mode
            || m.mem.code_was_written()
            || self.cache.lookup(mode, m.pc).is_some()
    }

    /// After translated code left an instruction to the interpreter (a trap,
    /// a page that changes state, a store group near translated code):
    /// interprets from there up to translated code, without counting
    /// entries (blocks entered that way would be translations of the rest of
    /// a block, or of a loop from one of its inner blocks).
    fn resume_after_finish(&mut self, m: &mut Machine, limit: u64) -> Result<u64, Stop> {
        let mode = m.mode();
        // The instruction has passed the checks before it, and may already
        // have paged (checking again could split the segment before it).
        self.interpreter.step_maybe_profiled(m)?;
        let mut steps = 1;
        for _ in 0..RESUME_BLOCKS {
            if self.interpreting_ends(m, mode) {
                break;
            }
            steps += self.interpret_block(m, limit)?;
        }
        Ok(steps)
    }
}
