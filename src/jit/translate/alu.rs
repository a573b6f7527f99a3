//! ALU and M-extension instructions, LUI and AUIPC, as Cranelift IR: the
//! same results as the interpreter's `execute`, without host traps.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::Translator;
use crate::decoder::{Instruction, Opcode};

impl Translator<'_, '_> {
    /// ALU, M extension, LUI and AUIPC: compute a value into rd.
    pub(super) fn compute(&mut self, insn: &Instruction, pc: u32) {
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
    pub(super) fn register_op(&mut self, op: Opcode, a: Value, b: Value) -> Value {
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
    pub(super) fn divide(&mut self, op: Opcode, a: Value, b: Value) -> Value {
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
}
