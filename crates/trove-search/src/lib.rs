//! trove-search (placeholder: see ARCHITECTURE.md).
#![forbid(unsafe_code)]
