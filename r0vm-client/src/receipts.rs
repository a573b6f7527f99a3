//! What two guests need from the host, made with risc0's own types: the
//! keccak batches' root assumption (`keccak_batches.elf`), and receipts of
//! every kind with the claims a guest verifies with them
//! (`verify_claims.elf`). Receipts carry no seals: executing does not
//! verify them, only their claims (and a succinct receipt's control root)
//! count.

use risc0_circuit_keccak::{compute_keccak_digest, KECCAK_CONTROL_ROOT};
use risc0_zkp::core::hash::hash_suite_from_name;
use risc0_zkvm::sha::Digest;
use risc0_zkvm::sha::Digestible;
use risc0_zkvm::{
    Assumption, AssumptionReceipt, CompositeReceipt, FakeReceipt, GenericReceipt, InnerReceipt,
    MaybePruned, ReceiptClaim, SegmentReceipt, SuccinctReceipt, UnionClaim, ALLOWED_CONTROL_ROOT,
};
use serde::Serialize;

/// The stdin of keccak_batches.elf for `n` permutations batched for keccak
/// proofs of 2^`po2` cycles: `n`, then the claim and control root of the
/// root of the Merkle mountain range of the batches' claims.
pub fn keccak_batches_input(n: u32, po2: u32) -> Vec<u8> {
    let mut state = [0u64; 25];
    let mut inputs = Vec::new();
    for _ in 0..n {
        inputs.push(state);
        keccak::f1600(&mut state);
    }
    let union = |a: &Assumption, b: &Assumption| {
        let (a, b) = (a.digest(), b.digest());
        let (left, right) = if a <= b { (a, b) } else { (b, a) };
        Assumption {
            claim: UnionClaim { left, right }.digest(),
            control_root: ALLOWED_CONTROL_ROOT,
        }
    };
    let mut peaks: Vec<(Assumption, u32)> = Vec::new();
    for batch in inputs.chunks((1 << po2) / 200) {
        let bytes: Vec<u8> = batch
            .iter()
            .flatten()
            .flat_map(|l| l.to_le_bytes())
            .collect();
        let mut peak = (
            Assumption {
                claim: compute_keccak_digest(&bytes),
                control_root: KECCAK_CONTROL_ROOT,
            },
            0,
        );
        while peaks.last().is_some_and(|last| last.1 == peak.1) {
            let last = peaks.pop().unwrap();
            peak = (union(&peak.0, &last.0), peak.1 + 1);
        }
        peaks.push(peak);
    }
    let mut root = peaks[0].0.clone();
    for peak in &peaks[1..] {
        root = union(&root, &peak.0);
    }
    let mut stdin = n.to_le_bytes().to_vec();
    stdin.extend(root.claim.as_bytes());
    stdin.extend(root.control_root.as_bytes());
    stdin
}

/// A succinct receipt's fields, in its serialised order.
#[derive(Serialize)]
struct SuccinctFields {
    seal: Vec<u32>,
    control_id: Digest,
    claim: MaybePruned<ReceiptClaim>,
    hashfn: String,
    verifier_parameters: Digest,
    control_inclusion_proof: (u32, Vec<Digest>),
}

/// A segment receipt's fields, in its serialised order.
#[derive(Serialize)]
struct SegmentFields {
    seal: Vec<u32>,
    index: u32,
    hashfn: String,
    verifier_parameters: Digest,
    claim: ReceiptClaim,
}

/// A composite receipt's fields, in its serialised order.
#[derive(Serialize)]
struct CompositeFields {
    segments: Vec<SegmentReceipt>,
    assumption_receipts: Vec<InnerReceipt>,
    verifier_parameters: Digest,
}

fn rebuild<T: serde::de::DeserializeOwned>(fields: &impl Serialize) -> T {
    bincode::deserialize(&bincode::serialize(fields).unwrap()).unwrap()
}

/// Assumptions of each kind, and the stdin of verify_claims.elf that
/// verifies each: two unresolved claims (one asked for with its control
/// root, one with any), a fake receipt, a succinct receipt (asked for with
/// the control root its inclusion proof gives) and a composite receipt of
/// two segments.
pub fn assumptions_and_requests() -> (Vec<AssumptionReceipt>, Vec<u8>) {
    let digest = |word: u32| Digest::from([word; 8]);
    let mut assumptions: Vec<AssumptionReceipt> = Vec::new();
    let mut requests: Vec<(Digest, Digest)> = Vec::new();

    assumptions.push(
        Assumption {
            claim: digest(0x22),
            control_root: digest(0x5a),
        }
        .into(),
    );
    requests.push((digest(0x22), digest(0x5a)));
    assumptions.push(
        Assumption {
            claim: digest(0x23),
            control_root: digest(0x5b),
        }
        .into(),
    );
    requests.push((digest(0x23), Digest::ZERO));

    let fake =
        GenericReceipt::<ReceiptClaim>::Fake(FakeReceipt::new(MaybePruned::Pruned(digest(0x33))));
    assumptions.push(fake.into());
    requests.push((digest(0x33), Digest::ZERO));

    let (control_id, index, siblings) = (digest(0x44), 5u32, vec![digest(1), digest(2), digest(3)]);
    let succinct: SuccinctReceipt<ReceiptClaim> = rebuild(&SuccinctFields {
        seal: vec![],
        control_id,
        claim: MaybePruned::Pruned(digest(0x34)),
        hashfn: "poseidon2".into(),
        verifier_parameters: Digest::ZERO,
        control_inclusion_proof: (index, siblings.clone()),
    });
    let hashfn = hash_suite_from_name("poseidon2").unwrap().hashfn;
    let mut control_root = control_id;
    for (level, sibling) in siblings.iter().enumerate() {
        control_root = if (index >> level) & 1 == 0 {
            *hashfn.hash_pair(&control_root, sibling)
        } else {
            *hashfn.hash_pair(sibling, &control_root)
        };
    }
    assumptions.push(GenericReceipt::Succinct(succinct).into());
    requests.push((digest(0x34), control_root));

    let segment = |index: u32, claim: ReceiptClaim| -> SegmentReceipt {
        rebuild(&SegmentFields {
            seal: vec![],
            index,
            hashfn: "poseidon2".into(),
            verifier_parameters: Digest::ZERO,
            claim,
        })
    };
    let composite: CompositeReceipt = rebuild(&CompositeFields {
        segments: vec![
            segment(
                0,
                ReceiptClaim::ok(digest(0x66), b"not the journal".to_vec()),
            ),
            segment(
                1,
                ReceiptClaim::ok(digest(0x67), b"a composite journal".to_vec()),
            ),
        ],
        assumption_receipts: vec![],
        verifier_parameters: Digest::ZERO,
    });
    let composite = InnerReceipt::Composite(composite);
    requests.push((composite.claim().unwrap().digest(), Digest::ZERO));
    assumptions.push(composite.into());

    let mut stdin = (requests.len() as u32).to_le_bytes().to_vec();
    for (claim, control_root) in requests {
        stdin.extend(claim.as_bytes());
        stdin.extend(control_root.as_bytes());
    }
    (assumptions, stdin)
}
