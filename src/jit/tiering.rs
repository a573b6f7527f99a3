//! When and what the JIT translates: a block is counted each time the
//! interpreter enters it, and once it has been entered `threshold` times
//! it is translated with the loop or trace around it (see `region`); the
//! inner blocks of a translated loop get entry stubs into it.

use std::time::Instant;

use super::code_arena::ARENA_FULL;
use super::code_cache::{self, BlockSpan};
use super::compiler::Compiler;
use super::engine::JitEngine;
use super::region::{discover_loop_from_top, discover_trace, shares_entries, GuestBlock, Shape};
use super::runtime::{note_store, page_in};
use super::translate::Env;
use crate::decoder::Opcode;
use crate::machine::Machine;
use crate::profile::call_stack::stack_op;

/// Marks a block start that cannot be translated.
pub(super) const UNTRANSLATABLE: u32 = u32::MAX;
/// Cycles the interpreter runs on its own from code that is never to be
/// translated (see `JitEngine::interpret_burst`): short against a run,
/// long against the switch into it.
pub(super) const BURST_CYCLES: u64 = 20_000;

impl JitEngine {
    /// Counts an entry of the block at the pc; true when it is due for translation.
    /// `None` when the block is never to be translated.
    pub(super) fn count_entry(&mut self, m: &Machine) -> Option<bool> {
        let count = self.entry_counts.entry((m.mode(), m.pc)).or_insert(0);
        if *count == UNTRANSLATABLE {
            return None;
        }
        *count += 1;
        Some(*count >= self.options.threshold && m.user_cycles >= self.options.warmup_cycles)
    }

    /// Translates the block at the pc (or the loop holding it, headed
    /// elsewhere: see `discover_loop_from_top`); false if it cannot be.
    pub(super) fn translate(&mut self, m: &mut Machine) -> bool {
        if let Some(&(code, index)) = self.loop_entries.get(&(m.mode(), m.pc)) {
            return self.add_loop_entry(m, code, index);
        }
        if self.rewritten_too_often(m.pc) {
            self.entry_counts.insert((m.mode(), m.pc), UNTRANSLATABLE);
            self.stats.blocks_left_rewritten += 1;
            return false;
        }
        let Some(head) = GuestBlock::discover(&m.mem, m.mode(), m.pc) else {
            self.entry_counts.insert((m.mode(), m.pc), UNTRANSLATABLE);
            return false;
        };
        let blocks = if self.options.loops {
            discover_loop_from_top(&m.mem, head)
        } else {
            vec![head]
        };
        let mode = m.mode();
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
        // A profiled run leaves calls and returns to the interpreter: a
        // trace ends at the first.
        let mut blocks = blocks;
        if self.options.profiling && shape == Shape::Trace {
            if let Some(at) = blocks
                .iter()
                .position(|b| b.insns.last().and_then(stack_op).is_some())
            {
                blocks.truncate(at + 1);
            }
        }
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
            jump_cache: (ends_in_jalr && self.options.chain && !self.options.profiling)
                .then(|| self.jump_caches.add()),
            leave_calls_and_returns: self.options.profiling,
        };
        let started = Instant::now();
        let compiler = self.compiler.get_or_insert_with(|| {
            Compiler::new(page_in, self.options.code_arena_bytes)
                .inspect_err(|error| tracing::warn!(%error, "the JIT is unavailable; interpreting"))
        });
        let result = match compiler {
            Ok(compiler) => compiler.compile(&blocks, shape, env),
            Err(error) => Err(error.clone()),
        };
        self.stats.compile_seconds += started.elapsed().as_secs_f64();
        match result {
            Ok(code) => {
                let head = &blocks[0];
                self.install(m, &blocks, code);
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
            Err(error) if error.contains(ARENA_FULL) => {
                self.flush(m);
                false
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
        self.entry_counts.insert((m.mode(), m.pc), UNTRANSLATABLE);
        false
    }

    /// Makes the block at the pc, block `index` of the loop translation
    /// `code`, enter that translation; false if it cannot.
    fn add_loop_entry(&mut self, m: &mut Machine, code: code_cache::Code, index: u32) -> bool {
        let started = Instant::now();
        let stub = match &mut self.compiler {
            Some(Ok(compiler)) => compiler.compile_entry(code, index),
            _ => unreachable!("loops are translated only once the compiler is"),
        };
        self.stats.compile_seconds += started.elapsed().as_secs_f64();
        match stub {
            Ok(stub) => {
                let span = BlockSpan {
                    mode: m.mode(),
                    start: m.pc,
                };
                self.cache.insert(span, stub);
                self.stats.loop_entries_compiled += 1;
                true
            }
            Err(error) if error.contains(ARENA_FULL) => {
                self.flush(m);
                false
            }
            Err(error) => self.leave_to_interpreter(m, &error),
        }
    }
}
