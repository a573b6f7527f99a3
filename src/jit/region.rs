//! Which guest code one translation covers: a basic block ([`GuestBlock`]),
//! a loop of blocks within a code page ([`discover_loop`]), or a trace of
//! blocks the run is sure to go on to ([`discover_trace`]), and the
//! [`Shape`] that tells the translator which.

use crate::decoder::{decode, Instruction, Opcode};
use crate::memory::{code_page, GuestMemory};
use crate::mode::Mode;
use crate::platform::MACHINE_REGS_ADDR;

/// Most instructions in one block.
pub const MAX_BLOCK_INSNS: usize = 256;

/// A guest basic block: straight-line instructions from `start`, the last
/// of which may end the block. Never crosses a code page.
#[derive(Clone, Debug)]
pub struct GuestBlock {
    /// Mode the block runs in.
    pub mode: Mode,
    /// Address of the first instruction.
    pub start: u32,
    /// The instructions, at `start`, `start + 4`, ...
    pub insns: Vec<Instruction>,
}

impl GuestBlock {
    /// Reads the block starting at `pc` from memory; `None` if the first
    /// instruction cannot be translated (fetch fault or illegal encoding:
    /// the interpreter raises those).
    pub fn discover(mem: &GuestMemory, mode: Mode, pc: u32) -> Option<Self> {
        // (The last word of the address space is left to the interpreter, so
        // that a block's end is always an address; so is the register files'
        // page, whose register writes are not watched for code.)
        let fetchable = |addr: u32| {
            mode.may_fetch(addr)
                && addr < u32::MAX - 3
                && code_page(addr) != code_page(MACHINE_REGS_ADDR)
        };
        let mut insns = Vec::new();
        let mut addr = pc;
        while insns.len() < MAX_BLOCK_INSNS && fetchable(addr) && code_page(addr) == code_page(pc) {
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
            mode,
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

/// Most blocks in one loop translated as one function.
pub const MAX_LOOP_BLOCKS: usize = 16;

/// Most guest registers a loop of blocks may use.
const MAX_LOOP_REGISTERS: usize = 20;

/// Most ways out of a loop of blocks: static edges leaving it.
const MAX_LOOP_EXITS: usize = 3;

/// The blocks of the loop through `head`, if there is one: the blocks
/// reachable from it by static edges (branches, plain jumps, fall-through;
/// not calls) within its code page that lead back to it. They are
/// translated into one function, registers kept in SSA values across them,
/// so that a loop of small blocks runs without leaving native code. A head
/// that loops to itself stays alone (it is a loop already, and its own
/// function keeps only its own registers live). The head comes first;
/// without such a loop, the head alone.
pub fn discover_loop(mem: &GuestMemory, head: GuestBlock) -> Vec<GuestBlock> {
    if head.loops_to_itself() {
        return vec![head];
    }
    let page = code_page(head.start);
    let mut blocks = vec![head];
    let mut next = 0;
    while next < blocks.len() && blocks.len() < MAX_LOOP_BLOCKS {
        for target in blocks[next].loop_successors() {
            let known = blocks.iter().any(|b| b.start == target);
            if code_page(target) != page || !target.is_multiple_of(4) || known {
                continue;
            }
            let mode = blocks[0].mode;
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
    // cost more than the block transitions saved.
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
/// loop's code rather than through an entry stub and the dispatch.
/// `block` gets an entry stub at its next entry.
pub fn discover_loop_from_top(mem: &GuestMemory, block: GuestBlock) -> Vec<GuestBlock> {
    let (mode, pc) = (block.mode, block.start);
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
/// dispatch (a dispatch loop entered once per pass pays for the stub).
pub fn shares_entries(blocks: &[GuestBlock]) -> bool {
    blocks.len() > 1 && blocks.iter().map(|b| b.insns.len()).sum::<usize>() >= 32
}

/// Most blocks in one trace (see [`discover_trace`]).
pub const MAX_TRACE_BLOCKS: usize = 4;

/// Most instructions in one trace.
const MAX_TRACE_INSNS: usize = 64;

/// A block and the blocks it goes on to, one after the other, while the
/// way on is certain so far: each next block is the only static successor
/// of the one before that the interpreter has entered (`entries` counts
/// entries), in the head's code page and not yet in the trace (a jump, or
/// a branch one side of which never ran). They are translated into one
/// function whose only way from one block to the next is that edge (every
/// other way out leaves the function), so that a hot path of small blocks
/// runs without transitions. (Following the busier side of branches that
/// go both ways costs more than it saves: more to compile, and the other
/// side laid out as cold.)
pub fn discover_trace(
    mem: &GuestMemory,
    head: GuestBlock,
    entries: impl Fn(u32) -> u32,
) -> Vec<GuestBlock> {
    let page = code_page(head.start);
    let mode = head.mode;
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
        if code_page(next) != page
            || !next.is_multiple_of(4)
            || blocks.iter().any(|b| b.start == next)
        {
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
pub(super) fn loop_registers(blocks: &[GuestBlock]) -> usize {
    let mut used = [false; 32];
    for insn in blocks.iter().flat_map(|b| &b.insns) {
        for r in [insn.rs1, insn.rs2, insn.rd] {
            used[r as usize] = true;
        }
    }
    used[1..].iter().filter(|&&u| u).count()
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::platform::USER_START;

    /// `head: addi; beqz sp, b; addi; b: addi; bne ra, t0, head; ecall` at 0x1_0000.
    const LOOP: [u32; 6] = [
        0x0010_8093,
        0x0001_0463,
        0x0011_8193,
        0x0012_0213,
        0xfe50_98e3,
        0x0000_0073,
    ];

    pub(in crate::jit) fn loop_in_memory() -> Vec<GuestBlock> {
        let mut mem = GuestMemory::new().unwrap();
        for (i, word) in (0..).zip(LOOP) {
            mem.store_u32(USER_START + 4 * i, word);
        }
        let head = GuestBlock::discover(&mem, Mode::User, USER_START).unwrap();
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
}
