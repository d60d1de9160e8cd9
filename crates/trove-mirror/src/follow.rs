//! `--follow`: sync, wait, sync again; back off while every origin fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::sync::{Mirror, Progress, SyncReport};

/// How often to poll.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Wait between successful syncs.
    pub interval: Duration,
    /// Longest wait after failures (the wait doubles per failure up to this).
    pub max_backoff: Duration,
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            interval: Duration::from_secs(60),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

/// What one round of [`Mirror::follow`] did.
#[derive(Debug)]
pub enum FollowEvent<'a> {
    /// A sync succeeded (possibly with nothing new); next poll after the duration.
    Synced(&'a SyncReport, Duration),
    /// A sync failed; the mirror keeps its last good state; next try after the duration.
    Failed(&'a Error, Duration),
}

impl Mirror {
    /// Syncs until `stop` is set: every `interval` after a success, with the
    /// wait doubling after each consecutive failure (up to `max_backoff`).
    /// Each origin also backs off on its own, so one dead origin does not
    /// slow the polls of the others.
    pub fn follow(
        &self,
        options: &FollowOptions,
        stop: &AtomicBool,
        progress: &dyn Progress,
        on_event: &mut dyn FnMut(FollowEvent<'_>),
    ) {
        let mut failures: u32 = 0;
        while !stop.load(Ordering::Relaxed) {
            let wait = match self.sync(progress) {
                Ok(report) => {
                    failures = 0;
                    let wait = options.interval;
                    on_event(FollowEvent::Synced(&report, wait));
                    wait
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(options, failures);
                    on_event(FollowEvent::Failed(&e, wait));
                    wait
                }
            };
            let until = Instant::now() + wait;
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(
                    until
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(100)),
                );
            }
        }
    }
}

/// The wait after `failures` consecutive failures.
fn backoff(options: &FollowOptions, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.min(16));
    options
        .interval
        .saturating_mul(factor)
        .min(options.max_backoff.max(options.interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = FollowOptions {
            interval: Duration::from_secs(10),
            max_backoff: Duration::from_secs(100),
        };
        assert_eq!(backoff(&o, 1), Duration::from_secs(20));
        assert_eq!(backoff(&o, 2), Duration::from_secs(40));
        assert_eq!(backoff(&o, 5), Duration::from_secs(100));
        assert_eq!(backoff(&o, 1000), Duration::from_secs(100));
    }
}
