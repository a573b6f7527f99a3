//! Where translated blocks are found: per mode, a two-level table from a
//! guest pc to native code (code pages, one slot per word), which
//! translated code reads directly to chain to its successor; and per page,
//! the blocks to drop when their code is overwritten.

use std::collections::HashMap;

use memmap2::{MmapMut, MmapOptions};

use crate::memory::{code_page, CODE_PAGE_BYTES, CODE_PAGE_SHIFT};
use crate::mode::Mode;

/// Slots of one second-level table: the words of a code page.
pub const SLOTS_PER_PAGE: usize = CODE_PAGE_BYTES as usize / 4;
/// First-level entries: the code pages of the address space.
pub const PAGES: usize = 1 << (32 - CODE_PAGE_SHIFT);

/// A block's native code.
pub type Code = *const u8;

/// One mode's pc-to-code table.
pub struct CodeTable {
    /// First level: page -> pointer to `[Code; SLOTS_PER_PAGE]` (or null).
    pages: FirstLevel,
    /// Owns the second-level tables.
    owned: Vec<Box<[Code; SLOTS_PER_PAGE]>>,
}

/// The 8 MiB of a first level: an anonymous mapping, whose zero pages the
/// OS hands out as they are touched (from the heap, a process that made an
/// engine before would clear all of it for every new engine), or the heap
/// if mapping fails.
enum FirstLevel {
    Mapped(MmapMut),
    Heap(Vec<*mut Code>),
}

impl FirstLevel {
    fn new() -> Self {
        let bytes = PAGES * std::mem::size_of::<*mut Code>();
        match MmapOptions::new().len(bytes).no_reserve_swap().map_anon() {
            Ok(map) => Self::Mapped(map),
            Err(_) => Self::Heap(vec![std::ptr::null_mut(); PAGES]),
        }
    }

    fn entries(&self) -> &[*mut Code] {
        match self {
            // SAFETY: the mapping holds PAGES pointer-aligned, zero-initialised
            // (null) pointers, and lives as long as the borrow.
            Self::Mapped(map) => unsafe {
                std::slice::from_raw_parts(map.as_ptr() as *const *mut Code, PAGES)
            },
            Self::Heap(entries) => entries,
        }
    }

    fn entries_mut(&mut self) -> &mut [*mut Code] {
        match self {
            // SAFETY: as in `entries`, borrowed mutably.
            Self::Mapped(map) => unsafe {
                std::slice::from_raw_parts_mut(map.as_mut_ptr() as *mut *mut Code, PAGES)
            },
            Self::Heap(entries) => entries,
        }
    }
}

impl CodeTable {
    fn new() -> Self {
        Self {
            pages: FirstLevel::new(),
            owned: Vec::new(),
        }
    }

    /// Address of the first level, for translated code.
    pub fn first_level(&self) -> *const *mut Code {
        self.pages.entries().as_ptr()
    }

    #[inline]
    fn get(&self, pc: u32) -> Option<Code> {
        let page = self.pages.entries()[code_page(pc) as usize];
        if page.is_null() {
            return None;
        }
        // SAFETY: a non-null entry points at an owned table of SLOTS_PER_PAGE slots.
        let code = unsafe { *page.add(((pc >> 2) as usize) % SLOTS_PER_PAGE) };
        (!code.is_null()).then_some(code)
    }

    /// The slot of the block at `pc`, with its second-level table made if
    /// need be. Second-level tables are never freed, so the slot never moves.
    fn slot(&mut self, pc: u32) -> *mut Code {
        let index = code_page(pc) as usize;
        let pages = self.pages.entries_mut();
        if pages[index].is_null() {
            let mut table = Box::new([std::ptr::null(); SLOTS_PER_PAGE]);
            pages[index] = table.as_mut_ptr();
            self.owned.push(table);
        }
        // SAFETY: as in `get`.
        unsafe { pages[index].add(((pc >> 2) as usize) % SLOTS_PER_PAGE) }
    }

    fn set(&mut self, pc: u32, code: Code) {
        // SAFETY: the slot is in an owned table.
        unsafe { *self.slot(pc) = code };
    }
}

/// A translated block's place in guest memory.
#[derive(Clone, Copy, Debug)]
pub struct BlockSpan {
    /// The mode it runs in.
    pub mode: Mode,
    /// First instruction: where the translation is entered.
    pub start: u32,
}

/// Both modes' tables and the blocks of every page.
pub struct CodeCache {
    tables: [CodeTable; 2],
    blocks_by_page: HashMap<u32, Vec<BlockSpan>>,
}

impl CodeCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            tables: [CodeTable::new(), CodeTable::new()],
            blocks_by_page: HashMap::new(),
        }
    }

    /// The table of a mode.
    pub fn table(&self, mode: Mode) -> &CodeTable {
        &self.tables[mode.index()]
    }

    /// Address of the slot that holds (or will hold) the code of the block
    /// at `pc` in a mode, for translated code that jumps there; it never moves.
    pub fn slot_address(&mut self, mode: Mode, pc: u32) -> i64 {
        self.tables[mode.index()].slot(pc) as i64
    }

    /// The code of the block starting at `pc` in a mode.
    #[inline]
    pub fn lookup(&self, mode: Mode, pc: u32) -> Option<Code> {
        self.tables[mode.index()].get(pc)
    }

    /// Registers a translation (whose blocks are all in `span.start`'s code page).
    pub fn insert(&mut self, span: BlockSpan, code: Code) {
        self.tables[span.mode.index()].set(span.start, code);
        self.blocks_by_page
            .entry(code_page(span.start))
            .or_default()
            .push(span);
    }

    /// An address in each code page that has translations.
    pub fn translated_pages(&self) -> Vec<u32> {
        self.blocks_by_page
            .keys()
            .map(|&page| page << crate::memory::CODE_PAGE_SHIFT)
            .collect()
    }

    /// Drops every block of the page holding `addr`; returns their spans so
    /// that their code words can be unmarked.
    pub fn invalidate_page(&mut self, addr: u32) -> Vec<BlockSpan> {
        let spans = self
            .blocks_by_page
            .remove(&code_page(addr))
            .unwrap_or_default();
        for span in &spans {
            self.tables[span.mode.index()].set(span.start, std::ptr::null());
        }
        spans
    }
}

impl Default for CodeCache {
    fn default() -> Self {
        Self::new()
    }
}
