//! The assumptions a client adds to the environment, as zkjit's guests
//! verify them: an unresolved one is its claim and control root; a proven
//! one (a receipt) is the digest of the claim it proves, and, for a
//! succinct receipt, the control root of its recursion programs, as
//! risc0-zkvm derives them from the receipt.

use anyhow::{anyhow, bail, Context, Result};
use prost::Message;
use risc0_binfmt::{tagged_list, tagged_struct, Digestible, SystemState};
use risc0_zkp::core::digest::Digest;
use risc0_zkp::core::hash::hash_suite_from_name;
use risc0_zkp::core::hash::sha::{cpu::Impl as Sha256Impl, Sha256};

use super::digests::{from_proto, to_bytes};
use super::execute::asset_bytes;
use super::protos::{api, base, core as pb};
use crate::syscalls::Assumption;

/// The assumptions of the environment, in the client's order: the claims
/// the guest may verify.
pub fn from_receipts(receipts: Vec<api::AssumptionReceipt>) -> Result<Vec<Assumption>> {
    receipts
        .into_iter()
        .map(|receipt| match receipt.kind {
            Some(api::assumption_receipt::Kind::Unresolved(asset)) => {
                let bytes = asset_bytes(Some(asset), "assumption")?;
                let assumption = pb::Assumption::decode(bytes.as_slice())
                    .context("malformed assumption from the client")?;
                Ok(Assumption {
                    claim: to_bytes(&from_proto(assumption.claim, "Assumption.claim")?),
                    control_root: to_bytes(&from_proto(
                        assumption.control_root,
                        "Assumption.control_root",
                    )?),
                    proven: false,
                })
            }
            Some(api::assumption_receipt::Kind::Proven(asset)) => {
                let bytes = asset_bytes(Some(asset), "assumption receipt")?;
                let receipt = pb::InnerReceipt::decode(bytes.as_slice())
                    .context("malformed assumption receipt from the client")?;
                proven(receipt)
            }
            None => bail!("malformed request: an assumption receipt has no kind"),
        })
        .collect()
}

/// The assumption a receipt resolves. Only a succinct receipt names a
/// control root; the others resolve only a request for any (zero).
fn proven(receipt: pb::InnerReceipt) -> Result<Assumption> {
    use pb::inner_receipt::Kind;
    let (claim, control_root) = match receipt.kind {
        Some(Kind::Composite(composite)) => (composite_claim(&composite)?, Digest::ZERO),
        Some(Kind::Succinct(succinct)) => {
            let claim = pruned_claim(succinct.claim, "SuccinctReceipt.claim")?;
            let suite = hash_suite_from_name(&succinct.hashfn).ok_or_else(|| {
                anyhow!(
                    "an assumption receipt uses hash function {:?}, which risc0 does not know",
                    succinct.hashfn
                )
            })?;
            let proof = succinct.control_inclusion_proof.ok_or_else(|| {
                anyhow!("malformed receipt: SuccinctReceipt.control_inclusion_proof is missing")
            })?;
            let mut root = from_proto(succinct.control_id, "SuccinctReceipt.control_id")?;
            let mut index = proof.index;
            for sibling in proof.digests {
                let sibling = from_proto(Some(sibling), "MerkleProof.digests")?;
                root = if index & 1 == 0 {
                    *suite.hashfn.hash_pair(&root, &sibling)
                } else {
                    *suite.hashfn.hash_pair(&sibling, &root)
                };
                index >>= 1;
            }
            (claim, root)
        }
        Some(Kind::Groth16(groth16)) => (
            pruned_claim(groth16.claim, "Groth16Receipt.claim")?,
            Digest::ZERO,
        ),
        Some(Kind::Fake(fake)) => (pruned_claim(fake.claim, "FakeReceipt.claim")?, Digest::ZERO),
        None => bail!("malformed receipt: InnerReceipt has no kind"),
    };
    Ok(Assumption {
        claim: to_bytes(&claim),
        control_root: to_bytes(&control_root),
        proven: true,
    })
}

/// The digest of an assumption receipt's claim, which is sent pruned (its
/// type is not known to the protocol).
fn pruned_claim(claim: Option<pb::MaybePruned>, what: &str) -> Result<Digest> {
    match claim.and_then(|claim| claim.kind) {
        Some(pb::maybe_pruned::Kind::Pruned(pruned)) => from_proto(Some(pruned), what),
        Some(pb::maybe_pruned::Kind::Value(_)) => {
            bail!("malformed receipt: {what} of an assumption must be pruned")
        }
        None => bail!("malformed receipt: {what} is missing"),
    }
}

