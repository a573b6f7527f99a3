//! What the host gives a guest: standard input, the output streams, the
//! journal, arguments, environment variables and randomness.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use crate::syscalls::{Assumption, KeccakBatches, SliceIo, UsedAssumption};

/// Where guest output goes.
pub enum Sink {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
    /// Kept in memory (for tests and embedding).
    Buffer(Vec<u8>),
    /// Handed to a writer of the embedder's (the r0vm server's client).
    Writer(Box<dyn Write>),
}

impl Sink {
    /// Writes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Sink::Stderr => io::stderr().lock().write_all(bytes),
            Sink::Buffer(buf) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Writer(writer) => writer.write_all(bytes),
        }
    }

    /// The bytes kept by a `Buffer` sink (empty for the others).
    pub fn captured(&self) -> &[u8] {
        match self {
            Sink::Buffer(buf) => buf,
            _ => &[],
        }
    }
}

/// The host side of a guest's I/O.
pub struct HostIo {
    /// Guest standard input (fd 0).
    pub stdin: Box<dyn Read>,
    /// Guest standard output (fd 1).
    pub stdout: Sink,
    /// Guest standard error (fd 2), also where host WRITE calls go.
    pub stderr: Sink,
    /// The journal (fd 3).
    pub journal: Vec<u8>,
    /// Files the guest reads besides stdin, by descriptor.
    pub read_files: BTreeMap<u32, Box<dyn Read>>,
    /// Files the guest writes besides stdout, stderr and the journal, by descriptor.
    pub write_files: BTreeMap<u32, Box<dyn Write>>,
    /// Host functions the embedder answers, by syscall name.
    pub slice_io: BTreeMap<String, SliceIo>,
    /// Guest arguments (SYS_ARGC/SYS_ARGV).
    pub args: Vec<String>,
    /// Guest environment (SYS_GETENV).
    pub env: BTreeMap<String, String>,
    /// State of the SYS_RANDOM generator.
    random_state: u64,
    /// The two words the last software syscall returns, handed out by READ(fd 0).
    pub(crate) syscall_return: (u32, u32),
    /// Set by SYS_EXIT.
    pub(crate) exit_requested: bool,
    /// Receipt claims the guest may verify with SYS_VERIFY_INTEGRITY.
    pub assumptions: Vec<Assumption>,
    /// The claims the guest verified, most recent first.
    pub assumptions_used: Vec<UsedAssumption>,
    /// SYS_KECCAK's batches, and who proves them.
    pub keccak: KeccakBatches,
    /// The most bytes of stdout, stderr and journal the guest may write.
    pub max_output_bytes: Option<u64>,
    /// Bytes of stdout, stderr and journal written so far.
    pub output_bytes: u64,
    /// SYS_PIPE pipes by file descriptor (one descriptor for both ends, as
    /// risc0-zkvm's executor allocates them): bytes written, not yet read.
    pub(crate) pipes: BTreeMap<u32, std::collections::VecDeque<u8>>,
}

impl HostIo {
    /// I/O with empty input, output kept in memory, no arguments, and a
    /// fixed random seed.
    pub fn captured() -> Self {
        Self {
            stdin: Box::new(io::empty()),
            stdout: Sink::Buffer(Vec::new()),
            stderr: Sink::Buffer(Vec::new()),
            journal: Vec::new(),
            read_files: BTreeMap::new(),
            write_files: BTreeMap::new(),
            slice_io: BTreeMap::new(),
            args: Vec::new(),
            env: BTreeMap::new(),
            random_state: 0x9e37_79b9_7f4a_7c15,
            syscall_return: (0, 0),
            exit_requested: false,
            assumptions: Vec::new(),
            assumptions_used: Vec::new(),
            keccak: KeccakBatches::default(),
            max_output_bytes: None,
            output_bytes: 0,
            pipes: BTreeMap::new(),
        }
    }

    /// I/O wired to the process: stdin, stdout and stderr pass through, and
    /// randomness is seeded from the clock and process id.
    pub fn process() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id()).rotate_left(32);
        Self {
            stdin: Box::new(io::stdin()),
            stdout: Sink::Stdout,
            stderr: Sink::Stderr,
            random_state: seed | 1,
            ..Self::captured()
        }
    }

    /// A seed drawn from this I/O's generator.
    pub fn next_random_seed(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill_random(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    /// Sets the seed of SYS_RANDOM, for reproducible runs.
    pub fn set_random_seed(&mut self, seed: u64) {
        self.random_state = seed | 1;
    }

    /// Fills `buf` with pseudo-random bytes (xorshift64*; the zkVM gives no
    /// guarantee about the quality of host randomness).
    pub fn fill_random(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.random_state;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.random_state = x;
            let value = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
    }

    /// Counts `len` more bytes of output; `Err(limit)` when that passes
    /// the output limit (nothing of them is to be written then).
    pub(crate) fn charge_output(&mut self, len: usize) -> Result<(), u64> {
        let total = self.output_bytes.saturating_add(len as u64);
        match self.max_output_bytes {
            Some(limit) if total > limit => Err(limit),
            _ => {
                self.output_bytes = total;
                Ok(())
            }
        }
    }

    /// Reads from guest stdin until `buf` is full or input ends.
    pub fn read_stdin(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_fd(0, buf)
    }

    /// Whether the guest can read file `fd`.
    pub(crate) fn readable(&self, fd: u32) -> bool {
        fd == crate::syscalls::fd::STDIN
            || self.pipes.contains_key(&fd)
            || self.read_files.contains_key(&fd)
    }

    /// Reads as much of `buf` as file `fd` (stdin, a pipe or a read file) holds.
    pub(crate) fn read_fd(&mut self, fd: u32, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(pipe) = self.pipes.get_mut(&fd) {
            let n = buf.len().min(pipe.len());
            for (byte, b) in buf.iter_mut().zip(pipe.drain(..n)) {
                *byte = b;
            }
            return Ok(n);
        }
        let file: &mut dyn Read = match self.read_files.get_mut(&fd) {
            Some(file) => file,
            None => &mut self.stdin,
        };
        let mut total = 0;
        while total < buf.len() {
            match file.read(&mut buf[total..]) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
}
