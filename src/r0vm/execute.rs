//! An `ExecuteRequest`, run by zkjit: the environment the client sent
//! (binary, arguments, variables, files, segment size, session limit,
//! assumptions) becomes a [`Session`], the client's files are served
//! through it, each segment goes back as `OnSegmentDone` while the run
//! goes on, and the session ends in `OnSessionDone` with the journal, the
//! exit code and the receipt claim risc0-zkvm's executor would give.

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use prost::Message;
use risc0_zkp::core::digest::Digest;

use super::claim::{
    encode_segment, keccak_root_assumption, receipt_claim, unresolved_assumptions, ExitCode,
};
use super::connection::SharedConnection;
use super::io_proxy::{client_host_function, client_keccak_prover, ClientFile};
use super::protos::api;
use crate::host::Sink;
use crate::loader::{LoadError, Program, KERNEL_ELF};
use crate::segments::Segment;
use crate::session::{Config, Engine, Outcome, Session};
use crate::stop::Stop;
use crate::syscalls::{fd, KeccakProofRequest, SliceIo};

/// Where segment bytes go: in the message, or as files in a directory.
#[derive(Clone)]
enum SegmentsOut {
    Inline,
    Directory(PathBuf),
}

impl SegmentsOut {
    fn from_request(request: Option<api::AssetRequest>) -> Result<Self> {
        match request.and_then(|request| request.kind) {
            Some(api::asset_request::Kind::Inline(())) => Ok(Self::Inline),
            Some(api::asset_request::Kind::Path(path)) => Ok(Self::Directory(path.into())),
            Some(api::asset_request::Kind::Redis(_)) => {
                bail!("segments to Redis are not supported by zkjit-r0vm: ask for them inline or in a directory")
            }
            None => bail!("malformed request: ExecuteRequest.segments_out is missing"),
        }
    }

    /// The asset holding `bytes`, the segment `name`.
    fn asset(&self, name: &str, bytes: Vec<u8>) -> Result<api::Asset> {
        Ok(api::Asset {
            kind: Some(match self {
                Self::Inline => api::asset::Kind::Inline(bytes),
                Self::Directory(dir) => {
                    let path = dir.join(name);
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("cannot write segment {}", path.display()))?;
                    api::asset::Kind::Path(path.to_string_lossy().into_owned())
                }
            }),
        })
    }
}

/// The bytes of an asset the client sent.
pub(super) fn asset_bytes(asset: Option<api::Asset>, what: &str) -> Result<Vec<u8>> {
    match asset.and_then(|asset| asset.kind) {
        Some(api::asset::Kind::Inline(bytes)) => Ok(bytes),
        Some(api::asset::Kind::Path(path)) => {
            std::fs::read(&path).with_context(|| format!("cannot read the {what} at {path}"))
        }
        Some(api::asset::Kind::Redis(_)) => {
            bail!("the {what} is in Redis, which zkjit-r0vm does not read")
        }
        None => bail!("malformed request: the {what} is missing"),
    }
}

/// The error risc0-zkvm's executor gives for a run that stopped.
fn stop_error(stop: &Stop, report_error: Option<&str>, user_cycles: u64) -> String {
    match stop {
        Stop::GuestPanic(message) => format!("Guest panicked: {message}"),
        Stop::CycleLimit { limit, .. } => {
            format!("Session limit exceeded: {user_cycles} >= {limit}")
        }
        other => report_error.map_or_else(|| other.to_string(), str::to_string),
    }
}

