//! Where translated code lives: one mapping from which functions are packed
//! one after the other. Cranelift's own memory provider maps fresh pages for
//! every function, so that hot blocks, each a function, were spread one to a
//! page: packing them means fewer instruction-TLB misses and system calls.
//!
//! Memory is never writable and executable at once. The arena is one piece
//! of memory mapped twice: Cranelift writes code through a read-write view
//! and it runs from a read-execute view, so that no function costs a
//! protection change (two `mprotect` calls a function). Under `perf` (which reads the code's addresses from
//! the map Cranelift writes, the ones it wrote the code at), or where the
//! double mapping cannot be made, it is one mapping whose written pages
//! become read-execute when the module finalizes a function, and the page a
//! new function starts in is made writable again while Cranelift writes it
//! (translated code never runs meanwhile).

use std::io;

use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider};
use cranelift_module::{ModuleError, ModuleResult};

/// Address space reserved for one engine's code (touched only as used).
pub const ARENA_BYTES: usize = 128 << 20;
/// What `allocate` says when the arena is full (the engine then flushes it).
pub const ARENA_FULL: &str = "the JIT's code arena is full";
/// The host's unit of memory protection (not the guest's 1 KiB page).
const HOST_PAGE_BYTES: usize = 4096;

/// Executable memory for one compiler's functions.
pub struct CodeArena {
    /// Where Cranelift writes the code.
    base: *mut u8,
    /// The read-execute view of the same memory, when there are two.
    exec_view: Option<*mut u8>,
    used: usize,
    /// How much of the arena may be used (at most `ARENA_BYTES`).
    capacity: usize,
    /// With one view: pages below this offset are read-execute, the rest
    /// read-write.
    exec_end: usize,
}

// SAFETY: the arena is a range of addresses that only its owner uses.
unsafe impl Send for CodeArena {}

/// `mmap` of `len` bytes, or the OS error.
fn map(len: usize, prot: libc::c_int, flags: libc::c_int, fd: libc::c_int) -> io::Result<*mut u8> {
    // SAFETY: a fresh mapping at an address the OS chooses.
    let base = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, 0) };
    if base == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(base.cast())
    }
}

impl CodeArena {
    /// Reserves the arena. Only on x86-64, whose instruction cache needs no
    /// flushing after code is written, through either view (elsewhere
    /// Cranelift's own provider does what the architecture needs).
    pub fn new(capacity: usize) -> io::Result<Self> {
        let capacity = capacity.min(ARENA_BYTES);
        if !cfg!(target_arch = "x86_64") {
            return Err(io::Error::other("the code arena is for x86-64 hosts"));
        }
        if std::env::var_os("PERF_BUILDID_DIR").is_none() {
            match Self::double_mapped(capacity) {
                Ok(arena) => return Ok(arena),
                Err(error) => tracing::debug!(%error, "code arena mapped once"),
            }
        }
        let base = map(
            ARENA_BYTES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
        )?;
        Ok(Self {
            base,
            exec_view: None,
            used: 0,
            capacity,
            exec_end: 0,
        })
    }

    /// The arena as an anonymous file mapped read-write and read-execute.
    fn double_mapped(capacity: usize) -> io::Result<Self> {
        // SAFETY: plain system calls on a file descriptor this owns.
        unsafe {
            let fd = libc::memfd_create(c"zkjit-code".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let views = if libc::ftruncate(fd, ARENA_BYTES as libc::off_t) == 0 {
                let shared = libc::MAP_SHARED | libc::MAP_NORESERVE;
                map(ARENA_BYTES, libc::PROT_READ | libc::PROT_WRITE, shared, fd).and_then(|write| {
                    match map(ARENA_BYTES, libc::PROT_READ | libc::PROT_EXEC, shared, fd) {
                        Ok(exec) => Ok((write, exec)),
                        Err(error) => {
                            libc::munmap(write.cast(), ARENA_BYTES);
                            Err(error)
                        }
                    }
                })
            } else {
                Err(io::Error::last_os_error())
            };
            // (The mappings keep the memory.)
            libc::close(fd);
            let (base, exec) = views?;
            Ok(Self {
                base,
                exec_view: Some(exec),
                used: 0,
                capacity,
                exec_end: 0,
            })
        }
    }

    /// What to add to the address Cranelift wrote a function at to get the
    /// address it runs at.
    pub fn exec_offset(&self) -> isize {
        self.exec_view
            .map_or(0, |exec| exec as isize - self.base as isize)
    }

    /// Sets the protection of the pages `from..to` (page-aligned offsets).
    fn protect(&mut self, from: usize, to: usize, prot: libc::c_int) -> io::Result<()> {
        if from >= to {
            return Ok(());
        }
        // SAFETY: a page-aligned range within the mapping.
        let result = unsafe { libc::mprotect(self.base.add(from).cast(), to - from, prot) };
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl JITMemoryProvider for CodeArena {
    fn allocate(&mut self, size: usize, align: u64, kind: JITMemoryKind) -> io::Result<*mut u8> {
        // (Translations are code only: no data objects are defined.)
        if matches!(kind, JITMemoryKind::Writable) {
            return Err(io::Error::other("the code arena holds no writable data"));
        }
        let align = usize::try_from(align).unwrap_or(HOST_PAGE_BYTES).max(1);
        let start = self.used.div_ceil(align) * align;
        if start + size > self.capacity {
            return Err(io::Error::other(ARENA_FULL));
        }
        if self.exec_view.is_none() && start < self.exec_end {
            let page = start / HOST_PAGE_BYTES * HOST_PAGE_BYTES;
            self.protect(page, self.exec_end, libc::PROT_READ | libc::PROT_WRITE)?;
            self.exec_end = page;
        }
        self.used = start + size;
        // SAFETY: within the mapping.
        Ok(unsafe { self.base.add(start) })
    }

    unsafe fn free_memory(&mut self) {}

    fn finalize(&mut self, _: BranchProtection) -> ModuleResult<()> {
        if self.exec_view.is_some() {
            // (The code is already in the read-execute view.)
            return Ok(());
        }
        let end = self.used.div_ceil(HOST_PAGE_BYTES) * HOST_PAGE_BYTES;
        self.protect(self.exec_end, end, libc::PROT_READ | libc::PROT_EXEC)
            .map_err(|e| ModuleError::Backend(e.into()))?;
        self.exec_end = end;
        Ok(())
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        // The module, and with it the engine, is gone: its code is no
        // longer reachable.
        // SAFETY: the mappings made in `new`.
        unsafe {
            libc::munmap(self.base.cast(), ARENA_BYTES);
            if let Some(exec) = self.exec_view {
                libc::munmap(exec.cast(), ARENA_BYTES);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn code_written_in_one_view_is_read_in_the_other() {
        if std::env::var_os("PERF_BUILDID_DIR").is_some() {
            return; // (under perf the arena is mapped once, on purpose)
        }
        let mut arena = CodeArena::new(ARENA_BYTES).expect("an arena");
        let offset = arena.exec_offset();
        assert_ne!(offset, 0, "the arena is mapped twice");
        let code = [0x90u8, 0x90, 0xc3];
        let at = arena
            .allocate(code.len(), 16, JITMemoryKind::Executable)
            .expect("room");
        // SAFETY: `at` is the start of `code.len()` bytes of the write view,
        // which the exec view maps too, `offset` bytes away.
        let seen = unsafe {
            at.copy_from(code.as_ptr(), code.len());
            std::slice::from_raw_parts(at.wrapping_offset(offset), code.len()).to_vec()
        };
        assert_eq!(seen, code);
        arena.finalize(BranchProtection::None).expect("finalized");
    }
}
