//! Memory images with their page tree: the image as of the last segment
//! boundary (kept by the segment builder), and the partial image each
//! segment carries.
//!
//! The page tree has the 2^22 pages of memory as leaves (node `PAGES +
//! page`) under root node 1, each node's digest the Poseidon2 of its
//! children's (`risc0-binfmt` hashes them). Only the pages a segment
//! dirtied are hashed again at its end, with their ancestors; a partial
//! image is copied out of the tree with no hashing at all.

use std::collections::{BTreeMap, BTreeSet};

use risc0_binfmt::{MemoryImage, Page, WordAddr};
use risc0_zkp::core::digest::Digest;
use serde::{Deserialize, Serialize};

use crate::platform::{PAGES, PAGE_BYTES};

/// A segment's memory: the pages it touches, as they were when it began,
/// and the digests of the page-tree nodes on their paths to the root and
/// of those paths' siblings. Serialises as `risc0-binfmt`'s `MemoryImage`
/// does (which it is, with every digest up to date).
#[derive(Clone, Serialize, Deserialize)]
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

impl std::fmt::Debug for PartialImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialImage")
            .field("pages", &self.pages.keys().collect::<Vec<_>>())
            .field("digests", &self.digests.len())
            .finish()
    }
}

/// A page of `risc0-binfmt` holding `bytes` (one page's worth).
pub(super) fn page_of(bytes: &[u8]) -> Page {
    debug_assert_eq!(bytes.len(), PAGE_BYTES as usize);
    let mut page = Page::default();
    for (i, word) in bytes.chunks_exact(4).enumerate() {
        let word = u32::from_le_bytes(word.try_into().expect("chunks of four"));
        page.store(WordAddr(i as u32), word);
    }
    page
}

/// The memory image as of the last segment boundary, every digest up to date.
pub(super) struct CommittedImage {
    image: MemoryImage,
}

impl CommittedImage {
    /// The image holding `pages` (page number and content); every other
    /// page is zero.
    pub(super) fn new(pages: impl IntoIterator<Item = (u32, Page)>) -> Self {
        let mut image = MemoryImage::default();
        for (index, page) in pages {
            image.set_page(index, page);
        }
        image.update_digests();
        Self { image }
    }

    /// The root digest.
    pub(super) fn root(&mut self) -> Digest {
        self.image.image_id()
    }

    /// The partial image of a segment that touched `pages`.
    pub(super) fn partial(&mut self, pages: &[u32]) -> PartialImage {
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
            let digest = *self.digest(node);
            partial.digests.insert(node, digest);
            if node >= PAGES {
                let page = self.image.get_page(node - PAGES).expect("a committed page");
                partial.pages.insert(node - PAGES, page);
            } else {
                // The sibling of a path is what proves it.
                for child in [2 * node, 2 * node + 1] {
                    if !nodes.contains(&child) {
                        let digest = *self.digest(child);
                        partial.digests.insert(child, digest);
                    }
                }
            }
        }
        partial
    }

    /// Replaces the pages a segment dirtied (page number and content) and
    /// brings the digests above them up to date.
    pub(super) fn commit(&mut self, pages: impl IntoIterator<Item = (u32, Page)>) {
        for (index, page) in pages {
            self.image.set_page(index, page);
        }
        self.image.update_digests();
    }

    fn digest(&mut self, node: u32) -> &Digest {
        self.image
            .get_digest(node)
            .expect("the tree has every node")
    }
}
