//! The checks before a fetch, load or store runs in translated code.
//!
//! The invariant: translated code performs an access only when the
//! interpreter would perform it with no trap and no paging. A check
//! that fails leaves the instruction to the interpreter (the block exits
//! before it, or a cold path records the page access in Rust), so that
//! traps, their causes and every paging cycle come from the machine's own
//! paths. Three facts are checked, each with as few host instructions as
//! the hot path allows:
//! - **range**: the address is one the block's mode may access;
//! - **alignment**: the address is a multiple of the access size;
//! - **page state**: in this segment the page is already in the state the
//!   access leaves it in (loaded for a read, dirty for a write), and a
//!   store's page holds no translated code.
//!
//! With paging modelled, a user-mode access reads its page's state in the
//! cycle model's user-mode view, indexed by the address rotated right by
//! log2(size): a misaligned address or one outside user memory reads 0,
//! like an unloaded page, so one load and compare check all three, and the
//! range and alignment are checked only on the cold path. A group of
//! accesses through one base register value is checked once, at its
//! first access, by its ends (see `block_plan::AccessGroup`).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::{flags, AccessCheck, Translator, NO_ARGS};
use crate::cycle_model::Access;
use crate::decoder::Instruction;
use crate::interpreter::access_size;
use crate::jit::block_plan::AccessGroup;
use crate::jit::runtime::{offsets, Exit};
use crate::mode::Mode;
use crate::platform::{PAGE_BYTES, PAGE_SHIFT, USER_START};

/// The page a page-state check is about.
#[derive(Clone, Copy)]
pub(super) enum PageOf {
    /// A fetch from this address, known at translation.
    Static(u32),
    /// A load, a store or a jump target computed at run time.
    Dynamic(Value),
    /// A load or store that passed its access check, as the check left its
    /// address: `rotated` is `addr - USER_START` rotated right by `shift`
    /// (the access size's log2), so its page is `rotated >> (PAGE_SHIFT - shift)`
    /// pages past USER_START's (no copy of the address is needed).
    Checked { rotated: Value, shift: u32 },
    /// A single user-mode load or store of `2^shift` bytes whose address,
    /// rotated right by `shift`, is `rotated`: its index in the user-mode
    /// view of the page states is `rotated >> (PAGE_SHIFT - shift)`, its page's
    /// number if the access is aligned, and past the pages if not; the
    /// view reads 0 (as for an unloaded page) there and outside user
    /// memory, so that one load checks the access and its page, and the
    /// access check waits for the cold path.
    UserView { rotated: Value, shift: u32 },
}

impl Translator<'_, '_> {
    /// Checks that the page of a fetch or data access is already in the
    /// state the access leaves it in (it usually is); if not, the block
    /// exits with `missing` at `pc` and the interpreter records the access.
    pub(super) fn check_page(
        &mut self,
        page: PageOf,
        access: Access,
        pc: u32,
        completed: usize,
        missing: Exit,
    ) {
        if let Some(is_missing) = self.page_missing(page, access) {
            self.cold_if(is_missing, |t| t.exit_here(missing, pc, completed));
        }
    }

    /// Whether the page of an access is not yet in the state the access
    /// leaves it in, or, for a store, holds translated code (`None` when
    /// paging is not modelled).
    pub(super) fn page_missing(&mut self, page: PageOf, access: Access) -> Option<Value> {
        let state = self.page_state(page)?;
        Some(self.state_missing(state, access))
    }

