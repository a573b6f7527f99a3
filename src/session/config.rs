//! How a run is configured: the engine, limits, the guest's arguments,
//! environment and input, and the cycle model's segment size.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::cycle_model::{CycleModel, DEFAULT_PO2, PO2_RANGE};
use crate::syscalls::Assumption;

/// Which engine executes the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Cranelift-compiled basic blocks over the interpreter.
    #[default]
    Jit,
    /// The reference interpreter.
    Interp,
    /// The JIT and the interpreter in lockstep, stopping at the first divergence.
    Diff,
}

impl Engine {
    /// The engine's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Jit => "jit",
            Engine::Interp => "interp",
            Engine::Diff => "diff",
        }
    }
}

/// Where guest stdin comes from.
#[derive(Clone, Debug, Default)]
pub enum Input {
    /// Nothing: reads see end of input.
    #[default]
    Empty,
    /// The process's stdin.
    Stdin,
    /// These bytes.
    Bytes(Vec<u8>),
    /// This file.
    File(PathBuf),
}

/// How to run a program.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The engine.
    pub engine: Engine,
    /// Stop with [`Stop::CycleLimit`] after this many user cycles.
    pub max_cycles: Option<u64>,
    /// Guest arguments (SYS_ARGC/SYS_ARGV).
    pub args: Vec<String>,
    /// Guest environment (SYS_GETENV).
    pub env: BTreeMap<String, String>,
    /// Guest stdin.
    pub input: Input,
    /// Keep guest stdout and stderr in the report instead of passing them through.
    pub capture_output: bool,
    /// Seed of SYS_RANDOM (a fixed one when output is captured, else from the clock).
    pub random_seed: Option<u64>,
    /// Entries of a block before the JIT translates it (default:
    /// [`crate::jit::DEFAULT_THRESHOLD`], after [`crate::jit::DEFAULT_WARMUP_CYCLES`]; a
    /// threshold given here applies from the first cycle).
    pub jit_threshold: Option<u32>,
    /// Show a live progress line on stderr when the run lasts over a second.
    pub progress: bool,
    /// Segment size of the cycle model, as log2 of its cycles (13 to 24;
    /// default [`DEFAULT_PO2`]).
    pub po2: Option<u32>,
    /// Count user cycles only: no paging, no segments (the fastest run).
    pub user_cycles_only: bool,
    /// Receipt claims the guest may verify (SYS_VERIFY_INTEGRITY).
    pub assumptions: Vec<Assumption>,
    /// Keep the memory image's page tree over the run, so the report
    /// names the image ID and the post-state digest (needs the cycle
    /// model; [`crate::Session::on_segment`] keeps it too).
    pub image_digests: bool,
    /// Time, output, memory and interrupt limits (none by default).
    pub limits: super::Limits,
    /// Profile the run: user and paging cycles per call stack of guest
    /// functions, in [`crate::Report::profile`] (not with the
    /// differential engine).
    pub profile: bool,
}

impl Config {
    /// The cycle model this configuration asks for.
    pub(super) fn cycle_model(&self) -> anyhow::Result<CycleModel> {
        if self.user_cycles_only {
            return Ok(CycleModel::user_only());
        }
        let po2 = self.po2.unwrap_or(DEFAULT_PO2);
        if !PO2_RANGE.contains(&po2) {
            anyhow::bail!(
                "segment po2 {po2} is out of range: provers take {} to {}",
                PO2_RANGE.start(),
                PO2_RANGE.end()
            );
        }
        Ok(CycleModel::new(po2))
    }
}
