//! Software syscalls: the protocol of the RISC Zero kernel, in which a host
//! READ whose fd is a pointer to the syscall's name runs the syscall (its
//! arguments in the user registers a3..), fills the READ buffer with the
//! syscall's host-to-guest data, and leaves two return words that the next
//! READ with fd 0 hands out. The syscalls are those risc0-zkvm 3.0's
//! executor answers; KECCAK and the composition syscalls have files of
//! their own.

mod keccak;
mod slice_io;
mod verify;

pub use slice_io::{SliceHandler, SliceIo};

pub use keccak::{KeccakBatches, KeccakProofRequest, KeccakProver, KeccakState};
pub use verify::{Assumption, UsedAssumption};

use crate::host::HostIo;
use crate::platform::{reg, MAX_IO_BYTES};

/// The prefix of every syscall name of risc0_zkvm_platform.
pub(crate) const NAME_PREFIX: &str = "risc0_zkvm_platform::syscall::nr::";

/// A syscall's name without risc0_zkvm_platform's prefix (`SYS_READ`).
pub(crate) fn short_name(name: &str) -> &str {
    name.strip_prefix(NAME_PREFIX).unwrap_or(name)
}
/// Longest syscall name zkjit reads before giving up.
const MAX_NAME_BYTES: u32 = 256;
/// Descriptors end here, as in risc0-zkvm's executor.
const MAX_PIPE_FD: u32 = 1000;
/// Largest guest buffer a syscall reads (SYS_WRITE, SYS_LOG...).
const MAX_GUEST_BUFFER: u32 = 1 << 26;

/// File descriptors of SYS_READ and SYS_WRITE.
pub(crate) mod fd {
    pub const STDIN: u32 = 0;
    pub const STDOUT: u32 = 1;
    pub const STDERR: u32 = 2;
    pub const JOURNAL: u32 = 3;
}

/// What a software syscall may see of the guest: the user registers, its
/// memory, and the cycle count. The machine provides it, and so does the
/// reference executor in the differential tests, so both run these syscalls.
pub trait GuestView {
    /// User register `idx`.
    fn user_reg(&mut self, idx: usize) -> u32;
    /// The bytes `addr..addr + len`, if the range is valid.
    fn bytes(&mut self, addr: u32, len: u32) -> Option<Vec<u8>>;
    /// User cycles executed so far.
    fn user_cycles(&self) -> u64;

    /// The NUL-terminated string at `addr`, at most `max` bytes long.
    fn c_string(&mut self, addr: u32, max: u32) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for i in 0..max {
            let byte = *self.bytes(addr.checked_add(i)?, 1)?.first()?;
            if byte == 0 {
                return Some(out);
            }
            out.push(byte);
        }
        None
    }
}

/// Why a software syscall failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyscallError {
    /// A syscall zkjit does not implement.
    Unsupported(String),
    /// SYS_PANIC, with the guest's message.
    Panic(String),
    /// Malformed arguments.
    Invalid(String),
    /// Host I/O failed.
    Io(String),
    /// The output limit (bytes) would be passed.
    OutputLimit(u64),
}

impl SyscallError {
    /// The error, its message naming syscall `name` unless it does.
    fn in_syscall(self, name: &str) -> Self {
        let named = |message: String| {
            if message.starts_with(name) {
                message
            } else {
                format!("{name}: {message}")
            }
        };
        match self {
            Self::Invalid(message) => Self::Invalid(named(message)),
            Self::Io(message) => Self::Io(named(message)),
            other => other,
        }
    }
}

pub(super) fn invalid<T>(message: impl Into<String>) -> Result<T, SyscallError> {
    Err(SyscallError::Invalid(message.into()))
}

