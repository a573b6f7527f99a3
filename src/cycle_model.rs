//! The cycle model of proving: what a run costs beyond its user cycles.
//!
//! Proving splits a run into segments of `2^po2` cycles. In each segment the
//! first read of a 1 KiB page costs a page-in (322 cycles plus 13 for each
//! ancestor in the 22-level page tree not yet loaded in this segment), and
//! the first write a page-out of the same shape; every segment also reserves
//! 10 paging cycles and 4113 cycles of its own. Before each instruction, a
//! segment whose user + paging + reserved cycles pass `2^po2 -
//! max_insn_cycles` ends, and the next one starts with every page unloaded.
//! The last segment counts the next power of two of what it used.
//!
//! Page states are tagged with the segment ("epoch") they were set in, so a
//! new segment unloads every page by incrementing one number; a page is in
//! at least state `s` exactly when its tag is at least `epoch * 4 + s`.
//! Translated code reads a copy of the leaves' states instead, a byte per
//! page kept for the current segment only (cleared page by page when the
//! next one starts), so that its checks compare with a constant. A dirty
//! page the JIT watches (it holds translated code) has a state of its own
//! there, so that one compare tells a store it may go ahead without
//! looking further.
//! The machine keeps that table right after its JIT context (see
//! `GuestMemory::take_host_table`), so that translated code addresses it
//! from the context's pointer.

use serde::Serialize;

use crate::memory::HostTable;
use crate::platform::{MACHINE_REGS_ADDR, PAGE_BYTES, USER_END, USER_START};

/// Pages in the 4 GiB address space: the leaves of the page tree.
const PAGES: u32 = 1 << 22;
/// The pages user mode may access: USER_START's to USER_END's.
const USER_PAGES: std::ops::Range<u32> = USER_START / PAGE_BYTES..USER_END / PAGE_BYTES;
/// Bytes of the user-mode view of the page states (see
/// `CycleModel::user_page_states_ptr`): indices up to 2^24.
const USER_VIEW_BYTES: usize = 1 << 24;
/// Bytes of both page-state tables.
pub const PAGE_TABLES_BYTES: usize = PAGES as usize + USER_VIEW_BYTES;
/// Cycles to page one page in (or out).
pub const PAGE_CYCLES: u32 = 322;
/// Cycles to load (or store) one not-yet-loaded page-tree node.
pub const NODE_CYCLES: u32 = 13;
/// Paging cycles every segment starts with (root load and store, resume, suspend).
pub const RESERVED_PAGING_CYCLES: u32 = 10;
/// Cycles every segment reserves besides paging (lookup tables and control).
pub const RESERVED_CYCLES: u32 = (256 + 65536) / 16 + 1;
/// Smallest and largest segment size (log2 of cycles) a prover accepts.
pub const PO2_RANGE: std::ops::RangeInclusive<u32> = 13..=24;
/// The segment size used unless told otherwise.
pub const DEFAULT_PO2: u32 = 20;

/// The reserved headroom for one instruction at the end of a segment, as
/// risc0-zkvm chooses it for a segment size.
pub fn max_insn_cycles(po2: u32) -> u32 {
    if po2 >= 15 {
        25_000
    } else {
        2_000
    }
}

/// A page access of the cycle model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Access {
    /// A read: the page must be loaded.
    Read = 1,
    /// A write: the page must be loaded and dirty (paged out at the end).
    Write = 2,
}

/// One segment of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Its size: it counts `2^po2` cycles.
    pub po2: u32,
    /// User cycles executed in it.
    pub user_cycles: u64,
    /// Paging cycles spent in it.
    pub paging_cycles: u64,
    /// The rest: neither user nor paging.
    pub reserved_cycles: u64,
    /// All the cycles it counts, `2^po2`.
    pub total_cycles: u64,
}

impl Segment {
    fn new(po2: u32, user_cycles: u64, paging_cycles: u32) -> Self {
        let total_cycles = 1u64 << po2;
        let paging_cycles = u64::from(paging_cycles);
        Self {
            po2,
            user_cycles,
            paging_cycles,
            reserved_cycles: total_cycles - user_cycles - paging_cycles,
            total_cycles,
        }
    }
}

/// The totals of a run's segments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CycleSummary {
    /// The segment size asked for (the last segment may be smaller).
    pub po2: u32,
    /// Segments.
    pub segments: u64,
    /// User cycles, over all segments.
    pub user_cycles: u64,
    /// Paging cycles, over all segments.
    pub paging_cycles: u64,
    /// Reserved cycles, over all segments.
    pub reserved_cycles: u64,
    /// All cycles proving will cost.
    pub total_cycles: u64,
    /// Each segment, in order.
    pub per_segment: Vec<Segment>,
}

