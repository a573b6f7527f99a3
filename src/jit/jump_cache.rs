//! JALR jump caches: each translated JALR remembers the targets it took,
//! with their code, in a small table of its own that translated code reads
//! before it looks in the pc-to-code table (see
//! `translate::control_flow`). A hit needs no page check because the
//! engine empties every cache when a segment starts and when a translation
//! is dropped.

/// log2 of a cache's entries.
pub const JUMP_CACHE_BITS: i64 = 4;
/// Entries of a JALR's jump cache (a power of two): enough for the cases of
/// a `switch` dispatch or the call sites a function returns to.
pub const JUMP_CACHE_ENTRIES: usize = 1 << JUMP_CACHE_BITS;
/// Fibonacci hashing's multiplier (2^32 / the golden ratio): the cases of
/// a `switch` often lie a power of two apart, which the top bits of the
/// product spread over the entries.
pub const JUMP_CACHE_HASH: u32 = 0x9e37_79b9;

/// One cache: (target, code) pairs of 16 bytes, the target in the low
/// word of the first.
type JumpCache = [[u64; 2]; JUMP_CACHE_ENTRIES];
/// A jump cache that matches no jump (a JALR target is even).
const EMPTY_JUMP_CACHE: JumpCache = [[u64::MAX, 0]; JUMP_CACHE_ENTRIES];

/// Every jump cache of one engine, at addresses that never move.
#[derive(Default)]
pub struct JumpCaches {
    #[allow(clippy::vec_box, reason = "translated code holds their addresses")]
    caches: Vec<Box<JumpCache>>,
    /// The segment (`CycleModel::segment_tag`) the caches were filled in.
    segment: u32,
}

impl JumpCaches {
    /// A new empty cache; returns its host address for translated code.
    pub fn add(&mut self) -> i64 {
        let mut cache = Box::new(EMPTY_JUMP_CACHE);
        let address = cache.as_mut_ptr() as i64;
        self.caches.push(cache);
        address
    }

    /// Empties every cache if translated code is entered in another
    /// segment than they were filled in (segments start only in Rust).
    pub fn enter_segment(&mut self, segment: u32) {
        if segment != self.segment {
            self.empty_all();
            self.segment = segment;
        }
    }

    /// Empties every cache (a translation they may lead to was dropped).
    pub fn empty_all(&mut self) {
        for cache in &mut self.caches {
            **cache = EMPTY_JUMP_CACHE;
        }
    }
}
