//! Cycle profiles: user cycles and paging cycles per call stack of guest
//! functions.
//!
//! The machine tells the [`Profiler`] of every call and return (the jumps
//! [`call_stack::stack_op`] names), of every kernel entry and of every
//! MRET, with the run's user and paging cycle counts at that moment. Between
//! two such events the call stack does not change, so everything counted
//! in between (instructions, host calls, page-ins and page-outs, segment
//! starts) is the current stack's: the samples add up to the run's cycles
//! exactly, and are the same on every engine that reports the same events
//! at the same counts. The JIT, when profiling, leaves calls and returns to
//! the interpreter (see `jit::JitOptions::profiling`); nothing else costs.
//!
//! The parts: `call_stack` (which jumps are calls and returns), `pprof`
//! (the protobuf profile pprof and speedscope open) and `flame_graph`
//! (an SVG, through inferno).

pub mod call_stack;
mod flame_graph;
pub mod pprof;

use std::collections::HashMap;

use crate::decoder::Instruction;
use crate::loader::Symbols;
use crate::platform::is_kernel_memory;
use call_stack::{stack_op, StackOp};

/// A frame's call site when it was entered from user mode by an ECALL or a
/// trap (no instruction returns to it).
const KERNEL_ENTRY: u32 = u32::MAX;

/// What the names of functions in kernel memory end with.
pub const KERNEL_TAG: &str = "[kernel]";

/// One node of the call tree: a function called along one path.
struct Node {
    parent: usize,
    /// Where the function starts.
    function: u32,
    /// Functions on its path (1 for a bottom frame).
    depth: u32,
    cycles: u64,
    paging_cycles: u64,
}

/// A frame of the shadow call stack.
#[derive(Clone, Copy)]
struct Frame {
    node: usize,
    /// The pc of the call that entered it (a return to just after it pops
    /// it), or [`KERNEL_ENTRY`].
    call_site: u32,
}

/// Follows a run's call stack and counts its cycles per stack.
pub struct Profiler {
    symbols: Symbols,
    nodes: Vec<Node>,
    children: HashMap<(usize, u32), usize>,
    stack: Vec<Frame>,
    /// The run's user and paging cycles already given to a stack.
    counted_cycles: u64,
    counted_paging: u64,
}

/// Functions a stack holds at most; deeper calls count as the deepest's.
/// (Without a bound, a recursion 100 000 calls deep, which a guest may
/// well run, would make a profile of 10^10 frames.)
pub const MAX_DEPTH: u32 = 256;

/// The root of the call tree: not a function, the parent of the first
/// frames.
const ROOT: usize = 0;

impl Profiler {
    /// A profiler for a program with these symbols, about to run at `pc`.
    pub fn new(symbols: Symbols, pc: u32) -> Self {
        let mut profiler = Self {
            symbols,
            nodes: vec![Node {
                parent: ROOT,
                function: 0,
                depth: 0,
                cycles: 0,
                paging_cycles: 0,
            }],
            children: HashMap::new(),
            stack: Vec::new(),
            counted_cycles: 0,
            counted_paging: 0,
        };
        profiler.push(profiler.function_of(pc), KERNEL_ENTRY);
        profiler
    }

    /// Where the function holding `pc` starts (`pc` itself when no symbol
    /// covers it).
    fn function_of(&self, pc: u32) -> u32 {
        self.symbols.covering(pc).map_or(pc, |symbol| symbol.addr)
    }

    /// Gives the cycles counted since the last event to the current stack.
    fn account(&mut self, cycles: u64, paging_cycles: u64) {
        let top = self.stack.last().map_or(ROOT, |frame| frame.node);
        let node = &mut self.nodes[top];
        node.cycles += cycles - self.counted_cycles;
        node.paging_cycles += paging_cycles - self.counted_paging;
        self.counted_cycles = cycles;
        self.counted_paging = paging_cycles;
    }

