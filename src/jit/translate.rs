//! Translation of one guest basic block, or a loop of blocks, to Cranelift
//! IR. One function per instruction class, named as in the interpreter.
//! Guest registers of user-mode code are cached in SSA variables: a block
//! stores each register as it writes it, a loop stores the written ones
//! when it leaves; machine-mode blocks (the kernel, which may address its
//! own register file) read and write registers in memory.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self as ir, types, BlockArg, InstBuilder, InstructionData, JumpTableData, MemFlagsData, SigRef,
    Value,
};
use cranelift_frontend::{FunctionBuilder, Variable};

use super::context::{offsets, Exit};
use crate::cycle_model::Access;
use crate::decoder::{decode, Instruction, Opcode};
use crate::interpreter::access_size;
use crate::memory::{GuestMemory, CODE_PAGE_SHIFT, SPACE_BYTES};
use crate::platform::X0_SINK_OFFSET;
use crate::platform::{MACHINE_REGS_ADDR, PAGE_BYTES, USER_END, USER_REGS_ADDR, USER_START};

/// Most instructions in one block.
pub const MAX_BLOCK_INSNS: usize = 256;

/// A guest basic block: straight-line instructions from `start`, the last
/// of which may end the block. Never crosses a 4 KiB page.
#[derive(Clone, Debug)]
pub struct GuestBlock {
    /// Mode the block runs in.
    pub machine_mode: bool,
    /// Address of the first instruction.
    pub start: u32,
    /// The instructions, at `start`, `start + 4`, ...
    pub insns: Vec<Instruction>,
}

impl GuestBlock {
    /// Reads the block starting at `pc` from memory; `None` if the first
    /// instruction cannot be translated (fetch fault or illegal encoding:
    /// the interpreter raises those).
    pub fn discover(mem: &GuestMemory, machine_mode: bool, pc: u32) -> Option<Self> {
        // (The last word of the address space is left to the interpreter, so
        // that a block's end is always an address; so is the register files'
        // page, whose register writes are not watched for code.)
        let fetchable = |addr: u32| {
            addr >= USER_START
                && (machine_mode || addr < USER_END)
                && addr < u32::MAX - 3
                && addr >> 12 != MACHINE_REGS_ADDR >> 12
        };
        let mut insns = Vec::new();
        let mut addr = pc;
        while insns.len() < MAX_BLOCK_INSNS && fetchable(addr) && addr >> 12 == pc >> 12 {
            let insn = decode(mem.load_u32(addr));
            if insn.op == Opcode::Illegal {
                break;
            }
            insns.push(insn);
            if insn.op.ends_block() {
                break;
            }
            addr = addr.wrapping_add(4);
        }
        (!insns.is_empty()).then_some(Self {
            machine_mode,
            start: pc,
            insns,
        })
    }

    /// Whether the block ends with a branch or jump back to its own start.
    pub fn loops_to_itself(&self) -> bool {
        let Some(last) = self.insns.last() else {
            return false;
        };
        let pc = self.end() - 4;
        let branches = matches!(
            last.op,
            Opcode::Beq
                | Opcode::Bne
                | Opcode::Blt
                | Opcode::Bge
                | Opcode::Bltu
                | Opcode::Bgeu
                | Opcode::Jal
        );
        branches && pc.wrapping_add(last.imm) == self.start
    }

    /// Where the block continues when the target is known from the code:
    /// branch targets and fall-through, a JAL's target.
    pub fn static_successors(&self) -> Vec<u32> {
        let Some(last) = self.insns.last() else {
            return Vec::new();
        };
        let last_pc = self.end() - 4;
        match last.op {
            Opcode::Beq | Opcode::Bne | Opcode::Blt | Opcode::Bge | Opcode::Bltu | Opcode::Bgeu => {
                vec![last_pc.wrapping_add(last.imm), self.end()]
            }
            Opcode::Jal => vec![last_pc.wrapping_add(last.imm)],
            Opcode::Jalr | Opcode::Ecall | Opcode::Mret | Opcode::Ebreak => Vec::new(),
            _ => vec![self.end()],
        }
    }

    /// The static successors a loop may go on to: not the target of a call
    /// (a JAL that links), which returns through an indirect jump.
    fn loop_successors(&self) -> Vec<u32> {
        match self.insns.last() {
            Some(last) if last.op == Opcode::Jal && last.rd != 0 => Vec::new(),
            _ => self.static_successors(),
        }
    }

    /// Past the last instruction.
    pub fn end(&self) -> u32 {
        self.start + 4 * self.insns.len() as u32
    }

    /// Instructions executed by translated code (a final ECALL, MRET or
    /// EBREAK is left to the machine).
    pub fn translated_len(&self) -> usize {
        match self.insns.last().map(|i| i.op) {
            Some(Opcode::Ecall | Opcode::Mret | Opcode::Ebreak) => self.insns.len() - 1,
            _ => self.insns.len(),
        }
    }
}

