//! The index on disk (or in memory) and its writer.
//!
//! The index is derived data: it can always be deleted ([`Index::destroy`])
//! and rebuilt from the vault or a publication. Updates are incremental: add
//! new or changed messages with [`Writer::add`] and [`Writer::commit`].

use std::path::{Path, PathBuf};

use tantivy::directory::error::OpenDirectoryError;
use tantivy::schema::Schema;
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, TantivyError, Term};

use crate::doc::SearchDoc;
use crate::error::{Error, Result};
use crate::schema::{self, analyzer, Fields, TOKENIZER};
use crate::search::{run, SearchOptions, SearchResults};

/// Default indexing memory budget, shared by the indexing threads.
pub const DEFAULT_WRITER_HEAP: usize = 256 * 1024 * 1024;

/// A search index: tantivy files in one directory (or in memory for tests).
pub struct Index {
    index: tantivy::Index,
    reader: IndexReader,
    fields: Fields,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Index {
    /// Opens the index in `dir`, creating the directory and an empty index if
    /// there is none.
    pub fn open_or_create(dir: &Path) -> Result<Index> {
        if dir.join("meta.json").exists() {
            return Index::open(dir);
        }
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let (schema, fields) = schema::build();
        let index = tantivy::Index::create_in_dir(dir, schema).map_err(|e| map_err(e, dir))?;
        Index::wrap(index, fields, Some(dir.to_path_buf()))
    }

    /// Opens an existing index. Fails with [`Error::NotFound`] when `dir` has
    /// none and [`Error::IncompatibleIndex`] when it was built with another schema.
    pub fn open(dir: &Path) -> Result<Index> {
        if !dir.join("meta.json").exists() {
            return Err(Error::NotFound {
                path: dir.to_path_buf(),
            });
        }
        let index = tantivy::Index::open_in_dir(dir).map_err(|e| map_err(e, dir))?;
        let (schema, fields) = schema::build();
        if !same_schema(&index.schema(), &schema) {
            return Err(Error::IncompatibleIndex {
                path: dir.to_path_buf(),
            });
        }
        Index::wrap(index, fields, Some(dir.to_path_buf()))
    }

    /// An index in memory (tests, small one-off searches).
    pub fn create_in_ram() -> Result<Index> {
        let (schema, fields) = schema::build();
        Index::wrap(tantivy::Index::create_in_ram(schema), fields, None)
    }

    /// Deletes the index directory. The index is derived data; rebuild it by
    /// opening a fresh one and adding every message again.
    pub fn destroy(dir: &Path) -> Result<()> {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(dir)(e)),
            _ => Ok(()),
        }
    }

    fn wrap(index: tantivy::Index, fields: Fields, path: Option<PathBuf>) -> Result<Index> {
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Index {
            index,
            reader,
            fields,
            path,
        })
    }

    /// A writer with the default memory budget. Only one writer may exist
    /// per index at a time (across processes too): others get [`Error::Locked`].
    pub fn writer(&self) -> Result<Writer> {
        self.writer_with_heap(DEFAULT_WRITER_HEAP)
    }

    /// A writer with an explicit memory budget in bytes (at least 15 MB per thread).
    pub fn writer_with_heap(&self, heap_bytes: usize) -> Result<Writer> {
        let writer = self.index.writer(heap_bytes).map_err(|e| self.err(e))?;
        Ok(Writer {
            writer,
            writer_heap: heap_bytes,
            fields: self.fields.clone(),
            reader: self.reader.clone(),
            path: self.path.clone(),
        })
    }

    /// Makes searches see commits made by other processes since the last reload.
    /// (Commits through this handle's own [`Writer`] are visible at once.)
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Number of messages in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes used by the index files on disk (0 in memory).
    pub fn size_on_disk(&self) -> u64 {
        let Some(dir) = &self.path else { return 0 };
        std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(|e| e.ok()?.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Runs a query (see the crate docs for the language).
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
        run(&self.reader.searcher(), &self.fields, query, opts)
    }

    /// Every id matching `query`, ascending, without paging, scores or a time budget (for
    /// selecting messages, e.g. a release part). Same language and errors as [`Index::search`].
    pub fn search_ids(&self, query: &str) -> Result<Vec<u64>> {
        crate::search::ids(&self.reader.searcher(), &self.fields, query)
    }

    /// The stamp ([`SearchDoc::stamp`]) of every indexed message, by id: compare with the
    /// source's current stamps to find what to add, replace or delete.
    pub fn stamps(&self) -> Result<std::collections::HashMap<u64, u64>> {
        let searcher = self.reader.searcher();
        let mut out = std::collections::HashMap::with_capacity(searcher.num_docs() as usize);
        for seg in searcher.segment_readers() {
            let ff = seg.fast_fields();
            let ids = ff.u64(schema::ID)?;
            let stamps = ff.u64(schema::STAMP)?;
            for doc in seg.doc_ids_alive() {
                if let Some(id) = ids.first(doc) {
                    out.insert(id, stamps.first(doc).unwrap_or(0));
                }
            }
        }
        Ok(out)
    }

    fn err(&self, e: TantivyError) -> Error {
        match (&e, &self.path) {
            (TantivyError::LockFailure(..), Some(p)) => Error::Locked { path: p.clone() },
            _ => Error::Engine(e),
        }
    }
}

