//! READ: host bytes into guest memory, which is also how software syscalls
//! travel (see `syscalls`).

use super::MachineView;
use crate::cycle_model::Access;
use crate::machine::{Halt, HaltKind, Machine};
use crate::platform::{is_user_range, reg, SAFE_WRITE_ADDR, USER_START};
use crate::stop::Stop;

impl Machine {
    /// READ: a0 = fd, a1 = buffer, a2 = length. The host's bytes are stored
    /// as the circuit does: leading bytes to word alignment, then up to four
    /// words per step, then trailing bytes, one cycle per step.
    pub(super) fn host_read(&mut self) -> Result<(), Stop> {
        self.user_cycles += 1;
        let fd = self.reg(reg::A0);
        let mut ptr = self.reg(reg::A1);
        let len = self.reg(reg::A2);
        // A software syscall's host-to-guest buffer is the user program's:
        // never kernel memory, whatever the kernel lets through.
        if fd != 0 && self.user_buffers_only && !is_user_range(ptr, len) {
            let name = self.mem.c_string(fd, 256).unwrap_or_default();
            let name = String::from_utf8_lossy(name);
            let name = crate::syscalls::short_name(&name);
            return Err(self.host_error(format!(
                "{name}: buffer {ptr:#010x} + {len} bytes is outside user memory"
            )));
        }
        self.io_buffer("READ", ptr, len)?;
        if len > 0 && ptr < USER_START {
            return Err(self.host_error(format!("READ into the invalid page at {ptr:#010x}")));
        }
        let mut bytes = vec![0u8; len as usize];
        let mut view = MachineView {
            mem: &self.mem,
            user_cycles: self.user_cycles,
            user_buffers_only: self.user_buffers_only,
        };
        let served = self.io.host_read(&mut view, fd, &mut bytes);
        let mut remaining = served.map_err(|e| self.syscall_stop(e))?;
        if let Some(segments) = &mut self.segments {
            segments.record_read(&bytes[..(remaining as usize).min(bytes.len())]);
        }
        if self.io.exit_requested {
            self.halt = Some(Halt {
                kind: HaltKind::Terminate,
                exit_code: 0,
                a1: 0,
                output_digest: [0; 32],
            });
        }
        self.set_reg(reg::A0, remaining);
        self.cycle_model.access_range(ptr, remaining, Access::Write);
        let mut cycles = 1;
        let mut src = bytes.iter().copied();
        while remaining > 0 && !ptr.is_multiple_of(4) {
            self.mem.store_u8(ptr, src.next().unwrap_or(0));
            ptr += 1;
            remaining -= 1;
            cycles += 1;
        }
        while remaining >= 4 {
            let words = (remaining / 4).min(4);
            for slot in 0..4 {
                if slot < words {
                    let word = u32::from_le_bytes([0; 4].map(|_| src.next().unwrap_or(0)));
                    self.mem.store_u32(ptr, word);
                    ptr += 4;
                    remaining -= 4;
                } else {
                    let pad = SAFE_WRITE_ADDR + 4 * slot;
                    self.cycle_model.access(pad, Access::Write);
                    self.mem.store_u32(pad, 0);
                }
            }
            cycles += 1;
        }
        while remaining > 0 {
            self.mem.store_u8(ptr, src.next().unwrap_or(0));
            ptr += 1;
            remaining -= 1;
            cycles += 1;
        }
        self.user_cycles += cycles;
        self.pc = self.pc.wrapping_add(4);
        Ok(())
    }
}
