//! A risc0 host program, as users write them, run twice on each guest:
//! through `default_executor()` with `RISC0_EXECUTOR=ipc` and
//! `RISC0_SERVER_PATH` at zkjit-r0vm, and with `RISC0_EXECUTOR=local`
//! (risc0-zkvm's own executor). Everything the host sees must be equal:
//! the `SessionInfo` (exit code, each segment's po2 and cycles, journal,
//! receipt claim), the guest's stdout, the error of a failing guest, and
//! (through `ApiClient`) every segment's bytes. Then it times a long guest
//! both ways.
//!
//! Usage: r0vm-client ZKJIT_R0VM REPO_ROOT [--only NAME_PART] [--time GUEST.elf]

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use risc0_binfmt::ProgramBinary;
use risc0_zkos_v1compat::V1COMPAT_ELF;
use risc0_zkvm::sha::{Digest, Digestible};
use risc0_zkvm::{
    default_executor, ApiClient, Asset, AssetRequest, Assumption, AssumptionReceipt,
    CoprocessorCallback, ExecutorEnv, ExecutorImpl, NullSegmentRef, ProveKeccakRequest, SegmentRef,
};

mod receipts;

/// One program run and what it is given.
struct Case {
    name: String,
    /// What the local executor's summary must hold (checks the case
    /// tests what it means to).
    expect: Option<&'static str>,
    binary: Vec<u8>,
    stdin: Vec<u8>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    assumptions: Vec<AssumptionReceipt>,
    /// Whether the guest calls the host function "zkjit::reverse".
    host_function: bool,
    /// The keccak proof size to batch for (risc0-zkvm's default if none).
    keccak_po2: Option<u32>,
    /// Whether keccak batches go to a coprocessor callback (which lists them).
    coprocessor: bool,
}

/// A coprocessor that lists the keccak proofs asked of it.
struct ListingCoprocessor<'a>(&'a std::cell::RefCell<Vec<String>>);

impl CoprocessorCallback for ListingCoprocessor<'_> {
    fn prove_keccak(&mut self, request: ProveKeccakRequest) -> Result<()> {
        let inputs: Vec<u8> = request
            .input
            .iter()
            .flatten()
            .flat_map(|l| l.to_le_bytes())
            .collect();
        self.0.borrow_mut().push(format!(
            "keccak proof po2 {} claim {} root {} of {} inputs (sha256 {})",
            request.po2,
            request.claim_digest,
            request.control_root,
            request.input.len(),
            <risc0_zkvm::sha::Impl as risc0_zkvm::sha::Sha256>::hash_bytes(&inputs)
        ));
        Ok(())
    }
}

impl Case {
    fn new(name: &str, binary: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            expect: None,
            binary,
            stdin: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            assumptions: Vec::new(),
            host_function: false,
            keccak_po2: None,
            coprocessor: false,
        }
    }

    fn env<'a>(
        &'a self,
        po2: u32,
        stdout: &'a mut Vec<u8>,
        proofs: &'a std::cell::RefCell<Vec<String>>,
    ) -> Result<ExecutorEnv<'a>> {
        let mut builder = ExecutorEnv::builder();
        builder
            .stdin(self.stdin.as_slice())
            .stdout(stdout)
            .args(&self.args)
            .segment_limit_po2(po2);
        for (key, value) in &self.env {
            builder.env_var(key, value);
        }
        if self.host_function {
            builder.io_callback("zkjit::reverse", |from_guest: risc0_zkvm::Bytes| {
                let mut answer = from_guest.to_vec();
                answer.reverse();
                Ok(answer.into())
            });
        }
        for assumption in &self.assumptions {
            builder.add_assumption(assumption.clone());
        }
        if let Some(keccak_po2) = self.keccak_po2 {
            builder.keccak_max_po2(keccak_po2)?;
        }
        if self.coprocessor {
            builder.coprocessor_callback(ListingCoprocessor(proofs));
        }
        builder.build()
    }
}

