//! Software syscalls: the protocol of the RISC Zero kernel, in which a host
//! READ whose fd is a pointer to the syscall's name runs the syscall (its
//! arguments in the user registers a3..), fills the READ buffer with the
//! syscall's host-to-guest data, and leaves two return words that the next
//! READ with fd 0 hands out.

use crate::machine::{Halt, HaltKind, Machine};
use crate::platform::{reg, MAX_IO_BYTES};
use crate::trap::Stop;

/// The prefix of every syscall name of risc0_zkvm_platform.
const NAME_PREFIX: &str = "risc0_zkvm_platform::syscall::nr::";
/// Longest syscall name zkjit reads before giving up.
const MAX_NAME_BYTES: u32 = 256;

/// File descriptors of SYS_READ and SYS_WRITE.
mod fd {
    pub const STDIN: u32 = 0;
    pub const STDOUT: u32 = 1;
    pub const STDERR: u32 = 2;
    pub const JOURNAL: u32 = 3;
}

impl Machine {
    /// Serves a host READ of `buf.len()` bytes from `fd`; returns the count
    /// of bytes to store.
    pub(crate) fn serve_read(&mut self, fd: u32, buf: &mut [u8]) -> Result<u32, Stop> {
        if fd == 0 {
            if buf.len() < 8 || buf.len() % 4 != 0 {
                return Err(self.host_error(format!(
                    "READ of the syscall return words needs at least 8 bytes in whole words, got {}",
                    buf.len()
                )));
            }
            let (a0, a1) = self.syscall_return;
            buf[..4].copy_from_slice(&a0.to_le_bytes());
            buf[4..8].copy_from_slice(&a1.to_le_bytes());
            return Ok(8);
        }
        let name = match self.mem.c_string(fd, MAX_NAME_BYTES) {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => {
                return Err(self.host_error(format!("no NUL-terminated syscall name at {fd:#010x}")))
            }
        };
        // Host-to-guest data is handed over in whole words.
        let mut to_guest = vec![0u8; buf.len().div_ceil(4) * 4];
        self.syscall_return = self.software_syscall(&name, &mut to_guest)?;
        buf.copy_from_slice(&to_guest[..buf.len()]);
        Ok(buf.len() as u32)
    }

    fn software_syscall(&mut self, name: &str, to_guest: &mut [u8]) -> Result<(u32, u32), Stop> {
        let short = name.strip_prefix(NAME_PREFIX).unwrap_or(name);
        let expect_no_data = |m: &Self| {
            if to_guest.is_empty() {
                Ok(())
            } else {
                Err(m.host_error(format!("{short} takes no host-to-guest buffer")))
            }
        };
        match short {
            "SYS_ARGC" => {
                expect_no_data(self)?;
                Ok((self.io.args.len() as u32, 0))
            }
            "SYS_ARGV" => {
                let index = self.user_reg(reg::A3) as usize;
                let Some(arg) = self.io.args.get(index).cloned() else {
                    return Err(self.host_error(format!(
                        "SYS_ARGV asked for argument {index} of {}",
                        self.io.args.len()
                    )));
                };
                self.give_string(short, arg.as_bytes(), to_guest)
            }
            "SYS_GETENV" => {
                let name = self.user_bytes(reg::A3, reg::A4)?;
                let name = String::from_utf8(name)
                    .map_err(|_| self.host_error("SYS_GETENV variable name is not UTF-8"))?;
                match self.io.env.get(&name).cloned() {
                    None => Ok((u32::MAX, 0)),
                    Some(value) => self.give_string(short, value.as_bytes(), to_guest),
                }
            }
            "SYS_CYCLE_COUNT" => {
                expect_no_data(self)?;
                Ok(((self.user_cycles >> 32) as u32, self.user_cycles as u32))
            }
            "SYS_RANDOM" => {
                self.io.fill_random(to_guest);
                Ok((to_guest.len() as u32, 0))
            }
            "SYS_READ" => self.sys_read(to_guest),
            "SYS_WRITE" => {
                expect_no_data(self)?;
                let fd = self.user_reg(reg::A3);
                let bytes = self.user_bytes(reg::A4, reg::A5)?;
                let result = match fd {
                    fd::STDOUT => self.io.stdout.write_all(&bytes),
                    fd::STDERR => self.io.stderr.write_all(&bytes),
                    fd::JOURNAL => {
                        self.io.journal.extend_from_slice(&bytes);
                        Ok(())
                    }
                    other => {
                        return Err(self
                            .host_error(format!("SYS_WRITE to unknown file descriptor {other}")))
                    }
                };
                result.map_err(|e| Stop::Io(e.to_string()))?;
                Ok((0, 0))
            }
            "SYS_LOG" => {
                expect_no_data(self)?;
                let msg = self.user_bytes(reg::A3, reg::A4)?;
                let line = [
                    format!("R0VM[{}] ", self.user_cycles).as_bytes(),
                    &msg,
                    b"\n",
                ]
                .concat();
                self.io
                    .stdout
                    .write_all(&line)
                    .map_err(|e| Stop::Io(e.to_string()))?;
                Ok((0, 0))
            }
            "SYS_PANIC" => {
                let msg = self.user_bytes(reg::A3, reg::A4)?;
                Err(Stop::GuestPanic(String::from_utf8_lossy(&msg).into_owned()))
            }
            "SYS_EXIT" => {
                // The platform passes no status: the program simply ends.
                self.halt = Some(Halt {
                    kind: HaltKind::Terminate,
                    exit_code: 0,
                    output_digest: [0; 32],
                });
                Ok((0, 0))
            }
            _ => Err(self.unsupported(short)),
        }
    }

