//! Where translated code lives, and what happens when the guest overwrites
//! it. Installing a translation marks its words in guest memory's code map
//! (which stores check: see `GuestMemory::note_store`), has the cycle model
//! watch its pages (see `cycle_model::PAGE_DIRTY_WATCHED`) and enters it in
//! the code cache; a store into such a word drops every translation of its
//! code page, undoing all three.

use super::code_cache::{self, BlockSpan};
use super::engine::JitEngine;
use super::region::GuestBlock;
use crate::machine::Machine;
use crate::memory::code_page;

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
            m.mem.mark_code_words(block.start, block.end());
            m.cycle_model.watch_pages(block.start, block.end());
        }
        let span = BlockSpan {
            mode: blocks[0].mode,
            start: blocks[0].start,
        };
        self.cache.insert(span, code);
    }

    /// Drops the translations of the page holding `addr`.
    pub(super) fn invalidate(&mut self, m: &mut Machine, addr: u32) {
        let spans = self.cache.invalidate_page(addr);
        if spans.is_empty() {
            return;
        }
        // Every translation of the page is gone, and with them its code words
        // and any jump cache that leads to one.
        m.mem.clear_code_page(addr);
        m.cycle_model.unwatch_code_page(addr);
        let page = code_page(addr);
        self.loop_entries
            .retain(|&(_, pc), _| code_page(pc) != page);
        self.jump_caches.empty_all();
        for span in spans {
            self.entry_counts.remove(&(span.mode, span.start));
            self.stats.blocks_invalidated += 1;
        }
    }
}
