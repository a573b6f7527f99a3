//! Limits for untrusted runs: wall-clock time, output, memory and an
//! interrupt (Ctrl-C), besides the cycle limit. Each stops the run cleanly
//! with a [`Stop::Limit`] of its own; the engines are checked between
//! slices of [`SLICE_CYCLES`](crate::progress::SLICE_CYCLES) user cycles,
//! output as it is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stop::Stop;

/// What a run may use besides cycles (`Config::max_cycles`).
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Wall-clock time.
    pub timeout: Option<Duration>,
    /// Bytes of stdout, stderr and journal together.
    pub max_output_bytes: Option<u64>,
    /// Resident memory of the process: guest pages touched, the JIT's code
    /// and every host buffer.
    pub max_memory_bytes: Option<u64>,
    /// Set (by a signal handler, say) to stop the run.
    pub interrupt: Option<&'static AtomicBool>,
}

/// Which limit stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LimitReached {
    /// The run took longer than its timeout.
    Timeout {
        /// The timeout, in milliseconds.
        millis: u64,
    },
    /// The guest wrote more output than allowed.
    Output {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The process used more memory than allowed.
    Memory {
        /// The limit, in bytes.
        limit: u64,
        /// What was resident when the limit was seen.
        used: u64,
    },
    /// The run was interrupted (Ctrl-C).
    Interrupted,
}

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MIB: u64 = 1 << 20;
        match self {
            Self::Timeout { millis } => {
                write!(f, "timeout: the run took longer than {:.3} s", *millis as f64 / 1e3)
            }
            Self::Output { limit } => write!(
                f,
                "output limit: the guest wrote more than {limit} bytes of stdout, stderr and journal"
            ),
            Self::Memory { limit, used } => write!(
                f,
                "memory limit: {} MiB resident, more than the {} MiB allowed",
                used.div_ceil(MIB),
                limit / MIB
            ),
            Self::Interrupted => write!(f, "interrupted"),
        }
    }
}

impl Limits {
    /// Whether any limit needs the engines stopped now and then.
    pub(crate) fn checked_between_slices(&self) -> bool {
        self.timeout.is_some() || self.max_memory_bytes.is_some() || self.interrupt.is_some()
    }

    /// The limit reached by a run that started at `started` and is now at
    /// `pc`, if any.
    pub(crate) fn check(&self, started: Instant, pc: u32) -> Result<(), Stop> {
        let stop = |reached| Err(Stop::Limit { reached, pc });
        if self
            .interrupt
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
        {
            return stop(LimitReached::Interrupted);
        }
        if let Some(timeout) = self.timeout {
            if started.elapsed() > timeout {
                return stop(LimitReached::Timeout {
                    millis: timeout.as_millis() as u64,
                });
            }
        }
        if let Some(limit) = self.max_memory_bytes {
            let used = resident_bytes();
            if used > limit {
                return stop(LimitReached::Memory { limit, used });
            }
        }
        Ok(())
    }
}

/// The process's resident memory, from `/proc/self/statm` (0 where there
/// is none).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page_size.max(4096) as u64
}
