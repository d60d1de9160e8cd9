//! End-to-end tests of the `trove` binary: one integration test binary, one module per area.

/// Helpers: running the binary, fixtures, the shared-data locator.
mod util;

/// `init`, `ingest`, `stats`, `list`, `show`: output shapes scripts rely on.
mod ingest;

/// SIGKILL during ingest at several points, then re-run: identical to an uninterrupted run.
mod crash;

/// `trove demo` builds its synthetic corpus and vault.
mod demo;

/// `trove verify`, `trove keys`, DKIM in `trove show`; `verify --dns` against dnsmasq.
mod dkim;
/// `trove export static`: a publication as a static website.
mod export;
/// Mirrors: origin + three mirrors as separate processes, SIGKILL mid-sync, verify over HTTP.
mod mirror;
/// Releases: publish, list, `publication verify` catching tampering, SIGKILL during publish.
mod release;
/// `trove serve` over a publication directory.
mod serve;

/// `trove search` and `trove reindex`: JSON shape, paging, sort, bad queries, incremental index.
mod search;