/// Runs `request` for the client on `connection`; the reply that ends the
/// session (`OnSessionDone`, or the error).
pub fn execute(
    connection: &SharedConnection,
    request: api::ExecuteRequest,
    engine: Engine,
) -> Result<api::ServerReply> {
    let env = request
        .env
        .ok_or_else(|| anyhow!("malformed request: ExecuteRequest.env is missing"))?;
    let segments_out = SegmentsOut::from_request(request.segments_out)?;
    let binary = asset_bytes(env.binary, "binary")?;
    let program = Program::from_bytes(&binary, false, KERNEL_ELF, false)
        .map_err(|LoadError(message)| anyhow!("cannot load the binary: {message}"))?;
    if !env.pprof_out.is_empty() {
        bail!("zkjit-r0vm does not write cycle profiles (pprof_out) yet");
    }
    let config = Config {
        engine,
        max_cycles: env.session_limit,
        args: env.args,
        env: env.env_vars.into_iter().collect(),
        po2: Some(
            env.segment_limit_po2
                .unwrap_or(crate::cycle_model::DEFAULT_PO2),
        ),
        assumptions: super::assumptions::from_receipts(env.assumptions)?,
        ..Config::default()
    };
    let mut session = Session::new(&program, config)?;

    // The client's files: reads and writes become requests to it.
    let io = session.io_mut();
    io.set_random_seed(crate::host::HostIo::process().next_random_seed());
    io.stdin = Box::new(std::io::empty());
    for fd in env.read_fds {
        let file = Box::new(BufReader::new(ClientFile::new(fd, connection.clone())));
        match fd {
            fd::STDIN => io.stdin = file,
            // The journal is the executor's.
            fd::JOURNAL => {}
            _ => {
                io.read_files.insert(fd, file);
            }
        }
    }
    for fd in env.write_fds {
        let file = Box::new(ClientFile::new(fd, connection.clone()));
        match fd {
            fd::STDOUT => io.stdout = Sink::Writer(file),
            fd::STDERR => io.stderr = Sink::Writer(file),
            fd::JOURNAL => {}
            _ => {
                io.write_files.insert(fd, file);
            }
        }
    }

    // Keccak batches go to the client's coprocessor as the guest proves
    // them, or are kept for the claim, as risc0-zkvm's executor keeps them.
    if let Some(po2) = env.keccak_max_po2 {
        io.keccak.set_po2(po2).map_err(|reason| anyhow!(reason))?;
    }
    let pending_keccaks: Arc<Mutex<Vec<Digest>>> = Arc::default();
    io.keccak.prover = Some(if env.coprocessor {
        client_keccak_prover(connection.clone())
    } else {
        let pending_keccaks = pending_keccaks.clone();
        Box::new(move |request: KeccakProofRequest| {
            let claim = Digest::from(request.circuit_claim_digest());
            pending_keccaks.lock().expect("not poisoned").push(claim);
            Ok(())
        })
    });

    for name in env.slice_ios {
        let handler = client_host_function(name.clone(), connection.clone());
        io.slice_io.insert(name, SliceIo::new(handler));
    }

    // Segments go back as they are made, but the one the guest ended in
    // carries the journal and the assumptions used, known once the run is
    // over: it waits for that.
    let last_segment: Arc<Mutex<Option<Segment>>> = Arc::default();
    let segment_count = Arc::new(Mutex::new(0u32));
    {
        let (connection, segments_out) = (connection.clone(), segments_out.clone());
        let (last_segment, segment_count) = (last_segment.clone(), segment_count.clone());
        session.on_segment(move |segment| {
            *segment_count.lock().expect("not poisoned") += 1;
            if segment.claim.terminate_state.is_some() {
                *last_segment.lock().expect("not poisoned") = Some(segment);
                return Ok(());
            }
            let bytes = encode_segment(&segment, None);
            send_segment(&connection, &segments_out, &segment, bytes)
        })?;
    }

    let report = session.run();
    let segments = *segment_count.lock().expect("not poisoned");
    let halt = match &report.outcome {
        Outcome::Halted(halt) => *halt,
        Outcome::Stopped(stop) => {
            return Ok(error_reply(stop_error(
                stop,
                report.error.as_deref(),
                report.user_cycles,
            )))
        }
    };
    let exit_code = ExitCode::of(&halt).ok_or_else(|| {
        anyhow!(
            "the guest halted with halt type {}, which a receipt cannot claim",
            halt.a0() & 0xffff
        )
    })?;
    let last = last_segment
        .lock()
        .expect("not poisoned")
        .take()
        .ok_or_else(|| anyhow!("the run ended without its last segment"))?;
    // The journal counts only if the guest set an output digest.
    let journal = last
        .claim
        .output
        .filter(|digest| *digest != Digest::ZERO)
        .map(|_| report.journal.as_slice());
    let bytes = encode_segment(
        &last,
        journal.map(|j| (j, report.assumptions_used.as_slice())),
    );
    send_segment(connection, &segments_out, &last, bytes)?;

    let image = report
        .image
        .as_ref()
        .ok_or_else(|| anyhow!("the run kept no image digests"))?;
    let keccak_root = keccak_root_assumption(&pending_keccaks.lock().expect("not poisoned"));
    let claim = receipt_claim(
        exit_code,
        &image.pre_state_root,
        &image.post_state_root,
        journal,
        &unresolved_assumptions(&report.assumptions_used, keccak_root.as_ref()),
    );
    Ok(api::ServerReply {
        kind: Some(api::server_reply::Kind::Ok(api::ClientCallback {
            kind: Some(api::client_callback::Kind::SessionDone(
                api::OnSessionDone {
                    session: Some(api::SessionInfo {
                        segments,
                        journal: journal.unwrap_or_default().to_vec(),
                        exit_code: Some(exit_code.to_proto()),
                        receipt_claim: Some(api::Asset {
                            kind: Some(api::asset::Kind::Inline(claim.encode_to_vec())),
                        }),
                    }),
                },
            )),
        })),
    })
}

/// Hands `segment` (encoded as `bytes`) to the client and waits for its
/// acknowledgement.
fn send_segment(
    connection: &SharedConnection,
    segments_out: &SegmentsOut,
    segment: &Segment,
    bytes: Vec<u8>,
) -> Result<()> {
    let asset = segments_out.asset(&format!("segment-{}", segment.index), bytes)?;
    let done = api::ServerReply {
        kind: Some(api::server_reply::Kind::Ok(api::ClientCallback {
            kind: Some(api::client_callback::Kind::SegmentDone(
                api::OnSegmentDone {
                    segment: Some(api::SegmentInfo {
                        index: segment.index as u32,
                        po2: segment.po2,
                        cycles: segment.suspend_cycle,
                        segment: Some(asset),
                    }),
                },
            )),
        })),
    };
    let reply: api::GenericReply = connection.call(&done)?;
    match reply.kind {
        Some(api::generic_reply::Kind::Ok(())) => Ok(()),
        Some(api::generic_reply::Kind::Error(error)) => {
            bail!(
                "the client refused segment {}: {}",
                segment.index,
                error.reason
            )
        }
        None => bail!("malformed reply from the client to a segment: no kind"),
    }
}

/// A reply that ends a request with `reason`.
pub fn error_reply(reason: impl Into<String>) -> api::ServerReply {
    api::ServerReply {
        kind: Some(api::server_reply::Kind::Error(api::GenericError {
            reason: reason.into(),
        })),
    }
}
