//! Where translated code lives, and what happens when the guest overwrites
//! it: the one place that installs and drops translations. Installing one
//! marks its words and pages in guest memory's code maps (which stores
//! check: see `GuestMemory::note_store`; the cycle model reads the page map
//! to tell translated stores which dirty pages hold code, see
//! `cycle_model::PAGE_DIRTY_WATCHED`) and enters it in the code cache; a
//! store into such a word drops every translation of its code page from
//! both. A page whose code is rewritten again and again stays in the
//! interpreter ([`REWRITES_BEFORE_INTERPRETING`]): translating it anew at
//! every rewrite would cost a compilation for each, and the memory of
//! every translation dropped.

use super::code_cache::{self, BlockSpan};
use super::engine::JitEngine;
use super::region::GuestBlock;
use crate::machine::Machine;
use crate::memory::code_page;

/// Times a code page's translations may be dropped for writes to its code
/// before its code is left to the interpreter.
pub const REWRITES_BEFORE_INTERPRETING: u32 = 4;

impl JitEngine {
    /// Makes `code`, the translation of `blocks`, the code run at their
    /// head, and watches the words it was translated from.
    pub(super) fn install(
        &mut self,
        m: &mut Machine,
        blocks: &[GuestBlock],
        code: code_cache::Code,
    ) {
        for block in blocks {
            let pages = m.mem.mark_code_words(block.start, block.end());
            m.cycle_model.code_pages_changed(pages);
        }
        let span = BlockSpan {
            mode: blocks[0].mode,
            start: blocks[0].start,
        };
        self.cache.insert(span, code);
    }

    /// Drops the translations of the page holding `addr`, whose code the
    /// guest wrote.
    pub(super) fn invalidate(&mut self, m: &mut Machine, addr: u32) {
        if self.drop_page(m, addr) > 0 {
            *self.page_rewrites.entry(code_page(addr)).or_insert(0) += 1;
        }
    }

    /// Drops the translations of the page holding `addr`, whose code a
    /// debugger changed (not counted as the guest's rewrites); how many
    /// there were.
    pub fn drop_translations_at(&mut self, m: &mut Machine, addr: u32) -> usize {
        self.drop_page(m, addr)
    }

    /// Drops every translation of the page holding `addr`; how many there
    /// were.
    fn drop_page(&mut self, m: &mut Machine, addr: u32) -> usize {
        let spans = self.cache.invalidate_page(addr);
        if spans.is_empty() {
            return 0;
        }
        let dropped = spans.len();
        // Every translation of the page is gone, and with them its code words
        // and any jump cache that leads to one.
        let pages = m.mem.clear_code_page(addr);
        m.cycle_model.code_pages_changed(pages);
        let page = code_page(addr);
        self.loop_entries
            .retain(|&(_, pc), _| code_page(pc) != page);
        self.jump_caches.empty_all();
        for span in spans {
            self.entry_counts.remove(&(span.mode, span.start));
            self.stats.blocks_invalidated += 1;
        }
        dropped
    }

    /// Drops every translation and the compiler with its full code arena;
    /// the next translation makes a new one. The run goes on (the counts
    /// of blocks start again).
    pub(super) fn flush(&mut self, m: &mut Machine) {
        for page in self.cache.translated_pages() {
            self.drop_page(m, page);
        }
        self.loop_entries.clear();
        self.entry_counts.clear();
        self.compiler = None;
        self.stats.flushes += 1;
        tracing::debug!("code arena full: every translation dropped");
    }

    /// Whether the code at `pc` is rewritten too often to be translated.
    pub(super) fn rewritten_too_often(&self, pc: u32) -> bool {
        self.page_rewrites
            .get(&code_page(pc))
            .is_some_and(|&rewrites| rewrites >= REWRITES_BEFORE_INTERPRETING)
    }
}
