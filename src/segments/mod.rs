//! Prover segments: the segments the reference executor would make of a
//! run, byte for byte, made while zkjit runs it.
//!
//! The machine records each segment's host I/O; when a segment ends it
//! sends the builder thread the pages the segment touched (the cycle
//! model knows them), the content of those it dirtied, and its cycles.
//! The builder keeps the memory image as of the last boundary with its
//! page tree, cuts the segment's partial image out of it, hashes the
//! dirtied pages into it, and hands the [`Segment`] to the sink.
//!
//! The parts: `format` (the segment as the prover takes it), `image` (the
//! committed and partial images), `page_hash` (the page tree's hash), `recorder` (the machine's side),
//! `builder` (the thread), `files` (segments as files in a directory).

mod builder;
mod files;
mod format;
mod image;
mod page_hash;
mod recorder;

pub use builder::ImageDigests;
pub use files::SegmentDir;
pub use format::{HighLowU16, Segment, SegmentClaim, TerminateState};
pub use image::PartialImage;
pub(crate) use recorder::{SegmentEnd, SegmentRecorder};

/// Where segments go as they are made: called on the builder thread, in
/// order; an error stops the run.
pub type SegmentSink = Box<dyn FnMut(Segment) -> anyhow::Result<()> + Send>;
