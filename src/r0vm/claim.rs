//! What a session claims, as risc0-zkvm 3.0 hands it to its client: the
//! receipt claim (protobuf, in `OnSessionDone`) and each segment wrapped
//! with its index and output (bincode, in `OnSegmentDone`), both built
//! from zkjit's report and segments.

use prost::Message;
use risc0_binfmt::tagged_struct;
use risc0_circuit_keccak::KECCAK_CONTROL_ROOT;
use risc0_circuit_recursion::control_id::ALLOWED_CONTROL_ROOT;
use risc0_zkp::core::digest::Digest;
use risc0_zkp::core::hash::sha::cpu::Impl as Sha256Impl;
use serde::Serialize;

use super::digests::{to_bytes, to_proto};
use super::protos::{base, core as pb};
use crate::machine::{Halt, HaltKind};
use crate::segments::Segment;
use crate::syscalls::{Assumption, UsedAssumption};

/// How a session ended, as a receipt claim says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// The guest terminated with this code.
    Halted(u32),
    /// The guest paused with this code.
    Paused(u32),
}

impl ExitCode {
    /// The exit code of `halt`; `None` for a halt type a claim cannot name.
    pub fn of(halt: &Halt) -> Option<Self> {
        match halt.kind {
            HaltKind::Terminate => Some(Self::Halted(halt.exit_code)),
            HaltKind::Pause => Some(Self::Paused(halt.exit_code)),
            HaltKind::Other(_) => None,
        }
    }

    /// As the protocol encodes it.
    pub fn to_proto(self) -> base::ExitCode {
        base::ExitCode {
            kind: Some(match self {
                Self::Halted(code) => base::exit_code::Kind::Halted(code),
                Self::Paused(code) => base::exit_code::Kind::Paused(code),
            }),
        }
    }
}

fn value(message: &impl Message) -> pb::MaybePruned {
    pb::MaybePruned {
        kind: Some(pb::maybe_pruned::Kind::Value(message.encode_to_vec())),
    }
}

fn system_state(merkle_root: &Digest) -> pb::MaybePruned {
    value(&pb::SystemState {
        pc: 0,
        merkle_root: Some(to_proto(merkle_root)),
    })
}

/// The session's receipt claim: `pre_root` and `post_root` the page-tree
/// roots before and after the run, `journal` the committed output when the
/// guest set a non-zero output digest, `assumptions` the unresolved
/// assumptions the guest used, most recent first
/// ([`unresolved_assumptions`]).
pub fn receipt_claim(
    exit_code: ExitCode,
    pre_root: &Digest,
    post_root: &Digest,
    journal: Option<&[u8]>,
    assumptions: &[Assumption],
) -> pb::ReceiptClaim {
    // A terminated session's post state is null (risc0-zkvm's rule: it
    // cannot be resumed).
    let post_root = match exit_code {
        ExitCode::Halted(_) => Digest::ZERO,
        ExitCode::Paused(_) => *post_root,
    };
    let output = journal.map(|journal| {
        value(&pb::Output {
            journal: Some(value(&journal.to_vec())),
            assumptions: Some(value(&pb::Assumptions {
                inner: assumptions
                    .iter()
                    .map(|assumption| {
                        value(&pb::Assumption {
                            claim: Some(to_proto(&Digest::from(assumption.claim))),
                            control_root: Some(to_proto(&Digest::from(assumption.control_root))),
                        })
                    })
                    .collect(),
            })),
        })
    });
    pb::ReceiptClaim {
        pre: Some(system_state(pre_root)),
        post: Some(system_state(&post_root)),
        exit_code: Some(exit_code.to_proto()),
        // The input digest: zero, as the executor is given none.
        input: Some(pb::MaybePruned {
            kind: Some(pb::maybe_pruned::Kind::Pruned(to_proto(&Digest::ZERO))),
        }),
        output,
    }
}

/// The assumptions a session's claim lists: those the guest used that no
/// receipt of the environment proves, less the one its keccak proofs stand
/// for (`keccak_root`), which the prover resolves itself.
pub fn unresolved_assumptions(
    used: &[UsedAssumption],
    keccak_root: Option<&Assumption>,
) -> Vec<Assumption> {
    used.iter()
        .map(|used| used.resolved_by)
        .filter(|assumption| !assumption.proven)
        .filter(|assumption| {
            keccak_root.is_none_or(|root| {
                (root.claim, root.control_root) != (assumption.claim, assumption.control_root)
            })
        })
        .collect()
}

