//! The r0vm wire: each message a little-endian u32 length, then the
//! protobuf bytes. One connection per client, shared by the run's I/O
//! proxies and the segment thread, each exchange under its lock.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context, Result};
use prost::Message;

/// Messages larger than this are refused as malformed (segments are a few
/// MiB; a length past this is a client of another protocol).
const MAX_MESSAGE_BYTES: usize = 1 << 30;

/// A framed connection to the client.
pub struct Connection {
    stream: TcpStream,
}

impl Connection {
    /// Connects to the client listening on `127.0.0.1:port`.
    pub fn connect(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .with_context(|| format!("cannot connect to the client on 127.0.0.1:{port}"))?;
        stream.set_nodelay(true).ok();
        Ok(Self { stream })
    }

    /// Wraps a connected stream.
    pub fn new(stream: TcpStream) -> Self {
        Self { stream }
    }

    /// Sends one message.
    pub fn send(&mut self, message: &impl Message) -> Result<()> {
        let mut bytes = Vec::with_capacity(4 + message.encoded_len());
        bytes.extend_from_slice(&(message.encoded_len() as u32).to_le_bytes());
        message.encode(&mut bytes).expect("a Vec grows");
        self.stream
            .write_all(&bytes)
            .context("cannot send to the client: the connection is closed")
    }

    /// Receives one message of type `M`.
    pub fn recv<M: Message + Default>(&mut self) -> Result<M> {
        let bytes = self.recv_bytes()?;
        M::decode(bytes.as_slice()).map_err(|e| {
            anyhow!(
                "malformed message from the client ({} bytes, not a {}): {e}",
                bytes.len(),
                std::any::type_name::<M>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("message")
            )
        })
    }

    /// Receives one message's bytes.
    pub fn recv_bytes(&mut self) -> Result<Vec<u8>> {
        let mut length = [0u8; 4];
        self.stream
            .read_exact(&mut length)
            .map_err(|e| match e.kind() {
                ErrorKind::UnexpectedEof => anyhow!("the client closed the connection"),
                _ => anyhow!("cannot read from the client: {e}"),
            })?;
        let length = u32::from_le_bytes(length) as usize;
        if length > MAX_MESSAGE_BYTES {
            anyhow::bail!("malformed message from the client: a length of {length} bytes");
        }
        let mut bytes = vec![0; length];
        self.stream
            .read_exact(&mut bytes)
            .context("the client closed the connection in the middle of a message")?;
        Ok(bytes)
    }

    /// The stream, for forwarding.
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }
}

/// The connection as the run's proxies share it.
#[derive(Clone)]
pub struct SharedConnection(Arc<Mutex<Connection>>);

impl SharedConnection {
    /// Shares `connection`.
    pub fn new(connection: Connection) -> Self {
        Self(Arc::new(Mutex::new(connection)))
    }

    /// Sends `message` and waits for the client's reply, with no other
    /// exchange in between.
    pub fn call<R: Message + Default>(&self, message: &impl Message) -> Result<R> {
        let mut connection = self
            .0
            .lock()
            .map_err(|_| anyhow!("the connection was poisoned"))?;
        connection.send(message)?;
        connection.recv()
    }

    /// Sends `message`.
    pub fn send(&self, message: &impl Message) -> Result<()> {
        let mut connection = self
            .0
            .lock()
            .map_err(|_| anyhow!("the connection was poisoned"))?;
        connection.send(message)
    }
}
