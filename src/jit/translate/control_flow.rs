//! Where translated code goes next: within the function (a loop's blocks,
//! a trace's next block), chained to the next translation by a tail call
//! through the pc-to-code table or a JALR's jump cache, or back to Rust.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

use super::access_checks::PageOf;
use super::{flags, Translator, NO_ARGS};
use crate::cycle_model::Access;
use crate::decoder::{Instruction, Opcode};
use crate::jit::code_cache::SLOTS_PER_PAGE;
use crate::jit::jump_cache::{JUMP_CACHE_BITS, JUMP_CACHE_ENTRIES, JUMP_CACHE_HASH};
use crate::jit::runtime::Exit;
use crate::memory::CODE_PAGE_SHIFT;
use crate::platform::PAGE_BYTES;

impl Translator<'_, '_> {
    /// Continues at `target`: in the successor's translation if there is
    /// one (a tail call through the pc-to-code table, or straight through
    /// its slot when `slot` is known), else back in Rust. Translated code is
    /// only ever entered with its first page loaded in this segment, so a
    /// target on a page this block has not fetched from is checked first.
    pub(super) fn continue_at(
        &mut self,
        target: Value,
        slot: Option<i64>,
        checked_page: bool,
        completed: usize,
    ) {
        self.continue_at_remembering(target, slot, checked_page, completed, None)
    }

    /// `continue_at`, and when the successor's code is found, `(cache,
    /// key)` records it in a jump cache.
    pub(super) fn continue_at_remembering(
        &mut self,
        target: Value,
        slot: Option<i64>,
        checked_page: bool,
        completed: usize,
        remember: Option<(Value, Value)>,
    ) {
        if !self.env.chain {
            return self.exit(Exit::Jump, target, completed);
        }
        self.write_back();
        let budget = self.budget_after(completed);
        // On a cold path (a loop's way out) the whole way is cold, so that
        // Cranelift lays it out after the loop's own path, which then needs
        // one taken branch a pass instead of two.
        let cold = self
            .b
            .current_block()
            .is_some_and(|block| self.b.func.layout.is_cold(block));
        let create_block = |b: &mut FunctionBuilder| {
            let block = b.create_block();
            if cold {
                b.set_cold_block(block);
            }
            block
        };
        // (Rust goes on at `target`, the same way, when its page is not
        // loaded or it has no code.)
        let miss = self.b.create_block();
        let have_code = create_block(self.b);
        if !checked_page {
            if let Some(missing) = self.page_missing(PageOf::Dynamic(target), Access::Read) {
                let page_loaded = create_block(self.b);
                self.b
                    .ins()
                    .brif(missing, miss, NO_ARGS, page_loaded, NO_ARGS);
                self.b.switch_to_block(page_loaded);
                self.b.seal_block(page_loaded);
            }
        }
        let code_slot = match slot {
            Some(slot) => self.b.ins().iconst(types::I64, slot),
            None => {
                let have_page = create_block(self.b);
                // first level: page = table[code_page(target)]
                let page_index = self.b.ins().ushr_imm_u(target, i64::from(CODE_PAGE_SHIFT));
                let page_index = self.b.ins().uextend(types::I64, page_index);
                let page_offset = self.b.ins().ishl_imm_u(page_index, 3);
                let table = self.b.ins().iconst(types::I64, self.env.code_table);
                let slot = self.b.ins().iadd(table, page_offset);
                let page = self.b.ins().load(types::I64, flags(), slot, 0);
                self.b.ins().brif(page, have_page, NO_ARGS, miss, NO_ARGS);
                self.b.switch_to_block(have_page);
                self.b.seal_block(have_page);
                // second level: page[(target >> 2) % SLOTS_PER_PAGE]
                let word = self.b.ins().ushr_imm_u(target, 2);
                let word = self.b.ins().band_imm_u(word, SLOTS_PER_PAGE as i64 - 1);
                let word = self.b.ins().uextend(types::I64, word);
                let word_offset = self.b.ins().ishl_imm_u(word, 3);
                self.b.ins().iadd(page, word_offset)
            }
        };
        let code = self.b.ins().load(types::I64, flags(), code_slot, 0);
        self.b.ins().brif(code, have_code, NO_ARGS, miss, NO_ARGS);
        self.b.switch_to_block(have_code);
        self.b.seal_block(have_code);
        if let Some((cache, key)) = remember {
            self.b.ins().store(flags(), key, cache, 0);
            self.b.ins().store(flags(), code, cache, 8);
        }
        self.tail_call(code, budget);
        self.b.switch_to_block(miss);
        self.b.seal_block(miss);
        self.b.set_cold_block(miss);
        self.store_budget(completed);
        self.leave(Exit::Jump, target);
    }

