//! Which jumps are calls and returns: the return-address hints of the
//! RISC-V ISA (section 2.5 of the unprivileged spec), by which risc0's
//! profiler also finds a guest's call stack. x1 (ra) and x5 (t0) are link
//! registers; a JAL or JALR that writes one is a call, a JALR through one
//! that writes none is a return.

use crate::decoder::{Instruction, Opcode};

/// What a jump does to the call stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackOp {
    /// A call: the target is entered as a new frame (when a function
    /// starts there).
    Push,
    /// A return: back to the frame that called from just before the target.
    Pop,
    /// A return and a call at once (a JALR reading one link register and
    /// writing the other): a tail call through a link register.
    PopPush,
}

fn is_link(reg: u8) -> bool {
    reg == 1 || reg == 5
}

/// The stack operation of `insn`, if it is a call or a return.
pub fn stack_op(insn: &Instruction) -> Option<StackOp> {
    match insn.op {
        Opcode::Jal => is_link(insn.rd).then_some(StackOp::Push),
        Opcode::Jalr => Some(match (is_link(insn.rd), is_link(insn.rs1)) {
            (false, true) => StackOp::Pop,
            (true, true) if insn.rd != insn.rs1 => StackOp::PopPush,
            // A jump through any other register may be a call through a
            // pointer (a tail call, or a function table): it is one when a
            // function starts at its target.
            _ => StackOp::Push,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::decode;

    #[test]
    fn calls_and_returns_follow_the_link_register_hints() {
        // jal ra, +8 / jal x0, +8 / jal t0, +8
        assert_eq!(stack_op(&decode(0x008000ef)), Some(StackOp::Push));
        assert_eq!(stack_op(&decode(0x0080006f)), None);
        assert_eq!(stack_op(&decode(0x008002ef)), Some(StackOp::Push));
        // ret (jalr x0, 0(ra)) / jalr ra, 0(a5) / jalr x0, 0(a5) / jalr t0, 0(ra) / jalr ra, 0(ra)
        assert_eq!(stack_op(&decode(0x00008067)), Some(StackOp::Pop));
        assert_eq!(stack_op(&decode(0x000780e7)), Some(StackOp::Push));
        assert_eq!(stack_op(&decode(0x00078067)), Some(StackOp::Push));
        assert_eq!(stack_op(&decode(0x000082e7)), Some(StackOp::PopPush));
        assert_eq!(stack_op(&decode(0x000080e7)), Some(StackOp::Push));
        // A branch is neither.
        assert_eq!(stack_op(&decode(0x00b50463)), None);
    }
}