/// Page states and segment accounting of one run.
pub struct CycleModel {
    /// Off: only user cycles are counted (`--cycles user`).
    enabled: bool,
    po2: u32,
    /// A segment ends before an instruction when its cycles exceed this.
    threshold: u32,
    /// State tag of every page-tree node (1 is the root, `PAGES + page` the
    /// leaves): `epoch * 4 + state`, with state 1 loaded and 2 dirty.
    states: Vec<u32>,
    epoch: u32,
    /// Each page's state in this segment for translated code: the leaves
    /// of `states` (0 unloaded, 1 loaded, 2 dirty), but
    /// [`PAGE_DIRTY_WATCHED`] for a dirty page in `watched`; then the
    /// user-mode view of them (see `user_page_states_ptr`). Written through
    /// `set_page_state` only, which keeps the two in step.
    page_states: HostTable,
    /// Pages the JIT watches stores to (non-zero: they hold translated code).
    watched: Vec<u8>,
    /// The pages whose `page_states` entry is set, to clear at a split.
    pages_in_state: Vec<u32>,
    /// A tag at least this means loaded in this segment (0 when disabled).
    read_min: u32,
    /// A tag at least this means dirty in this segment (0 when disabled).
    write_min: u32,
    /// The run's user cycles when the current segment began.
    segment_start: u64,
    /// Paging cycles of the current segment.
    paging: u32,
    /// `segment_cycle_limit()`, kept up to date as paging grows, so the
    /// check before every instruction is one compare.
    full_at: u64,
    finished: Vec<Segment>,
}

impl CycleModel {
    /// A model counting user cycles only.
    pub fn user_only() -> Self {
        Self {
            enabled: false,
            po2: DEFAULT_PO2,
            threshold: u32::MAX,
            states: Vec::new(),
            epoch: 0,
            page_states: HostTable::empty(),
            watched: Vec::new(),
            pages_in_state: Vec::new(),
            read_min: 0,
            write_min: 0,
            segment_start: 0,
            paging: 0,
            full_at: u64::MAX,
            finished: Vec::new(),
        }
    }

    /// The full model with segments of `2^po2` cycles (`po2` in [`PO2_RANGE`]).
    pub fn new(po2: u32) -> Self {
        assert!(PO2_RANGE.contains(&po2), "segment po2 {po2} out of range");
        let mut model = Self {
            enabled: true,
            po2,
            threshold: (1 << po2) - max_insn_cycles(po2),
            // Zeroed allocation: the OS hands out pages as they are touched.
            states: vec![0; 2 * PAGES as usize],
            page_states: HostTable::new(PAGE_TABLES_BYTES)
                .unwrap_or_else(|error| panic!("cannot map the page-state table: {error}")),
            watched: vec![0; PAGES as usize],
            ..Self::user_only()
        };
        model.start_segment(0);
        model
    }

    /// Whether paging and segments are modelled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Where the model stands: segments finished and the current
    /// segment's paging cycles.
    pub fn position(&self) -> (usize, u32) {
        (self.finished.len(), self.paging)
    }

    /// Records an access to the page of `addr`.
    #[inline(always)]
    pub fn access(&mut self, addr: u32, access: Access) {
        let min = match access {
            Access::Read => self.read_min,
            Access::Write => self.write_min,
        };
        // SAFETY: when enabled the table covers every leaf; when disabled
        // `min` is 0 and the index is never evaluated.
        if min != 0 && unsafe { *self.states.get_unchecked(leaf(addr) as usize) } < min {
            self.paging += self.climb(addr, access);
            self.full_at = self.segment_cycle_limit();
        }
    }

    /// Whether the page of `addr` is loaded in this segment (always, when
    /// the model is off).
    #[inline(always)]
    pub fn is_loaded(&self, addr: u32) -> bool {
        self.read_min == 0 || self.states[leaf(addr) as usize] >= self.read_min
    }

    /// Records an access to every page of `addr..addr + len` (no-op when empty).
    pub fn access_range(&mut self, addr: u32, len: u32, access: Access) {
        if len == 0 {
            return;
        }
        let last = addr.saturating_add(len - 1);
        // An address in each page of the range (not the page's start, which
        // could be a register word that is never paged).
        let mut at = addr;
        loop {
            self.access(at, access);
            match (at / PAGE_BYTES + 1).checked_mul(PAGE_BYTES) {
                Some(next) if next <= last => at = next,
                _ => break,
            }
        }
    }

