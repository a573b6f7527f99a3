//! Guest memory: the whole 32-bit address space as one reserved anonymous
//! mapping, so that a guest address is an offset from one base pointer and
//! only touched pages cost RAM. The register files live here too, at their
//! contract addresses. Past the guest's last byte, where no 32-bit address
//! reaches, the same mapping holds a host-only page (the JIT keeps its
//! context there) and a table (the cycle model keeps its page states
//! there): translated code reaches both, and the register files, at small
//! offsets from the context pointer.
//!
//! Memory also knows which words hold translated code (one byte per guest
//! word, in a second lazily-committed mapping): a store to such a word is
//! recorded, so that the JIT can drop the translation before it runs again.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use memmap2::{MmapMut, MmapOptions, MmapRaw};

use crate::platform::{PAGE_BYTES, PAGE_SHIFT};

/// Size of the guest address space.
pub const SPACE_BYTES: usize = 1 << 32;
/// Host-only bytes mapped just past the guest's last byte (see
/// `GuestMemory::host_tail_ptr`).
pub const HOST_TAIL_BYTES: usize = 4096;
/// Bytes mapped after the host tail for tables translated code reads (see
/// `GuestMemory::take_host_table`): room for the cycle model's page states
/// (a byte per 1 KiB page, and a user-mode view of 16 MiB).
pub const HOST_TABLE_BYTES: usize = 32 << 20;
/// log2 of [`CODE_PAGE_BYTES`].
pub const CODE_PAGE_SHIFT: u32 = 12;
/// Bytes of a code page: the unit translated code is kept and dropped in.
/// A translation never crosses one, and a store into translated code drops
/// every translation of its code page.
pub const CODE_PAGE_BYTES: u32 = 1 << CODE_PAGE_SHIFT;

/// The code page (address >> [`CODE_PAGE_SHIFT`]) holding `addr`.
#[inline(always)]
pub const fn code_page(addr: u32) -> u32 {
    addr >> CODE_PAGE_SHIFT
}

fn reserve(len: usize) -> io::Result<MmapMut> {
    MmapOptions::new().len(len).no_reserve_swap().map_anon()
}

/// The guest's 4 GiB address space.
pub struct GuestMemory {
    /// The guest's bytes, then the host tail, then the host table (shared
    /// with the table's holder once taken).
    map: Arc<MmapRaw>,
    /// Whether the host table has been handed out.
    table_taken: bool,
    /// One byte per guest word: non-zero where the word holds translated code.
    code_words: MmapMut,
    /// Which pages hold a word of translated code.
    code_pages: CodePageFlags,
    /// Addresses of code words stored to since the last `take_written_code`.
    written_code: Vec<u32>,
    /// When set, the code page of every store is recorded.
    track_pages: bool,
    written_pages: Vec<u32>,
}

