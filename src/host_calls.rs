//! Machine-mode ECALL: the host calls selected by `a7` (TERMINATE, READ,
//! WRITE, SHA2; POSEIDON2 and BIGINT are not supported). Each costs the user
//! cycles the reference executor charges for it.

use sha2::digest::generic_array::GenericArray;

use crate::cycle_model::Access;
use crate::machine::{Halt, HaltKind, Machine};
use crate::memory::GuestMemory;
use crate::platform::{host_call, reg, GLOBAL_OUTPUT_ADDR, MAX_IO_BYTES, MAX_SHA_COUNT};
use crate::platform::{SAFE_WRITE_ADDR, USER_START};
use crate::stop::Stop;
use crate::syscalls::{GuestView, SyscallError};

/// The machine as software syscalls see it.
struct MachineView<'a> {
    mem: &'a GuestMemory,
    user_cycles: u64,
}

impl GuestView for MachineView<'_> {
    fn user_reg(&mut self, idx: usize) -> u32 {
        self.mem
            .load_u32(crate::platform::USER_REGS_ADDR + 4 * idx as u32)
    }

    fn bytes(&mut self, addr: u32, len: u32) -> Option<Vec<u8>> {
        self.mem.slice(addr, len).map(<[u8]>::to_vec)
    }

    fn user_cycles(&self) -> u64 {
        self.user_cycles
    }

    fn c_string(&mut self, addr: u32, max: u32) -> Option<Vec<u8>> {
        self.mem.c_string(addr, max).map(<[u8]>::to_vec)
    }
}

/// Cycles of a SHA2 call besides its blocks.
const SHA2_BASE_CYCLES: u64 = 6;
/// Cycles of each SHA2 block: 16 data loads, 48 mixing rounds, 4 stores.
const SHA2_BLOCK_CYCLES: u64 = 68;

/// The SHA-256 round constants a kernel must pass to SHA2.
const SHA256_K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

impl Machine {
    /// Performs the host call named by `a7`.
    pub(crate) fn host_call(&mut self) -> Result<(), Stop> {
        match self.reg(reg::A7) {
            host_call::TERMINATE => self.host_terminate(),
            host_call::READ => self.host_read(),
            host_call::WRITE => self.host_write(),
            host_call::SHA2 => self.host_sha2(),
            host_call::POSEIDON2 => Err(self.unsupported("POSEIDON2 host call")),
            host_call::BIGINT => Err(self.unsupported("BIGINT host call")),
            other => Err(self.unsupported(&format!("host call a7 = {other}"))),
        }
    }

    fn syscall_stop(&self, error: SyscallError) -> Stop {
        match error {
            SyscallError::Unsupported(what) => self.unsupported(&what),
            SyscallError::Panic(msg) => Stop::GuestPanic(msg),
            SyscallError::Invalid(msg) => self.host_error(msg),
            SyscallError::Io(msg) => Stop::Io(msg),
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

    fn host_terminate(&mut self) -> Result<(), Stop> {
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
            output_digest,
        });
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += 2;
        Ok(())
    }