    fn push(&mut self, function: u32, call_site: u32) {
        let parent = self.stack.last().map_or(ROOT, |frame| frame.node);
        // A function calling itself stays one frame, and stacks stop
        // growing at MAX_DEPTH: the frames are still followed, so that
        // returns find their callers.
        if parent != ROOT {
            let top = &self.nodes[parent];
            if top.function == function || top.depth >= MAX_DEPTH {
                self.stack.push(Frame {
                    node: parent,
                    call_site,
                });
                return;
            }
        }
        let depth = self.nodes[parent].depth + 1;
        let next = self.nodes.len();
        let node = *self.children.entry((parent, function)).or_insert(next);
        if node == next {
            self.nodes.push(Node {
                parent,
                function,
                depth,
                cycles: 0,
                paging_cycles: 0,
            });
        }
        self.stack.push(Frame { node, call_site });
    }

    /// Pops back to the frame called from just before `target`, if there
    /// is one (a jump through the return address that returns nowhere on
    /// the stack, as a longjmp past it may, leaves the stack as it is).
    /// The bottom frame stays.
    fn pop_to(&mut self, target: u32) {
        let call_site = target.wrapping_sub(4);
        if let Some(at) = self.stack[1..]
            .iter()
            .rposition(|frame| frame.call_site == call_site)
        {
            self.stack.truncate(at + 1);
        }
    }

    /// The instruction `insn` at `pc` jumped to `target`, with the run's
    /// cycle counts after it.
    pub fn jumped(
        &mut self,
        pc: u32,
        insn: &Instruction,
        target: u32,
        cycles: u64,
        paging_cycles: u64,
    ) {
        let Some(op) = stack_op(insn) else { return };
        let calls_function = || self.symbols.at(target).is_some();
        match op {
            StackOp::Push if calls_function() => {
                self.account(cycles, paging_cycles);
                self.push(target, pc);
            }
            StackOp::Push => {}
            StackOp::Pop => {
                self.account(cycles, paging_cycles);
                self.pop_to(target);
            }
            StackOp::PopPush => {
                self.account(cycles, paging_cycles);
                self.pop_to(target);
                self.push(target, pc);
            }
        }
    }

    /// User mode entered the kernel (an ECALL or a trap) at `handler`.
    pub fn entered_kernel(&mut self, handler: u32, cycles: u64, paging_cycles: u64) {
        self.account(cycles, paging_cycles);
        self.push(self.function_of(handler), KERNEL_ENTRY);
    }

    /// The kernel returned to user mode (MRET) at `pc`: the frames it ran
    /// in are gone. The first MRET of a run under a kernel enters the user
    /// program, whose entry becomes the bottom frame.
    pub fn left_kernel(&mut self, pc: u32, cycles: u64, paging_cycles: u64) {
        self.account(cycles, paging_cycles);
        let user_frames = self.stack[1..]
            .iter()
            .position(|frame| frame.call_site == KERNEL_ENTRY)
            .map_or(self.stack.len(), |at| at + 1);
        if user_frames == self.stack.len() {
            // The kernel started the run: the user program starts afresh.
            self.stack.clear();
            self.push(self.function_of(pc), KERNEL_ENTRY);
        } else {
            self.stack.truncate(user_frames);
        }
    }

    /// The profile of the run, which ended with these cycle counts.
    pub fn finish(mut self, cycles: u64, paging_cycles: u64) -> Profile {
        self.account(cycles, paging_cycles);
        let mut stacks = Vec::new();
        for (index, node) in self.nodes.iter().enumerate().skip(1) {
            if node.cycles == 0 && node.paging_cycles == 0 {
                continue;
            }
            let mut frames = Vec::new();
            let mut at = index;
            while at != ROOT {
                let function = self.nodes[at].function;
                frames.push(FunctionName {
                    address: function,
                    name: self.name(function),
                });
                at = self.nodes[at].parent;
            }
            frames.reverse();
            stacks.push(Stack {
                frames,
                cycles: node.cycles,
                paging_cycles: node.paging_cycles,
            });
        }
        Profile {
            stacks,
            cycles,
            paging_cycles,
        }
    }

