//! Loads and stores in translated code, after their checks (see
//! `access_checks`): the host pointer of an access, the access itself, and
//! the exit after a store into translated code.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::access_checks::PageOf;
use super::{flags, AccessCheck, Translator, NO_ARGS};
use crate::cycle_model::Access;
use crate::decoder::{Instruction, Opcode};
use crate::jit::runtime::{offsets, Exit};
use crate::mode::Mode;

impl Translator<'_, '_> {
    /// The host pointer and offset of the checked access `insn` (the
    /// `completed`th instruction) at `addr` through `base`.
    pub(super) fn access_ptr(
        &mut self,
        base: Value,
        addr: Value,
        insn: &Instruction,
        completed: usize,
    ) -> (Value, i32) {
        let grouped = matches!(
            self.access_checks[completed],
            AccessCheck::Group(_) | AccessCheck::Covered
        );
        // In user mode, a group's checks put every member's address past its
        // base without a 32-bit wrap (a wrapped end, under 2 KiB from 0 or
        // from 4 GiB, is outside user memory), so members share the base's
        // host pointer and differ in the offset. (Machine mode may access
        // the top of the address space, which a small base minus an offset
        // wraps to.)
        if grouped && self.block.mode == Mode::User {
            // (Computed at the first member, on the block's one hot path,
            // which every later member's access follows.)
            let ptr = match self.group_ptr {
                Some((group_base, ptr)) if group_base == base => ptr,
                _ => {
                    let ptr = self.host_ptr(base);
                    self.group_ptr = Some((base, ptr));
                    ptr
                }
            };
            (ptr, insn.imm as i32)
        } else {
            (self.host_ptr(addr), 0)
        }
    }

    pub(super) fn load(&mut self, insn: &Instruction, pc: u32, completed: usize) {
        let base = self.read_reg(insn.rs1);
        let addr = self.add_imm(base, i64::from(insn.imm));
        self.check_data_access(base, addr, insn, pc, completed);
        let (ptr, offset) = self.access_ptr(base, addr, insn, completed);
        let ins = self.b.ins();
        let value = match insn.op {
            Opcode::Lb => ins.sload8(types::I32, flags(), ptr, offset),
            Opcode::Lbu => ins.uload8(types::I32, flags(), ptr, offset),
            Opcode::Lh => ins.sload16(types::I32, flags(), ptr, offset),
            Opcode::Lhu => ins.uload16(types::I32, flags(), ptr, offset),
            _ => ins.load(types::I32, flags(), ptr, offset),
        };
        self.write_reg(insn.rd, value);
    }

    pub(super) fn store(&mut self, insn: &Instruction, pc: u32, completed: usize) {
        let base = self.read_reg(insn.rs1);
        let value = self.read_reg(insn.rs2);
        let addr = self.add_imm(base, i64::from(insn.imm));
        let checked_page = self.check_data_access(base, addr, insn, pc, completed);
        let (ptr, offset) = self.access_ptr(base, addr, insn, completed);
        // (A group's pages hold no translated code: see `check_group`.)
        let Some(page) = checked_page else {
            self.store_value(insn.op, value, ptr, offset, addr);
            return;
        };
        if self.env.page_states.is_some() {
            let target = (ptr, offset, addr, page);
            return self.store_looking(insn.op, value, target, pc, completed);
        }
        self.store_value(insn.op, value, ptr, offset, addr);
        self.exit_if_code_written(addr, pc, completed);
    }

    /// Stores `value` as `op` does at `ptr + offset` (guest address `addr`).
    pub(super) fn store_value(
        &mut self,
        op: Opcode,
        value: Value,
        ptr: Value,
        offset: i32,
        addr: Value,
    ) {
        match op {
            Opcode::Sb => self.b.ins().istore8(flags(), value, ptr, offset),
            Opcode::Sh => self.b.ins().istore16(flags(), value, ptr, offset),
            _ => self.b.ins().store(flags(), value, ptr, offset),
        };
        if let Some(function) = self.env.note_store {
            let function = self.b.ins().iconst(types::I64, function);
            self.b
                .ins()
                .call_indirect(self.note_sig, function, &[self.ctx, addr]);
        }
    }

    /// A store into translated code ends the block after it.
    pub(super) fn exit_if_code_written(&mut self, addr: Value, pc: u32, completed: usize) {
        let is_code = self.map_flag(self.env.code_words, addr, 2);
        self.cold_if(is_code, |t| {
            t.store_ctx_u32(addr, offsets::WRITTEN_ADDR);
            let next = t.u32_const(pc + 4);
            t.exit(Exit::CodeWritten, next, completed + 1);
        });
    }

    /// A single store when paging is modelled: one compare of its page's
    /// state byte with "dirty, not watched" lets it go ahead; otherwise, on
    /// a cold path, the page is paged in if it must be, and the store looks
    /// for translated code in the word it wrote.
    /// `target` is where it stores: host pointer and offset, guest address
    /// and the page its access check left.
    pub(super) fn store_looking(
        &mut self,
        op: Opcode,
        value: Value,
        (ptr, offset, addr, page): (Value, i32, Value, PageOf),
        pc: u32,
        completed: usize,
    ) {
        let state = self.page_state(page).expect("paging is modelled");
        let busy = self.state_missing(state, Access::Write);
        let after = self.b.create_block();
        self.cold_if(busy, |t| {
            // (Not dirty, or dirty and watched; or not allowed.)
            t.check_deferred_bounds(page, addr, pc, completed);
            let missing =
                t.b.ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, state, Access::Write as i64);
            t.cold_detour(missing, |t| t.page_in(addr, Access::Write, pc, completed));
            t.mark_cold();
            t.store_value(op, value, ptr, offset, addr);
            t.exit_if_code_written(addr, pc, completed);
            t.mark_cold();
            t.b.ins().jump(after, NO_ARGS);
        });
        self.store_value(op, value, ptr, offset, addr);
        self.b.ins().jump(after, NO_ARGS);
        self.b.switch_to_block(after);
        self.b.seal_block(after);
    }
}
