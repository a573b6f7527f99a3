//! Program loading: plain user ELFs (run under a kernel), RISC Zero program
//! binaries (`R0BF`: user and kernel ELF together) and bare machine-mode
//! ELFs. Every malformed input is refused with a [`LoadError`] naming the
//! problem.

use goblin::elf::{header, program_header, sym, Elf};

use crate::memory::GuestMemory;
use crate::platform::*;

/// Why a program could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, LoadError> {
    Err(LoadError(message.into()))
}

/// One loadable segment.
#[derive(Clone, Debug)]
pub struct LoadSegment {
    /// Guest address of the first byte.
    pub vaddr: u32,
    /// Bytes from the file; the rest up to `mem_size` is zero.
    pub data: Vec<u8>,
    /// Size in memory.
    pub mem_size: u32,
    /// Whether the segment holds code.
    pub executable: bool,
}

/// A named address from an ELF symbol table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Start address.
    pub addr: u32,
    /// Size in bytes (0 when unknown).
    pub size: u32,
    /// The name.
    pub name: String,
}

/// A parsed, validated ELF executable.
#[derive(Clone, Debug)]
pub struct ElfImage {
    /// Entry point.
    pub entry: u32,
    /// What to load.
    pub segments: Vec<LoadSegment>,
    /// Function and object symbols, sorted by address.
    pub symbols: Vec<Symbol>,
}

/// What an ELF is loaded as; decides where it may live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfRole {
    /// A user program: all of it in user memory.
    User,
    /// A kernel: anywhere past the invalid page.
    Kernel,
    /// A bare machine-mode program: anywhere past the invalid page.
    Bare,
}

impl ElfRole {
    fn allowed(self) -> (u32, u64) {
        match self {
            ElfRole::User => (USER_START, u64::from(USER_END)),
            ElfRole::Kernel | ElfRole::Bare => (USER_START, 1 << 32),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ElfRole::User => "user ELF",
            ElfRole::Kernel => "kernel ELF",
            ElfRole::Bare => "bare ELF",
        }
    }
}

/// A program ready to be written into guest memory.
#[derive(Clone, Debug)]
pub enum Program {
    /// A user program and the kernel it runs under.
    WithKernel {
        /// The user program.
        user: ElfImage,
        /// The kernel.
        kernel: ElfImage,
    },
    /// A machine-mode program run with no kernel.
    Bare(ElfImage),
}

/// What kind of file the bytes are, by their magic number.
pub(crate) fn sniff(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x7f, b'E', b'L', b'F', ..] => "ELF",
        [b'R', b'0', b'B', b'F', ..] => "R0BF",
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => {
            "a Mach-O file"
        }
        [0xca, 0xfe, 0xba, 0xbe, ..] => "a universal (fat) Mach-O file",
        [b'M', b'Z', ..] => "a PE (Windows) file",
        [b'!', b'<', b'a', b'r', b'c', b'h', b'>', ..] => "an archive (.a), not a linked program",
        [b'#', b'!', ..] => "a script",
        [] => "an empty file",
        _ => "not a recognised program format",
    }
}

