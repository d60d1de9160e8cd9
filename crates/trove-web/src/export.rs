//! `trove export static`: a publication rendered as a static website.
//!
//! The same pages as the server (the renderers in `html.rs` with relative
//! [`Links`]), so the folder works from any static host, under any sub-path:
//!
//! ```text
//! index.html  style.css  search.js  feed.atom
//! release/R/index.html              month/YYYY-MM/index.html
//! emailid/N/index.html              the message page
//! emailid/N/body.html               its HTML body, sanitised (shown in a sandboxed frame)
//! emailid/N/raw/N.eml               the raw source, byte for byte the publication's blob
//! emailid/N/attachment/K/NAME       attachments under safe, inert names
//! thread/FIRST/index.html           correspondent/ADDR/index.html  correspondents/index.html
//! search/index.html                 search (JavaScript) + browse (without it)
//! search/meta.json, t/*.json, d/*.json   the client-side index
//! pub/…                             the publication's own files, for `trove mirror`
//! ```
//!
//! It reads only the publication (never a vault), writes into `OUT.tmp`,
//! checks the copy under `pub/` with trove-publication's verifier, and then
//! swaps it into place. A re-run with the same program reuses what cannot
//! have changed (raw sources, attachments, bodies, the search terms of old
//! messages, and message pages whose inputs are the same), so exporting
//! after a new release costs about the new release.

mod index;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use trove_publication::{layout, Hash, Hasher, Publication, VerifyOptions};

use crate::html::{self, esc, Links};
use crate::model::{Item, ReadModel};

pub use index::{terms, IndexStats};

/// Bumped whenever the export's layout or page inputs change meaning.
const FORMAT: u32 = 1;
/// The state file of a finished export (marks the folder as ours).
pub const STATE_FILE: &str = ".trove-export.json";

/// What went wrong, naming the path.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The publication did not open.
    #[error("cannot open publication {path}: {source}")]
    Publication {
        /// The publication directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<trove_publication::Error>,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The output folder cannot be used.
    #[error("{path}: {why}")]
    Output {
        /// The folder.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The copy under `pub/` does not verify (the publication changed
    /// during the export, or is damaged); nothing was replaced.
    #[error("the exported publication copy does not verify (nothing replaced; re-run, or run `trove publication verify` on the source):\n{0}")]
    Verify(String),
}

type Result<T> = std::result::Result<T, ExportError>;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Settings of one export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Render everything, ignoring a previous export in `OUT`.
    pub full: bool,
    /// The time the copied publication is verified at (Unix seconds).
    pub now: u64,
}

/// Progress callbacks (the binary draws an indicatif bar).
pub trait ExportProgress {
    /// `total` steps (messages plus other pages) are coming.
    fn start(&self, _total: u64) {}
    /// One step done; `what` names the current phase.
    fn step(&self, _what: &str) {}
    /// The export ended.
    fn finish(&self) {}
}

/// No progress output.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl ExportProgress for NoProgress {}

/// What an export did.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    /// The output folder.
    pub out: PathBuf,
    /// Messages exported.
    pub messages: u64,
    /// Releases exported.
    pub releases: u64,
    /// Files written (rendered or copied) in this run.
    pub written: u64,
    /// Files reused unchanged from the previous export.
    pub reused: u64,
    /// Files under `pub/`.
    pub pub_files: u64,
    /// Bytes under `pub/`.
    pub pub_bytes: u64,
    /// The search index.
    pub index: IndexStats,
    /// Bytes of the whole export.
    pub bytes: u64,
    /// Whether a previous export was reused.
    pub incremental: bool,
    /// Warnings (an expired freshness pointer, …).
    pub warnings: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    format: u32,
    fingerprint: String,
    publication: String,
    messages: u64,
    /// Output path → key of the inputs it was rendered from.
    keys: BTreeMap<String, String>,
}

