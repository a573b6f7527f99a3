//! Translation of a trace or a loop of guest blocks to Cranelift IR: the
//! [`Translator`] walks the blocks and emits each instruction, in the files
//! named for what they emit:
//! - `regs`: guest registers, cached in SSA variables (user mode) or read
//!   and written in their register file (machine mode, where the kernel may
//!   address its own register file);
//! - `exits`: the cycle budget, the limit check, and every way back to Rust;
//! - `access_checks`: range, alignment and page-state checks of fetches,
//!   loads and stores (the subtle part: see its header);
//! - `loads_stores`: the accesses themselves, and stores into translated code;
//! - `control_flow`: branches and jumps, within the function or chained
//!   to the next translation, and JALR's jump cache;
//! - `alu`: ALU and M-extension semantics.
//!
//! A block stores each register as it writes it, a loop stores the written
//! ones when it leaves.

mod access_checks;
mod alu;
mod control_flow;
mod exits;
mod loads_stores;
mod regs;

use cranelift_codegen::ir::{
    self as ir, types, BlockArg, InstBuilder, InstructionData, JumpTableData, MemFlagsData, SigRef,
    Value,
};
use cranelift_frontend::{FunctionBuilder, Variable};

use super::block_plan::{loop_checks, overwritten_in_place, plan_access_checks, AccessCheck};
use super::region::{loop_registers, shares_entries, GuestBlock, Shape};
use super::runtime::{offsets, Exit};
use crate::cycle_model::Access;
use crate::decoder::Opcode;
use crate::mode::Mode;
use crate::platform::PAGE_BYTES;
use crate::profile::call_stack::stack_op;
use access_checks::PageOf;

/// Loops of at least this many instructions check the cycle limit on the
/// edges into their checking blocks rather than at those blocks' start: the
/// way round is then one conditional branch, taken, where it was a jump and
/// a check. Smaller loops keep the check at the start: for them Cranelift
/// moves the cycle budget between registers on the way round (a conditional
/// branch passing it to the loop's head), which costs more than the jump
/// saves.
const MIN_EDGE_CHECKED_LOOP_INSNS: usize = 32;

/// Most registers a loop may use for guest memory's host address to be
/// kept in a register (see `Translator::new`).
const MAX_REGISTERS_FOR_BASE: usize = 8;

/// Addresses translated code works with; fixed for the engine's lifetime.
#[derive(Clone, Debug)]
pub struct Env {
    /// Host address of guest address 0.
    pub mem_base: i64,
    /// Host address of the context translated code is entered with (see
    /// `GuestMemory::host_tail_ptr`).
    pub context: i64,
    /// Host address of the code-word map.
    pub code_words: i64,
    /// Host address of the code-page map.
    pub code_pages: i64,
    /// First level of the block's mode's pc-to-code table.
    pub code_table: i64,
    /// Chain to successor blocks (off in differential runs).
    pub chain: bool,
    /// `extern "C" fn(*mut JitContext, u32)` to call after every store
    /// (differential runs record the pages written).
    pub note_store: Option<i64>,
    /// Host address of the cycle model's byte-per-page state table of the
    /// current segment (see `CycleModel::page_states_ptr`), when paging is
    /// modelled.
    pub page_states: Option<i64>,
    /// Host address of its user-mode view (see
    /// `CycleModel::user_page_states_ptr`), when paging is modelled.
    pub user_page_states: Option<i64>,
    /// The code-table slots of the block's static successors.
    pub successor_slots: Vec<(u32, i64)>,
    /// Host address of this block's jump cache (for a final JALR):
    /// `JUMP_CACHE_ENTRIES` entries of 16 bytes, each the last target
    /// taken with the entry's hash (a 32-bit word) and its code. The engine
    /// empties the caches when a segment starts, so that a hit needs no
    /// page check.
    pub jump_cache: Option<i64>,
    /// Leave calls and returns to the interpreter (the run is profiled).
    pub leave_calls_and_returns: bool,
}

const NO_ARGS: &[BlockArg] = &[];

/// Variable index of the mode's x0 sink.
const SINK: usize = 32;

fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of a load of a context field that does not change while
/// translated code runs.
fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly()
}