    /// Records an access to the page of `addr` whose page or ancestors are
    /// not yet in the state it leaves them in; returns the paging cycles.
    fn climb(&mut self, addr: u32, access: Access) -> u32 {
        // The register files are held apart from memory and never paged.
        if (MACHINE_REGS_ADDR..MACHINE_REGS_ADDR + 0x100).contains(&addr) {
            return 0;
        }
        let goal = access as u32;
        let mut node = leaf(addr);
        let mut cost = 0;
        // A node's ancestors are always at least as far along as the node,
        // so the climb stops at the first that is.
        while node != 0 {
            let state = self.state(node);
            if state >= goal {
                break;
            }
            let unit = if node >= PAGES {
                PAGE_CYCLES
            } else {
                NODE_CYCLES
            };
            // Loading, then dirtying, each cost one unit.
            cost += unit * (goal - state);
            self.states[node as usize] = self.epoch * 4 + goal;
            if node >= PAGES {
                let page = node - PAGES;
                if state == 0 {
                    self.pages_in_state.push(page);
                }
                let watched = goal == Access::Write as u32 && self.watched[page as usize] != 0;
                let byte = if watched {
                    PAGE_DIRTY_WATCHED
                } else {
                    goal as u8
                };
                self.set_page_state(page as usize, byte);
            }
            node /= 2;
        }
        cost
    }

    fn state(&self, node: u32) -> u32 {
        let tag = self.states[node as usize];
        if tag >> 2 == self.epoch {
            tag & 3
        } else {
            0
        }
    }

    /// A number that names the current segment (0 when the model is off).
    pub fn segment_tag(&self) -> u32 {
        self.read_min
    }

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

    /// Cycles the current segment has used, as the split rule counts them.
    fn segment_cycles(&self, user_cycles: u64) -> u64 {
        user_cycles - self.segment_start + u64::from(self.paging) + u64::from(RESERVED_CYCLES)
    }

    /// Whether the segment must end before the next instruction.
    #[inline(always)]
    pub fn segment_full(&self, user_cycles: u64) -> bool {
        user_cycles >= self.full_at
    }

