//! The two privilege modes and the one rule of what each may touch: which
//! addresses a mode may fetch instructions from and load from or store to.
//! The interpreter (through `Machine`), the JIT's translated checks and the
//! cycle model's user-mode view of the page states all derive from
//! [`Mode::accessible`]; `tests/access_rule.rs` checks on the edge
//! addresses that translated code and this rule agree.

use std::ops::Range;

use crate::platform::{MACHINE_REGS_ADDR, USER_END, USER_REGS_ADDR, USER_START};

/// The mode code runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// User mode: the guest program.
    User = 0,
    /// Machine mode: the kernel (or a bare program).
    Machine = 1,
}

impl Mode {
    /// Both modes, user first (as [`Mode::index`] numbers them).
    pub const ALL: [Mode; 2] = [Mode::User, Mode::Machine];

    /// Machine mode when `machine` is true, else user mode.
    pub fn from_machine(machine: bool) -> Self {
        if machine {
            Mode::Machine
        } else {
            Mode::User
        }
    }

    /// Whether this is machine mode.
    #[inline(always)]
    pub fn is_machine(self) -> bool {
        self == Mode::Machine
    }

    /// 0 for user mode, 1 for machine mode: an index for per-mode tables.
    #[inline(always)]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The addresses this mode may fetch from and load from or store to:
    /// user memory in user mode, everything past the invalid page in
    /// machine mode (the end is exclusive, so machine mode's is 2^32).
    #[inline(always)]
    pub const fn accessible(self) -> Range<u64> {
        let end = match self {
            Mode::User => USER_END as u64,
            Mode::Machine => 1 << 32,
        };
        USER_START as u64..end
    }

    /// How many bytes from [`USER_START`] this mode may access (machine
    /// mode's count, 2^32 - USER_START, fits in 32 bits).
    #[inline(always)]
    pub const fn accessible_bytes(self) -> u32 {
        let range = self.accessible();
        (range.end - range.start) as u32
    }

    /// Whether this mode may load from or store to `addr`.
    #[inline(always)]
    pub fn may_access(self, addr: u32) -> bool {
        // (One compare: addresses below USER_START wrap past the range.)
        addr.wrapping_sub(USER_START) < self.accessible_bytes()
    }

    /// Whether this mode may fetch an instruction at `addr`: the same
    /// addresses as its data accesses.
    #[inline(always)]
    pub fn may_fetch(self, addr: u32) -> bool {
        self.may_access(addr)
    }

    /// Address of this mode's register file.
    #[inline(always)]
    pub const fn reg_file(self) -> u32 {
        match self {
            Mode::User => USER_REGS_ADDR,
            Mode::Machine => MACHINE_REGS_ADDR,
        }
    }

    /// The mode's name, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::User => "user",
            Mode::Machine => "machine",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::KERNEL_START;

    #[test]
    fn user_mode_touches_user_memory_and_machine_mode_all_past_the_invalid_page() {
        let edges = [
            (0, false, false),
            (USER_START - 1, false, false),
            (USER_START, true, true),
            (USER_END - 1, true, true),
            (KERNEL_START, false, true),
            (MACHINE_REGS_ADDR, false, true),
            (u32::MAX, false, true),
        ];
        for (addr, user, machine) in edges {
            assert_eq!(Mode::User.may_access(addr), user, "user {addr:#x}");
            assert_eq!(Mode::Machine.may_access(addr), machine, "machine {addr:#x}");
            assert_eq!(Mode::User.may_fetch(addr), user, "user fetch {addr:#x}");
            assert_eq!(Mode::Machine.may_fetch(addr), machine);
        }
        assert_eq!(
            Mode::Machine.accessible_bytes(),
            0u32.wrapping_sub(USER_START)
        );
        assert_eq!(Mode::User.accessible_bytes(), USER_END - USER_START);
    }
}