    /// Whether a page whose state byte is `state` is not yet in the state
    /// `access` leaves it in, or, for a store, holds translated code.
    pub(super) fn state_missing(&mut self, state: Value, access: Access) -> Value {
        match access {
            Access::Read => {
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, state, Access::Read as i64)
            }
            // Dirty and not watched: a store may go ahead without looking.
            Access::Write => self
                .b
                .ins()
                .icmp_imm_u(IntCC::NotEqual, state, Access::Write as i64),
        }
    }

    /// The state byte of a page in this segment (see
    /// `CycleModel::page_states_ptr`), as an I32 (`None` when paging is not
    /// modelled).
    pub(super) fn page_state(&mut self, page: PageOf) -> Option<Value> {
        let states = self.env.page_states?;
        // (A jump's constant target has a page known now.)
        let page = match page {
            PageOf::Dynamic(addr) => self.known_u32(addr).map_or(page, PageOf::Static),
            page => page,
        };
        // The index computed at run time, and the host address of the byte
        // it is counted from.
        let (index, from) = match page {
            PageOf::Static(addr) => (None, states + i64::from(addr / PAGE_BYTES)),
            PageOf::Dynamic(addr) => {
                let page = self.b.ins().ushr_imm_u(addr, i64::from(PAGE_SHIFT));
                (Some(page), states)
            }
            PageOf::Checked { rotated, shift } => {
                let page = self
                    .b
                    .ins()
                    .ushr_imm_u(rotated, i64::from(PAGE_SHIFT - shift));
                (Some(page), states + i64::from(USER_START / PAGE_BYTES))
            }
            PageOf::UserView { rotated, shift } => {
                let index = self
                    .b
                    .ins()
                    .ushr_imm_u(rotated, i64::from(PAGE_SHIFT - shift));
                let view = self.user_view().expect("a user-mode block with paging");
                (Some(index), view)
            }
        };
        let (table, offset) = self.host_table(from);
        let slot = match index {
            Some(index) => {
                let index = self.b.ins().uextend(types::I64, index);
                self.b.ins().iadd(table, index)
            }
            None => table,
        };
        Some(self.b.ins().uload8(types::I32, flags(), slot, offset))
    }

    /// The user-mode view of the page states, for a user-mode block when
    /// paging is modelled.
    pub(super) fn user_view(&self) -> Option<i64> {
        self.env
            .user_page_states
            .filter(|_| self.block.mode == Mode::User)
    }

    /// A base and offset that address the host bytes at `addr`: the
    /// context's pointer when they are within a 32-bit offset of it (see
    /// `CycleModel::place_page_states`), so that no 64-bit constant is
    /// materialised for them.
    pub(super) fn host_table(&mut self, addr: i64) -> (Value, i32) {
        match i32::try_from(addr - self.env.context) {
            Ok(offset) => (self.ctx, offset),
            Err(_) => (self.b.ins().iconst(types::I64, addr), 0),
        }
    }

    /// Checks the access of the load or store `insn` (at `pc`, through
    /// `base`, at `addr`) as planned: on its own, for its group, or not at
    /// all when its group was checked before.
    pub(super) fn check_data_access(
        &mut self,
        base: Value,
        addr: Value,
        insn: &Instruction,
        pc: u32,
        completed: usize,
    ) -> Option<PageOf> {
        let size = access_size(insn.op);
        match self.access_checks[completed] {
            AccessCheck::Single => {
                let page = self.check_access(addr, size, insn.op.is_store(), pc, completed);
                return Some(page);
            }
            AccessCheck::Group(group) => self.check_group(base, group, pc, completed),
            AccessCheck::Covered => {}
        }
        None
    }

    /// The byte for `addr` in a byte-per-`2^shift`-bytes map at host address
    /// `map` (the code-word and code-page maps), as an I32.
    pub(super) fn map_flag(&mut self, map: i64, addr: Value, shift: u32) -> Value {
        let index = self.b.ins().ushr_imm_u(addr, i64::from(shift));
        let index = self.b.ins().uextend(types::I64, index);
        let map = self.b.ins().iconst(types::I64, map);
        let flag_ptr = self.b.ins().iadd(map, index);
        self.b.ins().uload8(types::I32, flags(), flag_ptr, 0)
    }

    /// Whether `addr` is outside the memory this block's mode may access.
    pub(super) fn inaccessible(&mut self, addr: Value) -> Value {
        let range = self.block.mode.accessible();
        if range.end == 1 << 32 {
            // (Nothing past the range: one compare with its start.)
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, addr, range.start as i64)
        } else {
            let start = range.start as u32;
            let offset = self
                .b
                .ins()
                .iadd_imm_u(addr, i64::from(start.wrapping_neg()));
            self.b.ins().icmp_imm_u(
                IntCC::UnsignedGreaterThanOrEqual,
                offset,
                i64::from(self.block.mode.accessible_bytes()),
            )
        }
    }

    /// Checks every access of `group` at once, with one branch to a cold
    /// exit that leaves the group's first access (at `pc`) to the interpreter.
    pub(super) fn check_group(
        &mut self,
        base: Value,
        group: AccessGroup,
        pc: u32,
        completed: usize,
    ) {
        let mut bad = Vec::new();
        // In the user-mode view of the page states, a page outside user
        // memory reads 0, so the page checks of the loads' and stores' ends
        // (among which are the group's ends) check their range too.
        let view = self.user_view().is_some();
        if !view {
            for offset in [group.offsets.0, group.offsets.1] {
                let addr = self.add_imm(base, i64::from(offset));
                bad.push(self.inaccessible(addr));
            }
        }
        if group.align > 1 {
            let low_bits = self.b.ins().band_imm_u(base, i64::from(group.align - 1));
            bad.push(self.b.ins().icmp_imm_u(IntCC::NotEqual, low_bits, 0));
        }
        for (range, access) in [(group.loads, Access::Read), (group.stores, Access::Write)] {
            let Some((lo, hi)) = range else { continue };
            for offset in if lo == hi { vec![lo] } else { vec![lo, hi] } {
                let addr = self.add_imm(base, i64::from(offset));
                let page = match view {
                    // (Bytes: the index is the page's number.)
                    true => PageOf::UserView {
                        rotated: addr,
                        shift: 0,
                    },
                    false => PageOf::Dynamic(addr),
                };
                if let Some(missing) = self.page_missing(page, access) {
                    bad.push(missing);
                }
            }
        }
        // A group's stores do not look for translated code in the words they
        // write: the group is left to the interpreter when one of its (at
        // most two) 1 KiB pages holds some (which the page-state check above
        // tells, when paging is modelled).
        if let Some((lo, hi)) = group.stores.filter(|_| self.env.page_states.is_none()) {
            for offset in [lo, hi] {
                let addr = self.add_imm(base, i64::from(offset));
                let flag = self.map_flag(self.env.code_pages, addr, PAGE_SHIFT);
                bad.push(self.b.ins().icmp_imm_u(IntCC::NotEqual, flag, 0));
            }
        }
        // One branch a check, all to one exit: independent branches, where
        // or-ing the checks' flags made one chain of them.
        let exit = self.b.create_block();
        self.b.set_cold_block(exit);
        for cond in bad {
            let hot = self.b.create_block();
            self.b.ins().brif(cond, exit, NO_ARGS, hot, NO_ARGS);
            self.b.switch_to_block(hot);
            self.b.seal_block(hot);
        }
        let hot = self.b.current_block().expect("a block is being built");
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        self.exit_here(Exit::Finish, pc, completed);
        self.b.switch_to_block(hot);
    }

    /// Checks a single access of `size` bytes at `addr`: range and
    /// alignment, with a cold exit (the interpreter raises the trap), then,
    /// for a load, its page state; returns the checked access's page. In
    /// user mode with paging modelled, one load from the user-mode view of
    /// the page states does both (see `PageOf::UserView`).
    pub(super) fn check_access(
        &mut self,
        addr: Value,
        size: u32,
        store: bool,
        pc: u32,
        completed: usize,
    ) -> PageOf {
        let shift = size.trailing_zeros();
        let page = if self.user_view().is_some() {
            let rotated = self.rotate(addr, shift);
            PageOf::UserView { rotated, shift }
        } else {
            let rotated = self.check_bounds(addr, shift, pc, completed);
            PageOf::Checked { rotated, shift }
        };
        if store {
            // (A single store checks its page where it looks for translated
            // code: see `store_looking`.)
            return page;
        }
        if let Some(missing) = self.page_missing(page, Access::Read) {
            self.cold_detour(missing, |t| {
                t.check_deferred_bounds(page, addr, pc, completed);
                t.page_in(addr, Access::Read, pc, completed)
            });
        }
        page
    }

    /// `value` rotated right by `shift` bits (none: `value`).
    pub(super) fn rotate(&mut self, value: Value, shift: u32) -> Value {
        if shift > 0 {
            self.b.ins().rotr_imm_u(value, i64::from(shift))
        } else {
            value
        }
    }

    /// Leaves an access of `2^shift` bytes at `addr` (the `completed`th
    /// instruction, at `pc`) to the interpreter, which faults, if it is out
    /// of the mode's range or misaligned; returns the offset into the range
    /// rotated right by `shift`. One compare for both: the rotation moves
    /// misaligned low bits to the top, above any limit.
    pub(super) fn check_bounds(
        &mut self,
        addr: Value,
        shift: u32,
        pc: u32,
        completed: usize,
    ) -> Value {
        let allowed_end = self.block.mode.accessible_bytes();
        let offset = self
            .b
            .ins()
            .iadd_imm_u(addr, i64::from(USER_START.wrapping_neg()));
        let rotated = self.rotate(offset, shift);
        let limit = i64::from(allowed_end >> shift);
        let bad = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, rotated, limit);
        self.cold_if(bad, |t| t.exit_trap(pc, completed));
        rotated
    }

    /// On the cold path of a page check of `addr`: the access check, if
    /// the page's state was read from the user-mode view (which reads 0,
    /// and so sends here, for an access that is not allowed).
    pub(super) fn check_deferred_bounds(
        &mut self,
        page: PageOf,
        addr: Value,
        pc: u32,
        completed: usize,
    ) {
        if let PageOf::UserView { shift, .. } = page {
            self.check_bounds(addr, shift, pc, completed);
            self.mark_cold();
        }
    }

    /// The page of `addr` changes state: Rust records the access (without
    /// leaving translated code) and lowers the cycle limit by its paging
    /// cycles. If the block's instructions no longer fit in the segment,
    /// the interpreter takes over at this instruction, to split exactly.
    pub(super) fn page_in(&mut self, addr: Value, access: Access, pc: u32, completed: usize) {
        let (page_in_sig, page_in) = self
            .page_in
            .expect("pages are modelled, so the page-in stub is there");
        self.store_ctx_u32(addr, offsets::PAGE_ADDR);
        let kind = self.u32_const(access as u32);
        self.store_ctx_u32(kind, offsets::PAGE_ACCESS);
        let limit_before = self.load_cycle_limit();
        let stub = self.b.ins().iconst(types::I64, page_in);
        self.b.ins().call_indirect(page_in_sig, stub, &[self.ctx]);
        // The budget shrinks by as much as the limit did.
        let limit = self.load_cycle_limit();
        let lowered_by = self.b.ins().isub(limit_before, limit);
        let budget = self.b.use_var(self.budget);
        let budget = self.b.ins().isub(budget, lowered_by);
        self.b.def_var(self.budget, budget);
        let over = self.exceeds_limit();
        self.cold_if(over, |t| t.exit_here(Exit::Finish, pc, completed));
    }
}