/// Identifies the program that rendered an export: a rebuilt binary with
/// different templates never reuses pages of an older one.
fn fingerprint() -> String {
    let mut h = Hasher::new();
    h.update(format!("trove-export {FORMAT} {}", env!("CARGO_PKG_VERSION")).as_bytes());
    if let Ok(exe) = std::env::current_exe() {
        if let Ok(b) = fs::read(exe) {
            h.update(&b);
        }
    }
    h.finalize().to_hex()
}

/// Writes files into the new tree, reusing the previous export's when their key matches.
struct Writer {
    tmp: PathBuf,
    old: Option<(PathBuf, State)>,
    keys: BTreeMap<String, String>,
    written: u64,
    reused: u64,
    bytes: u64,
}

impl Writer {
    fn path(&self, rel: &str) -> PathBuf {
        layout::to_fs_path(&self.tmp, rel)
    }

    fn parent(&self, p: &Path) -> Result<()> {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(io_err(d))?;
        }
        Ok(())
    }

    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let p = self.path(rel);
        self.parent(&p)?;
        fs::write(&p, bytes).map_err(io_err(&p))?;
        self.written += 1;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Links (or copies) `src` to `rel`; false when `src` is missing.
    fn link(&mut self, rel: &str, src: &Path) -> Result<bool> {
        let Ok(meta) = fs::symlink_metadata(src) else {
            return Ok(false);
        };
        if !meta.is_file() {
            return Ok(false);
        }
        let p = self.path(rel);
        self.parent(&p)?;
        if fs::hard_link(src, &p).is_err() {
            fs::copy(src, &p).map_err(io_err(&p))?;
        }
        self.bytes += meta.len();
        Ok(true)
    }

    /// Reuses the previous export's `rel` when it was made from `key`.
    fn reuse(&mut self, rel: &str, key: &str) -> Result<bool> {
        let src = match &self.old {
            Some((dir, st)) if st.keys.get(rel).map(String::as_str) == Some(key) => {
                layout::to_fs_path(dir, rel)
            }
            _ => return Ok(false),
        };
        if self.link(rel, &src)? {
            self.keys.insert(rel.to_string(), key.to_string());
            self.reused += 1;
            return Ok(true);
        }
        Ok(false)
    }

    fn keyed(&mut self, rel: &str, key: String, bytes: &[u8]) -> Result<()> {
        self.write(rel, bytes)?;
        self.keys.insert(rel.to_string(), key);
        Ok(())
    }
}

fn key_of(parts: &[&[u8]]) -> String {
    let mut h = Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex()
}

/// The extra style of static pages (search results, browse lists).
const STATIC_STYLE: &str =
    "\n.browse li{display:inline-block;margin-right:1rem}#status{font-style:italic}";
/// The search script (`search.js`).
pub const SEARCH_JS: &str = include_str!("export/search.js");

/// Renders the publication in `pubdir` as a static website in `out`.
pub fn export_static(
    pubdir: &Path,
    out: &Path,
    opts: &ExportOptions,
    progress: &dyn ExportProgress,
) -> Result<ExportReport> {
    let t0 = Instant::now();
    let publication = Publication::open(pubdir).map_err(|source| ExportError::Publication {
        path: pubdir.to_path_buf(),
        source: Box::new(source),
    })?;
    let (out, tmp) = check_output(pubdir, out)?;
    let m = ReadModel::build(publication);
    let pub_id = m.publication.id().to_hex();

    // The previous export, when it can be reused.
    let mut report = ExportReport {
        out: out.clone(),
        messages: m.items.len() as u64,
        releases: m.publication.latest_release(),
        ..Default::default()
    };
    let fp = fingerprint();
    let old = if opts.full {
        None
    } else {
        read_state(&out)
            .filter(|s| s.format == FORMAT && s.fingerprint == fp && s.publication == pub_id)
    };
    report.incremental = old.is_some();
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    // Marks the unfinished folder as ours, so a later run may remove it.
    fs::write(tmp.join(STATE_FILE), b"{}").map_err(io_err(&tmp))?;
    let old_messages = old.as_ref().map_or(0, |s| s.messages);
    let mut w = Writer {
        tmp: tmp.clone(),
        old: old.map(|s| (out.clone(), s)),
        keys: BTreeMap::new(),
        written: 0,
        reused: 0,
        bytes: 0,
    };
    let result = render_all(&m, &mut w, old_messages, progress, &mut report);
    let result = result.and_then(|()| {
        let st = State {
            format: FORMAT,
            fingerprint: fp,
            publication: pub_id,
            messages: m.items.len() as u64,
            keys: std::mem::take(&mut w.keys),
        };
        let json = serde_json::to_vec(&st).unwrap_or_default();
        fs::write(tmp.join(STATE_FILE), json).map_err(io_err(&tmp))?;
        verify_copy(&m, &tmp, opts.now, &mut report)
    });
    progress.finish();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    report.written = w.written;
    report.reused = w.reused;
    report.bytes = w.bytes;
    swap(&tmp, &out)?;
    report.elapsed = t0.elapsed();
    Ok(report)
}

