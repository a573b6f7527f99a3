//! The reference interpreter: one instruction at a time, written to be
//! obviously right. It is the definition the JIT is tested against.

use crate::cycle_model::Access;
use crate::decoder::{decode, Instruction, Opcode};
use crate::machine::Machine;
use crate::stop::{Stop, TrapCause};

/// Decoded instructions remembered, indexed by pc.
const DECODE_SLOTS: usize = 1 << 14;

/// The interpreter. Fetched words are decoded through a small direct-mapped
/// memo: a slot is used only when it holds the decoding of the very word
/// fetched, so code that changes needs no invalidation.
pub struct Interpreter {
    decoded: Box<[Instruction; DECODE_SLOTS]>,
}

impl Default for Interpreter {
    fn default() -> Self {
        Self::new()
    }
}

impl Interpreter {
    /// An interpreter with an empty decode memo.
    pub fn new() -> Self {
        // Zeroed memory, which the OS hands out as it is touched: a short
        // run does not pay for filling the whole memo.
        // SAFETY: all zero bits is a valid `Instruction` (`Opcode::Illegal`
        // is 0), and it is the decoding of word 0, as every slot must be.
        let decoded = unsafe { Box::<[Instruction; DECODE_SLOTS]>::new_zeroed().assume_init() };
        Self { decoded }
    }

    /// Executes one instruction (or raises its trap).
    #[inline(always)]
    pub fn step(&mut self, m: &mut Machine) -> Result<(), Stop> {
        let pc = m.pc;
        if !m.check_fetch(pc) {
            return m.raise(TrapCause::InstructionFault, pc);
        }
        let insn = self.decode_at(m);
        execute(m, &insn)
    }

    /// As [`Interpreter::step`], telling the machine's profiler of a
    /// call or return: the step of profiled runs, kept apart so that the
    /// step of every other run stays as it is.
    pub fn step_profiled(&mut self, m: &mut Machine) -> Result<(), Stop> {
        let pc = m.pc;
        if !m.check_fetch(pc) {
            return m.raise(TrapCause::InstructionFault, pc);
        }
        let insn = self.decode_at(m);
        let target = match insn.op {
            Opcode::Jal => Some(pc.wrapping_add(insn.imm)),
            Opcode::Jalr => Some(m.reg(insn.rs1 as usize).wrapping_add(insn.imm) & !1),
            _ => None,
        };
        execute_outlined(m, &insn)?;
        // (A misaligned target trapped instead.)
        if target == Some(m.pc) {
            m.profile_jump(pc, insn);
        }
        Ok(())
    }

    /// The instruction at the pc, decoded through the memo.
    #[inline(always)]
    pub fn decode_at(&mut self, m: &Machine) -> Instruction {
        let word = m.mem.load_u32(m.pc);
        let slot = &mut self.decoded[(m.pc >> 2) as usize % DECODE_SLOTS];
        if slot.word != word {
            *slot = decode(word);
        }
        *slot
    }

    /// Runs until the guest halts, a stop, or `max_cycles` user cycles.
    pub fn run(&mut self, m: &mut Machine, max_cycles: Option<u64>) -> Result<(), Stop> {
        let limit = max_cycles.unwrap_or(u64::MAX);
        while m.halt.is_none() {
            m.before_instruction(limit)?;
            self.step(m)?;
        }
        Ok(())
    }

    /// [`Interpreter::step`], or [`Interpreter::step_profiled`] when the
    /// machine is profiled: what every engine's interpreted step is.
    #[inline(always)]
    pub fn step_maybe_profiled(&mut self, m: &mut Machine) -> Result<(), Stop> {
        if m.profiler.is_some() {
            self.step_profiled(m)
        } else {
            self.step(m)
        }
    }