/// For each instruction of the block of `insns` at `start`: whether it
/// only computes a value into a register that a later instruction of the
/// block overwrites with nothing between that could leave translated code
/// (only computing instructions, none at the start of a page, where the
/// page is checked). The register file then need not see the value: a
/// block stores the registers it writes (see `Translator::dirty`) only so
/// that any way out finds them there. (`sll a4, a4, 2; add a4, a1, a4` is
/// how compilers index arrays.)
fn overwritten_in_place(insns: &[Instruction], start: u32) -> Vec<bool> {
    let starts_page = |k: usize| (start + 4 * k as u32).is_multiple_of(PAGE_BYTES);
    (0..insns.len())
        .map(|i| {
            let rd = insns[i].rd;
            if !insns[i].op.only_computes() || rd == 0 {
                return false;
            }
            for (j, later) in insns.iter().enumerate().skip(i + 1) {
                if !later.op.only_computes() || starts_page(j) {
                    return false;
                }
                if later.rd == rd {
                    return true;
                }
            }
            false
        })
        .collect()
}

/// Most blocks in one loop translated as one function.
pub const MAX_LOOP_BLOCKS: usize = 16;

/// The blocks of the loop through `head`, if there is one: the blocks
/// reachable from it by static edges (branches, plain jumps, fall-through;
/// not calls) within its 4 KiB page that lead back to it. They are
/// translated into one function, registers kept in SSA values across them,
/// so that a loop of small blocks runs without leaving native code. A head
/// that loops to itself stays alone (it is a loop already, and its own
/// function keeps only its own registers live). The head comes first;
/// without such a loop, the head alone.
pub fn discover_loop(mem: &GuestMemory, head: GuestBlock) -> Vec<GuestBlock> {
    if head.loops_to_itself() {
        return vec![head];
    }
    let page = head.start >> 12;
    let mut blocks = vec![head];
    let mut next = 0;
    while next < blocks.len() && blocks.len() < MAX_LOOP_BLOCKS {
        for target in blocks[next].loop_successors() {
            let known = blocks.iter().any(|b| b.start == target);
            if target >> 12 != page || !target.is_multiple_of(4) || known {
                continue;
            }
            let mode = blocks[0].machine_mode;
            if let Some(block) = GuestBlock::discover(mem, mode, target) {
                if blocks.len() < MAX_LOOP_BLOCKS {
                    blocks.push(block);
                }
            }
        }
        next += 1;
    }
    // Keep the blocks from which the head can be reached again.
    let head_pc = blocks[0].start;
    let mut reaches = vec![false; blocks.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..blocks.len() {
            if reaches[i] {
                continue;
            }
            let reached = blocks[i].loop_successors().iter().any(|&t| {
                t == head_pc
                    || blocks
                        .iter()
                        .position(|b| b.start == t)
                        .is_some_and(|j| reaches[j])
            });
            if reached {
                reaches[i] = true;
                changed = true;
            }
        }
    }
    if !reaches[0] {
        blocks.truncate(1);
        return blocks;
    }
    let mut blocks: Vec<GuestBlock> = blocks
        .into_iter()
        .zip(reaches)
        .filter_map(|(block, reaches)| reaches.then_some(block))
        .collect();
    // Every register of a loop stays live throughout it, loaded at entry
    // and stored at every exit: past a point, spills and the entry and exit
    // cost more than the block transitions saved (measured on the
    // benchmark guests: loops of more registers or more exits got slower).
    let registers = loop_registers(&blocks);
    // (No block of a loop ends in a call, an indirect jump or an ECALL:
    // those lead nowhere statically, so never back to the head.)
    let exits = blocks
        .iter()
        .flat_map(GuestBlock::static_successors)
        .filter(|t| !blocks.iter().any(|b| b.start == *t))
        .count();
    if registers > MAX_LOOP_REGISTERS || exits > MAX_LOOP_EXITS {
        blocks.truncate(1);
        return blocks;
    }
    // A block that runs into another one's start ends there (and falls
    // through to it), so that no instruction is translated twice and every
    // way round the loop goes through the same blocks.
    let starts: Vec<u32> = blocks.iter().map(|b| b.start).collect();
    for block in &mut blocks {
        let (start, end) = (block.start, block.end());
        if let Some(&inner) = starts.iter().filter(|&&s| start < s && s < end).min() {
            block.insns.truncate(((inner - start) / 4) as usize);
        }
    }
    blocks
}

/// The loop `discover_loop` finds through `block`, headed instead by its
/// lowest block when both loops share entries (see `shares_entries`) and
/// the lowest block's holds `block` too. Compilers lay a loop out from its
/// top and come into it there, so entries from outside (modexp's multiply
/// loops, once per pass of the loop around them) then go straight to the
/// loop's code rather than through an entry stub and the dispatch: modexp
/// 17.4 -> 16.7 ms. `block` gets an entry stub at its next entry.
pub fn discover_loop_from_top(mem: &GuestMemory, block: GuestBlock) -> Vec<GuestBlock> {
    let (mode, pc) = (block.machine_mode, block.start);
    let blocks = discover_loop(mem, block);
    let top = blocks.iter().map(|b| b.start).min().unwrap_or(pc);
    if top == pc || !shares_entries(&blocks) {
        return blocks;
    }
    match GuestBlock::discover(mem, mode, top).map(|head| discover_loop(mem, head)) {
        Some(from_top) if shares_entries(&from_top) && from_top.iter().any(|b| b.start == pc) => {
            from_top
        }
        _ => blocks,
    }
}

