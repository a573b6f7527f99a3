//! The page states translated code reads: a byte per page for the current
//! segment (0 unloaded, 1 loaded, 2 dirty, [`PAGE_DIRTY_WATCHED`]), and a
//! user-mode view of the same bytes in which an access user mode may not
//! make reads 0 (see `CycleModel::user_page_states_ptr`). Both are written
//! only through `set_page_state`, which keeps them in step.

use std::ops::Range;

use super::{Access, CycleModel};
use crate::memory::{code_page, HostTable, CODE_PAGE_BYTES, HOST_TABLE_BYTES};
use crate::mode::Mode;
use crate::platform::{PAGES, PAGE_BYTES};

/// The pages user mode may access (see [`Mode::accessible`]).
const USER_PAGES: Range<u32> = {
    let range = Mode::User.accessible();
    (range.start / PAGE_BYTES as u64) as u32..(range.end / PAGE_BYTES as u64) as u32
};
/// Bytes of the user-mode view of the page states (see
/// `CycleModel::user_page_states_ptr`): indices up to 2^24.
const USER_VIEW_BYTES: usize = 1 << 24;
/// Bytes of both page-state tables.
const PAGE_TABLES_BYTES: usize = PAGES as usize + USER_VIEW_BYTES;
// The tables live in the host table after guest memory's host tail.
const _: () = assert!(PAGE_TABLES_BYTES <= HOST_TABLE_BYTES);

/// The state byte (see `CycleModel::page_states_ptr`) of a dirty page
/// whose stores the JIT watches (it holds translated code): loaded and
/// dirty, but not the plain dirty state a store compares with.
pub const PAGE_DIRTY_WATCHED: u8 = 3;

impl CycleModel {
    /// Host address of the byte-per-page state table of this segment (0
    /// unloaded, 1 loaded, 2 dirty, [`PAGE_DIRTY_WATCHED`]; translated code
    /// indexes it by `addr >> 10`), or null when the model is off. It stays
    /// at this address once the model is a machine's (see
    /// `Machine::set_cycle_model`).
    pub fn page_states_ptr(&self) -> *const u8 {
        if self.enabled {
            self.page_states.as_ptr()
        } else {
            std::ptr::null()
        }
    }

    /// Host address of the user-mode view of the page states (null when
    /// the model is off): for an access of `2^shift` bytes at `addr`, the
    /// byte at `addr.rotate_right(shift) >> (10 - shift)` is the page's
    /// state if user mode may make that access (in user memory and
    /// aligned: the index is then the page's number), and 0, as for an
    /// unloaded page, if not (a misaligned access's index is past the
    /// pages). One load then checks an access and its page.
    pub fn user_page_states_ptr(&self) -> *const u8 {
        if self.enabled {
            self.page_states[PAGES as usize..].as_ptr()
        } else {
            std::ptr::null()
        }
    }

    /// Keeps the page states in `table` from now on (see
    /// `GuestMemory::take_host_table`), if the model is on and the table
    /// has room for them.
    pub fn place_page_states(&mut self, table: HostTable) {
        if !self.enabled || table.len() < PAGE_TABLES_BYTES {
            return;
        }
        let old = std::mem::replace(&mut self.page_states, table);
        // (Only these are non-zero.)
        for page in self.pages_in_state.clone() {
            self.set_page_state(page as usize, old[page as usize]);
        }
    }

    /// Sets a page's byte in the page-state table, and in the user-mode
    /// view for a page user mode may access.
    pub(super) fn set_page_state(&mut self, page: usize, byte: u8) {
        self.page_states[page] = byte;
        if USER_PAGES.contains(&(page as u32)) {
            self.page_states[PAGES as usize + page] = byte;
        }
    }

    /// Watches stores to the pages of `start..end` (a non-empty range;
    /// nothing when the model is off): see [`PAGE_DIRTY_WATCHED`].
    pub fn watch_pages(&mut self, start: u32, end: u32) {
        if self.enabled {
            for page in (start / PAGE_BYTES..=(end - 1) / PAGE_BYTES).map(|p| p as usize) {
                self.watched[page] = 1;
                if self.page_states[page] == Access::Write as u8 {
                    self.set_page_state(page, PAGE_DIRTY_WATCHED);
                }
            }
        }
    }

