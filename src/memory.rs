//! Guest memory: the whole 32-bit address space as one reserved anonymous
//! mapping, so that a guest address is an offset from one base pointer and
//! only touched pages cost RAM. The register files live here too, at their
//! contract addresses.

use std::io;

use memmap2::{MmapMut, MmapOptions};

/// Size of the guest address space.
const SPACE_BYTES: usize = 1 << 32;

/// The guest's 4 GiB address space.
pub struct GuestMemory {
    map: MmapMut,
}

impl GuestMemory {
    /// Reserves a zero-filled 4 GiB address space.
    pub fn new() -> io::Result<Self> {
        let map = MmapOptions::new()
            .len(SPACE_BYTES)
            .no_reserve_swap()
            .map_anon()?;
        Ok(Self { map })
    }

    /// Base pointer of the mapping: guest address `a` is at `base + a`.
    pub fn base_ptr(&mut self) -> *mut u8 {
        self.map.as_mut_ptr()
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
        let offset = (addr & !3) as usize;
        // SAFETY: as in `load_u32`.
        unsafe { (self.map.as_mut_ptr().add(offset) as *mut u32).write(value.to_le()) }
    }

    /// Loads one byte.
    #[inline(always)]
    pub fn load_u8(&self, addr: u32) -> u8 {
        self.map[addr as usize]
    }

    /// Stores one byte.
    #[inline(always)]
    pub fn store_u8(&mut self, addr: u32, value: u8) {
        self.map[addr as usize] = value;
    }

    /// Loads the halfword at `addr` (the low bit is ignored).
    #[inline(always)]
    pub fn load_u16(&self, addr: u32) -> u16 {
        let offset = (addr & !1) as usize;
        u16::from_le_bytes([self.map[offset], self.map[offset + 1]])
    }

    /// Stores the halfword at `addr` (the low bit is ignored).
    #[inline(always)]
    pub fn store_u16(&mut self, addr: u32, value: u16) {
        let offset = (addr & !1) as usize;
        self.map[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
    }

    /// The bytes `addr..addr + len`, or `None` if the range wraps past the top.
    pub fn slice(&self, addr: u32, len: u32) -> Option<&[u8]> {
        let end = addr.checked_add(len)?;
        Some(&self.map[addr as usize..end as usize])
    }

    /// Copies `bytes` to `addr`; `None` if the range wraps past the top.
    pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) -> Option<()> {
        let len = u32::try_from(bytes.len()).ok()?;
        let end = addr.checked_add(len)?;
        self.map[addr as usize..end as usize].copy_from_slice(bytes);
        Some(())
    }

    /// The NUL-terminated string at `addr`, at most `max` bytes long.
    pub fn c_string(&self, addr: u32, max: u32) -> Option<&[u8]> {
        let end = addr.saturating_add(max);
        let bytes = &self.map[addr as usize..end as usize];
        let len = bytes.iter().position(|&b| b == 0)?;
        Some(&bytes[..len])
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
    fn ranges_that_wrap_are_refused() {
        let mut mem = GuestMemory::new().unwrap();
        assert!(mem.slice(0xffff_fff0, 0x20).is_none());
        assert!(mem.write_bytes(0xffff_ffff, &[1, 2]).is_none());
        mem.write_bytes(0x3000, b"abc\0").unwrap();
        assert_eq!(mem.c_string(0x3000, 16), Some(&b"abc"[..]));
        assert_eq!(mem.c_string(0x3000, 2), None);
    }
}
