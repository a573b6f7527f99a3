//! Requests zkjit does not serve (proving, lifting, joining, resolving,
//! compressing, verifying...) handed to a real r0vm: zkjit-r0vm starts it,
//! greets it with the client's version, passes it the request, and from
//! then on copies bytes both ways until both sides are done.

use std::io::{copy, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::connection::Connection;
use super::protos::{api, base};

/// How long the real r0vm has to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Forwards `request` (already read from `client`) to the r0vm at
/// `r0vm`; the r0vm's exit status. When the r0vm cannot be reached, the
/// client is told why (every reply type has its error in the same field).
pub fn forward(
    mut client: Connection,
    client_version: base::SemanticVersion,
    request: api::ServerRequest,
    r0vm: &Path,
    what: &str,
) -> Result<i32> {
    match connect(client_version, request, r0vm) {
        Ok((server, mut child)) => {
            splice(client.into_stream(), server.into_stream())?;
            let status = child.wait().context("cannot wait for the r0vm")?;
            Ok(status.code().unwrap_or(1))
        }
        Err(error) => {
            let reason = format!("forwarding {what} to {}: {error:#}", r0vm.display());
            client.send(&super::execute::error_reply(reason.clone()))?;
            eprintln!("zkjit-r0vm: {reason}");
            Ok(0)
        }
    }
}

/// The r0vm started, greeted and given `request`.
fn connect(
    client_version: base::SemanticVersion,
    request: api::ServerRequest,
    r0vm: &Path,
) -> Result<(Connection, Child)> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen for the r0vm")?;
    let port = listener.local_addr()?.port();
    let mut child = Command::new(r0vm)
        .arg("--port")
        .arg(port.to_string())
        // (Were it a zkjit-r0vm, it would otherwise forward in turn.)
        .env_remove("ZKJIT_R0VM_FORWARD")
        .spawn()
        .with_context(|| format!("cannot start the r0vm to forward to ({})", r0vm.display()))?;
    let server = accept(&listener, &mut child)?;
    let mut server = Connection::new(server);
    server.send(&api::HelloRequest {
        version: Some(client_version),
    })?;
    let hello: api::HelloReply = server.recv()?;
    if let Some(api::hello_reply::Kind::Error(error)) = hello.kind {
        bail!("the r0vm forwarded to refused the client: {}", error.reason);
    }
    server.send(&request)?;
    Ok((server, child))
}

/// The r0vm's connection, or why it did not come.
fn accept(listener: &TcpListener, child: &mut Child) -> Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(anyhow!("cannot accept the r0vm's connection: {e}")),
        }
        if let Some(status) = child.try_wait()? {
            bail!("the r0vm forwarded to exited ({status}) before it connected");
        }
        if start.elapsed() > CONNECT_TIMEOUT {
            let _ = child.kill();
            bail!("the r0vm forwarded to did not connect within {CONNECT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Copies bytes from each stream to the other until the r0vm is done (the
/// client keeps its side open until zkjit-r0vm exits, so the copy the
/// other way is left to end with the process).
fn splice(client: TcpStream, server: TcpStream) -> Result<()> {
    fn pump(mut from: impl Read, mut to: TcpStream) {
        let _ = copy(&mut from, &mut to);
        let _ = to.flush();
        let _ = to.shutdown(Shutdown::Write);
    }
    let (client_in, server_in) = (client.try_clone()?, server.try_clone()?);
    std::thread::spawn(move || pump(client_in, server));
    pump(server_in, client);
    Ok(())
}
