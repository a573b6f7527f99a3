//! SYS_KECCAK: the keccak-f[1600] permutation, in batches that the keccak
//! coprocessor proves. `a3` is the mode: 0 permutes the 200-byte state at
//! `a4` into the host-to-guest buffer (returning 1 once the batch is full,
//! when the guest must prove it); 1 ends the batch, whose claim digest is
//! at `a4` and control root at `a5` (the guest then verifies that claim
//! with SYS_VERIFY_INTEGRITY2).

use super::{invalid, GuestView, SyscallError};
use crate::host::HostIo;
use crate::platform::reg;

/// Bytes of a keccak state: 25 lanes of 64 bits.
const STATE_BYTES: usize = 200;
/// The batch size risc0-zkvm's executor uses by default: a keccak proof of
/// 2^17 cycles, 200 cycles a permutation.
pub const MAX_BATCH: usize = (1 << 17) / 200;

/// SYS_KECCAK's modes.
const PERMUTE: u32 = 0;
const PROVE: u32 = 1;

impl HostIo {
    pub(super) fn sys_keccak(
        &mut self,
        guest: &mut dyn GuestView,
        to_guest: &mut [u8],
    ) -> Result<(u32, u32), SyscallError> {
        match guest.user_reg(reg::A3) {
            PERMUTE => {
                if self.keccak_batch >= MAX_BATCH {
                    return invalid("SYS_KECCAK: the batch is full; the guest must prove it first");
                }
                if to_guest.len() != STATE_BYTES {
                    return invalid(format!(
                        "SYS_KECCAK permute needs a {STATE_BYTES}-byte buffer, got {}",
                        to_guest.len()
                    ));
                }
                let at = guest.user_reg(reg::A4);
                let Some(bytes) = guest.bytes(at, STATE_BYTES as u32) else {
                    return invalid(format!("SYS_KECCAK state at {at:#010x} is out of range"));
                };
                let mut lanes = [0u64; 25];
                for (lane, chunk) in lanes.iter_mut().zip(bytes.chunks_exact(8)) {
                    *lane = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                }
                keccak::f1600(&mut lanes);
                for (chunk, lane) in to_guest.chunks_exact_mut(8).zip(lanes) {
                    chunk.copy_from_slice(&lane.to_le_bytes());
                }
                self.keccak_batch += 1;
                Ok((u32::from(self.keccak_batch >= MAX_BATCH), 0))
            }
            PROVE => {
                if !to_guest.is_empty() {
                    return invalid("SYS_KECCAK prove takes no host-to-guest buffer");
                }
                for (what, r) in [("claim digest", reg::A4), ("control root", reg::A5)] {
                    let at = guest.user_reg(r);
                    if guest.bytes(at, 32).is_none() {
                        return invalid(format!(
                            "SYS_KECCAK prove: {what} at {at:#010x} is out of range"
                        ));
                    }
                }
                self.keccak_batch = 0;
                self.keccak_proofs += 1;
                Ok((0, 0))
            }
            mode => invalid(format!(
                "SYS_KECCAK: mode {mode} is neither 0 (permute) nor 1 (prove)"
            )),
        }
    }
}
