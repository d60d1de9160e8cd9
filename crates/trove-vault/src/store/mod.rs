//! Storage: the content-addressed blob store and the SQLite database.

pub mod blobs;
pub mod db;
