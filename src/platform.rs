//! Addresses, numbers and limits of the zkVM machine (described in
//! `docs/machine.md`): the one place every other module takes them from.

/// First address past the invalid page; lower addresses always fault.
pub const USER_START: u32 = 0x0001_0000;
/// First address past user memory.
pub const USER_END: u32 = 0xC000_0000;
/// Start of kernel memory.
pub const KERNEL_START: u32 = USER_END;
/// First address past kernel memory.
pub const KERNEL_END: u32 = 0xFF00_0000;

/// Word holding the user entry point when a kernel is present.
pub const USER_ENTRY_ADDR: u32 = USER_START;
/// Machine-mode register file x0..x31.
pub const MACHINE_REGS_ADDR: u32 = 0xFFFF_0000;
/// User-mode register file x0..x31.
pub const USER_REGS_ADDR: u32 = 0xFFFF_0080;
/// Writes to x0 land this many bytes past the register file's base, so x0 stays 0.
pub const X0_SINK_OFFSET: u32 = 0x100;
/// Where zero padding of word-sized host READ transfers lands (the machine x0 sink).
pub const SAFE_WRITE_ADDR: u32 = MACHINE_REGS_ADDR + X0_SINK_OFFSET;
/// PC of the user instruction that trapped or made an ECALL.
pub const MEPC_ADDR: u32 = 0xFFFF_0200;
/// Where execution starts or resumes.
pub const SUSPEND_PC_ADDR: u32 = 0xFFFF_0210;
/// Mode (non-zero: machine) in which execution starts or resumes.
pub const SUSPEND_MODE_ADDR: u32 = 0xFFFF_0214;
/// Output digest (8 words), read at TERMINATE.
pub const GLOBAL_OUTPUT_ADDR: u32 = 0xFFFF_0240;
/// Input digest (8 words), written at every resume.
pub const GLOBAL_INPUT_ADDR: u32 = 0xFFFF_0260;
/// Word holding the kernel address a user ECALL jumps to.
pub const ECALL_DISPATCH_ADDR: u32 = 0xFFFF_1000;
/// Table of kernel handler addresses, one word per trap cause.
pub const TRAP_DISPATCH_ADDR: u32 = 0xFFFF_2000;

/// log2 of [`PAGE_BYTES`].
pub const PAGE_SHIFT: u32 = 10;
/// Bytes in a page of the page tree that proving pages in and out (the
/// cycle model's page).
pub const PAGE_BYTES: u32 = 1 << PAGE_SHIFT;
/// Pages in the 4 GiB address space: the leaves of the page tree.
pub const PAGES: u32 = 1 << (32 - PAGE_SHIFT);

/// Machine ECALL host call numbers (in `a7`).
pub mod host_call {
    /// End the run.
    pub const TERMINATE: u32 = 0;
    /// Read host data into guest memory.
    pub const READ: u32 = 1;
    /// Write guest memory to the host.
    pub const WRITE: u32 = 2;
    /// Poseidon2 permutation accelerator.
    pub const POSEIDON2: u32 = 3;
    /// SHA-256 compression accelerator.
    pub const SHA2: u32 = 4;
    /// Big-integer accelerator.
    pub const BIGINT: u32 = 5;
}

/// Largest transfer of one host READ or WRITE.
pub const MAX_IO_BYTES: u32 = 1024;
/// Largest block count of one SHA2 host call.
pub const MAX_SHA_COUNT: u32 = 10;

/// Register numbers by ABI name.
pub mod reg {
    /// Temporary t0: the user ECALL request number.
    pub const T0: usize = 5;
    /// Temporary t1.
    pub const T1: usize = 6;
    /// Temporary t2.
    pub const T2: usize = 7;
    /// Argument/return a0.
    pub const A0: usize = 10;
    /// Argument/return a1.
    pub const A1: usize = 11;
    /// Argument a2.
    pub const A2: usize = 12;
    /// Argument a3.
    pub const A3: usize = 13;
    /// Argument a4.
    pub const A4: usize = 14;
    /// Argument a5.
    pub const A5: usize = 15;
    /// Argument a7: the machine ECALL host call number.
    pub const A7: usize = 17;
    /// Temporary t3.
    pub const T3: usize = 28;
    /// ABI names of x0..x31, for disassembly and reports.
    pub const NAMES: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
        "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
        "t5", "t6",
    ];
}

/// Whether the `len` bytes at `addr` lie in user memory (an empty range
/// anywhere does): the one rule for every buffer a user program hands the
/// kernel and the host, which zkjit's kernel applies too.
pub fn is_user_range(addr: u32, len: u32) -> bool {
    len == 0 || ((USER_START..USER_END).contains(&addr) && len <= USER_END - addr)
}

/// Whether `addr` is in kernel memory.
pub fn is_kernel_memory(addr: u32) -> bool {
    (KERNEL_START..KERNEL_END).contains(&addr)
}