impl GuestMemory {
    /// Reserves a zero-filled 4 GiB address space.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            map: Arc::new(MmapRaw::from(reserve(
                SPACE_BYTES + HOST_TAIL_BYTES + HOST_TABLE_BYTES,
            )?)),
            table_taken: false,
            code_words: reserve(SPACE_BYTES / 4)?,
            code_pages: CodePageFlags::new()?,
            written_code: Vec::new(),
            track_pages: false,
            written_pages: Vec::new(),
        })
    }

    /// Base pointer of the mapping: guest address `a` is at `base + a`.
    pub fn base_ptr(&mut self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// `HOST_TAIL_BYTES` of page-aligned host memory right after guest
    /// address 0xffff_ffff, which no guest address reaches (every access
    /// is by a 32-bit address). The JIT keeps its context there, so that
    /// translated code reaches the register files, at the top of the guest
    /// space, at small offsets from the context pointer it always holds.
    pub fn host_tail_ptr(&mut self) -> *mut u8 {
        // SAFETY: the mapping is longer than SPACE_BYTES.
        unsafe { self.map.as_mut_ptr().add(SPACE_BYTES) }
    }

    /// The zeroed `HOST_TABLE_BYTES` after the host tail, the first time
    /// (translated code reaches a table there from the context, as it does
    /// the register files: the cycle model keeps its page states there).
    pub fn take_host_table(&mut self) -> Option<HostTable> {
        if std::mem::replace(&mut self.table_taken, true) {
            return None;
        }
        Some(HostTable {
            map: Some(Arc::clone(&self.map)),
            offset: SPACE_BYTES + HOST_TAIL_BYTES,
            len: HOST_TABLE_BYTES,
        })
    }

    /// The guest's bytes.
    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping starts with SPACE_BYTES of guest memory, which
        // only this memory hands out references to.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr(), SPACE_BYTES) }
    }

    /// The guest's bytes, to change.
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr(), SPACE_BYTES) }
    }

    /// Base pointer of the code-word map: the byte for guest address `a` is
    /// at `base + (a >> 2)`.
    pub fn code_words_ptr(&mut self) -> *mut u8 {
        self.code_words.as_mut_ptr()
    }

    /// Base pointer of the code-page map: the byte for guest address `a` is
    /// at `base + (a >> PAGE_SHIFT)`.
    pub fn code_pages_ptr(&mut self) -> *mut u8 {
        self.code_pages.map.as_mut_ptr()
    }

    /// A handle on the code-page map, to read (the cycle model's, which
    /// tells translated stores which dirty pages hold code).
    pub fn code_page_flags(&self) -> CodePageFlags {
        self.code_pages.clone()
    }

    /// Marks the words `start..end` (within one code page) as holding
    /// translated code; returns the pages (`PAGE_BYTES`) whose flags it set.
    pub fn mark_code_words(&mut self, start: u32, end: u32) -> Range<u32> {
        self.code_words[(start >> 2) as usize..(end >> 2) as usize].fill(1);
        let pages = pages_of(start, end);
        self.code_pages.fill(pages.clone(), 1);
        pages
    }

    /// Unmarks every word of the code page holding `addr`; returns the
    /// pages (`PAGE_BYTES`) whose flags it cleared.
    pub fn clear_code_page(&mut self, addr: u32) -> Range<u32> {
        let start = (code_page(addr) * CODE_PAGE_BYTES) as usize;
        let end = start + CODE_PAGE_BYTES as usize;
        self.code_words[start / 4..end / 4].fill(0);
        let pages = code_page_pages(addr);
        self.code_pages.fill(pages.clone(), 0);
        pages
    }

    /// The code words stored to since the last call.
    pub fn take_written_code(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.written_code)
    }

    /// Whether a code word has been stored to since the last `take_written_code`.
    #[inline(always)]
    pub fn code_was_written(&self) -> bool {
        !self.written_code.is_empty()
    }

    /// Records a store to `addr` in the code-word and page logs.
    #[inline(always)]
    pub fn note_store(&mut self, addr: u32) {
        // SAFETY: addr >> 2 < 2^30, the length of the code-word map.
        if unsafe { *self.code_words.get_unchecked((addr >> 2) as usize) } != 0 {
            self.written_code.push(addr);
        }
        if self.track_pages {
            self.written_pages.push(code_page(addr));
        }
    }

    /// Starts recording the page of every store (for differential runs).
    pub fn track_written_pages(&mut self) {
        self.track_pages = true;
    }

    /// The pages stored to since the last call (with repeats).
    pub fn take_written_pages(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.written_pages)
    }

    /// The bytes of 1 KiB page `page` (address / [`PAGE_BYTES`]).
    pub fn page_bytes(&self, page: u32) -> &[u8] {
        let start = page as usize * PAGE_BYTES as usize;
        &self.bytes()[start..start + PAGE_BYTES as usize]
    }

    /// The bytes of code page `page` (see [`code_page`]).
    pub fn code_page_bytes(&self, page: u32) -> &[u8] {
        let start = (page * CODE_PAGE_BYTES) as usize;
        &self.bytes()[start..start + CODE_PAGE_BYTES as usize]
    }

    /// Loads the word containing `addr` (the low two bits are ignored).
    #[inline(always)]
    pub fn load_u32(&self, addr: u32) -> u32 {
        let offset = (addr & !3) as usize;
        // SAFETY: the mapping covers every u32 address and the offset is aligned.
        let value = unsafe { (self.map.as_ptr().add(offset) as *const u32).read() };
        u32::from_le(value)
    }

    /// Stores the word containing `addr` (the low two bits are ignored).
    #[inline(always)]
    pub fn store_u32(&mut self, addr: u32, value: u32) {
        self.store_register_word(addr, value);
        self.note_store(addr);
    }

    /// Stores a register word: the word `store_u32` stores, but neither
    /// checked for translated code nor tracked (registers are compared on
    /// their own).
    #[inline(always)]
    pub fn store_register_word(&mut self, addr: u32, value: u32) {
        let offset = (addr & !3) as usize;
        // SAFETY: as in `load_u32`.
        unsafe { (self.map.as_mut_ptr().add(offset) as *mut u32).write(value.to_le()) }
    }

    /// Loads one byte.
    #[inline(always)]
    pub fn load_u8(&self, addr: u32) -> u8 {
        self.bytes()[addr as usize]
    }

    /// Stores one byte.
    #[inline(always)]
    pub fn store_u8(&mut self, addr: u32, value: u8) {
        self.bytes_mut()[addr as usize] = value;
        self.note_store(addr);
    }

    /// Loads the halfword at `addr` (the low bit is ignored).
    #[inline(always)]
    pub fn load_u16(&self, addr: u32) -> u16 {
        let offset = (addr & !1) as usize;
        u16::from_le_bytes([self.bytes()[offset], self.bytes()[offset + 1]])
    }

    /// Stores the halfword at `addr` (the low bit is ignored).
    #[inline(always)]
    pub fn store_u16(&mut self, addr: u32, value: u16) {
        let offset = (addr & !1) as usize;
        self.bytes_mut()[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
        self.note_store(addr);
    }

    /// The bytes `addr..addr + len`, or `None` if the range wraps past the top.
    pub fn slice(&self, addr: u32, len: u32) -> Option<&[u8]> {
        let end = addr.checked_add(len)?;
        Some(&self.bytes()[addr as usize..end as usize])
    }

    /// Copies `bytes` to `addr`; `None` if the range wraps past the top.
    pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) -> Option<()> {
        let len = u32::try_from(bytes.len()).ok()?;
        let end = addr.checked_add(len)?;
        self.bytes_mut()[addr as usize..end as usize].copy_from_slice(bytes);
        for word in (addr & !3..end).step_by(4) {
            self.note_store(word);
        }
        Some(())
    }

    /// The NUL-terminated string at `addr`, at most `max` bytes long.
    pub fn c_string(&self, addr: u32, max: u32) -> Option<&[u8]> {
        let end = addr.saturating_add(max);
        let bytes = &self.bytes()[addr as usize..end as usize];
        let len = bytes.iter().position(|&b| b == 0)?;
        Some(&bytes[..len])
    }
}

