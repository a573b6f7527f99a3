//! Segments: a run is proven in segments of `2^po2` cycles; before each
//! instruction, a segment whose cycles pass `2^po2 - max_insn_cycles` ends,
//! and the last one counts the next power of two of what it used.

use serde::Serialize;

use super::{CycleModel, RESERVED_CYCLES, RESERVED_PAGING_CYCLES};
use crate::cycle_model::Access;
use crate::platform::PAGES;

/// The reserved headroom for one instruction at the end of a segment, as
/// risc0-zkvm chooses it for a segment size.
pub fn max_insn_cycles(po2: u32) -> u32 {
    if po2 >= 15 {
        25_000
    } else {
        2_000
    }
}

/// One segment of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentCycles {
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

impl SegmentCycles {
    pub(super) fn new(po2: u32, user_cycles: u64, paging_cycles: u32) -> Self {
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
    pub per_segment: Vec<SegmentCycles>,
}

impl CycleModel {
    /// A number that names the current segment (0 when the model is off).
    pub fn segment_tag(&self) -> u32 {
        self.read_min
    }

    /// Cycles the current segment has used, as the split rule counts them.
    pub(super) fn segment_cycles(&self, user_cycles: u64) -> u64 {
        user_cycles - self.segment_start + u64::from(self.paging) + u64::from(RESERVED_CYCLES)
    }

    /// The segment's cycles, when they are more than a segment holds (an
    /// instruction took it from below the threshold past `2^po2`).
    pub fn overflowing_cycles(&self, user_cycles: u64) -> Option<u64> {
        let cycles = self.segment_cycles(user_cycles);
        (cycles >= 1 << self.po2).then_some(cycles)
    }

    /// The segment size's log2.
    pub fn po2(&self) -> u32 {
        self.po2
    }

    /// A segment ends before an instruction when its cycles pass this.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// The size (log2) of the current segment if it is the run's last:
    /// the next power of two of the cycles it used.
    pub fn last_po2(&self, user_cycles: u64) -> u32 {
        self.segment_cycles(user_cycles)
            .next_power_of_two()
            .trailing_zeros()
    }

    /// User cycles executed in the current segment.
    pub fn segment_user_cycles(&self, user_cycles: u64) -> u64 {
        user_cycles - self.segment_start
    }

    /// Paging cycles of the current segment.
    pub fn segment_paging_cycles(&self) -> u32 {
        self.paging
    }

    /// The pages the current segment has touched, in the order it first
    /// did, each with whether it dirtied it.
    pub fn segment_pages(&self) -> impl Iterator<Item = (u32, bool)> + '_ {
        self.pages_in_state
            .iter()
            .map(|&page| (page, self.state(PAGES + page) == Access::Write as u32))
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

    /// Paging cycles of the run so far, over all segments.
    pub fn paging_cycles_total(&self) -> u64 {
        self.paging_before + u64::from(self.paging)
    }

    /// Ends the current segment (full size) and starts the next one.
    pub fn split(&mut self, user_cycles: u64) {
        self.paging_before += u64::from(self.paging);
        self.finished.push(SegmentCycles::new(
            self.po2,
            self.segment_user_cycles(user_cycles),
            self.paging,
        ));
        self.start_segment(user_cycles);
    }

    pub(super) fn start_segment(&mut self, user_cycles: u64) {
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
        let last = SegmentCycles::new(
            self.last_po2(user_cycles),
            self.segment_user_cycles(user_cycles),
            self.paging,
        );
        let per_segment: Vec<SegmentCycles> = self.finished.iter().copied().chain([last]).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle_model::PAGE_CYCLES;

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
}
