//! trove-vault (placeholder: see ARCHITECTURE.md).
#![forbid(unsafe_code)]