impl HostIo {
    /// Serves a host READ of `buf.len()` bytes from `fd`: with fd 0, the two
    /// return words of the last syscall; otherwise fd points at a syscall
    /// name and the syscall runs. Returns the count of bytes to store.
    pub fn host_read(
        &mut self,
        guest: &mut dyn GuestView,
        fd: u32,
        buf: &mut [u8],
    ) -> Result<u32, SyscallError> {
        if fd == 0 {
            if buf.len() < 8 || !buf.len().is_multiple_of(4) {
                return invalid(format!(
                    "READ of the syscall return words needs at least 8 bytes in whole words, got {} (a syscall name at address 0 reads as this)",
                    buf.len()
                ));
            }
            let (a0, a1) = self.syscall_return;
            buf[..4].copy_from_slice(&a0.to_le_bytes());
            buf[4..8].copy_from_slice(&a1.to_le_bytes());
            return Ok(8);
        }
        let name = match guest.c_string(fd, MAX_NAME_BYTES) {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => {
                return invalid(format!(
                    "the syscall name at {fd:#010x} is outside user memory or not NUL-terminated"
                ))
            }
        };
        // Host-to-guest data is handed over in whole words.
        let mut to_guest = vec![0u8; buf.len().div_ceil(4) * 4];
        self.syscall_return = self
            .software_syscall(guest, &name, &mut to_guest)
            .map_err(|e| e.in_syscall(short_name(&name)))?;
        buf.copy_from_slice(&to_guest[..buf.len()]);
        Ok(buf.len() as u32)
    }

    fn software_syscall(
        &mut self,
        guest: &mut dyn GuestView,
        name: &str,
        to_guest: &mut [u8],
    ) -> Result<(u32, u32), SyscallError> {
        // A host function of the embedder's goes first, as in risc0-zkvm,
        // whose table holds them after its own syscalls.
        if self.slice_io.contains_key(name) {
            return self.sys_slice_io(name, guest, to_guest);
        }
        let short = short_name(name);
        let expect_no_data = || {
            if to_guest.is_empty() {
                Ok(())
            } else {
                invalid(format!("{short} takes no host-to-guest buffer"))
            }
        };
        let io_error = |e: std::io::Error| SyscallError::Io(e.to_string());
        match short {
            "SYS_ARGC" => {
                expect_no_data()?;
                Ok((self.args.len() as u32, 0))
            }
            "SYS_ARGV" => {
                let index = guest.user_reg(reg::A3) as usize;
                let Some(arg) = self.args.get(index) else {
                    return invalid(format!(
                        "SYS_ARGV asked for argument {index} of {}",
                        self.args.len()
                    ));
                };
                give_string(short, arg.as_bytes(), to_guest)
            }
            "SYS_GETENV" => {
                let name = user_bytes(guest, reg::A3, reg::A4)?;
                let Ok(name) = String::from_utf8(name) else {
                    return invalid("SYS_GETENV variable name is not UTF-8");
                };
                match self.env.get(&name) {
                    None => Ok((u32::MAX, 0)),
                    Some(value) => give_string(short, value.as_bytes(), to_guest),
                }
            }
            "SYS_CYCLE_COUNT" => {
                expect_no_data()?;
                let cycles = guest.user_cycles();
                Ok(((cycles >> 32) as u32, cycles as u32))
            }
            "SYS_RANDOM" => {
                self.fill_random(to_guest);
                Ok((to_guest.len() as u32, 0))
            }
            "SYS_READ" => self.sys_read(guest, to_guest),
            "SYS_WRITE" => {
                expect_no_data()?;
                let fd = guest.user_reg(reg::A3);
                let bytes = user_bytes(guest, reg::A4, reg::A5)?;
                if matches!(fd, fd::STDOUT | fd::STDERR | fd::JOURNAL) {
                    self.charge_output(bytes.len())
                        .map_err(SyscallError::OutputLimit)?;
                }
                match fd {
                    fd::STDOUT => self.stdout.write_all(&bytes).map_err(io_error)?,
                    fd::STDERR => self.stderr.write_all(&bytes).map_err(io_error)?,
                    fd::JOURNAL => self.journal.extend_from_slice(&bytes),
                    pipe if self.pipes.contains_key(&pipe) => {
                        self.pipes.get_mut(&pipe).expect("a pipe").extend(bytes)
                    }
                    file if self.write_files.contains_key(&file) => self
                        .write_files
                        .get_mut(&file)
                        .expect("a write file")
                        .write_all(&bytes)
                        .map_err(io_error)?,
                    other => {
                        return invalid(format!("SYS_WRITE to unknown file descriptor {other}"))
                    }
                }
                Ok((0, 0))
            }
            "SYS_LOG" => {
                expect_no_data()?;
                let msg = user_bytes(guest, reg::A3, reg::A4)?;
                let prefix = format!("R0VM[{}] ", guest.user_cycles());
                let line = [prefix.as_bytes(), &msg, b"\n"].concat();
                self.charge_output(line.len())
                    .map_err(SyscallError::OutputLimit)?;
                self.stdout.write_all(&line).map_err(io_error)?;
                Ok((0, 0))
            }
            "SYS_PANIC" => {
                let msg = user_bytes(guest, reg::A3, reg::A4)?;
                Err(SyscallError::Panic(
                    String::from_utf8_lossy(&msg).into_owned(),
                ))
            }
            "SYS_KECCAK" => self.sys_keccak(guest, to_guest),
            "SYS_VERIFY_INTEGRITY" => {
                expect_no_data()?;
                self.sys_verify_integrity(guest, false)
            }
            "SYS_VERIFY_INTEGRITY2" => {
                expect_no_data()?;
                self.sys_verify_integrity(guest, true)
            }
            "SYS_PIPE" => {
                if to_guest.len() != 8 {
                    return invalid("SYS_PIPE needs a buffer of two words for the descriptors");
                }
                // The lowest descriptor past the standard four and the
                // pipes before, for both ends.
                let fd = (fd::JOURNAL + 1..)
                    .find(|fd| !self.pipes.contains_key(fd))
                    .expect("a free descriptor");
                if fd >= MAX_PIPE_FD {
                    return invalid("SYS_PIPE: no descriptor left");
                }
                self.pipes.insert(fd, Default::default());
                to_guest[..4].copy_from_slice(&fd.to_le_bytes());
                to_guest[4..].copy_from_slice(&fd.to_le_bytes());
                Ok((0, 0))
            }
            "SYS_FORK" => Err(SyscallError::Unsupported(
                "SYS_FORK (risc0-zkvm 3.0's executor does not answer it either)".into(),
            )),
            "SYS_EXIT" => {
                // The platform passes no status: the program simply ends.
                self.exit_requested = true;
                Ok((0, 0))
            }
            _ => Err(SyscallError::Unsupported(short.to_string())),
        }
    }