    /// Goes on in the translated code `code` with `budget` cycles left.
    pub(super) fn tail_call(&mut self, code: Value, budget: Value) {
        let args = [self.ctx, budget];
        self.b
            .ins()
            .return_call_indirect(self.block_sig, code, &args);
    }

    /// Where the function goes on at `target` without leaving: when it is
    /// a block of the loop, or the trace's next block.
    pub(super) fn loop_label(&self, target: u32) -> Option<cranelift_codegen::ir::Block> {
        self.loop_targets
            .iter()
            .chain(&self.trace_next)
            .find(|&&(pc, _)| pc == target)
            .map(|&(_, label)| label)
    }

    /// Continues at the static address `target`: within the function when
    /// it is the loop's or the trace's (see `loop_label`), else as
    /// `continue_at`.
    pub(super) fn continue_static(&mut self, target: u32, completed: usize) {
        // This block fetched from every page it spans.
        let (start, end) = (self.block.start, self.block.end());
        let on_own_page =
            (start / PAGE_BYTES..=(end - 4) / PAGE_BYTES).contains(&(target / PAGE_BYTES));
        match self.loop_label(target) {
            Some(label) => {
                if !on_own_page {
                    self.check_page(
                        PageOf::Static(target),
                        Access::Read,
                        target,
                        completed,
                        Exit::Jump,
                    );
                }
                let budget = self.budget_after(completed);
                self.b.def_var(self.budget, budget);
                if !self.checked_targets.contains(&target) {
                    self.b.ins().jump(label, NO_ARGS);
                    return;
                }
                // (The branch to the loop's block is the conditional one, so
                // that going round takes one branch.)
                let fits = self.b.ins().icmp_imm_u(
                    IntCC::SignedGreaterThanOrEqual,
                    budget,
                    self.limit_span as i64,
                );
                let over = self.b.create_block();
                self.b.set_cold_block(over);
                self.b.ins().brif(fits, label, NO_ARGS, over, NO_ARGS);
                self.b.switch_to_block(over);
                self.b.seal_block(over);
                self.exit_here(Exit::Interpret, target, 0);
            }
            None => {
                let slot = self
                    .env
                    .successor_slots
                    .iter()
                    .find(|(pc, _)| *pc == target)
                    .map(|&(_, slot)| slot);
                let target = self.u32_const(target);
                self.continue_at(target, slot, on_own_page, completed);
            }
        }
    }

