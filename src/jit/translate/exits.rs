//! The cycle budget and every way out of translated code: the limit check
//! at a block's (or loop's) start, exits that store registers, the budget
//! and the pc for Rust, and the cold paths they are laid out on.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::{flags, Translator, NO_ARGS};
use crate::jit::runtime::{offsets, Exit};

impl Translator<'_, '_> {
    pub(super) fn store_ctx_u32(&mut self, value: Value, offset: i32) {
        self.b.ins().store(flags(), value, self.ctx, offset);
    }

    pub(super) fn load_cycle_limit(&mut self) -> Value {
        self.b
            .ins()
            .load(types::I64, flags(), self.ctx, offsets::CYCLE_LIMIT)
    }

    /// The cycle budget after `completed` instructions of this iteration.
    pub(super) fn budget_after(&mut self, completed: usize) -> Value {
        let budget = self.b.use_var(self.budget);
        self.add_imm(budget, -(completed as i64))
    }

    /// Writes back registers and the cycle budget after `completed`
    /// instructions (Rust derives the count from it).
    pub(super) fn commit(&mut self, completed: usize) {
        self.write_back();
        self.store_budget(completed);
    }

    pub(super) fn store_budget(&mut self, completed: usize) {
        let budget = self.budget_after(completed);
        self.b
            .ins()
            .store(flags(), budget, self.ctx, offsets::BUDGET);
    }

    /// Leaves translated code with `exit` at `pc`.
    pub(super) fn exit(&mut self, exit: Exit, pc: Value, completed: usize) {
        self.commit(completed);
        self.leave(exit, pc);
    }

    /// Stores where Rust goes on and why, and returns to it.
    pub(super) fn leave(&mut self, exit: Exit, pc: Value) {
        const { assert!(offsets::EXIT == offsets::PC + 4) };
        match self.known_u32(pc) {
            // (Adjacent words: one store.)
            Some(pc) => {
                let both = (exit as i64) << 32 | i64::from(pc);
                let both = self.b.ins().iconst(types::I64, both);
                self.b.ins().store(flags(), both, self.ctx, offsets::PC);
            }
            None => {
                self.store_ctx_u32(pc, offsets::PC);
                let code = self.u32_const(exit as u32);
                self.store_ctx_u32(code, offsets::EXIT);
            }
        }
        self.b.ins().return_(&[]);
    }

    /// Leaves the instruction at `pc`, which traps, to the interpreter.
    pub(super) fn exit_trap(&mut self, pc: u32, completed: usize) {
        self.exit_here(Exit::Finish, pc, completed);
    }

    pub(super) fn exit_here(&mut self, exit: Exit, pc: u32, completed: usize) {
        let pc = self.u32_const(pc);
        self.exit(exit, pc, completed);
    }

    /// Whether the instructions that may run from the start of the current
    /// block's iteration until the next check (see `limit_span`) no longer
    /// all fit under the cycle limit.
    pub(super) fn exceeds_limit(&mut self) -> Value {
        let budget = self.b.use_var(self.budget);
        self.b
            .ins()
            .icmp_imm_u(IntCC::SignedLessThan, budget, self.limit_span as i64)
    }

    /// Leaves the block at `start` to the interpreter, before its first
    /// instruction, unless what may run from there fits under the limit.
    pub(super) fn check_limit(&mut self, start: u32) {
        let over = self.exceeds_limit();
        self.cold_if(over, |t| {
            let pc = t.u32_const(start);
            t.exit(Exit::Interpret, pc, 0);
        });
    }

    /// Branches to a cold block when `cond` holds, emits `cold` there (which
    /// ends its block: it leaves the function, or jumps on), and continues
    /// on the hot path.
    pub(super) fn cold_if(&mut self, cond: Value, cold: impl FnOnce(&mut Self)) {
        self.cold_path(cond, cold, false);
    }

    /// As `cold_if`, for a cold path that rejoins the hot path.
    pub(super) fn cold_detour(&mut self, cond: Value, cold: impl FnOnce(&mut Self)) {
        self.cold_path(cond, cold, true);
    }

    /// Lays the block being built out with the cold blocks.
    pub(super) fn mark_cold(&mut self) {
        let block = self.b.current_block().expect("a block is being built");
        self.b.set_cold_block(block);
    }

    pub(super) fn cold_path(&mut self, cond: Value, cold: impl FnOnce(&mut Self), rejoin: bool) {
        let cold_block = self.b.create_block();
        let hot = self.b.create_block();
        self.b.ins().brif(cond, cold_block, NO_ARGS, hot, NO_ARGS);
        self.b.set_cold_block(cold_block);
        self.b.switch_to_block(cold_block);
        self.b.seal_block(cold_block);
        cold(self);
        if rejoin {
            self.b.ins().jump(hot, NO_ARGS);
        }
        self.b.switch_to_block(hot);
        self.b.seal_block(hot);
    }
}