/// Resolves `out` and its `.tmp` sibling; refuses a folder that holds or is
/// inside the publication, and an existing folder that is not an export.
fn check_output(pubdir: &Path, out: &Path) -> Result<(PathBuf, PathBuf)> {
    let bad = |why: &str| ExportError::Output {
        path: out.to_path_buf(),
        why: why.to_string(),
    };
    let name = out
        .file_name()
        .ok_or_else(|| bad("needs a folder name (not / or ..)"))?
        .to_os_string();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = parent
        .canonicalize()
        .map_err(|e| bad(&format!("its parent folder is not usable: {e}")))?;
    let out = parent.join(&name);
    let src = pubdir.canonicalize().map_err(io_err(pubdir))?;
    if out.starts_with(&src) || src.starts_with(&out) {
        return Err(bad(&format!(
            "must be outside the publication {} (and not contain it)",
            src.display()
        )));
    }
    if let Ok(meta) = fs::symlink_metadata(&out) {
        if !meta.is_dir() {
            return Err(bad("exists and is not a folder"));
        }
        let empty = fs::read_dir(&out).map_err(io_err(&out))?.next().is_none();
        if !empty && !out.join(STATE_FILE).is_file() {
            return Err(bad(&format!(
                "exists and is not a trove export (no {STATE_FILE}); refusing to replace it"
            )));
        }
    }
    let mut t = name;
    t.push(".tmp");
    let tmp = parent.join(t);
    if tmp.exists() && !tmp.join(STATE_FILE).is_file() {
        return Err(ExportError::Output {
            path: tmp,
            why: format!(
                "exists and is not an unfinished trove export (no {STATE_FILE}); remove it"
            ),
        });
    }
    Ok((out, tmp))
}

fn read_state(out: &Path) -> Option<State> {
    serde_json::from_slice(&fs::read(out.join(STATE_FILE)).ok()?).ok()
}

/// Puts `tmp` in place of `out`: one rename when `out` is new, else
/// `out` → `out.old`, `tmp` → `out`, then `out.old` is removed.
fn swap(tmp: &Path, out: &Path) -> Result<()> {
    if !out.exists() {
        return fs::rename(tmp, out).map_err(io_err(out));
    }
    let mut old = out.as_os_str().to_os_string();
    old.push(".old");
    let old = PathBuf::from(old);
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    fs::rename(out, &old).map_err(io_err(out))?;
    if let Err(e) = fs::rename(tmp, out) {
        let _ = fs::rename(&old, out);
        return Err(io_err(out)(e));
    }
    fs::remove_dir_all(&old).map_err(io_err(&old))
}

