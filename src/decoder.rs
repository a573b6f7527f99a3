//! The one RV32IM decoder (plus ECALL, EBREAK, MRET and FENCE), shared by the
//! interpreter, the disassembler and the JIT. Which encodings are legal
//! follows the reference executor exactly, including its leniency (for
//! example, JALR ignores funct3 and ADDI ignores funct7).

use std::fmt;

use crate::platform::reg::NAMES;

/// What an instruction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[repr(u8)]
pub enum Opcode {
    /// Any encoding the machine rejects: executing it raises IllegalInstruction.
    /// (First, so that an all-zero `Instruction` is `decode(0)`.)
    Illegal = 0,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Jal,
    Jalr,
    Lui,
    Auipc,
    Ecall,
    Ebreak,
    Mret,
    Fence,
}

/// A decoded instruction. `imm` is the sign-extended immediate of the
/// instruction's format (0 where it has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// The operation.
    pub op: Opcode,
    /// Destination register.
    pub rd: u8,
    /// First source register.
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// Immediate, sign-extended to 32 bits.
    pub imm: u32,
    /// The raw instruction word.
    pub word: u32,
}

/// How the instruction's operands are laid out, for disassembly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    RegReg,
    RegImm,
    Load,
    Store,
    Branch,
    Jump,
    Upper,
    Bare,
}

impl Opcode {
    /// The assembler mnemonic.
    pub fn mnemonic(self) -> &'static str {
        use Opcode::*;
        match self {
            Add => "add",
            Sub => "sub",
            Sll => "sll",
            Slt => "slt",
            Sltu => "sltu",
            Xor => "xor",
            Srl => "srl",
            Sra => "sra",
            Or => "or",
            And => "and",
            Mul => "mul",
            Mulh => "mulh",
            Mulhsu => "mulhsu",
            Mulhu => "mulhu",
            Div => "div",
            Divu => "divu",
            Rem => "rem",
            Remu => "remu",
            Addi => "addi",
            Slti => "slti",
            Sltiu => "sltiu",
            Xori => "xori",
            Ori => "ori",
            Andi => "andi",
            Slli => "slli",
            Srli => "srli",
            Srai => "srai",
            Lb => "lb",
            Lh => "lh",
            Lw => "lw",
            Lbu => "lbu",
            Lhu => "lhu",
            Sb => "sb",
            Sh => "sh",
            Sw => "sw",
            Beq => "beq",
            Bne => "bne",
            Blt => "blt",
            Bge => "bge",
            Bltu => "bltu",
            Bgeu => "bgeu",
            Jal => "jal",
            Jalr => "jalr",
            Lui => "lui",
            Auipc => "auipc",
            Ecall => "ecall",
            Ebreak => "ebreak",
            Mret => "mret",
            Fence => "fence",
            Illegal => "illegal",
        }
    }

    fn form(self) -> Form {
        use Opcode::*;
        match self {
            Add | Sub | Sll | Slt | Sltu | Xor | Srl | Sra | Or | And | Mul | Mulh | Mulhsu
            | Mulhu | Div | Divu | Rem | Remu => Form::RegReg,
            Addi | Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai | Jalr => Form::RegImm,
            Lb | Lh | Lw | Lbu | Lhu => Form::Load,
            Sb | Sh | Sw => Form::Store,
            Beq | Bne | Blt | Bge | Bltu | Bgeu => Form::Branch,
            Jal => Form::Jump,
            Lui | Auipc => Form::Upper,
            Ecall | Ebreak | Mret | Fence | Illegal => Form::Bare,
        }
    }

    /// Whether the instruction is a load.
    pub fn is_load(self) -> bool {
        self.form() == Form::Load
    }

    /// Whether the instruction is a store.
    pub fn is_store(self) -> bool {
        self.form() == Form::Store
    }

    /// Whether the instruction only computes a value into `rd` from its
    /// registers and immediate (ALU, M extension, LUI, AUIPC): it cannot
    /// trap, touch memory or change the pc.
    pub fn only_computes(self) -> bool {
        match self.form() {
            Form::RegReg | Form::Upper => true,
            Form::RegImm => self != Opcode::Jalr,
            _ => false,
        }
    }

    /// Whether the instruction writes its `rd` register.
    pub fn writes_rd(self) -> bool {
        matches!(
            self.form(),
            Form::RegReg | Form::RegImm | Form::Load | Form::Jump | Form::Upper
        )
    }

    /// Whether the instruction ends a basic block (it may change the pc
    /// other than by falling through, or the mode).
    pub fn ends_block(self) -> bool {
        matches!(self.form(), Form::Branch | Form::Jump)
            || matches!(
                self,
                Opcode::Jalr | Opcode::Ecall | Opcode::Ebreak | Opcode::Mret | Opcode::Illegal
            )
    }
}

