//! Guest registers in translated code: user-mode registers live in SSA
//! variables (loaded at first use, stored as written, or when a loop leaves),
//! machine-mode ones are read and written in their register file. Register
//! files and the context are both reached at small offsets from the context
//! pointer.

use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::{flags, Translator, SINK};
use crate::memory::SPACE_BYTES;
use crate::platform::X0_SINK_OFFSET;

impl Translator<'_, '_> {
    /// Guest address of register variable `idx` (32 is the x0 sink).
    pub(super) fn reg_addr(&self, idx: usize) -> u32 {
        let offset = if idx == SINK {
            X0_SINK_OFFSET
        } else {
            4 * idx as u32
        };
        self.reg_file + offset
    }

    /// Host pointer to guest address `addr` (an i32 value).
    pub(super) fn host_ptr(&mut self, addr: Value) -> Value {
        let wide = self.b.ins().uextend(types::I64, addr);
        self.b.ins().iadd(self.mem_base, wide)
    }

    /// Host pointer and offset of register variable `idx`: the context
    /// sits right after the guest's 4 GiB (see `GuestMemory::host_tail_ptr`),
    /// so a register is at a small negative offset from it, and no 64-bit
    /// address is materialised for a register access.
    pub(super) fn reg_slot(&self, idx: usize) -> (Value, i32) {
        let from_context = i64::from(self.reg_addr(idx)) - SPACE_BYTES as i64;
        (self.ctx, from_context as i32)
    }

    pub(super) fn load_reg_from_memory(&mut self, idx: usize) -> Value {
        let (base, offset) = self.reg_slot(idx);
        self.b.ins().load(types::I32, flags(), base, offset)
    }

    pub(super) fn store_reg_to_memory(&mut self, idx: usize, value: Value) {
        let (base, offset) = self.reg_slot(idx);
        self.b.ins().store(flags(), value, base, offset);
    }

    pub(super) fn read_reg(&mut self, r: u8) -> Value {
        let idx = r as usize;
        if !self.cache_regs {
            return self.load_reg_from_memory(idx);
        }
        if !self.loaded[idx] {
            let value = self.load_reg_from_memory(idx);
            self.b.def_var(self.vars[idx], value);
            self.loaded[idx] = true;
        }
        self.b.use_var(self.vars[idx])
    }

    pub(super) fn write_reg(&mut self, r: u8, value: Value) {
        let idx = if r == 0 { SINK } else { r as usize };
        if !self.cache_regs {
            self.store_reg_to_memory(idx, value);
            return;
        }
        self.b.def_var(self.vars[idx], value);
        self.loaded[idx] = true;
        // See `dirty`.
        if self.loop_targets.is_empty() {
            if !self.value_overwritten {
                self.store_reg_to_memory(idx, value);
            }
        } else {
            self.dirty[idx] = true;
        }
    }

    /// Stores the registers a loop keeps only in SSA values (see `dirty`;
    /// the values stay valid).
    pub(super) fn write_back(&mut self) {
        for idx in 0..33 {
            if self.dirty[idx] {
                let value = self.b.use_var(self.vars[idx]);
                self.store_reg_to_memory(idx, value);
            }
        }
    }
}