/// A user ELF with risc0's v1compat kernel, as an R0BF binary.
fn with_kernel(elf: &[u8]) -> Vec<u8> {
    ProgramBinary::new(elf, V1COMPAT_ELF).encode()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// What the host sees of a run through `default_executor()`.
fn session(case: &Case, po2: u32, executor: &str) -> (String, Vec<u8>) {
    std::env::set_var("RISC0_EXECUTOR", executor);
    let mut stdout = Vec::new();
    let proofs = std::cell::RefCell::new(Vec::new());
    let summary = case
        .env(po2, &mut stdout, &proofs)
        .and_then(|env| default_executor().execute(env, &case.binary))
        .map(|info| {
            let segments: Vec<(u32, u32)> =
                info.segments.iter().map(|s| (s.po2, s.cycles)).collect();
            let claim = info.receipt_claim.as_ref().map(|c| c.digest());
            // How many assumptions the claim leaves to the prover.
            let unresolved = info
                .receipt_claim
                .as_ref()
                .and_then(|claim| claim.output.as_value().ok()?.clone())
                .and_then(|output| Some(output.assumptions.as_value().ok()?.0.len()));
            format!(
                "exit {:?}, journal {:02x?}, segments {segments:?}, unresolved assumptions {unresolved:?}, claim {claim:?} {:?}, coprocessor {:?}",
                info.exit_code, info.journal.bytes, info.receipt_claim, proofs.borrow()
            )
        });
    let summary = summary.unwrap_or_else(|e| format!("error: {e:#}"));
    (summary, stdout)
}

/// Every segment's bytes, from zkjit-r0vm and from the local executor
/// (twice: a guest that reads host randomness makes different ones).
type Segments = Vec<Vec<u8>>;
fn segments(case: &Case, po2: u32, r0vm: &Path) -> Result<(Segments, Segments, Segments)> {
    let mut sink = Vec::new();
    let mut ours = Vec::new();
    let proofs = std::cell::RefCell::new(Vec::new());
    let env = case.env(po2, &mut sink, &proofs)?;
    ApiClient::new_sub_process(r0vm)?.execute(
        &env,
        Asset::Inline(case.binary.clone().into()),
        AssetRequest::Inline,
        |_, asset| {
            ours.push(asset.as_bytes()?.to_vec());
            Ok(())
        },
    )?;
    let local = || -> Result<Segments> {
        let mut theirs = Vec::new();
        let mut sink = Vec::new();
        let proofs = std::cell::RefCell::new(Vec::new());
        let env = case.env(po2, &mut sink, &proofs)?;
        ExecutorImpl::from_elf(env, &case.binary)?.run_with_callback(|segment| {
            theirs.push(bincode::serialize(&segment)?);
            Ok(Box::new(NullSegmentRef) as Box<dyn SegmentRef>)
        })?;
        Ok(theirs)
    };
    Ok((ours, local()?, local()?))
}

fn cases(root: &Path) -> Vec<Case> {
    let guest = |name: &str| with_kernel(&read(&root.join(format!("tests/guests/{name}.elf"))));
    let mut cases = Vec::new();
    for name in [
        "hello",
        "heap",
        "cycles",
        "sha",
        "poseidon2",
        "bigint2",
        "recursion",
    ] {
        cases.push(Case::new(name, guest(name)));
    }
    let mut echo = Case::new("echo (stdin, journal)", guest("echo"));
    echo.stdin = b"a line from the host\n".to_vec();
    cases.push(echo);
    let mut exit = Case::new("exit_code 7", guest("exit_code"));
    exit.args = vec!["7".into()];
    cases.push(exit);
    let mut args_env = Case::new("args_env", guest("args_env"));
    args_env.args = vec!["one".into(), "two".into()];
    args_env.env = vec![("ZKJIT".into(), "r0vm".into())];
    cases.push(args_env);
    let mut host_function = Case::new("host_function (slice I/O)", guest("host_function"));
    host_function.args = vec!["zkjit r0vm host function".into()];
    host_function.host_function = true;
    cases.push(host_function);
    let mut panic = Case::new("trap panic", guest("trap"));
    panic.args = vec!["panic".into()];
    cases.push(panic);
    let mut looping = Case::new(
        "risc0's datasheet loop",
        with_kernel(&read(&root.join("tests/real_guests/loop.bin"))),
    );
    looping.stdin = 100_000u32.to_le_bytes().to_vec();
    cases.push(looping);
    // A Rust guest built with risc0-zkvm 3 (risc0-povw's log builder): its
    // input is borsh State::Initial with a log ID, no updates, and its own
    // image ID; it commits a journal.
    let povw = read(&root.join("tests/real_guests/risc0-povw-log-builder.bin"));
    let image_id = ProgramBinary::decode(&povw)
        .and_then(|binary| binary.compute_image_id())
        .expect("an R0BF binary");
    let mut payload = vec![0u8];
    payload.extend(1..=20u8);
    payload.extend(0u32.to_le_bytes());
    payload.extend(image_id.as_bytes());
    let mut log_builder = Case::new("risc0-povw log builder (Rust, journal)", povw);
    log_builder.stdin = (payload.len() as u32).to_le_bytes().to_vec();
    log_builder.stdin.extend(&payload);
    cases.push(log_builder);
    let mut composition = Case::new(
        "composition (keccak, assumptions, pipe)",
        guest("composition"),
    );
    composition.assumptions = vec![Assumption {
        claim: Digest::from([0x11111111u32; 8]),
        control_root: Digest::ZERO,
    }
    .into()];
    cases.push(composition);
    // Keccak batches: 200 permutations, in 3 batches at keccak po2 14, to
    // the claim (their root assumption left out) or to a coprocessor.
    for (name, po2, coprocessor) in [
        ("keccak batches (po2 14, claim)", Some(14), false),
        ("keccak batches (po2 17, claim)", None, false),
        ("keccak batches (po2 14, coprocessor)", Some(14), true),
    ] {
        let mut case = Case::new(name, guest("keccak_batches"));
        case.stdin = receipts::keccak_batches_input(200, po2.unwrap_or(17));
        case.keccak_po2 = po2;
        case.coprocessor = coprocessor;
        // Only the coprocessor's root stays for the prover to resolve.
        case.expect = Some(if coprocessor {
            "unresolved assumptions Some(1)"
        } else {
            "unresolved assumptions Some(0)"
        });
        cases.push(case);
    }
    // Proven and unresolved assumptions, each verified by the guest.
    let mut verify = Case::new(
        "verify claims (receipts and claims)",
        guest("verify_claims"),
    );
    (verify.assumptions, verify.stdin) = receipts::assumptions_and_requests();
    // The two unresolved claims; the three receipts resolve theirs.
    verify.expect = Some("unresolved assumptions Some(2)");
    cases.push(verify);
    for name in ["fib", "secp256k1"] {
        cases.push(Case::new(
            name,
            with_kernel(&read(&root.join(format!("benches/guests/{name}.elf")))),
        ));
    }
    cases
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: r0vm-client ZKJIT_R0VM REPO_ROOT [--only NAME_PART] [--time GUEST.elf]");
    }
    let r0vm = PathBuf::from(&args[1])
        .canonicalize()
        .context("the zkjit-r0vm binary")?;
    let root = PathBuf::from(&args[2]);
    std::env::set_var("RISC0_SERVER_PATH", &r0vm);
    if let Some(position) = args.iter().position(|a| a == "--time") {
        let elf = read(Path::new(&args[position + 1]));
        let case = Case::new(&args[position + 1], with_kernel(&elf));
        for executor in ["ipc", "local"] {
            let start = Instant::now();
            let (summary, _) = session(&case, 20, executor);
            println!(
                "{executor}: {:.3} s ({})",
                start.elapsed().as_secs_f64(),
                &summary[..summary.len().min(100)]
            );
        }
        return Ok(());
    }
    // --only: the cases whose name holds this text.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|position| args.get(position + 1));
    let mut failures = 0;
    for case in cases(&root)
        .into_iter()
        .filter(|case| only.is_none_or(|only| case.name.contains(only.as_str())))
    {
        for po2 in [16, 20] {
            let (expected, expected_stdout) = session(&case, po2, "local");
            if std::env::var_os("R0VM_CLIENT_SHOW").is_some() {
                println!("  local: {expected}");
            }
            if let Some(expect) = case.expect.filter(|expect| !expected.contains(expect)) {
                println!(
                    "FAIL {}: the local executor's run lacks {expect:?}: {expected}",
                    case.name
                );
                failures += 1;
            }
            for engine in ["jit", "interp"] {
                std::env::set_var("ZKJIT_ENGINE", engine);
                let (got, stdout) = session(&case, po2, "ipc");
                let mut ok = got == expected && stdout == expected_stdout;
                if !expected.starts_with("error") {
                    let (ours, theirs, again) = segments(&case, po2, &r0vm)?;
                    let sizes =
                        |segments: &[Vec<u8>]| segments.iter().map(Vec::len).collect::<Vec<_>>();
                    if theirs != again {
                        // The guest read host randomness (SYS_RANDOM), which
                        // the segments record: only their sizes can agree.
                        if sizes(&ours) != sizes(&theirs) {
                            println!(
                                "  segment sizes differ: {:?} and {:?}",
                                sizes(&ours),
                                sizes(&theirs)
                            );
                            ok = false;
                        }
                    } else if ours != theirs {
                        println!(
                            "  segments differ: {} from zkjit-r0vm, {} from the local executor; first differing {:?}",
                            ours.len(),
                            theirs.len(),
                            ours.iter().zip(&theirs).position(|(a, b)| a != b)
                        );
                        ok = false;
                    }
                }
                println!(
                    "{} {} po2 {po2} {engine}: {}",
                    if ok { "ok  " } else { "FAIL" },
                    case.name,
                    &got[..got.len().min(90)]
                );
                if !ok {
                    failures += 1;
                    println!("  zkjit-r0vm: {got}\n  local:      {expected}");
                    println!(
                        "  stdout: {:?}\n  local:  {:?}",
                        String::from_utf8_lossy(&stdout),
                        String::from_utf8_lossy(&expected_stdout)
                    );
                }
            }
        }
    }
    if failures > 0 {
        bail!("{failures} runs differ");
    }
    println!("all runs equal");
    Ok(())
}
