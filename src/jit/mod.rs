//! The JIT engine: guest basic blocks compiled to native code with
//! Cranelift, tiered over the interpreter. A block runs in the interpreter
//! until it has been entered `threshold` times, then it is translated.
//! Translated blocks chain to each other through the pc-to-code table; an
//! ECALL, MRET, trap, or a store into translated code returns to Rust, where
//! the machine's own paths (the interpreter's) handle it. A load or store
//! that changes a page's state calls the cycle model without leaving.

mod block_plan;
mod cache;
mod code_arena;
mod compiler;
mod context;
mod region;
mod translate;

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use crate::cycle_model::{Access, CycleModel};
use crate::decoder::Opcode;
use crate::interpreter::Interpreter;
use crate::machine::Machine;
use crate::memory::{GuestMemory, HOST_TAIL_BYTES};
use crate::trap::Stop;

use cache::{BlockSpan, CodeCache};
use compiler::Compiler;
use context::{Exit, JitContext};
pub use region::MAX_BLOCK_INSNS;
use region::{discover_loop_from_top, discover_trace, shares_entries, GuestBlock, Shape};
use translate::Env;

/// Entries of a block before it is translated, by default.
pub const DEFAULT_THRESHOLD: u32 = 250;
/// User cycles a run executes before anything is translated, with the
/// default threshold: Cranelift costs more than a run this short takes to
/// interpret, and the runtime's bss-clearing loop alone passes the
/// threshold (hello: 1.2 -> 0.25 ms; the benchmark guests unchanged).
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
    /// User cycles executed by translated code.
    pub translated_cycles: u64,
}

/// A JALR's jump cache (see `Env::jump_cache`): (target, code) pairs.
type JumpCache = [[u64; 2]; translate::JUMP_CACHE_ENTRIES];
/// A jump cache that matches no jump (a JALR target is even).
const EMPTY_JUMP_CACHE: JumpCache = [[u64::MAX, 0]; translate::JUMP_CACHE_ENTRIES];

/// Marks a block start that cannot be translated.
const UNTRANSLATABLE: u32 = u32::MAX;
/// Blocks the interpreter runs at most, uncounted, after translated code
/// left it an instruction: as many as a loop translation holds.
const RESUME_BLOCKS: usize = region::MAX_LOOP_BLOCKS;

/// The JIT engine of one machine.
pub struct JitEngine {
    /// Made at the first translation, so that short runs never pay for it;
    /// `Err` when Cranelift cannot target this host (everything is then
    /// interpreted).
    compiler: Option<Result<Compiler, String>>,
    cache: CodeCache,
    entry_counts: HashMap<(bool, u32), u32>,
    options: JitOptions,
    /// Runs what is not translated.
    interpreter: Interpreter,
    /// The jump caches of translated JALRs: (target, code) pairs at fixed
    /// addresses, emptied whenever a translation is dropped or a segment
    /// starts (a segment starts with no page loaded).
    #[allow(clippy::vec_box, reason = "translated code holds their addresses")]
    jump_caches: Vec<Box<JumpCache>>,
    /// The segment (`CycleModel::segment_tag`) the jump caches were filled in.
    jump_cache_segment: u32,
    /// The inner blocks of translated loops: the loop's code and the
    /// block's index in it (see `Compiler::compile_entry`).
    loop_entries: HashMap<(bool, u32), (cache::Code, u32)>,
    /// Statistics of the run so far.
    pub stats: JitStats,
}

extern "C" fn note_store(ctx: *mut JitContext, addr: u32) {
    // SAFETY: translated code passes the context Rust entered it with,
    // whose memory pointer is live for the entry.
    unsafe { (*(*ctx).memory).note_store(addr) }
}