    /// [`Interpreter::run`], or [`Interpreter::run_profiled`] when the
    /// machine is profiled.
    pub fn run_maybe_profiled(
        &mut self,
        m: &mut Machine,
        max_cycles: Option<u64>,
    ) -> Result<(), Stop> {
        if m.profiler.is_some() {
            self.run_profiled(m, max_cycles)
        } else {
            self.run(m, max_cycles)
        }
    }

    /// [`Interpreter::run`] of a profiled run, telling the profiler of
    /// calls and returns (apart, so that the loop of every other run
    /// stays as it is compiled).
    #[inline(never)]
    pub fn run_profiled(&mut self, m: &mut Machine, max_cycles: Option<u64>) -> Result<(), Stop> {
        let limit = max_cycles.unwrap_or(u64::MAX);
        while m.halt.is_none() {
            m.before_instruction(limit)?;
            self.step_profiled(m)?;
        }
        Ok(())
    }
}

/// Executes a decoded instruction at `m.pc`.
#[inline(always)]
pub fn execute(m: &mut Machine, insn: &Instruction) -> Result<(), Stop> {
    use Opcode::*;
    let pc = m.pc;
    let rs1 = m.reg(insn.rs1 as usize);
    let rs2 = m.reg(insn.rs2 as usize);
    let imm = insn.imm;
    let next = pc.wrapping_add(4);
    let value = match insn.op {
        Add => rs1.wrapping_add(rs2),
        Sub => rs1.wrapping_sub(rs2),
        Sll => rs1 << (rs2 & 31),
        Slt => ((rs1 as i32) < (rs2 as i32)) as u32,
        Sltu => (rs1 < rs2) as u32,
        Xor => rs1 ^ rs2,
        Srl => rs1 >> (rs2 & 31),
        Sra => ((rs1 as i32) >> (rs2 & 31)) as u32,
        Or => rs1 | rs2,
        And => rs1 & rs2,
        Mul => rs1.wrapping_mul(rs2),
        Mulh => ((i64::from(rs1 as i32) * i64::from(rs2 as i32)) >> 32) as u32,
        Mulhsu => ((i64::from(rs1 as i32) * i64::from(rs2)) >> 32) as u32,
        Mulhu => ((u64::from(rs1) * u64::from(rs2)) >> 32) as u32,
        Div => div(rs1, rs2),
        Divu => rs1.checked_div(rs2).unwrap_or(u32::MAX),
        Rem => rem(rs1, rs2),
        Remu => rs1.checked_rem(rs2).unwrap_or(rs1),
        Addi => rs1.wrapping_add(imm),
        Slti => ((rs1 as i32) < (imm as i32)) as u32,
        Sltiu => (rs1 < imm) as u32,
        Xori => rs1 ^ imm,
        Ori => rs1 | imm,
        Andi => rs1 & imm,
        Slli => rs1 << (imm & 31),
        Srli => rs1 >> (imm & 31),
        Srai => ((rs1 as i32) >> (imm & 31)) as u32,
        Lui => imm,
        Auipc => pc.wrapping_add(imm),
        Lb | Lh | Lw | Lbu | Lhu => return load(m, insn, rs1.wrapping_add(imm)),
        Sb | Sh | Sw => return store(m, insn, rs1.wrapping_add(imm), rs2),
        Beq | Bne | Blt | Bge | Bltu | Bgeu => {
            let taken = match insn.op {
                Beq => rs1 == rs2,
                Bne => rs1 != rs2,
                Blt => (rs1 as i32) < (rs2 as i32),
                Bge => (rs1 as i32) >= (rs2 as i32),
                Bltu => rs1 < rs2,
                _ => rs1 >= rs2,
            };
            let target = if taken { pc.wrapping_add(imm) } else { next };
            // A branch writes its result slot as every computing
            // instruction does: the circuit gives it x0 and the value 0,
            // which lands in the x0 sink (memory images show it).
            return jump(m, target, Some((0, 0)));
        }
        Jal => return jump(m, pc.wrapping_add(imm), Some((insn.rd, next))),
        Jalr => return jump(m, rs1.wrapping_add(imm) & !1, Some((insn.rd, next))),
        Ecall => return m.ecall(),
        Mret => return m.mret(),
        Ebreak => return m.ebreak(),
        Illegal => return m.raise(TrapCause::IllegalInstruction, insn.word),
        Fence => {
            m.pc = next;
            m.user_cycles += 1;
            return Ok(());
        }
    };
    m.set_reg(insn.rd as usize, value);
    m.pc = next;
    m.user_cycles += 1;
    Ok(())
}