    /// SYS_READ: a3 = fd, a4 = bytes wanted. Fills the word-sized buffer
    /// from stdin, then reads up to one more partial word, returned in a1.
    fn sys_read(
        &mut self,
        guest: &mut dyn GuestView,
        to_guest: &mut [u8],
    ) -> Result<(u32, u32), SyscallError> {
        let fd = guest.user_reg(reg::A3);
        let nbytes = guest.user_reg(reg::A4) as usize;
        if !self.readable(fd) {
            return invalid(format!("SYS_READ from unknown file descriptor {fd}"));
        }
        if nbytes < to_guest.len() {
            return invalid(format!(
                "SYS_READ of {nbytes} bytes into a buffer of {} bytes",
                to_guest.len()
            ));
        }
        let io_error = |e: std::io::Error| SyscallError::Io(format!("reading guest input: {e}"));
        let main = self.read_fd(fd, to_guest).map_err(io_error)?;
        let tail_len = if nbytes - main <= 4 { nbytes - main } else { 0 };
        let mut tail = [0u8; 4];
        let tail_read = self.read_fd(fd, &mut tail[..tail_len]).map_err(io_error)?;
        Ok(((main + tail_read) as u32, u32::from_le_bytes(tail)))
    }
}

/// Copies `value` into the host-to-guest buffer (as much as fits); a value
/// of MAX_IO_BYTES or more cannot be handed over.
fn give_string(what: &str, value: &[u8], to_guest: &mut [u8]) -> Result<(u32, u32), SyscallError> {
    if value.len() >= MAX_IO_BYTES as usize {
        return invalid(format!(
            "{what}: value of {} bytes is too large",
            value.len()
        ));
    }
    let n = value.len().min(to_guest.len());
    to_guest[..n].copy_from_slice(&value[..n]);
    Ok((value.len() as u32, 0))
}

/// The guest bytes at user register `ptr_reg` with the length in `len_reg`.
pub(super) fn user_bytes(
    guest: &mut dyn GuestView,
    ptr_reg: usize,
    len_reg: usize,
) -> Result<Vec<u8>, SyscallError> {
    let (ptr, len) = (guest.user_reg(ptr_reg), guest.user_reg(len_reg));
    // Bound the length before copying anything.
    let bytes = (len <= MAX_GUEST_BUFFER)
        .then(|| guest.bytes(ptr, len))
        .flatten();
    match bytes {
        Some(bytes) => Ok(bytes),
        None => invalid(format!(
            "buffer {ptr:#010x} + {len} bytes is out of range (a user program passes only user memory, {:#010x}..{:#010x})",
            crate::platform::USER_START,
            crate::platform::USER_END
        )),
    }
}
