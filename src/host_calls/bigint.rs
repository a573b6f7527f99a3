//! BIGINT: big-integer arithmetic for the BIGINT2 user call (and the
//! v1compat kernel's BIGINT, which it builds on). The guest hands over a
//! blob: a header, a nondeterministic bigint program (see `bibc`), a
//! verification program and constants. The host runs the program, whose
//! loads read memory arenas (registers holding base addresses) and whose
//! stores make the witness; proving then runs the verification program, one
//! cycle an instruction. Here, as in the reference executor, the witness is
//! written to memory, the verification program and constants are paged in
//! but not run, and the call costs their length in cycles.
//!
//! Registers: `t0` the mode (0 user: arenas must lie in user memory, below
//! `0xbfff_0000`; 1 machine), `a0` the blob (its first three words are the
//! program, verification and constant sizes in words), `t1` the program,
//! `t2` one word past the start of the verification program, `t3` the
//! constants; arenas are registers by number (the kernel passes the user's
//! `sp` and `a1`..`a6`).

use std::collections::BTreeMap;

use dashu_int::UBig;

use super::bibc::{from_limbs, to_limbs, Arenas, Program};
use crate::cycle_model::Access;
use crate::machine::Machine;
use crate::platform::{reg, USER_START};
use crate::stop::Stop;

/// Most bytes of a nondeterministic program.
const MAX_PROGRAM_BYTES: u32 = 10 << 20;
/// Arenas of user-mode calls end here.
const USER_ARENA_END: u32 = 0xbfff_0000;
/// Bytes of one witness unit: stores fill whole units.
const UNIT_BYTES: u32 = 16;

/// The program's view of memory: loads read it (and page it in), stores go
/// to the witness, written when the program has run.
struct Witness<'a> {
    m: &'a mut Machine,
    user_mode: bool,
    /// Units of stored bytes by address.
    units: BTreeMap<u32, [u32; 4]>,
}

impl Witness<'_> {
    /// The address of `offset` units into arena `arena`, checked.
    fn arena_addr(&self, arena: u32, offset: u32) -> Result<u32, String> {
        if arena >= 32 {
            return Err(format!("arena {arena} is not a register"));
        }
        let base = self.m.reg(arena as usize);
        if !base.is_multiple_of(4) {
            return Err(format!(
                "arena x{arena} at {base:#010x} is not word-aligned"
            ));
        }
        let addr = base.checked_add(offset * UNIT_BYTES).ok_or_else(|| {
            format!("arena x{arena} at {base:#010x} + {offset} units runs past the end of memory")
        })?;
        if addr < USER_START || (self.user_mode && addr >= USER_ARENA_END) {
            return Err(format!(
                "invalid bigint address {addr:#010x} (arena x{arena})"
            ));
        }
        Ok(addr)
    }
}

impl Arenas for Witness<'_> {
    fn load(&mut self, arena: u32, offset: u32, bytes: u32) -> Result<UBig, String> {
        let start = self.arena_addr(arena, offset)?;
        let words = bytes.div_ceil(4);
        let mut digits = Vec::with_capacity(words as usize);
        for k in 0..words {
            let addr = start
                .checked_add(4 * k)
                .ok_or_else(|| format!("a load from {start:#010x} runs past the end of memory"))?;
            digits.push(self.m.load_word_paged(addr));
        }
        if let Some(last) = digits.last_mut() {
            if !bytes.is_multiple_of(4) {
                *last &= (1 << (8 * (bytes % 4))) - 1;
            }
        }
        Ok(from_limbs(&digits))
    }

    fn store(&mut self, arena: u32, offset: u32, bytes: u32, value: &UBig) -> Result<(), String> {
        let start = self.arena_addr(arena, offset)?;
        let digits = to_limbs(value);
        if (bytes as usize) < 4 * digits.len() {
            return Err(format!(
                "a store of {bytes} bytes is too small for a value of {} bytes",
                4 * digits.len()
            ));
        }
        if !bytes.is_multiple_of(UNIT_BYTES) {
            return Err(format!(
                "a store of {bytes} bytes is not a whole number of {UNIT_BYTES}-byte units"
            ));
        }
        for unit in 0..bytes / UNIT_BYTES {
            let addr = start
                .checked_add(unit * UNIT_BYTES)
                .filter(|addr| addr.checked_add(UNIT_BYTES - 1).is_some())
                .ok_or_else(|| format!("a store to {start:#010x} runs past the end of memory"))?;
            let mut words = [0u32; 4];
            for (k, word) in words.iter_mut().enumerate() {
                *word = digits.get(4 * unit as usize + k).copied().unwrap_or(0);
            }
            self.units.insert(addr, words);
        }
        Ok(())
    }
}