    /// A function's name: its symbol, demangled, or its address; a
    /// kernel's functions say so (a kernel and its user program may both
    /// have a `_start`).
    fn name(&self, function: u32) -> String {
        let name = match self.symbols.at(function) {
            Some(name) => format!("{:#}", rustc_demangle::demangle(name)),
            None => format!("{function:#010x}"),
        };
        if is_kernel_memory(function) {
            format!("{name} {KERNEL_TAG}")
        } else {
            name
        }
    }
}

/// A function of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionName {
    /// Where it starts.
    pub address: u32,
    /// Its demangled symbol, or its address in hex.
    pub name: String,
}

/// The cycles spent with one call stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    /// The functions, outermost first.
    pub frames: Vec<FunctionName>,
    /// User cycles (instructions and host calls) with this stack.
    pub cycles: u64,
    /// Paging cycles caused with this stack.
    pub paging_cycles: u64,
}

/// A run's cycle profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Every stack that spent cycles, in the order first entered.
    pub stacks: Vec<Stack>,
    /// The run's user cycles (the stacks' sum).
    pub cycles: u64,
    /// The run's paging cycles (the stacks' sum).
    pub paging_cycles: u64,
}

/// A function's share of a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionCycles {
    /// Its name.
    pub name: String,
    /// Cycles spent in it, not in functions it called.
    pub self_cycles: u64,
    /// Cycles spent in it and in what it called.
    pub total_cycles: u64,
    /// Paging cycles caused in it, not in functions it called.
    pub self_paging_cycles: u64,
}

impl Profile {
    /// The functions by the cycles spent in them (self cycles, then name).
    pub fn functions(&self) -> Vec<FunctionCycles> {
        let mut by_name: HashMap<&str, FunctionCycles> = HashMap::new();
        for stack in &self.stacks {
            let leaf = stack.frames.len() - 1;
            let mut seen: Vec<&str> = Vec::new();
            for (i, frame) in stack.frames.iter().enumerate() {
                let entry = by_name
                    .entry(&frame.name)
                    .or_insert_with(|| FunctionCycles {
                        name: frame.name.clone(),
                        self_cycles: 0,
                        total_cycles: 0,
                        self_paging_cycles: 0,
                    });
                if i == leaf {
                    entry.self_cycles += stack.cycles;
                    entry.self_paging_cycles += stack.paging_cycles;
                }
                // A recursive function counts a stack once in its total.
                if !seen.contains(&frame.name.as_str()) {
                    entry.total_cycles += stack.cycles;
                    seen.push(&frame.name);
                }
            }
        }
        let mut functions: Vec<FunctionCycles> = by_name.into_values().collect();
        functions.sort_by(|a, b| {
            (b.self_cycles, b.self_paging_cycles)
                .cmp(&(a.self_cycles, a.self_paging_cycles))
                .then_with(|| a.name.cmp(&b.name))
        });
        functions
    }

    /// The top `count` functions by self cycles, as a table for a terminal.
    pub fn summary(&self, count: usize) -> String {
        let percent = |part: u64| {
            if self.cycles == 0 {
                0.0
            } else {
                100.0 * part as f64 / self.cycles as f64
            }
        };
        let mut text = format!(
            "{:>14} {:>6} {:>14} {:>6} {:>12}  function\n",
            "self cycles", "%", "with callees", "%", "paging"
        );
        for function in self.functions().iter().take(count) {
            text += &format!(
                "{:>14} {:>5.1}% {:>14} {:>5.1}% {:>12}  {}\n",
                function.self_cycles,
                percent(function.self_cycles),
                function.total_cycles,
                percent(function.total_cycles),
                function.self_paging_cycles,
                function.name
            );
        }
        text
    }

    /// The profile as a flame graph (SVG): user cycles, with the paging
    /// each stack caused as a `[paging]` frame on top of it.
    pub fn flame_graph(&self, title: &str) -> anyhow::Result<Vec<u8>> {
        flame_graph::render(self, title)
    }

    /// The profile as a gzipped pprof protobuf with two sample types,
    /// `cycles` and `paging_cycles`.
    pub fn to_pprof(&self, program_name: &str) -> anyhow::Result<Vec<u8>> {
        pprof::encode(self, program_name)
    }
}