fn render_all(
    m: &ReadModel,
    w: &mut Writer,
    old_messages: u64,
    progress: &dyn ExportProgress,
    report: &mut ExportReport,
) -> Result<()> {
    let name = m.publication.descriptor().name.clone();
    let mut addrs: Vec<&String> = m.sent.keys().chain(m.received.keys()).collect();
    addrs.sort();
    addrs.dedup();
    let total = m.items.len() as u64 * 2
        + m.threads.len() as u64
        + addrs.len() as u64
        + m.publication.latest_release()
        + m.months.len() as u64
        + 8;
    progress.start(total);

    let root = Links::relative(0);
    w.write(
        "style.css",
        format!("{}{STATIC_STYLE}", html::STYLE).as_bytes(),
    )?;
    w.write("search.js", SEARCH_JS.as_bytes())?;
    w.write("index.html", html::home_with(&root, m).as_bytes())?;
    w.write("feed.atom", crate::api::atom_with(&root, m).as_bytes())?;
    progress.step("pages");
    for r in 1..=m.publication.latest_release() {
        if let Some(p) = html::release_with(&Links::relative(2), m, r) {
            w.write(&format!("release/{r}/index.html"), p.as_bytes())?;
        }
        progress.step("releases");
    }

    // Messages: page, body, raw, attachments, and their search terms.
    let mut postings = index::Postings::default();
    if old_messages > 0 {
        if let Some((dir, _)) = &w.old {
            load_old_index(&dir.join("search"), old_messages, &mut postings);
        }
    }
    let l = Links::relative(2);
    for (man, e) in m.publication.messages() {
        let id = e.id;
        let dir = format!("emailid/{id}");
        let blob = e.blob.to_hex();
        let raw_rel = format!("{dir}/raw/{id}.eml");
        let blob_path = m.publication.blob_path(&e.blob);
        if !w.reuse(&raw_rel, &blob)? {
            if !w.link(&raw_rel, &blob_path)? {
                return Err(ExportError::Io {
                    path: blob_path,
                    source: io::Error::new(
                        io::ErrorKind::NotFound,
                        "blob of a published message is missing",
                    ),
                });
            }
            w.keys.insert(raw_rel.clone(), blob.clone());
            w.written += 1;
        }
        for (k, a) in e.attachments.iter().enumerate() {
            let safe = crate::server::safe_name(a.file_name.as_deref(), k + 1);
            let rel = format!(
                "{dir}/attachment/{}/{}",
                k + 1,
                html::static_attachment_name(&safe)
            );
            let akey = a.blob.to_hex();
            if !w.reuse(&rel, &akey)? && w.link(&rel, &m.publication.blob_path(&a.blob))? {
                w.keys.insert(rel, akey);
                w.written += 1;
            }
        }
        // The page's inputs: the entry, its release, the thread's rows, whether a next exists.
        let entry = serde_json::to_vec(e).unwrap_or_default();
        let thread: Vec<u8> = m
            .thread_of(id)
            .iter()
            .filter_map(|t| m.item(*t))
            .flat_map(|i| format!("{}\0{}\0{}\0{}\n", i.id, i.subject, i.from, i.date).into_bytes())
            .collect();
        let next = [u8::from(id < m.items.len() as u64)];
        let key = key_of(&[
            &entry,
            man.title.as_bytes(),
            &man.release.to_le_bytes(),
            &thread,
            &next,
            name.as_bytes(),
        ]);
        let page_rel = format!("{dir}/index.html");
        let body_rel = format!("{dir}/body.html");
        let is_old = id <= old_messages;
        let page_reused = w.reuse(&page_rel, &key)?;
        // An old message whose body the previous export did not write has no HTML body.
        let body_done = is_old && (w.reuse(&body_rel, &blob)? || !had_key(w, &body_rel));
        if !page_reused || !body_done || !is_old {
            let raw = m
                .publication
                .read_blob(&e.blob, e.size)
                .map_err(|err| ExportError::Io {
                    path: blob_path.clone(),
                    source: io::Error::other(err.to_string()),
                })?;
            let r = crate::mail::render(&raw);
            if !page_reused {
                if let Some(p) = html::message_with(&l, m, id, &r) {
                    w.keyed(&page_rel, key, p.as_bytes())?;
                }
            }
            if !body_done {
                if let Some(h) = &r.html {
                    w.keyed(&body_rel, blob.clone(), body_doc(h).as_bytes())?;
                }
            }
            if !is_old {
                let s = &e.summary;
                let mut text = String::new();
                for part in [
                    s.subject.iter().collect::<Vec<_>>(),
                    s.from.iter().collect(),
                    s.to.iter().collect(),
                    s.cc.iter().collect(),
                ] {
                    for x in part {
                        text.push_str(x);
                        text.push('\n');
                    }
                }
                match (&r.text, &r.html) {
                    (Some(t), _) => text.push_str(cut(t, index::MAX_BODY)),
                    (None, Some(h)) => text.push_str(cut(&index::html_text(h), index::MAX_BODY)),
                    _ => {}
                }
                postings.add(id, &text);
            }
        }
        progress.step("messages");
    }

    // Threads, correspondents, months: listings (cheap, always rendered).
    for t in &m.threads {
        if let Some(first) = t.first() {
            if let Some(p) = html::thread_with(&l, m, *first) {
                w.write(&format!("thread/{first}/index.html"), p.as_bytes())?;
            }
        }
        progress.step("threads");
    }
    let mut counts: Vec<(usize, &String)> = Vec::new();
    for a in &addrs {
        if let Some(p) = html::correspondent_with(&l, m, a) {
            w.write(
                &format!("correspondent/{}/index.html", html::static_dir_name(a)),
                p.as_bytes(),
            )?;
        }
        let n = m.sent.get(*a).map_or(0, Vec::len) + m.received.get(*a).map_or(0, Vec::len);
        counts.push((n, a));
        progress.step("correspondents");
    }
    counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let l1 = Links::relative(1);
    let mut b = format!(
        "<h1>Correspondents</h1><p>{} addresses, by number of messages sent and received.</p><ul>",
        counts.len()
    );
    for (n, a) in &counts {
        b.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({n})</li>",
            esc(&l1.correspondent(a)),
            esc(a)
        ));
    }
    b.push_str("</ul>");
    w.write(
        "correspondents/index.html",
        html::page_with(&l1, "Correspondents", &name, &b).as_bytes(),
    )?;
    let mut by_month: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
    for it in &m.items {
        let mo = it.date.get(..7).filter(|mo| m.months.contains_key(*mo));
        by_month
            .entry(mo.unwrap_or("undated"))
            .or_default()
            .push(it);
    }
    for (mo, items) in &by_month {
        let body = format!(
            "<h1>{}</h1><p>{} messages.</p>{}",
            esc(mo),
            items.len(),
            html::list_with(&l, items)
        );
        w.write(
            &format!("month/{mo}/index.html"),
            html::page_with(&l, mo, &name, &body).as_bytes(),
        )?;
        progress.step("months");
    }

    // Search: the index, then the page (which is also the no-JavaScript browse page).
    postings.finish();
    let (files, stats) = postings.files(&m.items);
    for (rel, bytes) in &files {
        w.write(&format!("search/{rel}"), bytes)?;
    }
    report.index = stats;
    w.write(
        "search/index.html",
        search_page(m, &by_month, &counts).as_bytes(),
    )?;
    progress.step("search");

    // The publication's own files.
    copy_publication(m, w, report)?;
    progress.step("publication");
    Ok(())
}