fn sign_extend(value: u32, bits: u32) -> u32 {
    let shift = 32 - bits;
    (((value << shift) as i32) >> shift) as u32
}

fn imm_i(word: u32) -> u32 {
    sign_extend(word >> 20, 12)
}

fn imm_s(word: u32) -> u32 {
    sign_extend(((word >> 25) << 5) | ((word >> 7) & 0x1f), 12)
}

fn imm_b(word: u32) -> u32 {
    let bits = (((word >> 31) & 1) << 12)
        | (((word >> 7) & 1) << 11)
        | (((word >> 25) & 0x3f) << 5)
        | (((word >> 8) & 0xf) << 1);
    sign_extend(bits, 13)
}

fn imm_j(word: u32) -> u32 {
    let bits = (((word >> 31) & 1) << 20)
        | (((word >> 12) & 0xff) << 12)
        | (((word >> 20) & 1) << 11)
        | (((word >> 21) & 0x3ff) << 1);
    sign_extend(bits, 21)
}

/// Decodes one instruction word.
pub fn decode(word: u32) -> Instruction {
    use Opcode::*;
    let opcode = word & 0x7f;
    let rd = ((word >> 7) & 0x1f) as u8;
    let funct3 = (word >> 12) & 7;
    let rs1 = ((word >> 15) & 0x1f) as u8;
    let rs2 = ((word >> 20) & 0x1f) as u8;
    let funct7 = word >> 25;
    let (op, imm) = if word & 3 != 3 {
        (Illegal, 0)
    } else {
        match opcode {
            0b0110011 => {
                let op = match (funct3, funct7) {
                    (0, 0x00) => Add,
                    (0, 0x20) => Sub,
                    (1, 0x00) => Sll,
                    (2, 0x00) => Slt,
                    (3, 0x00) => Sltu,
                    (4, 0x00) => Xor,
                    (5, 0x00) => Srl,
                    (5, 0x20) => Sra,
                    (6, 0x00) => Or,
                    (7, 0x00) => And,
                    (0, 0x01) => Mul,
                    (1, 0x01) => Mulh,
                    (2, 0x01) => Mulhsu,
                    (3, 0x01) => Mulhu,
                    (4, 0x01) => Div,
                    (5, 0x01) => Divu,
                    (6, 0x01) => Rem,
                    (7, 0x01) => Remu,
                    _ => Illegal,
                };
                (op, 0)
            }
            0b0010011 => {
                let op = match (funct3, funct7) {
                    (0, _) => Addi,
                    (1, 0x00) => Slli,
                    (2, _) => Slti,
                    (3, _) => Sltiu,
                    (4, _) => Xori,
                    (5, 0x00) => Srli,
                    (5, 0x20) => Srai,
                    (6, _) => Ori,
                    (7, _) => Andi,
                    _ => Illegal,
                };
                (op, imm_i(word))
            }
            0b0000011 => {
                let op = match funct3 {
                    0 => Lb,
                    1 => Lh,
                    2 => Lw,
                    4 => Lbu,
                    5 => Lhu,
                    _ => Illegal,
                };
                (op, imm_i(word))
            }
            0b0100011 => {
                let op = match funct3 {
                    0 => Sb,
                    1 => Sh,
                    2 => Sw,
                    _ => Illegal,
                };
                (op, imm_s(word))
            }
            0b1100011 => {
                let op = match funct3 {
                    0 => Beq,
                    1 => Bne,
                    4 => Blt,
                    5 => Bge,
                    6 => Bltu,
                    7 => Bgeu,
                    _ => Illegal,
                };
                (op, imm_b(word))
            }
            0b0110111 => (Lui, word & 0xffff_f000),
            0b0010111 => (Auipc, word & 0xffff_f000),
            0b1101111 => (Jal, imm_j(word)),
            0b1100111 => (Jalr, imm_i(word)),
            0b1110011 => match (funct3, funct7, rs2) {
                (0, 0x18, _) => (Mret, 0),
                (0, 0x00, 0) => (Ecall, 0),
                (0, 0x00, 1) => (Ebreak, 0),
                _ => (Illegal, 0),
            },
            0b0001111 if funct3 == 0 => (Fence, 0),
            _ => (Illegal, 0),
        }
    };
    Instruction {
        op,
        rd,
        rs1,
        rs2,
        imm,
        word,
    }
}