/// Emits the body of one function: a block, or a loop of blocks.
pub struct Translator<'a, 'f> {
    b: &'a mut FunctionBuilder<'f>,
    env: Env,
    /// The blocks, the entry first (see [`discover_loop`]).
    blocks: &'a [GuestBlock],
    /// The block being translated.
    block: &'a GuestBlock,
    block_sig: SigRef,
    note_sig: SigRef,
    ctx: Value,
    /// Host address of guest memory (see `JitContext::guest_memory`).
    mem_base: Value,
    /// Cycles left under the context's cycle limit (given at entry, lowered
    /// by paging) at the start of the current block's iteration (I64,
    /// negative once paging has passed the limit): the user cycle count is
    /// the limit minus this. One value, so that counting and the limit
    /// check take one register and compare with a constant.
    budget: Variable,
    /// The preserve-all stub recording a page access and its signature,
    /// when paging is modelled.
    page_in: Option<(SigRef, i64)>,
    /// How each instruction's access is checked.
    access_checks: Vec<AccessCheck>,
    /// Instructions that may run after a check of the cycle limit before
    /// the next (or the function's end): all the translation's (see `translate`).
    limit_span: usize,
    /// Whether the current block checks the cycle limit at its start.
    checks_limit: bool,
    /// Where a loop continues at each of its blocks, without leaving the
    /// function (empty when the blocks do not loop).
    loop_targets: Vec<(u32, cranelift_codegen::ir::Block)>,
    /// The loop's blocks that its edges enter through a check of the cycle
    /// limit (see `loop_checks`).
    checked_targets: Vec<u32>,
    /// Where a trace continues at its next block, from the current one.
    trace_next: Option<(u32, cranelift_codegen::ir::Block)>,
    shape: Shape,
    cache_regs: bool,
    reg_file: u32,
    vars: Vec<Variable>,
    loaded: [bool; 33],
    /// Registers whose values are only in SSA values: a loop stores them
    /// when it leaves (a block stores each register as it writes it, so
    /// that its many exits store nothing but the pc and cycle count).
    dirty: [bool; 33],
    /// Whether the instruction being translated writes a value that the
    /// block overwrites before it could leave (see `overwritten_in_place`),
    /// so that a block need not store it.
    value_overwritten: bool,
    /// The base register value of the current block's access group whose
    /// host pointer was last computed, and that pointer: the group's
    /// members share it (see `access_ptr`).
    group_ptr: Option<(Value, Value)>,
}

impl<'a, 'f> Translator<'a, 'f> {
    /// Prepares to translate `blocks` (a trace or a loop, as `shape` says)
    /// into the function `b` is building.
    pub fn new(
        b: &'a mut FunctionBuilder<'f>,
        env: Env,
        blocks: &'a [GuestBlock],
        shape: Shape,
        block_sig: SigRef,
        note_sig: SigRef,
        page_in: Option<(SigRef, i64)>,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let ctx = b.block_params(entry)[0];
        // Guest memory's host address is a 64-bit constant, which Cranelift
        // materialises again in every block that uses it; a loop of few
        // registers and several accesses a pass reads it from the context
        // once and keeps it in a register instead. Otherwise the extra live
        // value, saved and restored around the function, costs more than it
        // saves (a one-store inner loop of a few passes an entry).
        let accesses = blocks
            .iter()
            .flat_map(|b| &b.insns)
            .filter(|i| i.op.is_load() || i.op.is_store())
            .count();
        let mem_base = if shape == Shape::Loop
            && accesses >= 2
            && loop_registers(blocks) <= MAX_REGISTERS_FOR_BASE
        {
            b.ins()
                .load(types::I64, readonly(), ctx, offsets::GUEST_MEMORY)
        } else {
            b.ins().iconst(types::I64, env.mem_base)
        };
        let budget_at_entry = b.block_params(entry)[1];
        let budget = b.declare_var(types::I64);
        b.def_var(budget, budget_at_entry);
        let block = &blocks[0];
        let reg_file = block.mode.reg_file();
        let vars = (0..33).map(|_| b.declare_var(types::I32)).collect();
        Self {
            b,
            env,
            blocks,
            block,
            block_sig,
            note_sig,
            ctx,
            mem_base,
            budget,
            page_in,
            access_checks: plan_access_checks(&block.insns),
            limit_span: 0,
            checks_limit: true,
            loop_targets: Vec::new(),
            checked_targets: Vec::new(),
            trace_next: None,
            shape,
            cache_regs: block.mode == Mode::User,
            reg_file,
            vars,
            loaded: [false; 33],
            dirty: [false; 33],
            value_overwritten: false,
            group_ptr: None,
        }
    }
}

