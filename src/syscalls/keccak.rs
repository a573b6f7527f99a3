//! SYS_KECCAK: the keccak-f[1600] permutation, in batches that the keccak
//! coprocessor proves. `a3` is the mode: 0 permutes the 200-byte state at
//! `a4` into the host-to-guest buffer (returning 1 once the batch is full,
//! when the guest must prove it); 1 ends the batch, whose claim digest is
//! at `a4` and control root at `a5` (the guest then verifies that claim
//! with SYS_VERIFY_INTEGRITY2). A batch is handed to the embedder's
//! [`KeccakProver`] when there is one (risc0-zkvm's coprocessor callback,
//! or the pending proofs of its session); otherwise only counted.

use sha2::digest::generic_array::GenericArray;

use super::{invalid, GuestView, SyscallError};
use crate::host::HostIo;
use crate::platform::reg;

/// Bytes of a keccak state: 25 lanes of 64 bits.
const STATE_BYTES: usize = 200;
/// A keccak state.
pub type KeccakState = [u64; 25];
/// The keccak proof size risc0-zkvm's executor batches for by default.
pub const DEFAULT_KECCAK_PO2: u32 = 17;
/// The keccak proof sizes risc0's keccak circuit proves.
pub const KECCAK_PO2_RANGE: std::ops::RangeInclusive<u32> = 14..=18;
/// Cycles of the keccak circuit per permutation.
const PERMUTE_CYCLES: usize = 200;

/// SYS_KECCAK's modes.
const PERMUTE: u32 = 0;
const PROVE: u32 = 1;

/// The permutations a keccak batch needs proven, when the guest proves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeccakProofRequest {
    /// The claim digest the guest gave (it verifies it afterwards).
    pub claim_digest: [u8; 32],
    /// The control root the guest gave.
    pub control_root: [u8; 32],
    /// The proof size.
    pub po2: u32,
    /// The input state of each permutation, in order.
    pub inputs: Vec<KeccakState>,
}

impl KeccakProofRequest {
    /// The claim digest the keccak circuit proves for these inputs: SHA-256
    /// compression, from the initial state and without padding, over each
    /// permutation's input and output state, each zero-extended to 32
    /// lanes; the state's words as they are.
    pub fn circuit_claim_digest(&self) -> [u32; 8] {
        const SHA256_INIT: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut state = SHA256_INIT;
        let mut blocks = Vec::with_capacity(self.inputs.len() * 8);
        let mut push_state = |lanes: &KeccakState| {
            let mut padded = [0u8; 256];
            for (chunk, lane) in padded.chunks_exact_mut(8).zip(lanes) {
                chunk.copy_from_slice(&lane.to_le_bytes());
            }
            for block in padded.chunks_exact(64) {
                blocks.push(*GenericArray::from_slice(block));
            }
        };
        for input in &self.inputs {
            let mut output = *input;
            push_state(input);
            keccak::f1600(&mut output);
            push_state(&output);
        }
        sha2::compress256(&mut state, &blocks);
        state
    }
}

/// Receives each keccak batch the guest proves; an error stops the run.
pub type KeccakProver = Box<dyn FnMut(KeccakProofRequest) -> Result<(), String>>;

/// The guest's keccak batches.
pub struct KeccakBatches {
    /// The proof size the batches are cut for.
    po2: u32,
    /// Permutations in the batch being filled.
    len: usize,
    /// Their inputs, kept when there is a prover.
    inputs: Vec<KeccakState>,
    /// Batches proven.
    pub proofs: usize,
    /// Where proven batches go.
    pub prover: Option<KeccakProver>,
}

impl Default for KeccakBatches {
    fn default() -> Self {
        Self {
            po2: DEFAULT_KECCAK_PO2,
            len: 0,
            inputs: Vec::new(),
            proofs: 0,
            prover: None,
        }
    }
}

impl KeccakBatches {
    /// Cuts batches for keccak proofs of 2^`po2` cycles (14 to 18).
    pub fn set_po2(&mut self, po2: u32) -> Result<(), String> {
        if !KECCAK_PO2_RANGE.contains(&po2) {
            return Err(format!(
                "keccak proofs of po2 {po2} do not exist: the keccak circuit proves po2 {} to {}",
                KECCAK_PO2_RANGE.start(),
                KECCAK_PO2_RANGE.end()
            ));
        }
        self.po2 = po2;
        Ok(())
    }

    /// Permutations in a full batch.
    pub fn max_len(&self) -> usize {
        (1usize << self.po2) / PERMUTE_CYCLES
    }
}

impl HostIo {
    pub(super) fn sys_keccak(
        &mut self,
        guest: &mut dyn GuestView,
        to_guest: &mut [u8],
    ) -> Result<(u32, u32), SyscallError> {
        let batches = &mut self.keccak;
        match guest.user_reg(reg::A3) {
            PERMUTE => {
                if batches.len >= batches.max_len() {
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
                let mut lanes: KeccakState = [0; 25];
                for (lane, chunk) in lanes.iter_mut().zip(bytes.chunks_exact(8)) {
                    *lane = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                }
                if batches.prover.is_some() {
                    batches.inputs.push(lanes);
                }
                keccak::f1600(&mut lanes);
                for (chunk, lane) in to_guest.chunks_exact_mut(8).zip(lanes) {
                    chunk.copy_from_slice(&lane.to_le_bytes());
                }
                batches.len += 1;
                Ok((u32::from(batches.len >= batches.max_len()), 0))
            }
            PROVE => {
                if !to_guest.is_empty() {
                    return invalid("SYS_KECCAK prove takes no host-to-guest buffer");
                }
                let mut digests = [[0u8; 32]; 2];
                for (digest, (what, r)) in digests
                    .iter_mut()
                    .zip([("claim digest", reg::A4), ("control root", reg::A5)])
                {
                    let at = guest.user_reg(r);
                    let Some(bytes) = guest.bytes(at, 32) else {
                        return invalid(format!(
                            "SYS_KECCAK prove: {what} at {at:#010x} is out of range"
                        ));
                    };
                    digest.copy_from_slice(&bytes);
                }
                let inputs = std::mem::take(&mut batches.inputs);
                batches.len = 0;
                batches.proofs += 1;
                if let Some(prover) = &mut batches.prover {
                    let [claim_digest, control_root] = digests;
                    prover(KeccakProofRequest {
                        claim_digest,
                        control_root,
                        po2: batches.po2,
                        inputs,
                    })
                    .map_err(|reason| {
                        SyscallError::Io(format!(
                            "SYS_KECCAK prove: the keccak prover failed: {reason}"
                        ))
                    })?;
                }
                Ok((0, 0))
            }
            mode => invalid(format!(
                "SYS_KECCAK: mode {mode} is neither 0 (permute) nor 1 (prove)"
            )),
        }
    }
}
