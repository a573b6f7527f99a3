//! Memory images with their page tree: the image as of the last segment
//! boundary (kept by the segment builder), and the partial image each
//! segment carries.
//!
//! The page tree has the 2^22 pages of memory as leaves (node `PAGES +
//! page`) under root node 1, each node's digest the Poseidon2 of its
//! children's (`page_hash`, bit-identical to `risc0-binfmt`'s). Only the
//! pages a segment dirtied are hashed again at its end, with their
//! ancestors; a partial image is copied out of the tree with no hashing
//! at all.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use risc0_binfmt::{Page, WordAddr};
use risc0_zkp::core::digest::Digest;
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::page_hash::{node_digests, page_digests};
use crate::platform::{PAGES, PAGE_BYTES};

/// A segment's memory: the pages it touches, as they were when it began,
/// and the digests of the page-tree nodes on their paths to the root and
/// of those paths' siblings. Serialises as `risc0-binfmt`'s `MemoryImage`
/// does (which it is, with every digest up to date).
#[derive(Clone, Deserialize)]
pub struct PartialImage {
    pages: BTreeMap<u32, Page>,
    digests: BTreeMap<u32, Digest>,
    /// Nodes whose digests are stale: none, in an image zkjit made.
    dirty: BTreeSet<u32>,
}

impl PartialImage {
    /// The pages, by page number (address / 1024).
    pub fn pages(&self) -> &BTreeMap<u32, Page> {
        &self.pages
    }

    /// The page-tree digests it holds, by node (1 the root, `2^22 + page` a leaf).
    pub fn digests(&self) -> &BTreeMap<u32, Digest> {
        &self.digests
    }

    /// The root digest: the segment's pre-state.
    pub fn root(&self) -> Option<&Digest> {
        self.digests.get(&1)
    }
}

/// As `risc0-binfmt` serialises a `MemoryImage`, but each page's bytes
/// handed over at once: in postcard, a byte sequence and a sequence of
/// bytes are the same length-prefixed bytes, and this is a quarter of the
/// time of serialising a segment.
impl Serialize for PartialImage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Bytes<'a>(&'a [u8]);
        impl Serialize for Bytes<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
        struct Pages<'a>(&'a BTreeMap<u32, Page>);
        impl Serialize for Pages<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(
                    self.0
                        .iter()
                        .map(|(index, page)| (index, Bytes(page.data()))),
                )
            }
        }
        let mut image = serializer.serialize_struct("MemoryImage", 3)?;
        image.serialize_field("pages", &Pages(&self.pages))?;
        image.serialize_field("digests", &self.digests)?;
        image.serialize_field("dirty", &self.dirty)?;
        image.end()
    }
}

impl std::fmt::Debug for PartialImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialImage")
            .field("pages", &self.pages.keys().collect::<Vec<_>>())
            .field("digests", &self.digests.len())
            .finish()
    }
}

/// A page of `risc0-binfmt` holding `bytes` (one page's worth).
fn page_of(bytes: &[u8]) -> Page {
    debug_assert_eq!(bytes.len(), PAGE_BYTES as usize);
    let mut page = Page::default();
    for (i, word) in bytes.chunks_exact(4).enumerate() {
        let word = u32::from_le_bytes(word.try_into().expect("chunks of four"));
        page.store(WordAddr(i as u32), word);
    }
    page
}

/// Levels of the page tree below the root: the leaves are at depth 22.
const DEPTH: usize = PAGES.trailing_zeros() as usize;

/// The memory image as of the last segment boundary: its pages and the
/// digest of every page-tree node whose subtree is not all zero (the
/// others' digests depend on their depth only).
pub(super) struct CommittedImage {
    pages: HashMap<u32, Page>,
    digests: HashMap<u32, Digest>,
    /// The digest of an all-zero subtree whose root is at each depth.
    zero_digests: [Digest; DEPTH + 1],
}

impl CommittedImage {
    /// The image holding `pages` (page number, `PAGE_BYTES` of content
    /// each in `bytes`); every other page is zero.
    pub(super) fn new(pages: &[u32], bytes: &[u8]) -> Self {
        let zero_page = vec![0; PAGE_BYTES as usize];
        let mut zero_digests = [page_digests(&[&zero_page])[0]; DEPTH + 1];
        for depth in (0..DEPTH).rev() {
            let below = zero_digests[depth + 1];
            zero_digests[depth] = node_digests(&[(below, below)])[0];
        }
        let mut image = Self {
            pages: HashMap::new(),
            digests: HashMap::new(),
            zero_digests,
        };
        image.commit(pages, bytes);
        image
    }

    /// The root digest.
    pub(super) fn root(&self) -> Digest {
        self.digest(1)
    }

    fn digest(&self, node: u32) -> Digest {
        match self.digests.get(&node) {
            Some(digest) => *digest,
            None => self.zero_digests[node.ilog2() as usize],
        }
    }

    /// The partial image of a segment that touched `pages`.
    pub(super) fn partial(&self, pages: &[u32]) -> PartialImage {
        let mut nodes = BTreeSet::new();
        for &page in pages {
            let mut node = PAGES + page;
            while node != 0 && nodes.insert(node) {
                node /= 2;
            }
        }
        let mut partial = PartialImage {
            pages: BTreeMap::new(),
            digests: BTreeMap::new(),
            dirty: BTreeSet::new(),
        };
        for &node in &nodes {
            partial.digests.insert(node, self.digest(node));
            if node >= PAGES {
                let page = node - PAGES;
                let content = self.pages.get(&page).cloned().unwrap_or_default();
                partial.pages.insert(page, content);
            } else {
                // The sibling of a path is what proves it.
                for child in [2 * node, 2 * node + 1] {
                    if !nodes.contains(&child) {
                        partial.digests.insert(child, self.digest(child));
                    }
                }
            }
        }
        partial
    }

    /// Replaces `pages` (page number, `PAGE_BYTES` of content each in
    /// `bytes`) and brings the digests above them up to date, a level of
    /// the tree at a time.
    pub(super) fn commit(&mut self, pages: &[u32], bytes: &[u8]) {
        // A page written back as it was keeps its digest (the sieve of a
        // loop over the same array, say): only changed pages are hashed.
        let (changed, contents): (Vec<u32>, Vec<&[u8]>) = pages
            .iter()
            .copied()
            .zip(bytes.chunks_exact(PAGE_BYTES as usize))
            .filter(|(page, content)| {
                self.pages
                    .get(page)
                    .is_none_or(|old| old.data().as_slice() != *content)
            })
            .unzip();
        let mut level: Vec<u32> = Vec::with_capacity(changed.len());
        for ((&page, content), digest) in changed.iter().zip(&contents).zip(page_digests(&contents))
        {
            self.pages.insert(page, page_of(content));
            self.digests.insert(PAGES + page, digest);
            level.push(PAGES + page);
        }
        if level.is_empty() {
            return;
        }
        while level != [1] {
            let mut parents: Vec<u32> = level.iter().map(|node| node / 2).collect();
            parents.sort_unstable();
            parents.dedup();
            let children: Vec<(Digest, Digest)> = parents
                .iter()
                .map(|&node| (self.digest(2 * node), self.digest(2 * node + 1)))
                .collect();
            for (&node, digest) in parents.iter().zip(node_digests(&children)) {
                self.digests.insert(node, digest);
            }
            level = parents;
        }
    }
}