/// The claim a composite receipt proves: the first segment's start, the
/// last segment's end and output, with the assumptions its own receipts
/// resolve removed.
fn composite_claim(composite: &pb::CompositeReceipt) -> Result<Digest> {
    fn claim(segment: Option<&pb::SegmentReceipt>) -> Result<&pb::ReceiptClaim> {
        segment
            .and_then(|segment| segment.claim.as_ref())
            .ok_or_else(|| anyhow!("malformed receipt: a composite receipt without segments"))
    }
    let (first, last) = (
        claim(composite.segments.first())?,
        claim(composite.segments.last())?,
    );
    let output = match last.output.as_ref().and_then(|output| output.kind.as_ref()) {
        None => Digest::ZERO,
        Some(pb::maybe_pruned::Kind::Value(bytes)) => {
            let output =
                pb::Output::decode(bytes.as_slice()).context("malformed receipt output")?;
            let no_assumptions = tagged_list::<Sha256Impl>("risc0.Assumptions", &[] as &[Digest]);
            tagged_struct::<Sha256Impl>(
                "risc0.Output",
                &[journal_digest(output.journal)?, no_assumptions],
                &[],
            )
        }
        Some(pb::maybe_pruned::Kind::Pruned(_)) => {
            bail!("malformed receipt: the last segment's output is pruned")
        }
    };
    let input = match first.input.as_ref().and_then(|input| input.kind.as_ref()) {
        None => Digest::ZERO,
        Some(pb::maybe_pruned::Kind::Pruned(pruned)) => from_proto(Some(pruned.clone()), "input")?,
        Some(pb::maybe_pruned::Kind::Value(_)) => {
            bail!("malformed receipt: a claim's input cannot have a value")
        }
    };
    let (sys_exit, user_exit) = exit_pair(last.exit_code.as_ref())?;
    Ok(tagged_struct::<Sha256Impl>(
        "risc0.ReceiptClaim",
        &[
            input,
            system_state_digest(first.pre.as_ref())?,
            system_state_digest(last.post.as_ref())?,
            output,
        ],
        &[sys_exit, user_exit],
    ))
}

fn journal_digest(journal: Option<pb::MaybePruned>) -> Result<Digest> {
    match journal.and_then(|journal| journal.kind) {
        Some(pb::maybe_pruned::Kind::Value(bytes)) => {
            let journal = Vec::<u8>::decode(bytes.as_slice()).context("malformed journal")?;
            Ok(*Sha256Impl::hash_bytes(&journal))
        }
        Some(pb::maybe_pruned::Kind::Pruned(pruned)) => from_proto(Some(pruned), "Output.journal"),
        None => bail!("malformed receipt: Output.journal is missing"),
    }
}

fn system_state_digest(state: Option<&pb::MaybePruned>) -> Result<Digest> {
    match state.and_then(|state| state.kind.as_ref()) {
        Some(pb::maybe_pruned::Kind::Value(bytes)) => {
            let state =
                pb::SystemState::decode(bytes.as_slice()).context("malformed system state")?;
            Ok(SystemState {
                pc: state.pc,
                merkle_root: from_proto(state.merkle_root, "SystemState.merkle_root")?,
            }
            .digest::<Sha256Impl>())
        }
        Some(pb::maybe_pruned::Kind::Pruned(pruned)) => {
            from_proto(Some(pruned.clone()), "SystemState")
        }
        None => bail!("malformed receipt: a claim's system state is missing"),
    }
}

/// The exit code as the claim digest holds it: (system, user).
fn exit_pair(exit_code: Option<&base::ExitCode>) -> Result<(u32, u32)> {
    use base::exit_code::Kind;
    Ok(match exit_code.and_then(|code| code.kind.as_ref()) {
        Some(Kind::Halted(code)) => (0, *code),
        Some(Kind::Paused(code)) => (1, *code),
        Some(Kind::SystemSplit(())) => (2, 0),
        Some(Kind::SessionLimit(())) => (2, 2),
        None => bail!("malformed receipt: a claim's exit code is missing"),
    })
}