fn had_key(w: &Writer, rel: &str) -> bool {
    w.old
        .as_ref()
        .is_some_and(|(_, s)| s.keys.contains_key(rel))
}

fn cut(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = n;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

fn load_old_index(dir: &Path, max_id: u64, p: &mut index::Postings) {
    let Ok(rd) = fs::read_dir(dir.join("t")) else {
        return;
    };
    for e in rd.flatten() {
        if let Ok(b) = fs::read(e.path()) {
            p.load_shard(&b, max_id);
        }
    }
}

/// The document a sandboxed frame shows: the sanitised body under a policy
/// that allows no script and nothing remote, even opened on its own.
fn body_doc(h: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\"><meta name=\"referrer\" content=\"no-referrer\"></head><body>{h}</body></html>"
    )
}

fn search_page(
    m: &ReadModel,
    by_month: &BTreeMap<&str, Vec<&Item>>,
    counts: &[(usize, &String)],
) -> String {
    let l = Links::relative(1);
    let name = &m.publication.descriptor().name;
    let mut b = String::from(
        "<h1>Search</h1><form id=\"static-search\" role=\"search\" action=\"index.html\" method=\"get\" data-index=\"\" data-root=\"../\">\
<label for=\"static-q\">Words</label> <input id=\"static-q\" name=\"q\" type=\"search\"> <button>Search</button></form>\
<p id=\"status\"></p><p id=\"nojs\"><strong>Search runs in your browser with JavaScript, which is off or blocked here.</strong> Every message is still reachable: browse by release, month or correspondent below.</p>\
<div id=\"results\" aria-live=\"polite\"></div><p>All words must appear (subject, sender, recipients or body); end a word with <code>*</code> to match its beginning.</p>",
    );
    b.push_str("<h2>Browse by release</h2><ul>");
    for r in m.publication.manifests() {
        b.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({} messages)</li>",
            esc(&l.release(r.release)),
            esc(&r.title),
            r.messages.len()
        ));
    }
    b.push_str("</ul><h2>Browse by month</h2><ul class=\"browse\">");
    for (mo, items) in by_month {
        b.push_str(&format!(
            "<li><a href=\"../month/{}/index.html\">{}</a> ({})</li>",
            esc(mo),
            esc(mo),
            items.len()
        ));
    }
    b.push_str("</ul><h2>Browse by correspondent</h2><p><a href=\"../correspondents/index.html\">All correspondents</a>. The most active:</p><ul class=\"browse\">");
    for (n, a) in counts.iter().take(50) {
        b.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({n})</li>",
            esc(&l.correspondent(a)),
            esc(a)
        ));
    }
    b.push_str("</ul><script src=\"../search.js\" defer></script>");
    html::page_with(&l, "Search", name, &b)
}