impl ElfImage {
    /// Parses and validates an ELF for `role`.
    pub fn parse(bytes: &[u8], role: ElfRole) -> Result<Self, LoadError> {
        let what = role.name();
        match sniff(bytes) {
            "ELF" => {}
            "R0BF" => {
                return refuse(format!(
                    "{what}: is a RISC Zero program binary (R0BF), not an ELF"
                ))
            }
            other => return refuse(format!("{what}: not an ELF file ({other})")),
        }
        if bytes.len() < 52 {
            return refuse(format!(
                "{what}: truncated ({} bytes, shorter than an ELF header)",
                bytes.len()
            ));
        }
        match bytes[header::EI_CLASS] {
            header::ELFCLASS32 => {}
            header::ELFCLASS64 => {
                return refuse(format!(
                    "{what}: 64-bit ELF; zkVM programs are 32-bit RV32IM"
                ))
            }
            other => return refuse(format!("{what}: unknown ELF class {other}")),
        }
        if bytes[header::EI_DATA] != header::ELFDATA2LSB {
            return refuse(format!("{what}: big-endian ELF; the zkVM is little-endian"));
        }
        let half = |at: usize| u64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        let word = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()));
        for (table, offset, entry_size, count) in [
            ("program header table", word(28), half(42), half(44)),
            ("section header table", word(32), half(46), half(48)),
        ] {
            let end = offset + entry_size * count;
            if end > bytes.len() as u64 {
                return refuse(format!(
                    "{what}: truncated: the {table} ends at byte {end} but the file has {} bytes",
                    bytes.len()
                ));
            }
        }
        let elf = match Elf::parse(bytes) {
            Ok(elf) => elf,
            Err(e) => return refuse(format!("{what}: malformed ELF: {e}")),
        };
        if elf.header.e_machine != header::EM_RISCV {
            return refuse(format!(
                "{what}: built for {} (e_machine {}), not RISC-V",
                header::machine_to_str(elf.header.e_machine),
                elf.header.e_machine
            ));
        }
        if elf.header.e_type != header::ET_EXEC {
            return refuse(format!(
                "{what}: ELF type {} is not a linked executable (ET_EXEC)",
                header::et_to_str(elf.header.e_type)
            ));
        }
        const EF_RISCV_RVC: u32 = 0x1;
        const EF_RISCV_FLOAT_ABI: u32 = 0x6;
        if elf.header.e_flags & EF_RISCV_RVC != 0 {
            return refuse(format!(
                "{what}: built with compressed instructions (RVC); the zkVM runs RV32IM only (use -march=rv32im)"
            ));
        }
        if elf.header.e_flags & EF_RISCV_FLOAT_ABI != 0 {
            return refuse(format!(
                "{what}: uses a floating-point ABI; the zkVM runs RV32IM with -mabi=ilp32"
            ));
        }
        let entry = elf.header.e_entry as u32;
        let (low, high) = role.allowed();
        if entry < low || u64::from(entry) >= high {
            let place = if entry < USER_START {
                "the invalid page"
            } else {
                "kernel memory"
            };
            return refuse(format!("{what}: entry point {entry:#010x} is in {place}"));
        }
        if !entry.is_multiple_of(4) {
            return refuse(format!(
                "{what}: entry point {entry:#010x} is not word-aligned"
            ));
        }
        let mut segments = Vec::new();
        for (i, ph) in elf.program_headers.iter().enumerate() {
            if ph.p_type != program_header::PT_LOAD || ph.p_memsz == 0 {
                continue;
            }
            let (vaddr, file_size, mem_size, offset) =
                (ph.p_vaddr, ph.p_filesz, ph.p_memsz, ph.p_offset);
            if file_size > mem_size {
                return refuse(format!("{what}: segment {i} has more file bytes ({file_size}) than memory bytes ({mem_size})"));
            }
            let end = vaddr + mem_size;
            if vaddr < u64::from(low) || end > high {
                let place = if vaddr < u64::from(USER_START) {
                    "the invalid page"
                } else {
                    "kernel memory"
                };
                return refuse(format!(
                    "{what}: segment {i} at {vaddr:#010x}..{end:#010x} overlaps {place}"
                ));
            }
            if vaddr % 4 != 0 {
                return refuse(format!(
                    "{what}: segment {i} at {vaddr:#010x} is not word-aligned"
                ));
            }
            let Some(data) = offset
                .checked_add(file_size)
                .and_then(|file_end| bytes.get(offset as usize..file_end as usize))
            else {
                return refuse(format!(
                    "{what}: truncated: segment {i} needs file bytes {offset}..{} but the file has {}",
                    offset.saturating_add(file_size),
                    bytes.len()
                ));
            };
            segments.push(LoadSegment {
                vaddr: vaddr as u32,
                data: data.to_vec(),
                mem_size: mem_size as u32,
                executable: ph.is_executable(),
            });
        }
        if segments.is_empty() {
            return refuse(format!("{what}: has no loadable segment"));
        }
        for (i, a) in segments.iter().enumerate() {
            for b in &segments[i + 1..] {
                let (a_end, b_end) = (
                    u64::from(a.vaddr) + u64::from(a.mem_size),
                    u64::from(b.vaddr) + u64::from(b.mem_size),
                );
                if u64::from(a.vaddr) < b_end && u64::from(b.vaddr) < a_end {
                    return refuse(format!(
                        "{what}: segments at {:#010x} and {:#010x} overlap",
                        a.vaddr, b.vaddr
                    ));
                }
            }
        }
        let mut symbols: Vec<Symbol> = elf
            .syms
            .iter()
            .filter(|s| {
                matches!(
                    s.st_type(),
                    sym::STT_FUNC | sym::STT_OBJECT | sym::STT_NOTYPE
                ) && s.st_value != 0
                    // (Absolute symbols are constants, not addresses.)
                    && s.st_shndx != goblin::elf::section_header::SHN_ABS as usize
            })
            .filter_map(|s| {
                let name = elf.strtab.get_at(s.st_name)?;
                if name.is_empty() || name.starts_with('$') || name.starts_with(".L") {
                    return None;
                }
                Some(Symbol {
                    addr: s.st_value as u32,
                    size: s.st_size as u32,
                    name: name.to_string(),
                })
            })
            .collect();
        symbols.sort_by_key(|s| (s.addr, s.size == 0));
        Ok(ElfImage {
            entry,
            segments,
            symbols,
        })
    }

    fn write_to(&self, mem: &mut GuestMemory) {
        for segment in &self.segments {
            mem.write_bytes(segment.vaddr, &segment.data)
                .expect("segment ranges are validated at parse time");
        }
    }
}

