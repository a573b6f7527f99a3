//! zkjit-r0vm: the r0vm server risc0-zkvm 3.0's host side spawns
//! (`RISC0_EXECUTOR=ipc`, `RISC0_SERVER_PATH`), answered by zkjit. The
//! client listens; the server connects, checks the client's version in the
//! hello, reads one request, and serves it: an execute here
//! (`execute`), anything else forwarded to a real r0vm when
//! `ZKJIT_R0VM_FORWARD` names one (`forward`), or refused with the reason.
//!
//! The parts: `connection` (framing), `io_proxy` (the client's files,
//! host functions and keccak coprocessor), `assumptions` (the receipts
//! and claims a guest may verify), `claim` (the receipt claim and
//! risc0-zkvm's segment wrapper), `execute`, `forward`, `protos`
//! (generated from `proto/risc0/`).

mod assumptions;
mod claim;
mod connection;
mod digests;
mod execute;
mod forward;
mod io_proxy;
pub mod protos;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

pub use connection::Connection;
use connection::SharedConnection;
use execute::error_reply;
use protos::{api, base};

use crate::session::Engine;

/// The risc0-zkvm version whose protocol this is: clients of the same
/// major and minor version are served.
pub const PROTOCOL_VERSION: (u64, u64, u64) = (3, 0, 6);

/// What `zkjit-r0vm --version` prints: risc0-zkvm reads the last word as
/// the server's version.
pub fn version_line() -> String {
    let (major, minor, patch) = PROTOCOL_VERSION;
    format!(
        "zkjit-r0vm (zkjit {}) r0vm protocol {major}.{minor}.{patch}",
        env!("CARGO_PKG_VERSION")
    )
}

/// How the server is set up, from its environment.
pub struct ServerOptions {
    /// The engine execute requests run on (`ZKJIT_ENGINE`, default jit).
    pub engine: Engine,
    /// The r0vm other requests go to (`ZKJIT_R0VM_FORWARD`).
    pub forward_to: Option<PathBuf>,
}

impl ServerOptions {
    /// The options `ZKJIT_ENGINE` and `ZKJIT_R0VM_FORWARD` give.
    pub fn from_env() -> Result<Self> {
        let engine = match std::env::var("ZKJIT_ENGINE").as_deref() {
            Err(_) | Ok("") | Ok("jit") => Engine::Jit,
            Ok("interp") => Engine::Interp,
            Ok(other) => bail!("ZKJIT_ENGINE={other}: the engines are jit and interp"),
        };
        let forward_to = std::env::var_os("ZKJIT_R0VM_FORWARD")
            .filter(|path| !path.is_empty())
            .map(PathBuf::from);
        Ok(Self { engine, forward_to })
    }
}

fn version_text(version: &base::SemanticVersion) -> String {
    let mut text = format!("{}.{}.{}", version.major, version.minor, version.patch);
    if !version.pre.is_empty() {
        text += &format!("-{}", version.pre);
    }
    text
}

/// Serves the client listening on `127.0.0.1:port`; the process's exit
/// status (0 once the request was answered, errors in the run included,
/// as r0vm does).
pub fn serve(port: u16, options: &ServerOptions) -> Result<i32> {
    let mut connection = Connection::connect(port)?;
    let hello: api::HelloRequest = connection.recv()?;
    let client_version = hello
        .version
        .ok_or_else(|| anyhow!("malformed hello from the client: no version"))?;
    let (major, minor, patch) = PROTOCOL_VERSION;
    if (client_version.major, client_version.minor) != (major, minor) {
        let reason = format!(
            "zkjit-r0vm speaks the r0vm protocol of risc0-zkvm {major}.{minor}; this client is risc0-zkvm {}",
            version_text(&client_version)
        );
        connection.send(&api::HelloReply {
            kind: Some(api::hello_reply::Kind::Error(api::GenericError {
                reason: reason.clone(),
            })),
        })?;
        bail!(reason);
    }
    connection.send(&api::HelloReply {
        kind: Some(api::hello_reply::Kind::Ok(api::HelloResult {
            version: Some(base::SemanticVersion {
                major,
                minor,
                patch,
                ..Default::default()
            }),
        })),
    })?;
    let request: api::ServerRequest = connection.recv()?;
    let kind = request
        .kind
        .clone()
        .ok_or_else(|| anyhow!("malformed request from the client: no kind"))?;
    let api::server_request::Kind::Execute(execute) = kind else {
        let what = request_name(&kind);
        return match &options.forward_to {
            Some(r0vm) => forward::forward(connection, client_version, request, r0vm, what),
            None => {
                connection.send(&error_reply(format!(
                    "zkjit-r0vm executes programs; it does not {what}. Set ZKJIT_R0VM_FORWARD to the path of a real r0vm to have zkjit-r0vm pass such requests to it"
                )))?;
                Ok(0)
            }
        };
    };
    let shared = SharedConnection::new(connection);
    let reply = execute::execute(&shared, execute, options.engine)
        .unwrap_or_else(|error| error_reply(format!("{error:#}")));
    shared.send(&reply)?;
    Ok(0)
}

/// What a request asks, for messages.
fn request_name(kind: &api::server_request::Kind) -> &'static str {
    use api::server_request::Kind;
    match kind {
        Kind::Execute(_) => "execute",
        Kind::Prove(_) => "prove",
        Kind::ProveSegment(_) => "prove segments",
        Kind::Lift(_) => "lift receipts",
        Kind::Join(_) => "join receipts",
        Kind::IdentityP254(_) => "run identity_p254",
        Kind::Resolve(_) => "resolve assumptions",
        Kind::Compress(_) => "compress receipts",
        Kind::Verify(_) => "verify receipts",
        Kind::ProveKeccak(_) => "prove keccak",
        Kind::Union(_) => "union receipts",
    }
}