/// Copies the publication's files (only what its manifests and pointer
/// name: never staged or unlisted files) to `pub/`, same layout as `/pub/`.
fn copy_publication(m: &ReadModel, w: &mut Writer, report: &mut ExportReport) -> Result<()> {
    let root = m.publication.root().to_path_buf();
    let mut paths: Vec<String> = vec![
        layout::DESCRIPTOR_PATH.into(),
        layout::FRESHNESS_PATH.into(),
        layout::FEED_PATH.into(),
    ];
    let mut seen: HashMap<Hash, ()> = HashMap::new();
    for man in m.publication.manifests() {
        paths.push(layout::manifest_path(man.release));
        for e in &man.messages {
            for h in std::iter::once(&e.blob).chain(e.attachments.iter().map(|a| &a.blob)) {
                if seen.insert(*h, ()).is_none() {
                    paths.push(layout::blob_path(h));
                }
            }
        }
        for f in &man.files {
            paths.push(f.path.clone());
        }
    }
    for p in paths {
        if !crate::server::pub_path_ok(&p) {
            continue;
        }
        let before = w.bytes;
        if w.link(&format!("pub/{p}"), &layout::to_fs_path(&root, &p))? {
            report.pub_files += 1;
            report.pub_bytes += w.bytes - before;
            w.written += 1;
        }
    }
    Ok(())
}

/// Checks `tmp/pub` with the publication verifier, pinned to the source's key.
fn verify_copy(m: &ReadModel, tmp: &Path, now: u64, report: &mut ExportReport) -> Result<()> {
    let mut o = VerifyOptions::new(now);
    o.pinned_key = Some(m.publication.public_key());
    let r = trove_publication::verify_dir(&tmp.join("pub"), &o);
    let mut bad = Vec::new();
    for p in &r.problems {
        if p.kind() == "expired" {
            report.warnings.push(format!(
                "{p} (mirrors refuse an expired pointer: refresh the publication and export again)"
            ));
        } else {
            bad.push(p.to_string());
        }
    }
    if !r.unlisted.is_empty() {
        bad.push(format!("unlisted files in the copy: {:?}", r.unlisted));
    }
    if r.release != m.publication.latest_release() && bad.is_empty() && r.problems.is_empty() {
        bad.push(format!(
            "the copy is at release {} but the export rendered release {}",
            r.release,
            m.publication.latest_release()
        ));
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ExportError::Verify(bad.join("\n")))
    }
}