    /// Stops watching the pages of the code page holding `addr`.
    pub fn unwatch_code_page(&mut self, addr: u32) {
        if self.enabled {
            let first = (code_page(addr) * CODE_PAGE_BYTES / PAGE_BYTES) as usize;
            for page in first..first + (CODE_PAGE_BYTES / PAGE_BYTES) as usize {
                self.watched[page] = 0;
                if self.page_states[page] == PAGE_DIRTY_WATCHED {
                    self.set_page_state(page, Access::Write as u8);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle_model::Access;

    #[test]
    fn the_page_state_bytes_follow_the_tags_and_clear_at_a_split() {
        let mut model = CycleModel::new(14);
        let byte = |model: &CycleModel, addr: u32| model.page_states[(addr / PAGE_BYTES) as usize];
        model.access(0x3_0000, Access::Read);
        model.access(0x3_0400, Access::Write);
        model.access(0x3_0000, Access::Write);
        assert_eq!((byte(&model, 0x3_0000), byte(&model, 0x3_0400)), (2, 2));
        model.access(0x4_0000, Access::Read);
        assert_eq!(byte(&model, 0x4_0000), 1);
        model.split(100);
        for addr in [0x3_0000, 0x3_0400, 0x4_0000] {
            assert_eq!(byte(&model, addr), 0, "{addr:#x} after the split");
            assert!(!model.is_loaded(addr));
        }
        model.access(0x4_0000, Access::Read);
        assert_eq!(byte(&model, 0x4_0000), 1);
        assert!(model.is_loaded(0x4_0000));
    }

    #[test]
    fn the_user_view_reads_a_user_access_page_state_and_zero_otherwise() {
        let mut model = CycleModel::new(14);
        // What translated code reads for an access of 2^shift bytes.
        let view = |model: &CycleModel, addr: u32, shift: u32| {
            let index = addr.rotate_right(shift) >> (10 - shift);
            // SAFETY: the view is USER_VIEW_BYTES long and indices are below 2^24.
            unsafe { *model.user_page_states_ptr().add(index as usize) }
        };
        model.access(0x3_0400, Access::Write);
        model.access(0x4_0000, Access::Read);
        model.access(0xc000_1000, Access::Write);
        model.access(0x8000, Access::Read);
        assert_eq!(view(&model, 0x3_0400, 2), 2);
        assert_eq!(view(&model, 0x3_07fe, 1), 2);
        assert_eq!(view(&model, 0x4_03ff, 0), 1);
        // Misaligned, or outside user memory: 0, whatever the page's state.
        assert_eq!(view(&model, 0x3_0402, 2), 0);
        assert_eq!(view(&model, 0x3_0401, 1), 0);
        assert_eq!(view(&model, 0xc000_1000, 2), 0);
        assert_eq!(view(&model, 0x8000, 2), 0);
        model.watch_pages(0x3_0400, 0x3_0404);
        assert_eq!(view(&model, 0x3_0400, 2), PAGE_DIRTY_WATCHED);
        model.unwatch_code_page(0x3_0400);
        assert_eq!(view(&model, 0x3_0400, 2), 2);
        model.split(100);
        assert_eq!(view(&model, 0x3_0400, 2), 0);
        assert_eq!(view(&model, 0x4_0000, 0), 0);
    }

    #[test]
    fn a_watched_page_is_never_plainly_dirty() {
        let mut model = CycleModel::new(14);
        let byte = |model: &CycleModel| model.page_states[(0x3_0400 / PAGE_BYTES) as usize];
        model.access(0x3_0400, Access::Write);
        assert_eq!(byte(&model), Access::Write as u8);
        model.watch_pages(0x3_0400, 0x3_0410);
        assert_eq!(byte(&model), PAGE_DIRTY_WATCHED);
        model.split(100);
        model.access(0x3_0400, Access::Read);
        assert_eq!(byte(&model), Access::Read as u8);
        model.access(0x3_0400, Access::Write);
        assert_eq!(
            byte(&model),
            PAGE_DIRTY_WATCHED,
            "watching outlives a segment"
        );
        model.unwatch_code_page(0x3_0000);
        assert_eq!(byte(&model), Access::Write as u8);
    }
}