impl Machine {
    pub(super) fn host_bigint(&mut self) -> Result<(), Stop> {
        let mode = self.reg(reg::T0);
        if mode > 1 {
            return Err(self.host_error(format!(
                "BIGINT mode t0 = {mode} is neither 0 (user) nor 1 (machine)"
            )));
        }
        let aligned = |m: &Self, idx: usize, what: &str| {
            let value = m.reg(idx);
            match value.is_multiple_of(4) {
                true => Ok(value),
                false => Err(m.host_error(format!(
                    "BIGINT {what} pointer {value:#010x} is not word-aligned"
                ))),
            }
        };
        let blob = aligned(self, reg::A0, "blob")?;
        let program_addr = aligned(self, reg::T1, "program")?;
        let verify_addr = aligned(self, reg::T2, "verification program")?.wrapping_sub(4);
        let consts_addr = aligned(self, reg::T3, "constants")?;
        if blob > u32::MAX - 12 {
            return Err(self.host_error(format!(
                "BIGINT blob header at {blob:#010x} runs past the end of memory"
            )));
        }
        let program_words = self.load_word_paged(blob);
        let verify_words = self.load_word_paged(blob + 4);
        let consts_words = self.load_word_paged(blob + 8);
        let program_bytes = program_words
            .checked_mul(4)
            .filter(|&bytes| bytes <= MAX_PROGRAM_BYTES)
            .ok_or_else(|| self.host_error(format!("BIGINT program of {program_words} words is larger than {MAX_PROGRAM_BYTES} bytes")))?;
        let region = |m: &Self, addr: u32, words: u32, what: &str| match words
            .checked_mul(4)
            .filter(|&bytes| addr.checked_add(bytes).is_some())
        {
            Some(bytes) => Ok(bytes),
            None => Err(m.host_error(format!(
                "BIGINT {what} at {addr:#010x} of {words} words runs past the end of memory"
            ))),
        };
        region(self, program_addr, program_words, "program")?;
        let mut bytes = Vec::with_capacity(program_bytes as usize);
        for k in 0..program_words {
            bytes.extend_from_slice(&self.load_word_paged(program_addr + 4 * k).to_le_bytes());
        }
        let program = Program::decode(&bytes)
            .map_err(|e| self.host_error(format!("BIGINT program at {program_addr:#010x}: {e}")))?;
        let mut witness = Witness {
            m: self,
            user_mode: mode == 0,
            units: BTreeMap::new(),
        };
        let evaluated = program.eval(&mut witness);
        let units = witness.units;
        evaluated
            .map_err(|e| self.host_error(format!("BIGINT program at {program_addr:#010x}: {e}")))?;
        // Proving reads the verification program and the constants.
        let verify_bytes = region(self, verify_addr, verify_words, "verification program")?;
        self.cycle_model
            .access_range(verify_addr, verify_bytes, Access::Read);
        let consts_bytes = region(self, consts_addr, consts_words, "constants")?;
        self.cycle_model
            .access_range(consts_addr, consts_bytes, Access::Read);
        for (addr, words) in units {
            for (k, word) in words.into_iter().enumerate() {
                self.store_word_paged(addr + 4 * k as u32, word);
            }
        }
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += 2 + u64::from(verify_words);
        Ok(())
    }
}