impl Translator<'_, '_> {
    fn u32_const(&mut self, value: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(value))
    }

    /// `value + imm`; `value` itself when `imm` is 0 (a register move, an
    /// exit after no instruction), and `x + (c + imm)` when `value` is
    /// `x + c` (an address off a register just moved, the cycle budget of
    /// a trace's next block): Cranelift folds neither in traces, which it
    /// does not optimise (see `Build`).
    fn add_imm(&mut self, value: Value, imm: i64) -> Value {
        if imm == 0 {
            return value;
        }
        if let Some((x, c)) = self.constant_added(value) {
            let sum = match self.b.func.dfg.value_type(value) {
                types::I32 => i64::from((c as u32).wrapping_add(imm as u32)),
                _ => c.wrapping_add(imm),
            };
            return self.add_imm(x, sum);
        }
        self.b.ins().iadd_imm_u(value, imm)
    }

    /// `(x, c)` when `value` is `x + c` for a constant `c`.
    fn constant_added(&self, value: Value) -> Option<(Value, i64)> {
        let inst = self.b.func.dfg.value_def(value).inst()?;
        match self.b.func.dfg.insts[inst] {
            InstructionData::Binary {
                opcode: ir::Opcode::Iadd,
                args: [x, c],
            } => Some((x, self.known_constant(c)?)),
            _ => None,
        }
    }

    /// The value of `value` when it is a constant of this function.
    fn known_u32(&self, value: Value) -> Option<u32> {
        self.known_constant(value).map(|c| c as u32)
    }

    /// The bits of `value` when it is a constant of this function.
    fn known_constant(&self, value: Value) -> Option<i64> {
        let inst = self.b.func.dfg.value_def(value).inst()?;
        match self.b.func.dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: ir::Opcode::Iconst,
                imm,
            } => Some(imm.bits()),
            _ => None,
        }
    }

    /// Translates the trace, or the loop.
    pub fn translate(mut self) {
        // A trace runs each block at most once; a loop checks where it can
        // come round again (see `loop_checks`).
        self.limit_span = self.blocks.iter().map(GuestBlock::translated_len).sum();
        match self.shape {
            Shape::Trace => self.translate_trace(),
            Shape::Loop => self.translate_loop(),
        }
    }

    /// A trace checks the cycle limit once, at its head, for all of its
    /// instructions (each next block is reached only from the one before).
    fn translate_trace(mut self) {
        let blocks = self.blocks;
        for (i, block) in blocks.iter().enumerate() {
            if let Some((_, label)) = self.trace_next.take() {
                self.b.switch_to_block(label);
                self.b.seal_block(label);
            }
            self.block = block;
            self.checks_limit = i == 0;
            self.access_checks = plan_access_checks(&block.insns);
            self.trace_next = blocks
                .get(i + 1)
                .map(|next| (next.start, self.b.create_block()));
            self.translate_body();
        }
    }

    /// A loop checks the cycle limit at the start of the blocks of
    /// `loop_checks`, or, when it is large (see
    /// `MIN_EDGE_CHECKED_LOOP_INSNS`), where it is entered and on the edges
    /// into those blocks.
    fn translate_loop(mut self) {
        let blocks = self.blocks;
        let checked = loop_checks(blocks);
        let on_edges = self.limit_span >= MIN_EDGE_CHECKED_LOOP_INSNS;
        if on_edges {
            self.checked_targets = blocks
                .iter()
                .zip(&checked)
                .filter(|&(_, &checks)| checks)
                .map(|(block, _)| block.start)
                .collect();
        }
        self.enter_loop(&checked, on_edges);
        for ((block, (_, label)), checks) in
            blocks.iter().zip(self.loop_targets.clone()).zip(checked)
        {
            self.b.switch_to_block(label);
            self.block = block;
            self.checks_limit = checks && !on_edges;
            self.access_checks = plan_access_checks(&block.insns);
            self.translate_body();
        }
        for (_, label) in self.loop_targets.clone() {
            self.b.seal_block(label);
        }
    }

    fn translate_body(&mut self) {
        let block = self.block;
        let translated_len = block.translated_len();
        // The first instruction's page was checked before this code was
        // entered (and pages stay loaded while translated code runs).
        // Run (or loop again) only if every translated instruction fits under
        // the cycle limit.
        if self.checks_limit {
            self.check_limit(block.start);
        }
        let overwritten = overwritten_in_place(&block.insns, block.start);
        // (A pointer computed on one block's path dominates nothing of the next.)
        self.group_ptr = None;
        for (k, insn) in block.insns.iter().enumerate() {
            let pc = block.start + 4 * k as u32;
            if k > 0 && k < translated_len && pc.is_multiple_of(PAGE_BYTES) {
                self.check_page(PageOf::Static(pc), Access::Read, pc, k, Exit::Finish);
            }
            self.value_overwritten = overwritten[k];
            use Opcode::*;
            match insn.op {
                Add | Sub | Sll | Slt | Sltu | Xor | Srl | Sra | Or | And | Mul | Mulh | Mulhsu
                | Mulhu | Div | Divu | Rem | Remu | Addi | Slti | Sltiu | Xori | Ori | Andi
                | Slli | Srli | Srai | Lui | Auipc => self.compute(insn, pc),
                Lb | Lh | Lw | Lbu | Lhu => self.load(insn, pc, k),
                Sb | Sh | Sw => self.store(insn, pc, k),
                Fence => {}
                Beq | Bne | Blt | Bge | Bltu | Bgeu => return self.branch(insn, pc, k),
                Jal | Jalr if self.env.leave_calls_and_returns && stack_op(insn).is_some() => {
                    return self.exit_here(Exit::Interpret, pc, k)
                }
                Jal => return self.jal(insn, pc, k),
                Jalr => return self.jalr(insn, pc, k),
                Ecall | Mret | Ebreak => return self.exit_here(Exit::Interpret, pc, k),
                Illegal => unreachable!("blocks hold no illegal instructions"),
            }
        }
        self.value_overwritten = false;
        self.continue_static(block.end(), block.insns.len());
    }

    /// Sets up a loop: every register its blocks use is loaded up front and
    /// every register they write counts as written from the start (an
    /// earlier iteration may have written it), so that the loop can keep
    /// them in SSA values across iterations and blocks.
    /// Entries check the cycle limit: all of them when the loop checks on
    /// its edges (see `translate_loop`), else those into blocks that do not
    /// check at their start (`checked`).
    fn enter_loop(&mut self, checked: &[bool], on_edges: bool) {
        if self.cache_regs {
            for insn in self.blocks.iter().flat_map(|b| &b.insns) {
                for r in [insn.rs1, insn.rs2, insn.rd] {
                    self.read_reg(r);
                }
                if insn.op.writes_rd() {
                    let idx = if insn.rd == 0 { SINK } else { insn.rd as usize };
                    if !self.loaded[idx] {
                        let value = self.load_reg_from_memory(idx);
                        self.b.def_var(self.vars[idx], value);
                        self.loaded[idx] = true;
                    }
                    self.dirty[idx] = true;
                }
            }
        }
        self.loop_targets = self
            .blocks
            .iter()
            .map(|block| (block.start, self.b.create_block()))
            .collect();
        // Nothing has run yet: the registers hold what memory does, so an
        // exit at an entry's check stores none of them.
        let dirty = std::mem::replace(&mut self.dirty, [false; 33]);
        if !shares_entries(self.blocks) {
            if on_edges {
                self.check_limit(self.blocks[0].start);
            }
            self.b.ins().jump(self.loop_targets[0].1, NO_ARGS);
            self.dirty = dirty;
            return;
        }
        // Entered at the head, or at another block through its entry stub
        // (which leaves the block's index in the context, to be reset).
        let entry = self
            .b
            .ins()
            .load(types::I32, flags(), self.ctx, offsets::LOOP_ENTRY);
        let head = self.u32_const(0);
        self.store_ctx_u32(head, offsets::LOOP_ENTRY);
        // (The table's targets pass no values: the SSA builder adds block
        // parameters to the loop's blocks, so each entry goes through a
        // block of its own that jumps there.)
        let entries: Vec<_> = self
            .loop_targets
            .iter()
            .map(|&(_, label)| (self.b.create_block(), label))
            .collect();
        let targets: Vec<_> = entries
            .iter()
            .map(|&(entry, _)| self.b.func.dfg.block_call(entry, NO_ARGS))
            .collect();
        let table = JumpTableData::new(targets[0], &targets);
        let table = self.b.create_jump_table(table);
        self.b.ins().br_table(entry, table);
        for ((entry, label), (block, &checks)) in
            entries.into_iter().zip(self.blocks.iter().zip(checked))
        {
            self.b.switch_to_block(entry);
            self.b.seal_block(entry);
            if on_edges || !checks {
                self.check_limit(block.start);
            }
            self.b.ins().jump(label, NO_ARGS);
        }
        self.dirty = dirty;
    }
}
