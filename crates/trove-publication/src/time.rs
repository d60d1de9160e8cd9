//! The one place that reads the wall clock.

/// The current time in Unix seconds, for callers that want the wall clock
/// (`trove release publish`, a mirror's poll loop). Everything else in this
/// crate takes `now` as a parameter so that tests never depend on the clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
