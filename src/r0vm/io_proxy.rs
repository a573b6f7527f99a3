//! What the client serves the guest: each read and write of a file
//! descriptor it named, each call of a host function and each keccak
//! batch for its coprocessor becomes an `OnIoRequest` it answers.

use std::io;

use risc0_zkp::core::digest::Digest;

use super::connection::SharedConnection;
use super::digests::to_proto;
use super::protos::api;
use crate::syscalls::{KeccakProofRequest, KeccakProver, SliceHandler};

/// A file descriptor of the client's.
pub struct ClientFile {
    fd: u32,
    connection: SharedConnection,
}

impl ClientFile {
    /// File `fd` of the client on `connection`.
    pub fn new(fd: u32, connection: SharedConnection) -> Self {
        Self { fd, connection }
    }

    /// Asks the client to run `cmd` on the file; its reply's bytes.
    fn request(&self, cmd: api::posix_cmd::Kind) -> io::Result<Vec<u8>> {
        ask(
            &self.connection,
            api::on_io_request::Kind::Posix(api::PosixIo {
                fd: self.fd,
                cmd: Some(api::PosixCmd { kind: Some(cmd) }),
            }),
        )
    }
}

/// Sends the client an I/O request; the bytes of its answer.
fn ask(connection: &SharedConnection, kind: api::on_io_request::Kind) -> io::Result<Vec<u8>> {
    let request = api::ServerReply {
        kind: Some(api::server_reply::Kind::Ok(api::ClientCallback {
            kind: Some(api::client_callback::Kind::Io(api::OnIoRequest {
                kind: Some(kind),
            })),
        })),
    };
    let reply: api::OnIoReply = connection.call(&request).map_err(io::Error::other)?;
    match reply.kind {
        Some(api::on_io_reply::Kind::Ok(bytes)) => Ok(bytes),
        Some(api::on_io_reply::Kind::Error(error)) => Err(io::Error::other(error.reason)),
        None => Err(io::Error::other(
            "malformed OnIoReply from the client: no kind",
        )),
    }
}

impl io::Read for ClientFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let wanted = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let bytes = self.request(api::posix_cmd::Kind::Read(wanted))?;
        if bytes.len() > buf.len() {
            return Err(io::Error::other(format!(
                "the client answered a read of {} bytes with {}",
                buf.len(),
                bytes.len()
            )));
        }
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }
}

impl io::Write for ClientFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.request(api::posix_cmd::Kind::Write(buf.to_vec()))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A host function of the client's: the guest's bytes go to it as a
/// `SliceIo` request, its answer comes back.
pub fn client_host_function(name: String, connection: SharedConnection) -> SliceHandler {
    Box::new(move |from_guest| {
        ask(
            &connection,
            api::on_io_request::Kind::Slice(api::SliceIo {
                name: name.clone(),
                from_guest: from_guest.to_vec(),
            }),
        )
    })
}

/// The client's keccak coprocessor: each batch the guest proves goes to it
/// as a `ProveKeccakRequest` (the input states as their bytes), and the run
/// waits for its answer.
pub fn client_keccak_prover(connection: SharedConnection) -> KeccakProver {
    Box::new(move |request: KeccakProofRequest| {
        let digest = |bytes: [u8; 32]| to_proto(&Digest::from(bytes));
        let input = request
            .inputs
            .iter()
            .flatten()
            .flat_map(|lane| lane.to_le_bytes())
            .collect();
        ask(
            &connection,
            api::on_io_request::Kind::Coprocessor(api::CoprocessorRequest {
                kind: Some(api::coprocessor_request::Kind::ProveKeccak(
                    api::ProveKeccakRequest {
                        claim_digest: Some(digest(request.claim_digest)),
                        po2: request.po2,
                        control_root: Some(digest(request.control_root)),
                        input,
                        receipt_out: None,
                    },
                )),
            }),
        )
        .map(drop)
        .map_err(|e| e.to_string())
    })
}
