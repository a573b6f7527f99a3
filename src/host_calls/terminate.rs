//! TERMINATE: the guest ends the run (or pauses), with its exit code and
//! output digest.

use crate::machine::{Halt, HaltKind, Machine};
use crate::platform::{reg, GLOBAL_OUTPUT_ADDR};
use crate::stop::Stop;

impl Machine {
    pub(super) fn host_terminate(&mut self) -> Result<(), Stop> {
        let a0 = self.reg(reg::A0);
        let mut output_digest = [0u8; 32];
        for (i, chunk) in output_digest.chunks_mut(4).enumerate() {
            chunk.copy_from_slice(
                &self
                    .mem
                    .load_u32(GLOBAL_OUTPUT_ADDR + 4 * i as u32)
                    .to_le_bytes(),
            );
        }
        let kind = match a0 & 0xffff {
            0 => HaltKind::Terminate,
            1 => HaltKind::Pause,
            other => HaltKind::Other(other),
        };
        self.halt = Some(Halt {
            kind,
            exit_code: a0 >> 16,
            a1: self.reg(reg::A1),
            output_digest,
        });
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += 2;
        Ok(())
    }
}
