//! SHA2: the SHA-256 compression accelerator.

use sha2::digest::generic_array::GenericArray;

use crate::cycle_model::Access;
use crate::machine::Machine;
use crate::platform::{reg, MAX_SHA_COUNT, USER_START};
use crate::stop::Stop;

/// Cycles of a SHA2 call besides its blocks.
const SHA2_BASE_CYCLES: u64 = 6;
/// Cycles of each SHA2 block: 16 data loads, 48 mixing rounds, 4 stores.
const SHA2_BLOCK_CYCLES: u64 = 68;

/// The SHA-256 round constants a kernel must pass to SHA2.
const SHA256_K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

impl Machine {
    /// SHA2: a0 = input state, a1 = output state, a2 = data, a3 = block
    /// count (low 16 bits), a4 = round constants. States and data are
    /// big-endian words, as SHA-256 defines them.
    pub(super) fn host_sha2(&mut self) -> Result<(), Stop> {
        let addr = |m: &Self, idx: usize, what: &str| {
            let value = m.reg(idx);
            if value < USER_START {
                Err(m.host_error(format!(
                    "SHA2 {what} pointer {value:#010x} is in the invalid page"
                )))
            } else {
                Ok(value & !3)
            }
        };
        let state_in = addr(self, reg::A0, "input state")?;
        let state_out = addr(self, reg::A1, "output state")?;
        let mut data = addr(self, reg::A2, "data")?;
        let count = self.reg(reg::A3) & 0xffff;
        let k_table = addr(self, reg::A4, "round constant")?;
        if count > MAX_SHA_COUNT {
            return Err(self.host_error(format!(
                "SHA2 of {count} blocks exceeds the limit of {MAX_SHA_COUNT}"
            )));
        }
        let k_matches = SHA256_K
            .iter()
            .enumerate()
            .all(|(i, &k)| self.mem.load_u32(k_table.wrapping_add(4 * i as u32)) == k);
        if !k_matches {
            return Err(self.unsupported("SHA2 with round constants other than SHA-256's"));
        }
        for (what, at, len) in [
            ("input state", state_in, 32),
            ("output state", state_out, 32),
            ("data", data, 64 * count),
        ] {
            if at.checked_add(len).is_none() {
                return Err(self.host_error(format!(
                    "SHA2 {what} buffer {at:#010x} + {len} wraps around memory"
                )));
            }
        }
        self.user_write("SHA2", "output state", state_out, 32)?;
        self.cycle_model.access_range(state_in, 32, Access::Read);
        self.cycle_model.access_range(state_out, 32, Access::Write);
        if count > 0 {
            self.cycle_model.access_range(k_table, 256, Access::Read);
            self.cycle_model
                .access_range(data, 64 * count, Access::Read);
        }
        let load_be = |m: &Self, at: u32| u32::from_be_bytes(m.mem.load_u32(at).to_le_bytes());
        let mut state = [0u32; 8];
        for (i, word) in state.iter_mut().enumerate() {
            *word = load_be(self, state_in.wrapping_add(4 * i as u32));
        }
        // The circuit copies the input state to the output before any block.
        let store_state = |m: &mut Self, state: &[u32; 8]| {
            for (i, word) in state.iter().enumerate() {
                let le = u32::from_le_bytes(word.to_be_bytes());
                m.mem.store_u32(state_out.wrapping_add(4 * i as u32), le);
            }
        };
        store_state(self, &state);
        for _ in 0..count {
            let mut block = [0u8; 64];
            for (i, chunk) in block.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(
                    &self
                        .mem
                        .load_u32(data.wrapping_add(4 * i as u32))
                        .to_le_bytes(),
                );
            }
            sha2::compress256(&mut state, &[GenericArray::clone_from_slice(&block)]);
            store_state(self, &state);
            data = data.wrapping_add(64);
        }
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += SHA2_BASE_CYCLES + SHA2_BLOCK_CYCLES * u64::from(count);
        Ok(())
    }
}