/// Whether a loop translation can also be entered at its inner blocks,
/// through entry stubs (see `Compiler::compile_entry`), instead of their
/// being translated as loops of their own when the interpreter enters the
/// loop there. Only loops of many instructions are: a small loop compiles
/// fast, and a translation entered at its own head skips the entry
/// dispatch (measured: the bytecode interpreter's dispatch loop, entered
/// once per pass, got 3% slower with it).
pub fn shares_entries(blocks: &[GuestBlock]) -> bool {
    blocks.len() > 1 && blocks.iter().map(|b| b.insns.len()).sum::<usize>() >= 32
}

/// Loops of at least this many instructions check the cycle limit on the
/// edges into their checking blocks rather than at those blocks' start: the
/// way round is then one conditional branch, taken, where it was a jump and
/// a check (sha256's round loops: 24.1 -> 22.9 ms). Smaller loops keep the
/// check at the start: for them Cranelift moved the cycle budget between
/// registers on the way round (a conditional branch passing it to the
/// loop's head), which cost more than the jump saved (matmul's inner loop
/// +22%, the sieve's +15%).
const MIN_EDGE_CHECKED_LOOP_INSNS: usize = 32;

/// Most blocks in one trace (see [`discover_trace`]).
pub const MAX_TRACE_BLOCKS: usize = 4;
/// Most instructions in one trace.
const MAX_TRACE_INSNS: usize = 64;

/// A block and the blocks it goes on to, one after the other, while the
/// way on is certain so far: each next block is the only static successor
/// of the one before that the interpreter has entered (`entries` counts
/// entries), in the head's 4 KiB page and not yet in the trace (a jump, or
/// a branch one side of which never ran). They are translated into one
/// function whose only way from one block to the next is that edge (every
/// other way out leaves the function), so that a hot path of small blocks
/// runs without transitions. (Following the busier side of branches that
/// went both ways made fib 30% slower: more to compile, and the other
/// side laid out as cold.)
pub fn discover_trace(
    mem: &GuestMemory,
    head: GuestBlock,
    entries: impl Fn(u32) -> u32,
) -> Vec<GuestBlock> {
    let page = head.start >> 12;
    let mode = head.machine_mode;
    let mut insns = head.insns.len();
    let mut blocks = vec![head];
    while blocks.len() < MAX_TRACE_BLOCKS {
        let last = &blocks[blocks.len() - 1];
        let mut entered: Vec<u32> = last
            .static_successors()
            .into_iter()
            .filter(|&t| entries(t) > 0)
            .collect();
        entered.dedup();
        let [next] = entered[..] else { break };
        if next >> 12 != page || !next.is_multiple_of(4) || blocks.iter().any(|b| b.start == next) {
            break;
        }
        let Some(block) = GuestBlock::discover(mem, mode, next) else {
            break;
        };
        insns += block.insns.len();
        if insns > MAX_TRACE_INSNS {
            break;
        }
        blocks.push(block);
    }
    blocks
}

/// The guest registers (besides x0) that `blocks` use.
fn loop_registers(blocks: &[GuestBlock]) -> usize {
    let mut used = [false; 32];
    for insn in blocks.iter().flat_map(|b| &b.insns) {
        for r in [insn.rs1, insn.rs2, insn.rd] {
            used[r as usize] = true;
        }
    }
    used[1..].iter().filter(|&&u| u).count()
}

/// Most registers a loop may use for guest memory's host address to be
/// kept in a register (see `Translator::new`).
const MAX_REGISTERS_FOR_BASE: usize = 8;

/// Which blocks of a loop check the cycle limit: the targets of the back
/// edges of a depth-first walk from the head. Every cycle through the loop
/// has such an edge, so between two checks no block repeats, and a check
/// covering all of the loop's instructions covers everything until the
/// next. (Marking every edge to a block found earlier, as discovery order
/// first did, checked four times a pass in modexp's multiply loops.)
fn loop_checks(blocks: &[GuestBlock]) -> Vec<bool> {
    let successors: Vec<Vec<usize>> = blocks
        .iter()
        .map(|block| {
            block
                .static_successors()
                .into_iter()
                .filter_map(|pc| blocks.iter().position(|b| b.start == pc))
                .collect()
        })
        .collect();
    let mut checked = vec![false; blocks.len()];
    let mut visited = vec![false; blocks.len()];
    let mut on_path = vec![false; blocks.len()];
    // (block, how many of its successors have been looked at)
    let mut path = vec![(0, 0)];
    visited[0] = true;
    on_path[0] = true;
    while let Some(&mut (block, ref mut next)) = path.last_mut() {
        let Some(&to) = successors[block].get(*next) else {
            on_path[block] = false;
            path.pop();
            continue;
        };
        *next += 1;
        if on_path[to] {
            checked[to] = true;
        } else if !visited[to] {
            visited[to] = true;
            on_path[to] = true;
            path.push((to, 0));
        }
    }
    checked
}

/// How the blocks of one translation are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A block, or a trace of blocks (see [`discover_trace`]).
    Trace,
    /// A loop of blocks entered at the first (see [`discover_loop`]), or a
    /// block that loops to itself.
    Loop,
}

/// Most guest registers a loop of blocks may use.
const MAX_LOOP_REGISTERS: usize = 20;
/// Most ways out of a loop of blocks: static edges leaving it.
const MAX_LOOP_EXITS: usize = 3;

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
    /// [`JUMP_CACHE_ENTRIES`] entries of 16 bytes, each the last target
    /// taken with the entry's hash (a 32-bit word) and its code. The engine
    /// empties the caches when a segment starts, so that a hit needs no
    /// page check.
    pub jump_cache: Option<i64>,
}