/// [`execute`], not inlined: profiled runs' copy of it, so that the
/// interpreter's own loop is compiled as it is without one.
#[inline(never)]
fn execute_outlined(m: &mut Machine, insn: &Instruction) -> Result<(), Stop> {
    execute(m, insn)
}

/// Signed division with RISC-V's results for division by zero and overflow.
pub fn div(a: u32, b: u32) -> u32 {
    if b == 0 {
        u32::MAX
    } else {
        (a as i32).wrapping_div(b as i32) as u32
    }
}

/// Signed remainder with RISC-V's results for division by zero and overflow.
pub fn rem(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        (a as i32).wrapping_rem(b as i32) as u32
    }
}

/// Continues at `target` (trapping if it is misaligned), linking `next`
/// into a register first when given.
#[inline(always)]
fn jump(m: &mut Machine, target: u32, link: Option<(u8, u32)>) -> Result<(), Stop> {
    if !target.is_multiple_of(4) {
        return m.raise(TrapCause::InstructionMisaligned, target);
    }
    if let Some((rd, next)) = link {
        m.set_reg(rd as usize, next);
    }
    m.pc = target;
    m.user_cycles += 1;
    Ok(())
}

/// The access size of a load or store.
pub fn access_size(op: Opcode) -> u32 {
    match op {
        Opcode::Lb | Opcode::Lbu | Opcode::Sb => 1,
        Opcode::Lh | Opcode::Lhu | Opcode::Sh => 2,
        _ => 4,
    }
}

#[inline(always)]
fn load(m: &mut Machine, insn: &Instruction, addr: u32) -> Result<(), Stop> {
    if !m.can_access(addr) {
        return m.raise(TrapCause::LoadAccessFault, addr);
    }
    // The word is read before its alignment is checked.
    m.cycle_model.access(addr, Access::Read);
    if !addr.is_multiple_of(access_size(insn.op)) {
        return m.raise(TrapCause::LoadAddressMisaligned, addr);
    }
    let value = match insn.op {
        Opcode::Lb => m.mem.load_u8(addr) as i8 as u32,
        Opcode::Lbu => u32::from(m.mem.load_u8(addr)),
        Opcode::Lh => m.mem.load_u16(addr) as i16 as u32,
        Opcode::Lhu => u32::from(m.mem.load_u16(addr)),
        _ => m.mem.load_u32(addr),
    };
    m.set_reg(insn.rd as usize, value);
    m.pc = m.pc.wrapping_add(4);
    m.user_cycles += 1;
    Ok(())
}

#[inline(always)]
fn store(m: &mut Machine, insn: &Instruction, addr: u32, value: u32) -> Result<(), Stop> {
    if !m.can_access(addr) {
        return m.raise(TrapCause::StoreAccessFault, addr);
    }
    // The word is read (to merge into) before its alignment is checked.
    m.cycle_model.access(addr, Access::Read);
    if !addr.is_multiple_of(access_size(insn.op)) {
        return m.raise(TrapCause::StoreAddressMisaligned, addr);
    }
    m.cycle_model.access(addr, Access::Write);
    match insn.op {
        Opcode::Sb => m.mem.store_u8(addr, value as u8),
        Opcode::Sh => m.mem.store_u16(addr, value as u16),
        _ => m.mem.store_u32(addr, value),
    }
    m.pc = m.pc.wrapping_add(4);
    m.user_cycles += 1;
    Ok(())
}
