//! trove-dkim (placeholder: see ARCHITECTURE.md).
#![forbid(unsafe_code)]
