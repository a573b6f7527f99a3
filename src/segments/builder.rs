//! The segment builder: a thread that keeps the committed image, turns
//! what the machine recorded of each segment into a [`Segment`], and hands
//! it to the sink, while execution goes on.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use risc0_zkp::core::digest::Digest;

use super::image::CommittedImage;
use super::{Segment, SegmentClaim, SegmentSink, TerminateState};
use crate::image_id::system_state_digest;

/// Segments recorded and not yet built before the machine waits for the
/// builder (bounds the memory they hold).
const QUEUED_SEGMENTS: usize = 4;

/// What the machine recorded of one segment.
pub(super) struct SegmentRecord {
    pub index: u64,
    /// The pages the segment touched.
    pub touched: Vec<u32>,
    /// The pages it dirtied, and (`PAGE_BYTES` each, in that order) their
    /// content when it suspended.
    pub dirty: Vec<u32>,
    pub dirty_bytes: Vec<u8>,
    pub read_record: Vec<Vec<u8>>,
    pub write_record: Vec<u32>,
    pub suspend_cycle: u32,
    pub paging_cycles: u32,
    pub segment_threshold: u32,
    pub po2: u32,
    pub output: Option<Digest>,
    pub terminate_state: Option<TerminateState>,
}

/// The memory image's page-tree roots over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageDigests {
    /// The root before the run (the first segment's pre-state).
    pub pre_state_root: Digest,
    /// The root after the last segment (its post-state).
    pub post_state_root: Digest,
}

impl ImageDigests {
    /// The image ID, as the risc0 tools compute it.
    pub fn image_id(&self) -> [u8; 32] {
        system_state_digest(&self.pre_state_root)
    }

    /// The post-state digest, as a receipt's claim names it.
    pub fn post_state(&self) -> [u8; 32] {
        system_state_digest(&self.post_state_root)
    }
}

/// The builder thread and the channel to it.
pub(super) struct Builder {
    sender: Option<SyncSender<SegmentRecord>>,
    thread: Option<JoinHandle<Result<ImageDigests, String>>>,
}

impl Builder {
    /// Starts a builder from the initial image's pages (number and
    /// content, `PAGE_BYTES` each); with no sink it keeps the digests only.
    pub(super) fn start(pages: Vec<u32>, bytes: Vec<u8>, sink: Option<SegmentSink>) -> Self {
        let (sender, receiver) = sync_channel(QUEUED_SEGMENTS);
        let thread = std::thread::Builder::new()
            .name("zkjit-segments".into())
            .spawn(move || build(pages, bytes, receiver, sink))
            .expect("cannot start the segment builder thread");
        Self {
            sender: Some(sender),
            thread: Some(thread),
        }
    }

    /// Queues a segment; an error is why the builder stopped.
    pub(super) fn send(&mut self, record: SegmentRecord) -> Result<(), String> {
        let sender = self
            .sender
            .as_ref()
            .ok_or("the segment builder has finished")?;
        if sender.send(record).is_err() {
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| "the segment builder stopped".into()));
        }
        Ok(())
    }

    /// Waits for every queued segment to be built and handed over.
    pub(super) fn join(&mut self) -> Result<ImageDigests, String> {
        self.sender = None;
        let thread = self
            .thread
            .take()
            .ok_or("the segment builder has finished")?;
        thread
            .join()
            .unwrap_or_else(|_| Err("the segment builder panicked".into()))
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.join();
        }
    }
}

/// The builder thread's work.
fn build(
    pages: Vec<u32>,
    bytes: Vec<u8>,
    receiver: Receiver<SegmentRecord>,
    mut sink: Option<SegmentSink>,
) -> Result<ImageDigests, String> {
    let mut image = CommittedImage::new(&pages, &bytes);
    let pre_state_root = image.root();
    while let Ok(record) = receiver.recv() {
        let pre_state = image.root();
        let partial_image = sink.is_some().then(|| image.partial(&record.touched));
        image.commit(&record.dirty, &record.dirty_bytes);
        let (Some(sink), Some(partial_image)) = (&mut sink, partial_image) else {
            continue;
        };
        let index = record.index;
        let segment = Segment {
            partial_image,
            claim: SegmentClaim {
                pre_state,
                post_state: image.root(),
                input: Digest::ZERO,
                output: record.output,
                terminate_state: record.terminate_state,
                shutdown_cycle: None,
            },
            read_record: record.read_record,
            write_record: record.write_record,
            suspend_cycle: record.suspend_cycle,
            paging_cycles: record.paging_cycles,
            segment_threshold: record.segment_threshold,
            po2: record.po2,
            index,
            povw_nonce: None,
        };
        sink(segment).map_err(|e| format!("segment {index}: {e:#}"))?;
    }
    Ok(ImageDigests {
        pre_state_root,
        post_state_root: image.root(),
    })
}