/// The format of a RISC Zero program binary's header we accept: one
/// attribute, AbiVersion(V1Compat, version).
fn check_r0bf_header(header: &[u8]) -> Result<(), LoadError> {
    let bad = |why: &str| refuse(format!("R0BF: malformed header: {why}"));
    if header.len() < 8 {
        return bad("too short");
    }
    let count = u32::from_le_bytes(header[0..4].try_into().unwrap());
    let len = u32::from_le_bytes(header[4..8].try_into().unwrap()) as usize;
    if count != 1 || header.len() != 8 + len || len < 3 {
        return bad("expected exactly one ABI attribute");
    }
    let attr = &header[8..];
    // postcard: variant AbiVersion (0), AbiKind (0 = V1Compat, 1 = Linux), string
    match (attr[0], attr[1]) {
        (0, 0) => {}
        (0, 1) => return refuse("R0BF: Linux ABI programs are not supported (only V1Compat)"),
        _ => return bad("unknown attribute"),
    }
    let version_len = attr[2] as usize;
    match attr.get(3..3 + version_len).map(std::str::from_utf8) {
        Some(Ok(v)) if v.starts_with("1.") => Ok(()),
        Some(Ok(v)) => refuse(format!("R0BF: unsupported V1Compat ABI version {v}")),
        _ => bad("ABI version is not a string"),
    }
}

/// Splits a RISC Zero program binary into its user and kernel ELFs.
pub fn split_r0bf(bytes: &[u8]) -> Result<(&[u8], &[u8]), LoadError> {
    fn read_u32(rest: &mut &[u8], what: &str) -> Result<u32, LoadError> {
        if rest.len() < 4 {
            return refuse(format!("R0BF: truncated before the {what}"));
        }
        let (word, tail) = rest.split_at(4);
        *rest = tail;
        Ok(u32::from_le_bytes(word.try_into().unwrap()))
    }
    let mut rest = bytes
        .strip_prefix(b"R0BF")
        .ok_or(LoadError("R0BF: bad magic".into()))?;
    let version = read_u32(&mut rest, "format version")?;
    if version != 1 {
        return refuse(format!(
            "R0BF: format version {version} is not supported (only 1)"
        ));
    }
    let header_len = read_u32(&mut rest, "header length")? as usize;
    if rest.len() < header_len {
        return refuse("R0BF: truncated inside the header");
    }
    let (header, after) = rest.split_at(header_len);
    check_r0bf_header(header)?;
    rest = after;
    let user_len = read_u32(&mut rest, "user ELF length")? as usize;
    if rest.len() < user_len {
        return refuse(format!(
            "R0BF: truncated: user ELF needs {user_len} bytes, {} remain",
            rest.len()
        ));
    }
    let (user, kernel) = rest.split_at(user_len);
    if user.is_empty() || kernel.is_empty() {
        return refuse("R0BF: missing the user or the kernel ELF");
    }
    Ok((user, kernel))
}

impl Program {
    /// Loads program file `bytes`: an R0BF binary, a user ELF to run under
    /// `kernel`, or (with `bare`) a machine-mode ELF. A `kernel_override`
    /// replaces the kernel of an R0BF binary.
    pub fn from_bytes(
        bytes: &[u8],
        bare: bool,
        kernel: &[u8],
        kernel_override: bool,
    ) -> Result<Self, LoadError> {
        if sniff(bytes) == "R0BF" {
            if bare {
                return refuse("--bare needs an ELF; this is a RISC Zero program binary (R0BF) with its own kernel");
            }
            let (user, own_kernel) = split_r0bf(bytes)?;
            let kernel = if kernel_override { kernel } else { own_kernel };
            return Ok(Program::WithKernel {
                user: ElfImage::parse(user, ElfRole::User)?,
                kernel: ElfImage::parse(kernel, ElfRole::Kernel)?,
            });
        }
        if bare {
            return Ok(Program::Bare(ElfImage::parse(bytes, ElfRole::Bare)?));
        }
        Ok(Program::WithKernel {
            user: ElfImage::parse(bytes, ElfRole::User)?,
            kernel: ElfImage::parse(kernel, ElfRole::Kernel)?,
        })
    }

