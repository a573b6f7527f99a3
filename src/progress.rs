//! The live progress line of long runs: after a second, a spinner with the
//! user cycles so far and the guest MIPS, redrawn as the run goes on.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How long a run goes before the line appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Cycles an engine runs between two looks at the clock.
pub const SLICE_CYCLES: u64 = 4_000_000;

/// A progress line that shows itself once a run has lasted a second.
pub struct Progress {
    start: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts timing a run.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            bar: None,
        }
    }

    /// Reports the cycle count so far.
    pub fn update(&mut self, user_cycles: u64) {
        let elapsed = self.start.elapsed();
        if elapsed < SHOW_AFTER {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let mips = user_cycles as f64 / elapsed.as_secs_f64() / 1e6;
        bar.set_message(format!(
            "{:.1} s, {user_cycles} user cycles, {mips:.1} guest MIPS",
            elapsed.as_secs_f64()
        ));
    }

    /// Removes the line.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}