    /// The user-cycle count at which the segment becomes full: an
    /// instruction may start while the run's user cycles are below it (as
    /// long as paging stays as it is).
    pub fn segment_cycle_limit(&self) -> u64 {
        if !self.enabled {
            return u64::MAX;
        }
        let headroom =
            i64::from(self.threshold) - i64::from(self.paging) - i64::from(RESERVED_CYCLES) + 1;
        (self.segment_start as i64 + headroom).max(0) as u64
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
    fn set_page_state(&mut self, page: usize, byte: u8) {
        self.page_states[page] = byte;
        if USER_PAGES.contains(&(page as u32)) {
            self.page_states[PAGES as usize + page] = byte;
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

    /// Stops watching the pages of the 4 KiB page holding `addr`.
    pub fn unwatch_4k_page(&mut self, addr: u32) {
        if self.enabled {
            let first = ((addr >> 12) * (4096 / PAGE_BYTES)) as usize;
            for page in first..first + (4096 / PAGE_BYTES) as usize {
                self.watched[page] = 0;
                if self.page_states[page] == PAGE_DIRTY_WATCHED {
                    self.set_page_state(page, Access::Write as u8);
                }
            }
        }
    }

    /// Ends the current segment (full size) and starts the next one.
    pub fn split(&mut self, user_cycles: u64) {
        self.finished.push(Segment::new(
            self.po2,
            user_cycles - self.segment_start,
            self.paging,
        ));
        self.start_segment(user_cycles);
    }

    fn start_segment(&mut self, user_cycles: u64) {
        for i in 0..self.pages_in_state.len() {
            self.set_page_state(self.pages_in_state[i] as usize, 0);
        }
        self.pages_in_state.clear();
        self.epoch += 1;
        if self.epoch >= 1 << 30 {
            // Tags would overflow: forget them all and count again.
            self.states.fill(0);
            self.epoch = 1;
        }
        self.read_min = self.epoch * 4 + Access::Read as u32;
        self.write_min = self.epoch * 4 + Access::Write as u32;
        self.segment_start = user_cycles;
        self.paging = RESERVED_PAGING_CYCLES;
        self.full_at = self.segment_cycle_limit();
    }

    /// The segments so far, with the current one closed as the last (its
    /// size the next power of two of what it used). `None` when the model
    /// is off.
    pub fn summary(&self, user_cycles: u64) -> Option<CycleSummary> {
        if !self.enabled {
            return None;
        }
        let used = self.segment_cycles(user_cycles).next_power_of_two();
        let last = Segment::new(
            used.trailing_zeros(),
            user_cycles - self.segment_start,
            self.paging,
        );
        let per_segment: Vec<Segment> = self.finished.iter().copied().chain([last]).collect();
        Some(CycleSummary {
            po2: self.po2,
            segments: per_segment.len() as u64,
            user_cycles: per_segment.iter().map(|s| s.user_cycles).sum(),
            paging_cycles: per_segment.iter().map(|s| s.paging_cycles).sum(),
            reserved_cycles: per_segment.iter().map(|s| s.reserved_cycles).sum(),
            total_cycles: per_segment.iter().map(|s| s.total_cycles).sum(),
            per_segment,
        })
    }
}

/// The state byte (see `CycleModel::page_states_ptr`) of a dirty page
/// whose stores the JIT watches (it holds translated code): loaded and
/// dirty, but not the plain dirty state a store compares with.
pub const PAGE_DIRTY_WATCHED: u8 = 3;

/// The page-tree leaf of `addr`.
#[inline(always)]
fn leaf(addr: u32) -> u32 {
    PAGES + addr / PAGE_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cost of a first access to a page whose ancestors are all unloaded.
    const COLD: u32 = PAGE_CYCLES + 22 * NODE_CYCLES;

    #[test]
    fn first_read_and_first_write_of_a_page_cost_a_page_in_and_a_page_out() {
        let mut model = CycleModel::new(20);
        let start = model.paging;
        model.access(0x2_0000, Access::Read);
        assert_eq!(model.paging - start, COLD);
        model.access(0x2_0004, Access::Read);
        assert_eq!(model.paging - start, COLD);
        model.access(0x2_03fc, Access::Write);
        assert_eq!(model.paging - start, 2 * COLD);
        // A neighbouring page shares every ancestor but its leaf.
        model.access(0x2_0400, Access::Write);
        assert_eq!(model.paging - start, 2 * COLD + 2 * PAGE_CYCLES);
        // Register words are never paged.
        model.access(MACHINE_REGS_ADDR + 0x80, Access::Write);
        assert_eq!(model.paging - start, 2 * COLD + 2 * PAGE_CYCLES);
    }

    #[test]
    fn a_new_segment_unloads_every_page() {
        let mut model = CycleModel::new(14);
        model.access(0x3_0000, Access::Write);
        model.split(100);
        assert_eq!(model.paging, RESERVED_PAGING_CYCLES);
        model.access(0x3_0000, Access::Read);
        assert_eq!(model.paging, RESERVED_PAGING_CYCLES + COLD);
        let summary = model.summary(150).unwrap();
        assert_eq!(summary.segments, 2);
        assert_eq!(summary.per_segment[0].user_cycles, 100);
        assert_eq!(summary.per_segment[0].po2, 14);
        // 50 + 10 + COLD + 4113 rounds up to 2^13.
        assert_eq!(summary.per_segment[1].po2, 13);
        assert_eq!(summary.total_cycles, (1 << 14) + (1 << 13));
        assert_eq!(
            summary.user_cycles + summary.paging_cycles + summary.reserved_cycles,
            summary.total_cycles
        );
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
        model.unwatch_4k_page(0x3_0400);
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
        model.unwatch_4k_page(0x3_0000);
        assert_eq!(byte(&model), Access::Write as u8);
    }

    #[test]
    fn the_segment_limit_is_where_the_split_rule_fires() {
        let mut model = CycleModel::new(16);
        model.access(0x4_0000, Access::Read);
        let limit = model.segment_cycle_limit();
        assert!(!model.segment_full(limit - 1));
        assert!(model.segment_full(limit));
        // The rule itself: the segment's cycles pass the threshold.
        assert!(model.segment_cycles(limit) > u64::from(model.threshold));
        assert!(model.segment_cycles(limit - 1) <= u64::from(model.threshold));
        // A page-in moves the limit down by its cost.
        model.access(0x4_0400, Access::Read);
        assert_eq!(model.segment_cycle_limit(), limit - u64::from(PAGE_CYCLES));
        assert!(model.segment_full(limit - u64::from(PAGE_CYCLES)));
        assert!(!model.segment_full(limit - u64::from(PAGE_CYCLES) - 1));
    }

    #[test]
    fn a_disabled_model_counts_nothing() {
        let mut model = CycleModel::user_only();
        model.access(0x2_0000, Access::Write);
        assert!(!model.segment_full(u64::MAX / 2));
        assert_eq!(model.summary(5), None);
    }
}