/// Entries of a JALR's jump cache (a power of two): enough for the cases of
/// a `switch` dispatch or the call sites a function returns to.
pub const JUMP_CACHE_ENTRIES: usize = 1 << JUMP_CACHE_BITS;
const JUMP_CACHE_BITS: i64 = 4;
/// Fibonacci hashing's multiplier (2^32 / the golden ratio).
const JUMP_CACHE_HASH: u32 = 0x9e37_79b9;

/// How the address of a load or store is checked.
#[derive(Clone, Copy, Debug)]
enum AccessCheck {
    /// On its own: access, alignment, page state.
    Single,
    /// Here, for the whole group of accesses through the same register
    /// value (see [`plan_access_checks`]).
    Group(AccessGroup),
    /// Already checked by its group, at the group's first access.
    Covered,
}

/// Accesses of one block through the same value of one base register, at
/// offsets that are multiples of their sizes and all within 1 KiB: if both
/// ends of the offset range are accessible, the base is aligned to the
/// largest size and the pages at the ends of the loaded and stored ranges
/// are in state, every access of the group passes its own checks.
#[derive(Clone, Copy, Debug)]
struct AccessGroup {
    /// Lowest and highest offset of any access.
    offsets: (i32, i32),
    /// Lowest and highest offset of the loads, if any.
    loads: Option<(i32, i32)>,
    /// Lowest and highest offset of the stores, if any.
    stores: Option<(i32, i32)>,
    /// The largest access size.
    align: u32,
}

fn widen(range: Option<(i32, i32)>, offset: i32) -> Option<(i32, i32)> {
    Some(range.map_or((offset, offset), |(lo, hi)| {
        (lo.min(offset), hi.max(offset))
    }))
}

/// Decides, for each instruction of a block, how its access is checked:
/// accesses through an unchanged base register are checked once, at the
/// first of them. A failed group check leaves the block at that first
/// access, and the interpreter takes it from there exactly.
fn plan_access_checks(insns: &[Instruction]) -> Vec<AccessCheck> {
    let mut plan = vec![AccessCheck::Single; insns.len()];
    // Writes so far to each register: a base register's "value".
    let mut version = [0u32; 32];
    let mut groups: Vec<((u8, u32), Vec<usize>)> = Vec::new();
    for (k, insn) in insns.iter().enumerate() {
        let op = insn.op;
        let is_access = op.is_load() || op.is_store();
        if is_access && (insn.imm as i32).rem_euclid(access_size(op) as i32) == 0 {
            let key = (insn.rs1, version[insn.rs1 as usize]);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(k),
                None => groups.push((key, vec![k])),
            }
        }
        if op.writes_rd() && insn.rd != 0 {
            version[insn.rd as usize] += 1;
        }
    }
    for (_, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
        let mut group = AccessGroup {
            offsets: (i32::MAX, i32::MIN),
            loads: None,
            stores: None,
            align: 1,
        };
        for &k in &members {
            let insn = &insns[k];
            let offset = insn.imm as i32;
            group.offsets = (group.offsets.0.min(offset), group.offsets.1.max(offset));
            if insn.op.is_store() {
                group.stores = widen(group.stores, offset);
            } else {
                group.loads = widen(group.loads, offset);
            }
            group.align = group.align.max(access_size(insn.op));
        }
        // Within 1 KiB, the ends' pages are the only pages touched.
        if group.offsets.1 - group.offsets.0 >= PAGE_BYTES as i32 {
            continue;
        }
        plan[members[0]] = AccessCheck::Group(group);
        for &k in &members[1..] {
            plan[k] = AccessCheck::Covered;
        }
    }
    plan
}

