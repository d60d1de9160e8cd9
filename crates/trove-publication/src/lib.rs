//! trove-publication (placeholder: see ARCHITECTURE.md).
#![forbid(unsafe_code)]
