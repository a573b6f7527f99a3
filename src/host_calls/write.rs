//! WRITE: guest bytes to the host (the kernel's diagnostics).

use crate::machine::Machine;
use crate::platform::reg;
use crate::stop::Stop;
use crate::syscalls::{SyscallError, NAME_PREFIX};

impl Machine {
    /// WRITE: a0 = fd, a1 = buffer, a2 = length; kernel diagnostics, shown
    /// on the guest's stderr whatever the fd. Returns the length in a0.
    pub(super) fn host_write(&mut self) -> Result<(), Stop> {
        let ptr = self.reg(reg::A1);
        let len = self.reg(reg::A2);
        self.io_buffer("WRITE", ptr, len)?;
        let bytes = self.mem.slice(ptr, len).unwrap_or_default().to_vec();
        if let Err(limit) = self.io.charge_output(bytes.len()) {
            return Err(self.syscall_stop(SyscallError::OutputLimit(limit)));
        }
        for &byte in &bytes {
            if byte == b'\n' {
                let line = String::from_utf8_lossy(&self.kernel_line).into_owned();
                self.kernel_line.clear();
                if let Some(report) = line.strip_prefix(crate::machine::KERNEL_REPORT_PREFIX) {
                    // Syscalls by their short names.
                    let report = report.replace(NAME_PREFIX, "");
                    self.kernel_report = Some(report);
                }
            } else if self.kernel_line.len() < 1024 {
                self.kernel_line.push(byte);
            }
        }
        self.io
            .stderr
            .write_all(&bytes)
            .map_err(|e| Stop::Io(e.to_string()))?;
        if let Some(segments) = &mut self.segments {
            segments.record_write(len);
        }
        self.set_reg(reg::A0, len);
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += 2;
        Ok(())
    }
}
