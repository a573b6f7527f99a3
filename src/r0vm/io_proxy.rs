//! The guest's files, served by the client: each read and write of a file
//! descriptor the client named becomes an `OnIoRequest` it answers.

use std::io;

use super::connection::SharedConnection;
use super::protos::api;
use crate::syscalls::SliceHandler;

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
        let request = io_request(api::on_io_request::Kind::Posix(api::PosixIo {
            fd: self.fd,
            cmd: Some(api::PosixCmd { kind: Some(cmd) }),
        }));
        let reply: api::OnIoReply = self.connection.call(&request).map_err(io::Error::other)?;
        match reply.kind {
            Some(api::on_io_reply::Kind::Ok(bytes)) => Ok(bytes),
            Some(api::on_io_reply::Kind::Error(error)) => Err(io::Error::other(error.reason)),
            None => Err(io::Error::other(
                "malformed OnIoReply from the client: no kind",
            )),
        }
    }
}

/// A server reply carrying an I/O request for the client.
pub fn io_request(kind: api::on_io_request::Kind) -> api::ServerReply {
    api::ServerReply {
        kind: Some(api::server_reply::Kind::Ok(api::ClientCallback {
            kind: Some(api::client_callback::Kind::Io(api::OnIoRequest {
                kind: Some(kind),
            })),
        })),
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
        let request = io_request(api::on_io_request::Kind::Slice(api::SliceIo {
            name: name.clone(),
            from_guest: from_guest.to_vec(),
        }));
        let reply: api::OnIoReply = connection.call(&request).map_err(io::Error::other)?;
        match reply.kind {
            Some(api::on_io_reply::Kind::Ok(bytes)) => Ok(bytes),
            Some(api::on_io_reply::Kind::Error(error)) => Err(io::Error::other(error.reason)),
            None => Err(io::Error::other(
                "malformed OnIoReply from the client: no kind",
            )),
        }
    })
}
