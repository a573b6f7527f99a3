//! Paging: the first read of a page in a segment pages it in, the first
//! write pages it out at the segment's end, each through the page tree's
//! nodes not yet in that state. Tags name the segment a state was set in,
//! so that a new segment unloads everything by moving on one epoch.

use super::{Access, CycleModel, NODE_CYCLES, PAGE_CYCLES};
use crate::platform::{MACHINE_REGS_ADDR, PAGES, PAGE_BYTES};

impl CycleModel {
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
    pub(super) fn climb(&mut self, addr: u32, access: Access) -> u32 {
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
                let byte = match goal == Access::Write as u32 {
                    true => self.dirty_state(page),
                    false => goal as u8,
                };
                self.set_page_state(page as usize, byte);
            }
            node /= 2;
        }
        cost
    }

    pub(super) fn state(&self, node: u32) -> u32 {
        let tag = self.states[node as usize];
        if tag >> 2 == self.epoch {
            tag & 3
        } else {
            0
        }
    }
}

/// The page-tree leaf of `addr`.
#[inline(always)]
fn leaf(addr: u32) -> u32 {
    PAGES + addr / PAGE_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle_model::RESERVED_PAGING_CYCLES;

    /// Cost of a first access to a page whose ancestors are all unloaded.
    pub(super) const COLD: u32 = PAGE_CYCLES + 22 * NODE_CYCLES;

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
}