fn map_err(e: TantivyError, dir: &Path) -> Error {
    match e {
        TantivyError::OpenDirectoryError(OpenDirectoryError::DoesNotExist(_)) => Error::NotFound {
            path: dir.to_path_buf(),
        },
        TantivyError::SchemaError(_) => Error::IncompatibleIndex {
            path: dir.to_path_buf(),
        },
        e => Error::Engine(e),
    }
}

fn same_schema(a: &Schema, b: &Schema) -> bool {
    let fa: Vec<_> = a.fields().map(|(_, e)| e.clone()).collect();
    let fb: Vec<_> = b.fields().map(|(_, e)| e.clone()).collect();
    fa == fb
}

/// Adds, replaces and deletes messages. Nothing is visible to searches (or
/// durable) until [`Writer::commit`]; commit once per batch, not per message.
pub struct Writer {
    writer: IndexWriter,
    /// Memory budget the writer was made with (reused for the final merge).
    writer_heap: usize,
    fields: Fields,
    reader: IndexReader,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Adds a message, replacing any indexed message with the same id.
    pub fn add(&mut self, doc: &SearchDoc) -> Result<()> {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.id, doc.id));
        self.writer.add_document(self.fields.to_document(doc))?;
        Ok(())
    }

    /// Removes a message by id (no error if it is not indexed).
    pub fn delete(&mut self, id: u64) {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.id, id));
    }

    /// Removes every message (takes effect at the next commit).
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Makes everything added so far durable and visible to searches.
    pub fn commit(&mut self) -> Result<()> {
        self.writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Commits, then waits for background segment merges to finish.
    pub fn finish(mut self) -> Result<()> {
        self.commit()?;
        self.writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Like [`Writer::finish`], then merges every segment into one. Worth it after a full
    /// build: each query pays a dictionary lookup and a scorer per segment and per term, and
    /// block-max WAND prunes best over one long posting list. Costs one rewrite of the index,
    /// so incremental updates use [`Writer::finish`] and leave merging to tantivy's policy.
    pub fn finish_compact(mut self) -> Result<()> {
        self.commit()?;
        let index = self.writer.index().clone();
        let heap = self.writer_heap;
        self.writer.wait_merging_threads()?;
        let ids = index.searchable_segment_ids()?;
        if ids.len() > 1 {
            let mut writer: IndexWriter = index.writer(heap)?;
            writer.merge(&ids).wait()?;
            writer.commit()?;
            writer.wait_merging_threads()?;
        }
        self.reader.reload()?;
        Ok(())
    }
}
