//! Where translated code lives, and what happens when the guest overwrites
//! it: the one place that installs and drops translations. Installing one
//! marks its words and pages in guest memory's code maps (which stores
//! check: see `GuestMemory::note_store`; the cycle model reads the page map
//! to tell translated stores which dirty pages hold code, see
//! `cycle_model::PAGE_DIRTY_WATCHED`) and enters it in the code cache; a
//! store into such a word drops every translation of its code page from
//! both.

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
            let pages = m.mem.mark_code_words(block.start, block.end());
            m.cycle_model.code_pages_changed(pages);
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
    }
}
