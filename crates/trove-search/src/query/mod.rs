//! The query language: parsing (`parse.rs`) and translation to tantivy
//! queries (`compile.rs`).

pub(crate) mod compile;
pub(crate) mod parse;
