//! Digests in the three forms the server meets them: the protocol's words
//! (`base::Digest`), risc0's `Digest`, and the byte arrays zkjit's
//! syscalls hold.

use anyhow::{anyhow, Result};
use risc0_zkp::core::digest::Digest;

use super::protos::base;

/// `digest` as the protocol sends it.
pub fn to_proto(digest: &Digest) -> base::Digest {
    base::Digest {
        words: digest.as_words().to_vec(),
    }
}

/// A digest the client sent, `what` naming it in the error.
pub fn from_proto(digest: Option<base::Digest>, what: &str) -> Result<Digest> {
    let words = digest.map(|d| d.words).unwrap_or_default();
    Digest::try_from(words.as_slice())
        .map_err(|_| anyhow!("malformed message: {what} is not a digest of 8 words"))
}

/// `digest`'s bytes, as zkjit's syscalls hold them.
pub fn to_bytes(digest: &Digest) -> [u8; 32] {
    digest.as_bytes().try_into().expect("a digest is 32 bytes")
}
