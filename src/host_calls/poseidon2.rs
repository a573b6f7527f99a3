//! POSEIDON2: the BabyBear Poseidon2 permutation over 24 cells, absorbing
//! blocks of 16 cells into a state whose last 8 cells are the capacity.
//!
//! `a0` is the word address of an 8-word state (0: start from zeros and
//! keep no state), `a1` the word address of the input, `a2` of the 8-word
//! output, and `a3` holds the block count (low 16 bits) and two flags:
//! [`IS_ELEM`] (each block is 16 words, one field element each; without it
//! 8 words, each split into two 16-bit cells) and [`CHECK_OUT`] (compare
//! the result with the words at the output instead of storing it). The
//! permutation is risc0-zkp's, the reference's own; what each step costs is
//! the reference executor's.

use risc0_zkp::core::hash::poseidon2::{poseidon2_mix, CELLS};
use risc0_zkp::field::baby_bear::BabyBearElem;

use crate::machine::Machine;
use crate::platform::reg;
use crate::stop::Stop;

/// In `a3`: each block is 16 field elements, a word each.
pub const IS_ELEM: u32 = 0x8000_0000;
/// In `a3`: check the result against the output words instead of writing it.
pub const CHECK_OUT: u32 = 0x4000_0000;

/// Words of the state, of the output, and of a block's half.
const DIGEST_WORDS: usize = 8;
/// Word addresses end here: the word at `0x4000_0000` would be byte 2^32.
const WORD_ADDR_END: u32 = 0x4000_0000;
/// Cycles of the ECALL itself, the output step and the final step.
const FIXED_CYCLES: u64 = 3;
/// Cycles of each block besides its loads: the 8 full rounds and the
/// partial rounds (one step).
const ROUND_CYCLES: u64 = 9;

impl Machine {
    pub(super) fn host_poseidon2(&mut self) -> Result<(), Stop> {
        let state_addr = self.reg(reg::A0);
        let mut in_addr = self.reg(reg::A1);
        let out_addr = self.reg(reg::A2);
        let bits_count = self.reg(reg::A3);
        let has_state = state_addr != 0;
        let is_elem = bits_count & IS_ELEM != 0;
        let check_out = bits_count & CHECK_OUT != 0;
        let count = bits_count & 0xffff;
        let mut cycles = FIXED_CYCLES;
        let mut cells = [BabyBearElem::new(0); CELLS];
        if has_state {
            cycles += 1;
            for (i, cell) in cells[2 * DIGEST_WORDS..].iter_mut().enumerate() {
                *cell = BabyBearElem::new(self.poseidon2_load(state_addr, i, "state")?);
            }
        }
        for _ in 0..count {
            if is_elem {
                cycles += 2;
                for (i, cell) in cells[..2 * DIGEST_WORDS].iter_mut().enumerate() {
                    *cell = BabyBearElem::new(self.poseidon2_load(in_addr, i, "input")?);
                }
                in_addr = in_addr.wrapping_add(2 * DIGEST_WORDS as u32);
            } else {
                cycles += 1;
                for i in 0..DIGEST_WORDS {
                    let word = self.poseidon2_load(in_addr, i, "input")?;
                    cells[2 * i] = BabyBearElem::new(word & 0xffff);
                    cells[2 * i + 1] = BabyBearElem::new(word >> 16);
                }
                in_addr = in_addr.wrapping_add(DIGEST_WORDS as u32);
            }
            poseidon2_mix(&mut cells);
            cycles += ROUND_CYCLES;
        }
        for (i, cell) in cells[..DIGEST_WORDS].iter().enumerate() {
            let value = cell.as_u32();
            if check_out {
                let word = self.poseidon2_load(out_addr, i, "output")?;
                if word != value {
                    let at = out_addr.wrapping_add(i as u32).wrapping_mul(4);
                    return Err(self.host_error(format!(
                        "POSEIDON2 check failed: the output word at {at:#010x} is {word:#010x}, the hash's is {value:#010x}"
                    )));
                }
            } else {
                self.poseidon2_store(out_addr, i, value, "output")?;
            }
        }
        if has_state {
            cycles += 1;
            for (i, cell) in cells[2 * DIGEST_WORDS..].iter().enumerate() {
                self.poseidon2_store(state_addr, i, cell.as_u32(), "state")?;
            }
        }
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += cycles;
        Ok(())
    }

    /// The byte address of word `index` of the buffer at word address
    /// `base`, if memory has that word.
    fn poseidon2_word(&self, base: u32, index: usize, what: &str) -> Result<u32, Stop> {
        match base.checked_add(index as u32) {
            Some(word) if word < WORD_ADDR_END => Ok(word * 4),
            _ => Err(self.host_error(format!(
                "POSEIDON2 {what} at word address {base:#010x} (byte {:#x}) runs past the end of memory",
                u64::from(base) * 4
            ))),
        }
    }

    fn poseidon2_load(&mut self, base: u32, index: usize, what: &str) -> Result<u32, Stop> {
        let addr = self.poseidon2_word(base, index, what)?;
        Ok(self.load_word_paged(addr))
    }

    fn poseidon2_store(
        &mut self,
        base: u32,
        index: usize,
        value: u32,
        what: &str,
    ) -> Result<(), Stop> {
        let addr = self.poseidon2_word(base, index, what)?;
        self.user_write("POSEIDON2", what, addr, 4)?;
        self.store_word_paged(addr, value);
        Ok(())
    }
}
