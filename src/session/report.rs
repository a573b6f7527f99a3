//! What a run produced: how it ended, its cycles and segments, its output,
//! and the statistics `--stats-json` writes (the report serialised).

use serde::ser::{Serialize, SerializeStruct, Serializer};
use sha2::Digest as _;

use super::Engine;
use crate::cycle_model::CycleSummary;
use crate::jit::JitStats;
use crate::machine::{Halt, HaltKind};
use crate::segments::ImageDigests;
use crate::stop::Stop;
use crate::syscalls::UsedAssumption;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The guest halted.
    Halted(Halt),
    /// The run stopped without a halt.
    Stopped(Stop),
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// How the run ended.
    pub outcome: Outcome,
    /// The engine that ran it.
    pub engine: Engine,
    /// User cycles executed.
    pub user_cycles: u64,
    /// Segments, paging and total cycles (unless only user cycles were counted).
    pub cycles: Option<CycleSummary>,
    /// Wall-clock time of the run.
    pub wall_seconds: f64,
    /// The image ID and the post-state digest, when the session kept the
    /// image's digests (segments, or [`super::Config::image_digests`]).
    pub image: Option<ImageDigests>,
    /// The journal (fd 3) bytes.
    pub journal: Vec<u8>,
    /// The receipt claims the guest verified, most recent first.
    pub assumptions_used: Vec<UsedAssumption>,
    /// SYS_KECCAK batches the guest asked to be proven.
    pub keccak_proofs: usize,
    /// Captured guest stdout (empty unless `capture_output`).
    pub stdout: Vec<u8>,
    /// Captured guest stderr (empty unless `capture_output`).
    pub stderr: Vec<u8>,
    /// The one-line description of a stop, with guest symbols.
    pub error: Option<String>,
    /// What the JIT did (JIT engine only).
    pub jit: Option<JitStats>,
    /// Cycles per call stack, when the run was profiled
    /// ([`crate::Config::profile`]).
    pub profile: Option<crate::profile::Profile>,
}

impl Report {
    /// The guest's exit code when it halted.
    pub fn exit_code(&self) -> Option<u32> {
        match &self.outcome {
            Outcome::Halted(halt) => Some(halt.exit_code),
            Outcome::Stopped(_) => None,
        }
    }

    /// Millions of user cycles per second.
    pub fn guest_mips(&self) -> f64 {
        if self.wall_seconds > 0.0 {
            self.user_cycles as f64 / self.wall_seconds / 1e6
        } else {
            0.0
        }
    }

    /// `terminate` or `pause` when the guest halted, else `fault`.
    pub fn halt_name(&self) -> &'static str {
        match &self.outcome {
            Outcome::Halted(halt) => match halt.kind {
                HaltKind::Terminate | HaltKind::Other(_) => "terminate",
                HaltKind::Pause => "pause",
            },
            Outcome::Stopped(_) => "fault",
        }
    }
}

/// The statistics `--stats-json` writes: exit code, halt, every cycle
/// count and segment, engine, wall time, guest MIPS, journal length and
/// digest, the image ID and post-state digest (as a receipt's claim names
/// them) and the page-tree roots they are of (as segments' claims hold
/// them), output digest, the error of a run that stopped, and what the JIT
/// did.
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let cycles = self.cycles.as_ref();
        let output_digest = match &self.outcome {
            Outcome::Halted(halt) => Some(hex(&halt.output_digest)),
            Outcome::Stopped(_) => None,
        };
        let digest = |d: &risc0_zkp::core::digest::Digest| hex(d.as_bytes());
        let mut stats = serializer.serialize_struct("Report", 23)?;
        stats.serialize_field("exit_code", &self.exit_code())?;
        stats.serialize_field("halt", self.halt_name())?;
        stats.serialize_field("user_cycles", &self.user_cycles)?;
        stats.serialize_field("po2", &cycles.map(|c| c.po2))?;
        stats.serialize_field("segments", &cycles.map(|c| c.segments))?;
        stats.serialize_field("paging_cycles", &cycles.map(|c| c.paging_cycles))?;
        stats.serialize_field("reserved_cycles", &cycles.map(|c| c.reserved_cycles))?;
        stats.serialize_field("total_cycles", &cycles.map(|c| c.total_cycles))?;
        stats.serialize_field("per_segment", &cycles.map(|c| &c.per_segment))?;
        stats.serialize_field("engine", &self.engine)?;
        stats.serialize_field("wall_seconds", &self.wall_seconds)?;
        stats.serialize_field("guest_mips", &self.guest_mips())?;
        stats.serialize_field("journal_bytes", &self.journal.len())?;
        let journal_digest: [u8; 32] = sha2::Sha256::digest(&self.journal).into();
        stats.serialize_field("journal_digest", &hex(&journal_digest))?;
        let image = self.image.as_ref();
        stats.serialize_field("image_id", &image.map(|i| hex(&i.image_id())))?;
        stats.serialize_field("post_state", &image.map(|i| hex(&i.post_state())))?;
        stats.serialize_field("pre_state_root", &image.map(|i| digest(&i.pre_state_root)))?;
        stats.serialize_field(
            "post_state_root",
            &image.map(|i| digest(&i.post_state_root)),
        )?;
        let assumptions: Vec<String> = self
            .assumptions_used
            .iter()
            .map(|used| used.requested.to_hex())
            .collect();
        stats.serialize_field("assumptions_used", &assumptions)?;
        stats.serialize_field("keccak_proofs", &self.keccak_proofs)?;
        stats.serialize_field("output_digest", &output_digest)?;
        stats.serialize_field("error", &self.error)?;
        stats.serialize_field("jit", &self.jit)?;
        stats.end()
    }
}

/// Bytes as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
