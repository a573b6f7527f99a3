//! Helpers shared by the integration tests: the committed guest ELFs and
//! running them through the library API.
#![allow(dead_code)]

pub mod asm;
pub mod oracle;
pub mod rig;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use zkjit::syscalls::Assumption;
use zkjit::{Config, Engine, Input, Outcome, Program, Report, Session, KERNEL_ELF};

/// The path of committed test guest `name` (without `.elf`).
pub fn guest_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guests")
        .join(format!("{name}.elf"))
}

/// The bytes of committed test guest `name` (without `.elf`).
pub fn guest(name: &str) -> Vec<u8> {
    let path = guest_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs the `zkjit` command with `args` and no stdin.
pub fn zkjit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkjit"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("zkjit runs")
}

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The path of committed real guest `name` (in tests/real_guests/).
pub fn real_guest_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/real_guests")
        .join(name)
}

/// The bytes of committed benchmark guest `name` (without `.elf`).
pub fn bench_guest(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/guests")
        .join(format!("{name}.elf"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The names of the committed benchmark guests (benches/guests/*.elf).
pub fn bench_guests() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/guests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".elf").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// A guest run: its program, arguments, environment and input.
#[derive(Clone, Debug, Default)]
pub struct GuestRun {
    pub name: &'static str,
    pub bare: bool,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub input: Vec<u8>,
    /// Segment size of the cycle model (default: zkjit's default).
    pub po2: Option<u32>,
    /// Receipt claims the guest may verify.
    pub assumptions: Vec<Assumption>,
}

impl GuestRun {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            ..Default::default()
        }
    }

    pub fn bare(mut self) -> Self {
        self.bare = true;
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn input(mut self, input: Vec<u8>) -> Self {
        self.input = input;
        self
    }

    pub fn assumption(mut self, assumption: Assumption) -> Self {
        self.assumptions.push(assumption);
        self
    }

    pub fn po2(mut self, po2: u32) -> Self {
        self.po2 = Some(po2);
        self
    }

    /// The program, under `kernel` unless bare.
    pub fn program(&self, kernel: &[u8]) -> Program {
        Program::from_bytes(&guest(self.name), self.bare, kernel, true).expect("test guest loads")
    }

    /// Runs under `kernel` with `engine`, output captured. The JIT
    /// translates a block at its second entry, so that both tiers run.
    pub fn run_with(&self, kernel: &[u8], engine: Engine) -> Report {
        self.session(kernel, engine).run()
    }

    /// As `run_with`, also making the run's segments: the report and the
    /// SHA-256 of each segment's encoding.
    pub fn run_recording(&self, kernel: &[u8], engine: Engine) -> (Report, Vec<[u8; 32]>) {
        let mut session = self.session(kernel, engine);
        let segments = record_segments(&mut session);
        let report = session.run();
        (report, segments.take())
    }

    fn session(&self, kernel: &[u8], engine: Engine) -> Session {
        let config = Config {
            engine,
            args: self.args.clone(),
            env: self.env.clone(),
            input: Input::Bytes(self.input.clone()),
            capture_output: true,
            random_seed: Some(1),
            jit_threshold: Some(2),
            po2: self.po2,
            assumptions: self.assumptions.clone(),
            ..Config::default()
        };
        Session::new(&self.program(kernel), config).expect("session")
    }

    /// Runs under `kernel` on the interpreter and on the JIT, checks that
    /// everything observable is identical, and returns the JIT's report.
    pub fn run_both(&self, kernel: &[u8]) -> Report {
        let interp = self.run_with(kernel, Engine::Interp);
        let jit = self.run_with(kernel, Engine::Jit);
        self.assert_same(&jit, &interp);
        jit
    }

    /// As `run_both`, also checking that both engines make the same
    /// segments: the JIT's report and its segments' digests.
    pub fn run_both_recording(&self, kernel: &[u8]) -> (Report, Vec<[u8; 32]>) {
        let (interp, interp_segments) = self.run_recording(kernel, Engine::Interp);
        let (jit, jit_segments) = self.run_recording(kernel, Engine::Jit);
        self.assert_same(&jit, &interp);
        assert!(
            jit_segments == interp_segments,
            "{}: segments, JIT vs interpreter",
            self.name
        );
        (jit, jit_segments)
    }

    /// Checks that the JIT's run showed what the interpreter's did.
    fn assert_same(&self, jit: &Report, interp: &Report) {
        let name = self.name;
        assert_eq!(
            jit.outcome, interp.outcome,
            "{name}: outcome, JIT vs interpreter"
        );
        assert_eq!(
            jit.user_cycles, interp.user_cycles,
            "{name}: user cycles, JIT vs interpreter"
        );
        assert_eq!(
            jit.cycles, interp.cycles,
            "{name}: segments and cycles, JIT vs interpreter"
        );
        assert_eq!(
            jit.journal, interp.journal,
            "{name}: journal, JIT vs interpreter"
        );
        assert_eq!(
            jit.stdout, interp.stdout,
            "{name}: stdout, JIT vs interpreter"
        );
        assert_eq!(
            jit.stderr, interp.stderr,
            "{name}: stderr, JIT vs interpreter"
        );
        assert_eq!(jit.error, interp.error, "{name}: error, JIT vs interpreter");
    }

    /// Runs under zkjit's kernel on both engines (see `run_both`).
    pub fn run(&self) -> Report {
        self.run_both(KERNEL_ELF)
    }
}

/// The SHA-256 of each segment's encoding, as a session makes them.
#[derive(Clone, Default)]
pub struct SegmentDigests(Arc<Mutex<Vec<[u8; 32]>>>);

impl SegmentDigests {
    /// The digests so far.
    pub fn take(&self) -> Vec<[u8; 32]> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Makes `session` keep the digest of each segment it makes.
pub fn record_segments(session: &mut Session) -> SegmentDigests {
    let digests = SegmentDigests::default();
    let sink = digests.clone();
    session
        .on_segment(move |segment| {
            sink.0
                .lock()
                .unwrap()
                .push(oracle::sha256(&segment.encode()));
            Ok(())
        })
        .expect("segments");
    digests
}

/// The exit code of a halted run; panics with the error otherwise.
pub fn exit_code(report: &Report) -> u32 {
    match &report.outcome {
        Outcome::Halted(halt) => halt.exit_code,
        Outcome::Stopped(_) => panic!(
            "guest did not halt: {}",
            report.error.as_deref().unwrap_or("?")
        ),
    }
}

/// Checks that zkjit's cycles of every kind and its segment count are the
/// oracle's.
pub fn assert_cycles_match(name: &str, po2: u32, ours: &Report, oracle: &oracle::OracleRun) {
    let cycles = ours
        .cycles
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no cycle model"));
    let what = |kind: &str| format!("{name} at po2 {po2}: {kind}");
    assert_eq!(
        ours.user_cycles,
        oracle.user_cycles,
        "{}",
        what("user cycles")
    );
    assert_eq!(cycles.segments, oracle.segments, "{}", what("segments"));
    assert_eq!(
        cycles.paging_cycles,
        oracle.paging_cycles,
        "{}",
        what("paging cycles")
    );
    assert_eq!(
        cycles.reserved_cycles,
        oracle.reserved_cycles,
        "{}",
        what("reserved cycles")
    );
    assert_eq!(
        cycles.total_cycles,
        oracle.total_cycles,
        "{}",
        what("total cycles")
    );
}

/// Checks that zkjit made the oracle's segments, byte for byte, and that
/// its image ID and post-state are the oracle's claim's.
pub fn assert_segments_match(
    name: &str,
    po2: u32,
    ours: &Report,
    segments: &[[u8; 32]],
    oracle: &oracle::OracleRun,
) {
    let image = ours
        .image
        .unwrap_or_else(|| panic!("{name} at po2 {po2}: no image digests"));
    assert_eq!(
        image.pre_state_root.as_bytes(),
        oracle.pre_state,
        "{name} at po2 {po2}: image ID"
    );
    assert_eq!(
        image.post_state_root.as_bytes(),
        oracle.post_state,
        "{name} at po2 {po2}: post-state"
    );
    assert_eq!(
        segments.len(),
        oracle.segment_digests.len(),
        "{name} at po2 {po2}: segments made"
    );
    if let Some(first) = (0..segments.len()).find(|&i| segments[i] != oracle.segment_digests[i]) {
        panic!(
            "{name} at po2 {po2}: segment {first} of {} differs from the oracle's",
            segments.len()
        );
    }
}

/// Input bytes of a fixed pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}
