//! Machine-mode ECALL: the host calls selected by `a7`, one file each
//! (TERMINATE, READ, WRITE, SHA2, POSEIDON2, BIGINT with `bibc`).
//! Each costs the user cycles, and pages in and out what, the reference
//! executor does.

mod bibc;
mod bigint;
mod poseidon2;
mod read;
mod sha2;
mod terminate;
mod write;

use crate::cycle_model::Access;
use crate::machine::Machine;
use crate::memory::GuestMemory;
use crate::platform::{host_call, is_user_range, reg, MAX_IO_BYTES, USER_END};
use crate::session::LimitReached;
use crate::stop::Stop;
use crate::syscalls::{GuestView, SyscallError};

/// The machine as software syscalls see it.
pub(super) struct MachineView<'a> {
    pub(super) mem: &'a GuestMemory,
    pub(super) user_cycles: u64,
    /// Whether the syscall's buffers must lie in user memory: they do when
    /// a kernel makes the syscall for a user program.
    pub(super) user_buffers_only: bool,
}

impl GuestView for MachineView<'_> {
    fn user_reg(&mut self, idx: usize) -> u32 {
        self.mem
            .load_u32(crate::platform::USER_REGS_ADDR + 4 * idx as u32)
    }

    fn bytes(&mut self, addr: u32, len: u32) -> Option<Vec<u8>> {
        if self.user_buffers_only && !is_user_range(addr, len) {
            return None;
        }
        self.mem.slice(addr, len).map(<[u8]>::to_vec)
    }

    fn user_cycles(&self) -> u64 {
        self.user_cycles
    }

    fn c_string(&mut self, addr: u32, max: u32) -> Option<Vec<u8>> {
        let max = if self.user_buffers_only {
            if !is_user_range(addr, 1) {
                return None;
            }
            max.min(USER_END - addr)
        } else {
            max
        };
        self.mem.c_string(addr, max).map(<[u8]>::to_vec)
    }
}

impl Machine {
    /// Performs the host call named by `a7`.
    pub(crate) fn host_call(&mut self) -> Result<(), Stop> {
        match self.reg(reg::A7) {
            host_call::TERMINATE => self.host_terminate(),
            host_call::READ => self.host_read(),
            host_call::WRITE => self.host_write(),
            host_call::SHA2 => self.host_sha2(),
            host_call::POSEIDON2 => self.host_poseidon2(),
            host_call::BIGINT => self.host_bigint(),
            other => Err(self.unsupported(&format!("host call a7 = {other}"))),
        }
    }

    pub(super) fn syscall_stop(&self, error: SyscallError) -> Stop {
        match error {
            SyscallError::Unsupported(what) => self.unsupported(&what),
            SyscallError::Panic(msg) => Stop::GuestPanic(msg),
            SyscallError::Invalid(msg) => self.host_error(msg),
            SyscallError::Io(msg) => Stop::Io(msg),
            SyscallError::OutputLimit(limit) => Stop::Limit {
                reached: LimitReached::Output { limit },
                pc: self.pc,
            },
        }
    }

    pub(crate) fn unsupported(&self, what: &str) -> Stop {
        Stop::Unsupported {
            what: what.to_string(),
            pc: self.pc,
        }
    }

    pub(crate) fn host_error(&self, message: impl Into<String>) -> Stop {
        Stop::HostCall {
            pc: self.pc,
            message: message.into(),
        }
    }

    /// Checks a host I/O buffer: it must not wrap and must fit one transfer.
    pub(super) fn io_buffer(&self, what: &str, ptr: u32, len: u32) -> Result<(), Stop> {
        if ptr.checked_add(len).is_none() {
            return Err(self.host_error(format!(
                "{what} buffer {ptr:#010x} + {len} wraps around memory"
            )));
        }
        if len > MAX_IO_BYTES {
            return Err(self.host_error(format!(
                "{what} of {len} bytes exceeds the limit of {MAX_IO_BYTES}"
            )));
        }
        Ok(())
    }

    /// Refuses host call `call`'s write of `len` bytes at `addr` (its
    /// `what`) outside user memory when the call serves a user program:
    /// whatever its kernel lets through, the host never writes the
    /// kernel's memory for it.
    pub(super) fn user_write(
        &self,
        call: &str,
        what: &str,
        addr: u32,
        len: u32,
    ) -> Result<(), Stop> {
        if self.user_buffers_only && !is_user_range(addr, len) {
            return Err(self.host_error(format!(
                "{call} {what}: buffer {addr:#010x} + {len} bytes is outside user memory"
            )));
        }
        Ok(())
    }

    /// Loads the word at `addr` as a host call reads memory: paged in.
    pub(super) fn load_word_paged(&mut self, addr: u32) -> u32 {
        self.cycle_model.access(addr, Access::Read);
        self.mem.load_u32(addr)
    }

    /// Stores `value` at `addr` as a host call writes memory: paged in and
    /// dirty, and seen by the JIT's code watching.
    pub(super) fn store_word_paged(&mut self, addr: u32, value: u32) {
        self.cycle_model.access(addr, Access::Write);
        self.mem.store_u32(addr, value);
    }
}
