//! What the machine records for the segments of a run: the host I/O of
//! the current segment, and at each segment's end the pages it touched,
//! the content of those it dirtied, and its cycles, queued to the builder.

use std::collections::BTreeSet;

use risc0_zkp::core::digest::Digest;

use super::builder::{Builder, ImageDigests, SegmentRecord};
use super::{SegmentSink, TerminateState};
use crate::cycle_model::CycleModel;
use crate::memory::GuestMemory;

/// How a segment ended.
pub(crate) enum SegmentEnd {
    /// It was full: the run goes on in the next one.
    Split,
    /// The run ended in it (terminated when `terminate_state` says so).
    Last {
        output: Option<Digest>,
        terminate_state: Option<TerminateState>,
    },
}

/// The recording side of a run's segments.
pub(crate) struct SegmentRecorder {
    builder: Builder,
    index: u64,
    read_record: Vec<Vec<u8>>,
    write_record: Vec<u32>,
    /// With no sink, only the final image counts: the pages dirtied so
    /// far, sent to the builder once, at the end, instead of a segment at
    /// a time (the post-state is the same, at a fraction of the hashing).
    dirtied: Option<BTreeSet<u32>>,
}

impl SegmentRecorder {
    /// Starts recording a run whose memory now holds the program in
    /// `pages` (every other page is zero), handing each segment to `sink`
    /// (with none, only the image's digests are kept).
    pub(crate) fn start(mem: &GuestMemory, pages: Vec<u32>, sink: Option<SegmentSink>) -> Self {
        let bytes = page_contents(mem, &pages);
        let dirtied = sink.is_none().then(BTreeSet::new);
        Self {
            builder: Builder::start(pages, bytes, sink),
            index: 0,
            read_record: Vec::new(),
            write_record: Vec::new(),
            dirtied,
        }
    }

    /// Whether segments are made (not the image's digests alone, which
    /// need no host I/O).
    fn makes_segments(&self) -> bool {
        self.dirtied.is_none()
    }

    /// Records what a host READ returned.
    pub(crate) fn record_read(&mut self, bytes: &[u8]) {
        if self.makes_segments() {
            self.read_record.push(bytes.to_vec());
        }
    }

    /// Records what a host WRITE returned.
    pub(crate) fn record_write(&mut self, rlen: u32) {
        if self.makes_segments() {
            self.write_record.push(rlen);
        }
    }

    /// Ends the current segment (the machine has suspended: memory is as
    /// the segment leaves it) and queues it to the builder.
    pub(crate) fn end_segment(
        &mut self,
        mem: &GuestMemory,
        model: &CycleModel,
        user_cycles: u64,
        end: SegmentEnd,
    ) -> Result<(), String> {
        let mut touched = Vec::new();
        let mut dirty = Vec::new();
        for (page, is_dirty) in model.segment_pages() {
            touched.push(page);
            if is_dirty {
                dirty.push(page);
            }
        }
        let last = matches!(end, SegmentEnd::Last { .. });
        if let Some(dirtied) = &mut self.dirtied {
            dirtied.extend(dirty.iter().copied());
            if !last {
                return Ok(());
            }
            dirty = dirtied.iter().copied().collect();
        }
        let (segment_threshold, po2, output, terminate_state) = match end {
            SegmentEnd::Split => (model.threshold(), model.po2(), None, None),
            SegmentEnd::Last {
                output,
                terminate_state,
            } => (0, model.last_po2(user_cycles), output, terminate_state),
        };
        let record = SegmentRecord {
            index: self.index,
            dirty_bytes: page_contents(mem, &dirty),
            touched,
            dirty,
            read_record: std::mem::take(&mut self.read_record),
            write_record: std::mem::take(&mut self.write_record),
            suspend_cycle: model.segment_user_cycles(user_cycles) as u32,
            paging_cycles: model.segment_paging_cycles(),
            segment_threshold,
            po2,
            output,
            terminate_state,
        };
        self.index += 1;
        self.builder.send(record)
    }

    /// Waits for every segment to be handed over; the image's roots.
    pub(crate) fn finish(mut self) -> Result<ImageDigests, String> {
        self.builder.join()
    }
}

/// The bytes of `pages`, one after the other.
fn page_contents(mem: &GuestMemory, pages: &[u32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(pages.len() * crate::platform::PAGE_BYTES as usize);
    for &page in pages {
        bytes.extend_from_slice(mem.page_bytes(page));
    }
    bytes
}