/// The pages (`PAGE_BYTES`) holding the bytes `start..end` (not empty).
fn pages_of(start: u32, end: u32) -> Range<u32> {
    start >> PAGE_SHIFT..((end - 1) >> PAGE_SHIFT) + 1
}

/// The pages (`PAGE_BYTES`, fine enough to tell a stack from the code next
/// to it) of code page `code_page(addr)`.
fn code_page_pages(addr: u32) -> Range<u32> {
    let first = code_page(addr) << (CODE_PAGE_SHIFT - PAGE_SHIFT);
    first..first + (CODE_PAGE_BYTES >> PAGE_SHIFT)
}

/// One byte per page (`PAGE_BYTES`) of the address space, non-zero where
/// a word of the page holds translated code. Guest memory owns and writes
/// it; handles from `GuestMemory::code_page_flags` read the same bytes.
#[derive(Clone)]
pub struct CodePageFlags {
    map: Arc<MmapRaw>,
}

impl CodePageFlags {
    fn new() -> io::Result<Self> {
        Ok(Self {
            map: Arc::new(MmapRaw::from(reserve(SPACE_BYTES >> PAGE_SHIFT)?)),
        })
    }

    /// Whether page `page` (an address >> `PAGE_SHIFT`) holds translated code.
    #[inline(always)]
    pub fn holds_code(&self, page: u32) -> bool {
        // SAFETY: the map has a byte for each of the 2^22 pages; no
        // reference into it is ever held (it is read and written by pointer).
        unsafe { *self.map.as_ptr().add(page as usize) != 0 }
    }

    fn fill(&self, pages: Range<u32>, value: u8) {
        let len = pages.end.saturating_sub(pages.start) as usize;
        // SAFETY: as in `holds_code`; the pages are within the map.
        unsafe {
            std::ptr::write_bytes(self.map.as_mut_ptr().add(pages.start as usize), value, len)
        }
    }
}