    pub(super) fn branch(&mut self, insn: &Instruction, pc: u32, completed: usize) {
        let a = self.read_reg(insn.rs1);
        let b = self.read_reg(insn.rs2);
        let cc = match insn.op {
            Opcode::Beq => IntCC::Equal,
            Opcode::Bne => IntCC::NotEqual,
            Opcode::Blt => IntCC::SignedLessThan,
            Opcode::Bge => IntCC::SignedGreaterThanOrEqual,
            Opcode::Bltu => IntCC::UnsignedLessThan,
            _ => IntCC::UnsignedGreaterThanOrEqual,
        };
        let taken = self.b.ins().icmp(cc, a, b);
        // A branch that does not trap writes 0 to the x0 sink (see the
        // interpreter).
        let target = pc.wrapping_add(insn.imm);
        let zero = self.u32_const(0);
        if target.is_multiple_of(4) {
            self.write_reg(0, zero);
        }
        let taken_block = self.b.create_block();
        let fall_block = self.b.create_block();
        self.b
            .ins()
            .brif(taken, taken_block, NO_ARGS, fall_block, NO_ARGS);
        // In a loop, the way out is taken once per run of the loop: laid
        // out of the way, the loop's own path stays contiguous.
        let taken_stays = self.loop_label(target).is_some();
        let fall_stays = self.loop_label(pc + 4).is_some();
        if taken_stays && !fall_stays {
            self.b.set_cold_block(fall_block);
        } else if fall_stays && !taken_stays {
            self.b.set_cold_block(taken_block);
        }
        self.b.switch_to_block(taken_block);
        self.b.seal_block(taken_block);
        self.jump_to(target, pc, completed);
        self.b.switch_to_block(fall_block);
        self.b.seal_block(fall_block);
        if !target.is_multiple_of(4) {
            self.write_reg(0, zero);
        }
        self.continue_static(pc + 4, completed + 1);
    }

    /// The end of a taken branch or JAL to a static target.
    pub(super) fn jump_to(&mut self, target: u32, pc: u32, completed: usize) {
        if !target.is_multiple_of(4) {
            self.exit_trap(pc, completed);
        } else {
            self.continue_static(target, completed + 1);
        }
    }

    pub(super) fn jal(&mut self, insn: &Instruction, pc: u32, completed: usize) {
        let target = pc.wrapping_add(insn.imm);
        if target.is_multiple_of(4) {
            let link = self.u32_const(pc + 4);
            self.write_reg(insn.rd, link);
        }
        self.jump_to(target, pc, completed);
    }

    pub(super) fn jalr(&mut self, insn: &Instruction, pc: u32, completed: usize) {
        let base = self.read_reg(insn.rs1);
        let sum = self.add_imm(base, i64::from(insn.imm));
        let target = self.b.ins().band_imm_u(sum, i64::from(!1u32));
        let misaligned = self.b.ins().band_imm_u(target, 2);
        self.cold_if(misaligned, |t| t.exit_trap(pc, completed));
        let link = self.u32_const(pc + 4);
        self.write_reg(insn.rd, link);
        let Some(cache) = self.env.jump_cache.filter(|_| self.env.chain) else {
            return self.continue_at(target, None, false, completed + 1);
        };
        // The jump cache: a target taken before in this segment goes
        // straight to its code.
        // The target's entry: the top bits of a multiplicative hash (the
        // cases of a `switch` lie a power of two apart often), as the
        // offset of a 16-byte entry.
        let hash = self.b.ins().imul_imm_u(target, i64::from(JUMP_CACHE_HASH));
        let entry_offset = self.b.ins().ushr_imm_u(hash, 32 - 4 - JUMP_CACHE_BITS);
        let entry_offset = self
            .b
            .ins()
            .band_imm_u(entry_offset, ((JUMP_CACHE_ENTRIES - 1) << 4) as i64);
        let entry_offset = self.b.ins().uextend(types::I64, entry_offset);
        let cache = self.b.ins().iconst(types::I64, cache);
        let cache = self.b.ins().iadd(cache, entry_offset);
        let cached_target = self.b.ins().load(types::I32, flags(), cache, 0);
        let hit = self.b.ins().icmp(IntCC::Equal, target, cached_target);
        let hit_block = self.b.create_block();
        let miss_block = self.b.create_block();
        self.b
            .ins()
            .brif(hit, hit_block, NO_ARGS, miss_block, NO_ARGS);
        self.b.switch_to_block(hit_block);
        self.b.seal_block(hit_block);
        self.write_back();
        let budget = self.budget_after(completed + 1);
        let code = self.b.ins().load(types::I64, flags(), cache, 8);
        self.tail_call(code, budget);
        self.b.switch_to_block(miss_block);
        self.b.seal_block(miss_block);
        self.continue_at_remembering(target, None, false, completed + 1, Some((cache, target)));
    }
}
