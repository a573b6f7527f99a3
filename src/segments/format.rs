//! The segment a prover takes, field for field as `risc0-circuit-rv32im`
//! 4.0.5 encodes its `Segment` with postcard: the same field order and
//! types give the same bytes.

use risc0_binfmt::PovwNonce;
use risc0_zkp::core::digest::Digest;
use serde::{Deserialize, Serialize};

use super::PartialImage;

/// One segment of a run, ready for a prover: the memory it needs, its
/// claim, the host I/O to replay, and its cycle budget.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Segment {
    /// The pages the segment touches, as they were when it began, and the
    /// page-tree digests that prove them against the pre-state root.
    pub partial_image: PartialImage,
    /// What proving the segment shows.
    pub claim: SegmentClaim,
    /// The bytes each host READ returned, one entry per READ.
    pub read_record: Vec<Vec<u8>>,
    /// The length each host WRITE returned, one entry per WRITE.
    pub write_record: Vec<u32>,
    /// The user cycles the segment runs before it suspends.
    pub suspend_cycle: u32,
    /// The segment's paging cycles.
    pub paging_cycles: u32,
    /// The cycle count past which the segment ended (0 for the last one).
    pub segment_threshold: u32,
    /// The segment's size: `2^po2` cycles.
    pub po2: u32,
    /// The segment's place in the run, from 0.
    pub index: u64,
    /// The proof-of-verifiable-work nonce (none: zkjit runs no PoVW jobs).
    pub povw_nonce: Option<PovwNonce>,
}

impl Segment {
    /// The segment's bytes, as the reference's `Segment::encode` makes them.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a segment always serialises")
    }

    /// A segment from bytes `encode` (or the reference) made.
    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// What a segment's proof claims: the memory roots before and after it,
/// the input and output digests, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentClaim {
    /// The page-tree root when the segment begins.
    pub pre_state: Digest,
    /// The page-tree root when it suspends.
    pub post_state: Digest,
    /// The input digest (zero: the kernel is given none).
    pub input: Digest,
    /// The output digest, once the guest has terminated.
    pub output: Option<Digest>,
    /// TERMINATE's a0 and a1, in the segment the guest terminated in.
    pub terminate_state: Option<TerminateState>,
    /// Unused by the executor (always none).
    pub shutdown_cycle: Option<u32>,
}

/// The registers TERMINATE passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminateState {
    /// a0: halt type in the low half, user exit code in the high half.
    pub a0: HighLowU16,
    /// a1.
    pub a1: HighLowU16,
}

/// A word as its high and low halves, as the circuit holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighLowU16(pub u16, pub u16);

impl From<u32> for HighLowU16 {
    fn from(word: u32) -> Self {
        Self((word >> 16) as u16, word as u16)
    }
}

impl From<HighLowU16> for u32 {
    fn from(halves: HighLowU16) -> Self {
        (u32::from(halves.0) << 16) | u32::from(halves.1)
    }
}