/// Zero-filled host bytes that translated code may read: a mapping of
/// their own, or the table after a guest memory's host tail (see
/// `GuestMemory::take_host_table`), which no other holder reaches.
pub struct HostTable {
    map: Option<Arc<MmapRaw>>,
    offset: usize,
    len: usize,
}

impl HostTable {
    /// `len` zero bytes in a mapping of their own (pages are backed only
    /// once touched).
    pub fn new(len: usize) -> io::Result<Self> {
        if len == 0 {
            return Ok(Self::empty());
        }
        Ok(Self {
            map: Some(Arc::new(MmapRaw::from(reserve(len)?))),
            offset: 0,
            len,
        })
    }

    /// No bytes.
    pub fn empty() -> Self {
        Self {
            map: None,
            offset: 0,
            len: 0,
        }
    }

    fn start(&self) -> *mut u8 {
        match &self.map {
            // SAFETY: `offset + len` is within the mapping.
            Some(map) => unsafe { map.as_mut_ptr().add(self.offset) },
            None => std::ptr::NonNull::dangling().as_ptr(),
        }
    }
}

impl std::ops::Deref for HostTable {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` mapped bytes that only this table hands out.
        unsafe { std::slice::from_raw_parts(self.start(), self.len) }
    }
}

impl std::ops::DerefMut for HostTable {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.start(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_halves_and_bytes_are_little_endian_views_of_one_store() {
        let mut mem = GuestMemory::new().unwrap();
        mem.store_u32(0x2000, 0x1122_3344);
        assert_eq!(mem.load_u8(0x2000), 0x44);
        assert_eq!(mem.load_u16(0x2002), 0x1122);
        mem.store_u8(0x2001, 0xaa);
        mem.store_u16(0x2002, 0xbeef);
        assert_eq!(mem.load_u32(0x2000), 0xbeef_aa44);
        // the top of the address space is mapped too
        mem.store_u32(0xffff_fffc, 7);
        assert_eq!(mem.load_u32(0xffff_fffc), 7);
        assert_eq!(mem.load_u32(0x8000_0000), 0);
    }

    #[test]
    fn stores_to_code_words_are_recorded() {
        let mut mem = GuestMemory::new().unwrap();
        mem.mark_code_words(0x1000, 0x1010);
        mem.store_u32(0x1010, 1);
        assert!(!mem.code_was_written());
        mem.store_u8(0x100d, 1);
        mem.store_u16(0x1002, 1);
        assert_eq!(mem.take_written_code(), vec![0x100d, 0x1002]);
        mem.clear_code_page(0x1ffc);
        mem.store_u32(0x1000, 1);
        assert!(!mem.code_was_written());
        // The last page of the address space too.
        mem.mark_code_words(0xffff_fff0, 0xffff_fffc);
        mem.store_u32(0xffff_fff4, 1);
        assert_eq!(mem.take_written_code(), vec![0xffff_fff4]);
        mem.clear_code_page(0xffff_f000);
    }

    #[test]
    fn ranges_that_wrap_are_refused() {
        let mut mem = GuestMemory::new().unwrap();
        assert!(mem.slice(0xffff_fff0, 0x20).is_none());
        assert!(mem.write_bytes(0xffff_ffff, &[1, 2]).is_none());
        mem.write_bytes(0x3000, b"abc\0").unwrap();
        assert_eq!(mem.c_string(0x3000, 16), Some(&b"abc"[..]));
        assert_eq!(mem.c_string(0x3000, 2), None);
    }

    #[test]
    fn the_host_table_follows_the_host_tail_and_is_taken_once() {
        let mut mem = GuestMemory::new().expect("4 GiB reserved");
        let tail = mem.host_tail_ptr();
        let mut table = mem.take_host_table().expect("the table, the first time");
        assert!(mem.take_host_table().is_none());
        assert_eq!(table.len(), HOST_TABLE_BYTES);
        assert_eq!(
            table.as_ptr(),
            tail.wrapping_add(HOST_TAIL_BYTES).cast_const()
        );
        assert!(table.iter().step_by(4096).all(|&b| b == 0));
        table[HOST_TABLE_BYTES - 1] = 7;
        // The table outlives the memory it was taken from.
        drop(mem);
        assert_eq!(table[HOST_TABLE_BYTES - 1], 7);
    }
}