/// Records the access translated code left in the context (see
/// `compiler::PageIn`).
extern "C" fn page_in(ctx: *mut JitContext) {
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

impl JitEngine {
    /// A JIT engine for one machine (Cranelift is set up at the first translation).
    pub fn new(options: JitOptions) -> Self {
        Self {
            compiler: None,
            cache: CodeCache::new(),
            entry_counts: HashMap::new(),
            options,
            interpreter: Interpreter::new(),
            jump_caches: Vec::new(),
            jump_cache_segment: 0,
            loop_entries: HashMap::new(),
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
        let steps = match self.cache.lookup(m.machine_mode(), m.pc) {
            // Translated code is entered only with its first page loaded.
            Some(code) if m.cycle_model.is_loaded(m.pc) => self.run_translated(m, code, limit)?,
            Some(_) => self.interpret_block(m, limit)?,
            None => match self.count_entry(m) {
                true if self.translate(m) => 0,
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
        code: cache::Code,
        limit: u64,
    ) -> Result<u64, Stop> {
        // Segments start only here, in Rust: translated code stops at the
        // segment's end.
        let segment = m.cycle_model.segment_tag();
        if segment != self.jump_cache_segment {
            self.empty_jump_caches();
            self.jump_cache_segment = segment;
        }
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

    /// Counts an entry of the block at the pc; true when it is due for translation.
    fn count_entry(&mut self, m: &Machine) -> bool {
        let count = self
            .entry_counts
            .entry((m.machine_mode(), m.pc))
            .or_insert(0);
        if *count == UNTRANSLATABLE {
            return false;
        }
        *count += 1;
        *count >= self.options.threshold && m.user_cycles >= self.options.warmup_cycles
    }

    /// Translates the block at the pc (or the loop holding it, headed
    /// elsewhere: see `discover_loop_from_top`); false if it cannot be.
    fn translate(&mut self, m: &mut Machine) -> bool {
        if let Some(&(code, index)) = self.loop_entries.get(&(m.machine_mode(), m.pc)) {
            return self.add_loop_entry(m, code, index);
        }
        let Some(head) = GuestBlock::discover(&m.mem, m.machine_mode(), m.pc) else {
            self.entry_counts
                .insert((m.machine_mode(), m.pc), UNTRANSLATABLE);
            return false;
        };
        let blocks = if self.options.loops {
            discover_loop_from_top(&m.mem, head)
        } else {
            vec![head]
        };
        let mode = m.machine_mode();
        let shape = if blocks.len() > 1 || blocks[0].loops_to_itself() {
            Shape::Loop
        } else {
            Shape::Trace
        };
        let blocks = if shape == Shape::Trace && self.options.traces {
            let entries = |pc: u32| match self.entry_counts.get(&(mode, pc)) {
                Some(&UNTRANSLATABLE) | None => 0,
                Some(&count) => count,
            };
            let [head] = <[GuestBlock; 1]>::try_from(blocks).expect("one block");
            discover_trace(&m.mem, head, entries)
        } else {
            blocks
        };
        // (Only a trace's last block can end in a JALR.)
        let ends_in_jalr =
            blocks[blocks.len() - 1].insns.last().map(|i| i.op) == Some(Opcode::Jalr);
        let successor_slots = blocks
            .iter()
            .flat_map(GuestBlock::static_successors)
            .map(|pc| (pc, self.cache.slot_address(mode, pc)))
            .collect();
        let env = Env {
            mem_base: m.mem.base_ptr() as i64,
            context: m.mem.host_tail_ptr() as i64,
            code_words: m.mem.code_words_ptr() as i64,
            code_pages: m.mem.code_pages_ptr() as i64,
            code_table: self.cache.table(mode).first_level() as i64,
            chain: self.options.chain,
            note_store: self
                .options
                .track_pages
                .then_some(note_store as *const u8 as i64),
            page_states: m
                .cycle_model
                .enabled()
                .then(|| m.cycle_model.page_states_ptr() as i64),
            user_page_states: m
                .cycle_model
                .enabled()
                .then(|| m.cycle_model.user_page_states_ptr() as i64),
            successor_slots,
            jump_cache: (ends_in_jalr && self.options.chain).then(|| {
                let mut cache = Box::new(EMPTY_JUMP_CACHE);
                let address = cache.as_mut_ptr() as i64;
                self.jump_caches.push(cache);
                address
            }),
        };
        let started = Instant::now();
        let compiler = self.compiler.get_or_insert_with(|| {
            Compiler::new(page_in)
                .inspect_err(|error| tracing::warn!(%error, "the JIT is unavailable; interpreting"))
        });
        let result = match compiler {
            Ok(compiler) => compiler.compile(&blocks, shape, env),
            Err(error) => Err(error.clone()),
        };
        self.stats.compile_seconds += started.elapsed().as_secs_f64();
        match result {
            Ok(code) => {
                for block in &blocks {
                    m.mem.mark_code_words(block.start, block.end());
                    m.cycle_model.watch_pages(block.start, block.end());
                }
                let head = &blocks[0];
                let span = BlockSpan {
                    machine_mode: mode,
                    start: head.start,
                };
                self.cache.insert(span, code);
                if shape == Shape::Loop && shares_entries(&blocks) {
                    for (index, block) in (0..).zip(&blocks).skip(1) {
                        self.loop_entries.insert((mode, block.start), (code, index));
                    }
                }
                self.stats.blocks_compiled += 1;
                self.stats.loops_compiled += u64::from(shape == Shape::Loop && blocks.len() > 1);
                self.stats.traces_compiled += u64::from(shape == Shape::Trace && blocks.len() > 1);
                tracing::trace!(
                    pc = head.start,
                    insns = head.insns.len(),
                    loop_blocks = blocks.len(),
                    "translated block"
                );
                true
            }
            Err(error) => self.leave_to_interpreter(m, &error),
        }
    }

    /// Leaves the block at the pc to the interpreter for good, after
    /// Cranelift rejected its translation (or entry stub); returns false.
    fn leave_to_interpreter(&mut self, m: &Machine, error: &str) -> bool {
        // Cranelift rejecting a translation is a translator bug (the
        // verifier runs in debug builds): tests must not pass by
        // interpreting instead.
        debug_assert!(false, "translation at {:#x} failed: {error}", m.pc);
        tracing::warn!(pc = m.pc, %error, "block left to the interpreter");
        self.entry_counts
            .insert((m.machine_mode(), m.pc), UNTRANSLATABLE);
        false
    }

    /// Makes the block at the pc, block `index` of the loop translation
    /// `code`, enter that translation; false if it cannot.
    fn add_loop_entry(&mut self, m: &mut Machine, code: cache::Code, index: u32) -> bool {
        let started = Instant::now();
        let stub = match &mut self.compiler {
            Some(Ok(compiler)) => compiler.compile_entry(code, index),
            _ => unreachable!("loops are translated only once the compiler is"),
        };
        self.stats.compile_seconds += started.elapsed().as_secs_f64();
        match stub {
            Ok(stub) => {
                let span = BlockSpan {
                    machine_mode: m.machine_mode(),
                    start: m.pc,
                };
                self.cache.insert(span, stub);
                self.stats.loop_entries_compiled += 1;
                true
            }
            Err(error) => self.leave_to_interpreter(m, &error),
        }
    }

    /// Interprets one basic block (stopping early at a halt, a mode change,
    /// or translated code). Returns the steps taken.
    fn interpret_block(&mut self, m: &mut Machine, limit: u64) -> Result<u64, Stop> {
        let mode = m.machine_mode();
        let mut steps = 0;
        loop {
            m.before_instruction(limit)?;
            let ends_block = self.interpreter.decode_at(m).op.ends_block();
            self.interpreter.step(m)?;
            steps += 1;
            if ends_block || self.interpreting_ends(m, mode) {
                return Ok(steps);
            }
        }
    }

    /// Whether the interpreter, which started in `mode`, hands back before
    /// the instruction at the pc: a halt, a mode change, a store into
    /// translated code (to invalidate first), or translated code here.
    fn interpreting_ends(&self, m: &Machine, mode: bool) -> bool {
        m.halt.is_some()
            || m.machine_mode() != mode
            || m.mem.code_was_written()
            || self.cache.lookup(mode, m.pc).is_some()
    }

    /// After translated code left an instruction to the interpreter (a trap,
    /// a page that changes state, a store group near translated code):
    /// interprets from there up to translated code, without counting
    /// entries (blocks entered that way would be translations of the rest of
    /// a block, or of a loop from one of its inner blocks).
    fn resume_after_finish(&mut self, m: &mut Machine, limit: u64) -> Result<u64, Stop> {
        let mode = m.machine_mode();
        // The instruction has passed the checks before it, and may already
        // have paged (checking again could split the segment before it).
        self.interpreter.step(m)?;
        let mut steps = 1;
        for _ in 0..RESUME_BLOCKS {
            if self.interpreting_ends(m, mode) {
                break;
            }
            steps += self.interpret_block(m, limit)?;
        }
        Ok(steps)
    }

    fn empty_jump_caches(&mut self) {
        for cache in &mut self.jump_caches {
            **cache = EMPTY_JUMP_CACHE;
        }
    }

    /// Drops the translations of the page holding `addr`.
    fn invalidate(&mut self, m: &mut Machine, addr: u32) {
        let spans = self.cache.invalidate_page(addr);
        if spans.is_empty() {
            return;
        }
        // Every translation of the page is gone, and with them its code words
        // and any jump cache that leads to one.
        m.mem.clear_code_page(addr);
        m.cycle_model.unwatch_4k_page(addr);
        let page = addr >> 12;
        self.loop_entries.retain(|&(_, pc), _| pc >> 12 != page);
        self.empty_jump_caches();
        for span in spans {
            self.entry_counts.remove(&(span.machine_mode, span.start));
            self.stats.blocks_invalidated += 1;
        }
    }
}
