//! Terminal output helpers: the progress bar and human-friendly numbers.

use indicatif::{ProgressBar, ProgressStyle};
use trove_vault::Progress;

/// An indicatif progress bar over input bytes, with message count, rate and ETA.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar drawn on stderr, or a hidden one when `quiet`.
    pub fn new(quiet: bool) -> Bar {
        Bar {
            bar: bytes_bar(quiet),
        }
    }
}

/// A bare indicatif bar over bytes (rate, ETA, a message), hidden when `quiet`; for
/// commands whose progress is not a vault `Progress` (e.g. `trove mirror`).
pub fn bytes_bar(quiet: bool) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
    }
    fn update(&self, bytes: u64, messages: u64) {
        self.bar.set_position(bytes);
        let secs = self.bar.elapsed().as_secs_f64().max(0.001);
        self.bar.set_message(format!(
            "{messages} messages ({:.0}/s)",
            messages as f64 / secs
        ));
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Bar {
    /// A bar counting messages (not bytes), labelled `what`; hidden when `quiet`.
    pub fn counting(quiet: bool, what: &str) -> Bar {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} ETA {{eta}} {{msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bar { bar }
    }
}

/// `1234567` → `1.2 MB`.
pub fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}