/// The one assumption the keccak proofs of a session stand for, with the
/// claim digests of its batches in the order the guest proved them: the
/// root of a Merkle mountain range whose leaves are the batches' claims
/// (with the keccak circuit's control root) and whose inner nodes are the
/// union of their two children's assumptions, smaller digest first (with
/// the recursion programs' control root). The guest builds the same range
/// and verifies its root.
pub fn keccak_root_assumption(batch_claims: &[Digest]) -> Option<Assumption> {
    let union = |a: &Assumption, b: &Assumption| {
        let (a, b) = (assumption_digest(a), assumption_digest(b));
        let (left, right) = if a <= b { (a, b) } else { (b, a) };
        Assumption {
            claim: to_bytes(&tagged_struct::<Sha256Impl>(
                "risc0.UnionClaim",
                &[left, right],
                &[],
            )),
            control_root: to_bytes(&ALLOWED_CONTROL_ROOT),
            proven: false,
        }
    };
    // (peak, height), the highest first.
    let mut peaks: Vec<(Assumption, u32)> = Vec::new();
    for claim in batch_claims {
        let mut peak = Assumption {
            claim: to_bytes(claim),
            control_root: to_bytes(&KECCAK_CONTROL_ROOT),
            proven: false,
        };
        let mut height = 0;
        while let Some((last, last_height)) = peaks.last() {
            if *last_height != height {
                break;
            }
            peak = union(&peak, last);
            height += 1;
            peaks.pop();
        }
        peaks.push((peak, height));
    }
    let mut peaks = peaks.into_iter().map(|(peak, _)| peak);
    let first = peaks.next()?;
    Some(peaks.fold(first, |root, peak| union(&root, &peak)))
}

/// An assumption's digest, as a claim names it.
fn assumption_digest(assumption: &Assumption) -> Digest {
    tagged_struct::<Sha256Impl>(
        "risc0.Assumption",
        &[
            Digest::from(assumption.claim),
            Digest::from(assumption.control_root),
        ],
        &[],
    )
}

/// `MaybePruned<T>` as risc0-zkvm serialises it.
#[derive(Serialize)]
enum MaybePruned<T> {
    Value(T),
    #[allow(dead_code)]
    Pruned(Digest),
}

/// An assumption as risc0-zkvm serialises it.
#[derive(Serialize)]
struct SerialAssumption {
    claim: Digest,
    control_root: Digest,
}

/// A segment's output as risc0-zkvm serialises it.
#[derive(Serialize)]
struct Output {
    journal: MaybePruned<Vec<u8>>,
    assumptions: MaybePruned<Vec<MaybePruned<SerialAssumption>>>,
}

/// risc0-zkvm's `Segment`: the circuit's segment with its index and, for
/// the segment the guest terminated in with an output, that output.
#[derive(Serialize)]
struct ZkvmSegment<'a> {
    index: u32,
    inner: &'a Segment,
    output: Option<Output>,
}

/// The bytes risc0-zkvm's r0vm sends for `segment` (bincode of its
/// `Segment`); `output` the journal and the assumptions the guest used
/// (all of them, as it asked for them), for the last segment of a guest
/// that set an output.
pub fn encode_segment(segment: &Segment, output: Option<(&[u8], &[UsedAssumption])>) -> Vec<u8> {
    let output = output.map(|(journal, assumptions)| Output {
        journal: MaybePruned::Value(journal.to_vec()),
        assumptions: MaybePruned::Value(
            assumptions
                .iter()
                .map(|used| {
                    MaybePruned::Value(SerialAssumption {
                        claim: Digest::from(used.requested.claim),
                        control_root: Digest::from(used.requested.control_root),
                    })
                })
                .collect(),
        ),
    });
    let wrapped = ZkvmSegment {
        index: segment.index as u32,
        inner: segment,
        output,
    };
    bincode::serialize(&wrapped).expect("a segment always serialises")
}