    /// Writes the program into memory with the entry words of the contract.
    pub fn write_to(&self, mem: &mut GuestMemory) {
        match self {
            Program::WithKernel { user, kernel } => {
                kernel.write_to(mem);
                user.write_to(mem);
                mem.store_u32(USER_ENTRY_ADDR, user.entry);
                mem.store_u32(SUSPEND_PC_ADDR, kernel.entry);
            }
            Program::Bare(image) => {
                image.write_to(mem);
                mem.store_u32(SUSPEND_PC_ADDR, image.entry);
            }
        }
        mem.store_u32(SUSPEND_MODE_ADDR, 1);
    }

    /// The images of the program, user first.
    pub fn images(&self) -> Vec<&ElfImage> {
        match self {
            Program::WithKernel { user, kernel } => vec![user, kernel],
            Program::Bare(image) => vec![image],
        }
    }

    /// The 1 KiB pages `write_to` may write, in order: every other page
    /// of a freshly loaded memory is zero.
    pub fn loaded_pages(&self) -> Vec<u32> {
        let mut pages: Vec<u32> = [USER_ENTRY_ADDR, SUSPEND_PC_ADDR, SUSPEND_MODE_ADDR]
            .iter()
            .map(|addr| addr / PAGE_BYTES)
            .collect();
        for image in self.images() {
            for segment in image.segments.iter().filter(|s| s.mem_size > 0) {
                let last = segment.vaddr + (segment.mem_size - 1);
                pages.extend(segment.vaddr / PAGE_BYTES..=last / PAGE_BYTES);
            }
        }
        pages.sort_unstable();
        pages.dedup();
        pages
    }

    /// The symbol table of all images.
    pub fn symbols(&self) -> Symbols {
        let mut all: Vec<Symbol> = self
            .images()
            .iter()
            .flat_map(|i| i.symbols.iter().cloned())
            .collect();
        all.sort_by_key(|s| (s.addr, s.size == 0));
        Symbols(all)
    }
}

/// Symbols of a loaded program, for naming code addresses.
#[derive(Clone, Debug, Default)]
pub struct Symbols(pub Vec<Symbol>);

impl Symbols {
    /// Names `addr` as `symbol` or `symbol+0xoffset`, when a symbol covers it
    /// (or, for symbols of unknown size, precedes it within 64 KiB).
    pub fn lookup(&self, addr: u32) -> Option<String> {
        let s = self.covering(addr)?;
        let offset = addr - s.addr;
        Some(if offset == 0 {
            s.name.clone()
        } else {
            format!("{}+{offset:#x}", s.name)
        })
    }

    /// The symbol that covers `addr` (or, for symbols of unknown size,
    /// precedes it within 64 KiB).
    pub fn covering(&self, addr: u32) -> Option<&Symbol> {
        let idx = self.0.partition_point(|s| s.addr <= addr);
        self.0[..idx].iter().rev().find(|s| {
            let offset = addr - s.addr;
            if s.size > 0 {
                offset < s.size
            } else {
                offset < 0x1_0000
            }
        })
    }

    /// The symbol that starts exactly at `addr`.
    pub fn at(&self, addr: u32) -> Option<&str> {
        let idx = self.0.partition_point(|s| s.addr < addr);
        self.0
            .get(idx)
            .filter(|s| s.addr == addr)
            .map(|s| s.name.as_str())
    }
}

/// The kernel zkjit runs user ELFs under unless told otherwise.
pub const KERNEL_ELF: &[u8] = include_bytes!("../kernel/kernel.elf");

/// Loads a program file as the CLI does: `bare` for machine-mode ELFs, an
/// optional kernel ELF replacing the built-in one.
pub fn load_program_file(
    path: &std::path::Path,
    bare: bool,
    kernel: Option<&std::path::Path>,
) -> anyhow::Result<Program> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
    };
    let bytes = read(path)?;
    let kernel_bytes = match kernel {
        Some(k) => read(k)?,
        None => KERNEL_ELF.to_vec(),
    };
    Program::from_bytes(&bytes, bare, &kernel_bytes, kernel.is_some()).map_err(|LoadError(msg)| {
        // Name the file the problem is in.
        let file = match kernel {
            Some(kernel) if msg.starts_with("kernel ELF") => kernel,
            _ => path,
        };
        anyhow::anyhow!("{}: {msg}", file.display())
    })
}