impl Instruction {
    /// Disassembles the instruction, showing branch and jump targets as
    /// absolute addresses when `pc` is given.
    pub fn disassemble(&self, pc: Option<u32>) -> String {
        let (rd, rs1, rs2) = (
            NAMES[self.rd as usize],
            NAMES[self.rs1 as usize],
            NAMES[self.rs2 as usize],
        );
        let name = self.op.mnemonic();
        let imm = self.imm as i32;
        let target = |offset: u32| match pc {
            Some(pc) => format!("{:#x}", pc.wrapping_add(offset)),
            None => format!("{}", offset as i32),
        };
        match self.op.form() {
            Form::RegReg => format!("{name} {rd}, {rs1}, {rs2}"),
            Form::RegImm => match self.op {
                Opcode::Slli | Opcode::Srli | Opcode::Srai => {
                    format!("{name} {rd}, {rs1}, {}", self.imm & 0x1f)
                }
                Opcode::Jalr => format!("{name} {rd}, {imm}({rs1})"),
                _ => format!("{name} {rd}, {rs1}, {imm}"),
            },
            Form::Load => format!("{name} {rd}, {imm}({rs1})"),
            Form::Store => format!("{name} {rs2}, {imm}({rs1})"),
            Form::Branch => format!("{name} {rs1}, {rs2}, {}", target(self.imm)),
            Form::Jump => format!("{name} {rd}, {}", target(self.imm)),
            Form::Upper => format!("{name} {rd}, {:#x}", self.imm >> 12),
            Form::Bare => match self.op {
                Opcode::Illegal => format!("illegal {:#010x}", self.word),
                _ => name.to_string(),
            },
        }
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.disassemble(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_word_decodes_to_all_zero_bits() {
        // The interpreter's decode memo starts zeroed (see `Interpreter::new`).
        // SAFETY: the test is that these bits are `decode(0)`.
        let zeroed: Instruction = unsafe { std::mem::zeroed() };
        assert_eq!(zeroed, decode(0));
        assert_eq!(decode(0).op, Opcode::Illegal);
    }

    #[test]
    fn decodes_immediates_of_every_format() {
        // addi a0, a1, -1
        let i = decode(0xfff58513);
        assert_eq!(
            (i.op, i.rd, i.rs1, i.imm),
            (Opcode::Addi, 10, 11, 0xffff_ffff)
        );
        // sw a1, -4(sp)
        let s = decode(0xfeb12e23);
        assert_eq!((s.op, s.rs1, s.rs2, s.imm as i32), (Opcode::Sw, 2, 11, -4));
        // beq zero, zero, -4096: the most negative branch offset
        let b = decode(0x80000063);
        assert_eq!((b.op, b.imm as i32), (Opcode::Beq, -4096));
        // jal ra, +2046 * 2
        let j = decode(0x7ffff0ef);
        assert_eq!((j.op, j.rd, j.imm), (Opcode::Jal, 1, 0x000f_fffe));
        // jal zero, -1048576
        let j = decode(0x8000006f);
        assert_eq!(j.imm as i32, -1_048_576);
        // lui a0, 0xfffff
        let u = decode(0xfffff537);
        assert_eq!((u.op, u.imm), (Opcode::Lui, 0xffff_f000));
    }

    #[test]
    fn system_and_illegal_encodings_follow_the_reference() {
        assert_eq!(decode(0x0000_0073).op, Opcode::Ecall);
        assert_eq!(decode(0x0010_0073).op, Opcode::Ebreak);
        assert_eq!(decode(0x3020_0073).op, Opcode::Mret);
        assert_eq!(decode(0x0020_0073).op, Opcode::Illegal); // funct7 0, rs2 2
        assert_eq!(decode(0x3400_1073).op, Opcode::Illegal); // csrrw
        assert_eq!(decode(0x0000_0000).op, Opcode::Illegal);
        assert_eq!(decode(0x0000_4501).op, Opcode::Illegal); // compressed c.li
        assert_eq!(decode(0x0ff0_000f).op, Opcode::Fence);
        assert_eq!(decode(0x0000_100f).op, Opcode::Illegal); // fence.i
        assert_eq!(decode(0x1000_202f).op, Opcode::Illegal); // lr.w
        assert_eq!(decode(0x0000_2007).op, Opcode::Illegal); // flw
                                                             // branch funct3 2 and 3 do not exist
        assert_eq!(decode(0x0000_2063).op, Opcode::Illegal);
        // slli with a non-zero funct7 is illegal, addi with one is not
        assert_eq!(decode(0x0200_1093).op, Opcode::Illegal);
        assert_eq!(decode(0x0200_0093).op, Opcode::Addi);
        // jalr ignores funct3, as the reference does
        assert_eq!(decode(0x0000_70e7).op, Opcode::Jalr);
    }

    #[test]
    fn disassembles_with_abi_names_and_targets() {
        assert_eq!(decode(0xfff58513).to_string(), "addi a0, a1, -1");
        assert_eq!(decode(0xfeb12e23).to_string(), "sw a1, -4(sp)");
        assert_eq!(decode(0x4015d513).to_string(), "srai a0, a1, 1");
        assert_eq!(
            decode(0x00000463).disassemble(Some(0x1000)),
            "beq zero, zero, 0x1008"
        );
        assert_eq!(decode(0x0000_0000).to_string(), "illegal 0x00000000");
    }
}