    /// Copies `value` into the host-to-guest buffer (as much as fits); a
    /// value of MAX_IO_BYTES or more cannot be handed over.
    fn give_string(
        &self,
        what: &str,
        value: &[u8],
        to_guest: &mut [u8],
    ) -> Result<(u32, u32), Stop> {
        if value.len() >= MAX_IO_BYTES as usize {
            return Err(self.host_error(format!(
                "{what}: value of {} bytes is too large",
                value.len()
            )));
        }
        let n = value.len().min(to_guest.len());
        to_guest[..n].copy_from_slice(&value[..n]);
        Ok((value.len() as u32, 0))
    }

    /// The guest bytes at user register `ptr_reg` with the length in `len_reg`.
    fn user_bytes(&self, ptr_reg: usize, len_reg: usize) -> Result<Vec<u8>, Stop> {
        let (ptr, len) = (self.user_reg(ptr_reg), self.user_reg(len_reg));
        match self.mem.slice(ptr, len) {
            Some(bytes) if len <= 1 << 26 => Ok(bytes.to_vec()),
            _ => Err(self.host_error(format!("guest buffer {ptr:#010x} + {len} is out of range"))),
        }
    }

    /// SYS_READ: a3 = fd, a4 = bytes wanted. Fills the word-sized buffer
    /// from stdin, then reads up to one more partial word, returned in a1.
    fn sys_read(&mut self, to_guest: &mut [u8]) -> Result<(u32, u32), Stop> {
        let fd = self.user_reg(reg::A3);
        let nbytes = self.user_reg(reg::A4) as usize;
        if fd != fd::STDIN {
            return Err(self.host_error(format!("SYS_READ from unknown file descriptor {fd}")));
        }
        if nbytes < to_guest.len() {
            return Err(self.host_error(format!(
                "SYS_READ of {nbytes} bytes into a buffer of {} bytes",
                to_guest.len()
            )));
        }
        let io_error = |e: std::io::Error| Stop::Io(format!("reading guest input: {e}"));
        let main = self.io.read_stdin(to_guest).map_err(io_error)?;
        let tail_len = if nbytes - main <= 4 { nbytes - main } else { 0 };
        let mut tail = [0u8; 4];
        let tail_read = self
            .io
            .read_stdin(&mut tail[..tail_len])
            .map_err(io_error)?;
        Ok(((main + tail_read) as u32, u32::from_le_bytes(tail)))
    }
}