    /// Checks a host I/O buffer: it must not wrap and must fit one transfer.
    fn io_buffer(&self, what: &str, ptr: u32, len: u32) -> Result<(), Stop> {
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

    /// READ: a0 = fd, a1 = buffer, a2 = length. The host's bytes are stored
    /// as the circuit does: leading bytes to word alignment, then up to four
    /// words per step, then trailing bytes, one cycle per step.
    fn host_read(&mut self) -> Result<(), Stop> {
        self.user_cycles += 1;
        let fd = self.reg(reg::A0);
        let mut ptr = self.reg(reg::A1);
        let len = self.reg(reg::A2);
        self.io_buffer("READ", ptr, len)?;
        if len > 0 && ptr < USER_START {
            return Err(self.host_error(format!("READ into the invalid page at {ptr:#010x}")));
        }
        let mut bytes = vec![0u8; len as usize];
        let mut view = MachineView {
            mem: &self.mem,
            user_cycles: self.user_cycles,
        };
        let served = self.io.host_read(&mut view, fd, &mut bytes);
        let mut remaining = served.map_err(|e| self.syscall_stop(e))?;
        if self.io.exit_requested {
            self.halt = Some(Halt {
                kind: HaltKind::Terminate,
                exit_code: 0,
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

    /// WRITE: a0 = fd, a1 = buffer, a2 = length; kernel diagnostics, shown
    /// on the guest's stderr whatever the fd. Returns the length in a0.
    fn host_write(&mut self) -> Result<(), Stop> {
        let ptr = self.reg(reg::A1);
        let len = self.reg(reg::A2);
        self.io_buffer("WRITE", ptr, len)?;
        let bytes = self.mem.slice(ptr, len).unwrap_or_default().to_vec();
        self.io
            .stderr
            .write_all(&bytes)
            .map_err(|e| Stop::Io(e.to_string()))?;
        self.set_reg(reg::A0, len);
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += 2;
        Ok(())
    }

    /// SHA2: a0 = input state, a1 = output state, a2 = data, a3 = block
    /// count (low 16 bits), a4 = round constants. States and data are
    /// big-endian words, as SHA-256 defines them.
    fn host_sha2(&mut self) -> Result<(), Stop> {
        let addr = |m: &Self, idx: usize, what: &str| {
            let value = m.reg(idx);
            if value < USER_START {
                Err(m.host_error(format!(
                    "SHA2 {what} pointer {value:#010x} is in the invalid page"
                )))
            } else {
                Ok(value & !3)
            }
        };
        let state_in = addr(self, reg::A0, "input state")?;
        let state_out = addr(self, reg::A1, "output state")?;
        let mut data = addr(self, reg::A2, "data")?;
        let count = self.reg(reg::A3) & 0xffff;
        let k_table = addr(self, reg::A4, "round constant")?;
        if count > MAX_SHA_COUNT {
            return Err(self.host_error(format!(
                "SHA2 of {count} blocks exceeds the limit of {MAX_SHA_COUNT}"
            )));
        }
        let k_matches = SHA256_K
            .iter()
            .enumerate()
            .all(|(i, &k)| self.mem.load_u32(k_table.wrapping_add(4 * i as u32)) == k);
        if !k_matches {
            return Err(self.unsupported("SHA2 with round constants other than SHA-256's"));
        }
        self.cycle_model.access_range(state_in, 32, Access::Read);
        self.cycle_model.access_range(state_out, 32, Access::Write);
        if count > 0 {
            self.cycle_model.access_range(k_table, 256, Access::Read);
            self.cycle_model
                .access_range(data, 64 * count, Access::Read);
        }
        let load_be = |m: &Self, at: u32| u32::from_be_bytes(m.mem.load_u32(at).to_le_bytes());
        let mut state = [0u32; 8];
        for (i, word) in state.iter_mut().enumerate() {
            *word = load_be(self, state_in.wrapping_add(4 * i as u32));
        }
        // The circuit copies the input state to the output before any block.
        let store_state = |m: &mut Self, state: &[u32; 8]| {
            for (i, word) in state.iter().enumerate() {
                let le = u32::from_le_bytes(word.to_be_bytes());
                m.mem.store_u32(state_out.wrapping_add(4 * i as u32), le);
            }
        };
        store_state(self, &state);
        for _ in 0..count {
            let mut block = [0u8; 64];
            for (i, chunk) in block.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(
                    &self
                        .mem
                        .load_u32(data.wrapping_add(4 * i as u32))
                        .to_le_bytes(),
                );
            }
            sha2::compress256(&mut state, &[GenericArray::clone_from_slice(&block)]);
            store_state(self, &state);
            data = data.wrapping_add(64);
        }
        self.pc = self.pc.wrapping_add(4);
        self.user_cycles += SHA2_BASE_CYCLES + SHA2_BLOCK_CYCLES * u64::from(count);
        Ok(())
    }
}
