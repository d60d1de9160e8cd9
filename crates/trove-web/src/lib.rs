//! trove-web (placeholder: see ARCHITECTURE.md).
#![forbid(unsafe_code)]
