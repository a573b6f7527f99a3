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
//!
//! The parts: `paging` (page-ins and page-outs through the page tree),
//! `segments` (the split rule and the summary), `page_states` (the byte
//! table translated code reads).

mod page_states;
mod paging;
mod segments;

use crate::memory::{CodePageFlags, HostTable, HOST_TABLE_BYTES};
use crate::platform::PAGES;

pub use page_states::PAGE_DIRTY_WATCHED;
pub use segments::{max_insn_cycles, CycleSummary, SegmentCycles};

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

/// A page access of the cycle model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Access {
    /// A read: the page must be loaded.
    Read = 1,
    /// A write: the page must be loaded and dirty (paged out at the end).
    Write = 2,
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
    /// [`PAGE_DIRTY_WATCHED`] for a dirty page that holds translated code;
    /// then the
    /// user-mode view of them (see `user_page_states_ptr`). Written through
    /// `set_page_state` only, which keeps the two in step.
    page_states: HostTable,
    /// Which pages hold translated code (guest memory's map, read here):
    /// the JIT watches stores to those, when they are dirty.
    code_pages: Option<CodePageFlags>,
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
    /// Paging cycles of the segments before it.
    paging_before: u64,
    /// `segment_cycle_limit()`, kept up to date as paging grows, so the
    /// check before every instruction is one compare.
    full_at: u64,
    finished: Vec<SegmentCycles>,
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
            code_pages: None,
            pages_in_state: Vec::new(),
            read_min: 0,
            write_min: 0,
            segment_start: 0,
            paging: 0,
            paging_before: 0,
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
            page_states: HostTable::new(HOST_TABLE_BYTES)
                .unwrap_or_else(|error| panic!("cannot map the page-state table: {error}")),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_model_counts_nothing() {
        let mut model = CycleModel::user_only();
        model.access(0x2_0000, Access::Write);
        assert!(!model.segment_full(u64::MAX / 2));
        assert_eq!(model.summary(5), None);
    }
}