/// The page a page-state check is about.
#[derive(Clone, Copy)]
enum PageOf {
    /// A fetch from this address, known at translation.
    Static(u32),
    /// A load, a store or a jump target computed at run time.
    Dynamic(Value),
    /// A load or store that passed its access check, as the check left its
    /// address: `rotated` is `addr - USER_START` rotated right by `shift`
    /// (the access size's log2), so its page is `rotated >> (10 - shift)`
    /// pages past USER_START's (no copy of the address is needed).
    Checked { rotated: Value, shift: u32 },
    /// A single user-mode load or store of `2^shift` bytes whose address,
    /// rotated right by `shift`, is `rotated`: its index in the user-mode
    /// view of the page states is `rotated >> (10 - shift)`, its page's
    /// number if the access is aligned, and past the pages if not; the
    /// view reads 0 (as for an unloaded page) there and outside user
    /// memory, so that one load checks the access and its page, and the
    /// access check waits for the cold path.
    UserView { rotated: Value, shift: u32 },
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
        // once and keeps it in a register instead (matmul's inner loop: 45
        // -> 40 ms). Otherwise the extra live value, saved and restored
        // around the function, costs more than it saves (the sieve's
        // one-store inner loop, of a few passes an entry, got slower).
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
        let reg_file = if block.machine_mode {
            MACHINE_REGS_ADDR
        } else {
            USER_REGS_ADDR
        };
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
            cache_regs: !block.machine_mode,
            reg_file,
            vars,
            loaded: [false; 33],
            dirty: [false; 33],
            value_overwritten: false,
            group_ptr: None,
        }
    }

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

    /// Guest address of register variable `idx` (32 is the x0 sink).
    fn reg_addr(&self, idx: usize) -> u32 {
        let offset = if idx == SINK {
            X0_SINK_OFFSET
        } else {
            4 * idx as u32
        };
        self.reg_file + offset
    }

    /// Host pointer to guest address `addr` (an i32 value).
    fn host_ptr(&mut self, addr: Value) -> Value {
        let wide = self.b.ins().uextend(types::I64, addr);
        self.b.ins().iadd(self.mem_base, wide)
    }

    /// Host pointer and offset of register variable `idx`: the context
    /// sits right after the guest's 4 GiB (see `GuestMemory::host_tail_ptr`),
    /// so a register is at a small negative offset from it, and no 64-bit
    /// address is materialised for a register access.
    fn reg_slot(&self, idx: usize) -> (Value, i32) {
        let from_context = i64::from(self.reg_addr(idx)) - SPACE_BYTES as i64;
        (self.ctx, from_context as i32)
    }

    fn load_reg_from_memory(&mut self, idx: usize) -> Value {
        let (base, offset) = self.reg_slot(idx);
        self.b.ins().load(types::I32, flags(), base, offset)
    }

    fn store_reg_to_memory(&mut self, idx: usize, value: Value) {
        let (base, offset) = self.reg_slot(idx);
        self.b.ins().store(flags(), value, base, offset);
    }

    fn read_reg(&mut self, r: u8) -> Value {
        let idx = r as usize;
        if !self.cache_regs {
            return self.load_reg_from_memory(idx);
        }
        if !self.loaded[idx] {
            let value = self.load_reg_from_memory(idx);
            self.b.def_var(self.vars[idx], value);
            self.loaded[idx] = true;
        }
        self.b.use_var(self.vars[idx])
    }

    fn write_reg(&mut self, r: u8, value: Value) {
        let idx = if r == 0 { SINK } else { r as usize };
        if !self.cache_regs {
            self.store_reg_to_memory(idx, value);
            return;
        }
        self.b.def_var(self.vars[idx], value);
        self.loaded[idx] = true;
        // See `dirty`.
        if self.loop_targets.is_empty() {
            if !self.value_overwritten {
                self.store_reg_to_memory(idx, value);
            }
        } else {
            self.dirty[idx] = true;
        }
    }

    /// Stores the registers a loop keeps only in SSA values (see `dirty`;
    /// the values stay valid).
    fn write_back(&mut self) {
        for idx in 0..33 {
            if self.dirty[idx] {
                let value = self.b.use_var(self.vars[idx]);
                self.store_reg_to_memory(idx, value);
            }
        }
    }

    fn store_ctx_u32(&mut self, value: Value, offset: i32) {
        self.b.ins().store(flags(), value, self.ctx, offset);
    }

    fn load_cycle_limit(&mut self) -> Value {
        self.b
            .ins()
            .load(types::I64, flags(), self.ctx, offsets::CYCLE_LIMIT)
    }

    /// The cycle budget after `completed` instructions of this iteration.
    fn budget_after(&mut self, completed: usize) -> Value {
        let budget = self.b.use_var(self.budget);
        self.add_imm(budget, -(completed as i64))
    }

    /// Writes back registers and the cycle budget after `completed`
    /// instructions (Rust derives the count from it).
    fn commit(&mut self, completed: usize) {
        self.write_back();
        self.store_budget(completed);
    }

    fn store_budget(&mut self, completed: usize) {
        let budget = self.budget_after(completed);
        self.b
            .ins()
            .store(flags(), budget, self.ctx, offsets::BUDGET);
    }

    /// Leaves translated code with `exit` at `pc`.
    fn exit(&mut self, exit: Exit, pc: Value, completed: usize) {
        self.commit(completed);
        self.leave(exit, pc);
    }

    /// Stores where Rust goes on and why, and returns to it.
    fn leave(&mut self, exit: Exit, pc: Value) {
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
    fn exit_trap(&mut self, pc: u32, completed: usize) {
        self.exit_here(Exit::Finish, pc, completed);
    }

    /// Checks that the page of a fetch or data access is already in the
    /// state the access leaves it in (it usually is); if not, the block
    /// exits with `missing` at `pc` and the interpreter records the access.
    fn check_page(
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
    fn page_missing(&mut self, page: PageOf, access: Access) -> Option<Value> {
        let state = self.page_state(page)?;
        Some(self.state_missing(state, access))
    }

    /// Whether a page whose state byte is `state` is not yet in the state
    /// `access` leaves it in, or, for a store, holds translated code.
    fn state_missing(&mut self, state: Value, access: Access) -> Value {
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
    fn page_state(&mut self, page: PageOf) -> Option<Value> {
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
            PageOf::Dynamic(addr) => (Some(self.b.ins().ushr_imm_u(addr, 10)), states),
            PageOf::Checked { rotated, shift } => {
                let page = self.b.ins().ushr_imm_u(rotated, i64::from(10 - shift));
                (Some(page), states + i64::from(USER_START / PAGE_BYTES))
            }
            PageOf::UserView { rotated, shift } => {
                let index = self.b.ins().ushr_imm_u(rotated, i64::from(10 - shift));
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
    fn user_view(&self) -> Option<i64> {
        self.env
            .user_page_states
            .filter(|_| !self.block.machine_mode)
    }

    /// A base and offset that address the host bytes at `addr`: the
    /// context's pointer when they are within a 32-bit offset of it (see
    /// `CycleModel::place_page_states`), so that no 64-bit constant is
    /// materialised for them.
    fn host_table(&mut self, addr: i64) -> (Value, i32) {
        match i32::try_from(addr - self.env.context) {
            Ok(offset) => (self.ctx, offset),
            Err(_) => (self.b.ins().iconst(types::I64, addr), 0),
        }
    }

    /// Continues at `target`: in the successor's translation if there is
    /// one (a tail call through the pc-to-code table, or straight through
    /// its slot when `slot` is known), else back in Rust. Translated code is
    /// only ever entered with its first page loaded in this segment, so a
    /// target on a page this block has not fetched from is checked first.
    fn continue_at(
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
    fn continue_at_remembering(
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
                // first level: page = table[target >> 12]
                let page_index = self.b.ins().ushr_imm_u(target, 12);
                let page_index = self.b.ins().uextend(types::I64, page_index);
                let page_offset = self.b.ins().ishl_imm_u(page_index, 3);
                let table = self.b.ins().iconst(types::I64, self.env.code_table);
                let slot = self.b.ins().iadd(table, page_offset);
                let page = self.b.ins().load(types::I64, flags(), slot, 0);
                self.b.ins().brif(page, have_page, NO_ARGS, miss, NO_ARGS);
                self.b.switch_to_block(have_page);
                self.b.seal_block(have_page);
                // second level: page[(target >> 2) & 1023]
                let word = self.b.ins().ushr_imm_u(target, 2);
                let word = self.b.ins().band_imm_u(word, 1023);
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
    fn tail_call(&mut self, code: Value, budget: Value) {
        let args = [self.ctx, budget];
        self.b
            .ins()
            .return_call_indirect(self.block_sig, code, &args);
    }

    /// Branches to a cold block when `cond` holds, emits `cold` there (which
    /// ends its block: it leaves the function, or jumps on), and continues
    /// on the hot path.
    fn cold_if(&mut self, cond: Value, cold: impl FnOnce(&mut Self)) {
        self.cold_path(cond, cold, false);
    }

    /// As `cold_if`, for a cold path that rejoins the hot path.
    fn cold_detour(&mut self, cond: Value, cold: impl FnOnce(&mut Self)) {
        self.cold_path(cond, cold, true);
    }

    /// Lays the block being built out with the cold blocks.
    fn mark_cold(&mut self) {
        let block = self.b.current_block().expect("a block is being built");
        self.b.set_cold_block(block);
    }

    fn cold_path(&mut self, cond: Value, cold: impl FnOnce(&mut Self), rejoin: bool) {
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

    /// Whether the instructions that may run from the start of the current
    /// block's iteration until the next check (see `limit_span`) no longer
    /// all fit under the cycle limit.
    fn exceeds_limit(&mut self) -> Value {
        let budget = self.b.use_var(self.budget);
        self.b
            .ins()
            .icmp_imm_u(IntCC::SignedLessThan, budget, self.limit_span as i64)
    }

    /// Leaves the block at `start` to the interpreter, before its first
    /// instruction, unless what may run from there fits under the limit.
    fn check_limit(&mut self, start: u32) {
        let over = self.exceeds_limit();
        self.cold_if(over, |t| {
            let pc = t.u32_const(start);
            t.exit(Exit::Interpret, pc, 0);
        });
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

    /// Where the function goes on at `target` without leaving: when it is
    /// a block of the loop, or the trace's next block.
    fn loop_label(&self, target: u32) -> Option<cranelift_codegen::ir::Block> {
        self.loop_targets
            .iter()
            .chain(&self.trace_next)
            .find(|&&(pc, _)| pc == target)
            .map(|&(_, label)| label)
    }

    /// Continues at the static address `target`: within the function when
    /// it is the loop's or the trace's (see `loop_label`), else as
    /// `continue_at`.
    fn continue_static(&mut self, target: u32, completed: usize) {
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

    fn exit_here(&mut self, exit: Exit, pc: u32, completed: usize) {
        let pc = self.u32_const(pc);
        self.exit(exit, pc, completed);
    }

    /// ALU, M extension, LUI and AUIPC: compute a value into rd.
    fn compute(&mut self, insn: &Instruction, pc: u32) {
        use Opcode::*;
        let imm = insn.imm;
        let value = match insn.op {
            Lui => self.u32_const(imm),
            Addi => {
                let a = self.read_reg(insn.rs1);
                self.add_imm(a, i64::from(imm))
            }
            Auipc => self.u32_const(pc.wrapping_add(imm)),
            Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai => {
                let a = self.read_reg(insn.rs1);
                let ins = self.b.ins();
                match insn.op {
                    Slti => ins.icmp_imm_u(IntCC::SignedLessThan, a, i64::from(imm)),
                    Sltiu => ins.icmp_imm_u(IntCC::UnsignedLessThan, a, i64::from(imm)),
                    Xori => ins.bxor_imm_u(a, i64::from(imm)),
                    Ori => ins.bor_imm_u(a, i64::from(imm)),
                    Andi => ins.band_imm_u(a, i64::from(imm)),
                    Slli => ins.ishl_imm_u(a, i64::from(imm & 31)),
                    Srli => ins.ushr_imm_u(a, i64::from(imm & 31)),
                    _ => ins.sshr_imm_u(a, i64::from(imm & 31)),
                }
            }
            _ => {
                let a = self.read_reg(insn.rs1);
                let b = self.read_reg(insn.rs2);
                self.register_op(insn.op, a, b)
            }
        };
        let value = match self.b.func.dfg.value_type(value) {
            types::I8 => self.b.ins().uextend(types::I32, value),
            _ => value,
        };
        self.write_reg(insn.rd, value);
    }

    /// The value of a register-register instruction.
    fn register_op(&mut self, op: Opcode, a: Value, b: Value) -> Value {
        use Opcode::*;
        let ins = self.b.ins();
        match op {
            Add => ins.iadd(a, b),
            Sub => ins.isub(a, b),
            Sll => ins.ishl(a, b),
            Srl => ins.ushr(a, b),
            Sra => ins.sshr(a, b),
            Slt => ins.icmp(IntCC::SignedLessThan, a, b),
            Sltu => ins.icmp(IntCC::UnsignedLessThan, a, b),
            Xor => ins.bxor(a, b),
            Or => ins.bor(a, b),
            And => ins.band(a, b),
            Mul => ins.imul(a, b),
            Mulh => ins.smulhi(a, b),
            Mulhu => ins.umulhi(a, b),
            Mulhsu => {
                let wide_a = self.b.ins().sextend(types::I64, a);
                let wide_b = self.b.ins().uextend(types::I64, b);
                let product = self.b.ins().imul(wide_a, wide_b);
                let high = self.b.ins().ushr_imm_u(product, 32);
                self.b.ins().ireduce(types::I32, high)
            }
            Div | Divu | Rem | Remu => self.divide(op, a, b),
            _ => unreachable!("{op:?} is not a register-register operation"),
        }
    }

    /// Division with RISC-V's results for a zero divisor and for MIN / -1,
    /// without the host trapping: the divisor is replaced by 1 in those cases.
    fn divide(&mut self, op: Opcode, a: Value, b: Value) -> Value {
        let zero_divisor = self.b.ins().icmp_imm_u(IntCC::Equal, b, 0);
        let one = self.u32_const(1);
        let signed = matches!(op, Opcode::Div | Opcode::Rem);
        let replace = if signed {
            let min = self
                .b
                .ins()
                .icmp_imm_u(IntCC::Equal, a, i64::from(i32::MIN as u32));
            let minus_one = self
                .b
                .ins()
                .icmp_imm_u(IntCC::Equal, b, i64::from(u32::MAX));
            let overflow = self.b.ins().band(min, minus_one);
            self.b.ins().bor(zero_divisor, overflow)
        } else {
            zero_divisor
        };
        let divisor = self.b.ins().select(replace, one, b);
        match op {
            Opcode::Div | Opcode::Divu => {
                let quotient = if signed {
                    self.b.ins().sdiv(a, divisor)
                } else {
                    self.b.ins().udiv(a, divisor)
                };
                let all_ones = self.u32_const(u32::MAX);
                self.b.ins().select(zero_divisor, all_ones, quotient)
            }
            _ => {
                let remainder = if signed {
                    self.b.ins().srem(a, divisor)
                } else {
                    self.b.ins().urem(a, divisor)
                };
                self.b.ins().select(zero_divisor, a, remainder)
            }
        }
    }

    /// Checks the access of the load or store `insn` (at `pc`, through
    /// `base`, at `addr`) as planned: on its own, for its group, or not at
    /// all when its group was checked before.
    fn check_data_access(
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
    fn map_flag(&mut self, map: i64, addr: Value, shift: u32) -> Value {
        let index = self.b.ins().ushr_imm_u(addr, i64::from(shift));
        let index = self.b.ins().uextend(types::I64, index);
        let map = self.b.ins().iconst(types::I64, map);
        let flag_ptr = self.b.ins().iadd(map, index);
        self.b.ins().uload8(types::I32, flags(), flag_ptr, 0)
    }

    /// Whether `addr` is outside the memory this block's mode may access.
    fn inaccessible(&mut self, addr: Value) -> Value {
        if self.block.machine_mode {
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, addr, i64::from(USER_START))
        } else {
            let offset = self
                .b
                .ins()
                .iadd_imm_u(addr, i64::from(USER_START.wrapping_neg()));
            self.b.ins().icmp_imm_u(
                IntCC::UnsignedGreaterThanOrEqual,
                offset,
                i64::from(USER_END - USER_START),
            )
        }
    }

    /// Checks every access of `group` at once, with one branch to a cold
    /// exit that leaves the group's first access (at `pc`) to the interpreter.
    fn check_group(&mut self, base: Value, group: AccessGroup, pc: u32, completed: usize) {
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
                let flag = self.map_flag(self.env.code_pages, addr, CODE_PAGE_SHIFT);
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
    fn check_access(
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
    fn rotate(&mut self, value: Value, shift: u32) -> Value {
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
    fn check_bounds(&mut self, addr: Value, shift: u32, pc: u32, completed: usize) -> Value {
        let allowed_end = if self.block.machine_mode {
            0u32.wrapping_sub(USER_START)
        } else {
            USER_END - USER_START
        };
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
    fn check_deferred_bounds(&mut self, page: PageOf, addr: Value, pc: u32, completed: usize) {
        if let PageOf::UserView { shift, .. } = page {
            self.check_bounds(addr, shift, pc, completed);
            self.mark_cold();
        }
    }

    /// The page of `addr` changes state: Rust records the access (without
    /// leaving translated code) and lowers the cycle limit by its paging
    /// cycles. If the block's instructions no longer fit in the segment,
    /// the interpreter takes over at this instruction, to split exactly.
    fn page_in(&mut self, addr: Value, access: Access, pc: u32, completed: usize) {
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

    /// The host pointer and offset of the checked access `insn` (the
    /// `completed`th instruction) at `addr` through `base`.
    fn access_ptr(
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
        if grouped && !self.block.machine_mode {
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

    fn load(&mut self, insn: &Instruction, pc: u32, completed: usize) {
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

    fn store(&mut self, insn: &Instruction, pc: u32, completed: usize) {
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
    fn store_value(&mut self, op: Opcode, value: Value, ptr: Value, offset: i32, addr: Value) {
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
    fn exit_if_code_written(&mut self, addr: Value, pc: u32, completed: usize) {
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
    fn store_looking(
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

    fn branch(&mut self, insn: &Instruction, pc: u32, completed: usize) {
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
        let taken_block = self.b.create_block();
        let fall_block = self.b.create_block();
        self.b
            .ins()
            .brif(taken, taken_block, NO_ARGS, fall_block, NO_ARGS);
        // In a loop, the way out is taken once per run of the loop: laid
        // out of the way, the loop's own path stays contiguous.
        let taken_stays = self.loop_label(pc.wrapping_add(insn.imm)).is_some();
        let fall_stays = self.loop_label(pc + 4).is_some();
        if taken_stays && !fall_stays {
            self.b.set_cold_block(fall_block);
        } else if fall_stays && !taken_stays {
            self.b.set_cold_block(taken_block);
        }
        self.b.switch_to_block(taken_block);
        self.b.seal_block(taken_block);
        self.jump_to(pc.wrapping_add(insn.imm), pc, completed);
        self.b.switch_to_block(fall_block);
        self.b.seal_block(fall_block);
        self.continue_static(pc + 4, completed + 1);
    }

    /// The end of a taken branch or JAL to a static target.
    fn jump_to(&mut self, target: u32, pc: u32, completed: usize) {
        if !target.is_multiple_of(4) {
            self.exit_trap(pc, completed);
        } else {
            self.continue_static(target, completed + 1);
        }
    }

    fn jal(&mut self, insn: &Instruction, pc: u32, completed: usize) {
        let target = pc.wrapping_add(insn.imm);
        if target.is_multiple_of(4) {
            let link = self.u32_const(pc + 4);
            self.write_reg(insn.rd, link);
        }
        self.jump_to(target, pc, completed);
    }

    fn jalr(&mut self, insn: &Instruction, pc: u32, completed: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `head: addi; beqz sp, b; addi; b: addi; bne ra, t0, head; ecall` at 0x1_0000.
    const LOOP: [u32; 6] = [
        0x0010_8093,
        0x0001_0463,
        0x0011_8193,
        0x0012_0213,
        0xfe50_98e3,
        0x0000_0073,
    ];

    fn loop_in_memory() -> Vec<GuestBlock> {
        let mut mem = GuestMemory::new().unwrap();
        for (i, word) in (0..).zip(LOOP) {
            mem.store_u32(USER_START + 4 * i, word);
        }
        let head = GuestBlock::discover(&mem, false, USER_START).unwrap();
        discover_loop(&mem, head)
    }

    #[test]
    fn a_loop_translates_each_instruction_once() {
        let blocks = loop_in_memory();
        let starts: Vec<u32> = blocks.iter().map(|b| b.start - USER_START).collect();
        assert_eq!(starts, [0, 0xc, 8]);
        // The fall-through block ends where the branch target begins.
        let lens: Vec<usize> = blocks.iter().map(|b| b.insns.len()).collect();
        assert_eq!(lens, [2, 2, 1]);
        assert_eq!(blocks[2].static_successors(), [USER_START + 0xc]);
    }

    #[test]
    fn a_value_overwritten_before_any_way_out_is_not_stored() {
        // slli a4,a4,2; add a4,a1,a4; lw a5,0(a4); slli a4,a2,2; addi a4,a4,272
        let insns = [
            0x0027_1713,
            0x00e5_8733,
            0x0007_2783,
            0x0026_1713,
            0x1107_0713,
        ]
        .map(decode);
        // (The load may leave before it writes: the add's a4 must be stored.)
        assert_eq!(
            overwritten_in_place(&insns, USER_START),
            [true, false, false, true, false]
        );
        // The page check before an instruction at a page's start may leave.
        assert_eq!(
            overwritten_in_place(&insns, USER_START + PAGE_BYTES - 4),
            [false, false, false, true, false]
        );
    }

    #[test]
    fn a_loop_checks_the_limit_once_a_pass() {
        // Every way round goes through the head: one check, there.
        assert_eq!(loop_checks(&loop_in_memory()), [true, false, false]);
    }
}
