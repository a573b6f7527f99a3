//! The page states translated code reads: a byte per page for the current
//! segment (0 unloaded, 1 loaded, 2 dirty, [`PAGE_DIRTY_WATCHED`]), and a
//! user-mode view of the same bytes in which an access user mode may not
//! make reads 0 (see `CycleModel::user_page_states_ptr`). Both are written
//! only through `set_page_state`, which keeps them in step.

use std::ops::Range;

use super::{Access, CycleModel};
use crate::memory::{CodePageFlags, HostTable, HOST_TABLE_BYTES};
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

    /// Reads which pages hold translated code from `flags` (guest
    /// memory's map): see [`PAGE_DIRTY_WATCHED`].
    pub fn follow_code_pages(&mut self, flags: CodePageFlags) {
        self.code_pages = Some(flags);
    }

    /// The state byte of dirty page `page`: plainly dirty, or watched when
    /// it holds translated code.
    pub(super) fn dirty_state(&self, page: u32) -> u8 {
        match &self.code_pages {
            Some(flags) if flags.holds_code(page) => PAGE_DIRTY_WATCHED,
            _ => Access::Write as u8,
        }
    }

    /// Brings the state bytes of `pages` up to date after guest memory's
    /// code-page map changed there (translated code installed or dropped).
    pub fn code_pages_changed(&mut self, pages: Range<u32>) {
        if self.enabled {
            for page in pages {
                let state = self.page_states[page as usize];
                if state == Access::Write as u8 || state == PAGE_DIRTY_WATCHED {
                    self.set_page_state(page as usize, self.dirty_state(page));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle_model::Access;
    use crate::memory::GuestMemory;

    /// A model following `mem`'s code pages.
    fn model_of(mem: &GuestMemory) -> CycleModel {
        let mut model = CycleModel::new(14);
        model.follow_code_pages(mem.code_page_flags());
        model
    }

    /// Marks `start..end` as translated code, as installing a translation does.
    fn install(mem: &mut GuestMemory, model: &mut CycleModel, start: u32, end: u32) {
        let pages = mem.mark_code_words(start, end);
        model.code_pages_changed(pages);
    }

    /// Drops the code page of `addr`, as invalidating it does.
    fn drop_code_page(mem: &mut GuestMemory, model: &mut CycleModel, addr: u32) {
        let pages = mem.clear_code_page(addr);
        model.code_pages_changed(pages);
    }

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
        let mut mem = GuestMemory::new().unwrap();
        let mut model = model_of(&mem);
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
        install(&mut mem, &mut model, 0x3_0400, 0x3_0404);
        assert_eq!(view(&model, 0x3_0400, 2), PAGE_DIRTY_WATCHED);
        drop_code_page(&mut mem, &mut model, 0x3_0400);
        assert_eq!(view(&model, 0x3_0400, 2), 2);
        model.split(100);
        assert_eq!(view(&model, 0x3_0400, 2), 0);
        assert_eq!(view(&model, 0x4_0000, 0), 0);
    }

    #[test]
    fn a_watched_page_is_never_plainly_dirty() {
        let mut mem = GuestMemory::new().unwrap();
        let mut model = model_of(&mem);
        let byte = |model: &CycleModel| model.page_states[(0x3_0400 / PAGE_BYTES) as usize];
        model.access(0x3_0400, Access::Write);
        assert_eq!(byte(&model), Access::Write as u8);
        install(&mut mem, &mut model, 0x3_0400, 0x3_0410);
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
        drop_code_page(&mut mem, &mut model, 0x3_0000);
        assert_eq!(byte(&model), Access::Write as u8);
        model.split(200);
        model.access(0x3_0400, Access::Write);
        assert_eq!(
            byte(&model),
            Access::Write as u8,
            "dropped code is not watched"
        );
    }
}
