//! Finding messages in inputs: files, directories, maildirs, archives and compressed streams.
//!
//! [`expand`] turns the paths a user named into [`Unit`]s (one mbox, one archive, one maildir
//! folder, or the loose message files of one directory), checking up front that every path
//! exists and holds something trove can read, so a typo fails before the vault is touched.
//! [`read_unit`] then streams one unit, calling a sink with each [`Item`] in a stable order.
//! A unit is the vault's unit of atomicity: it is committed whole or not at all.

use std::fs::{self, File};
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ingest::mbox;
use crate::parse::looks_like_mail;

/// Safety limits for reading inputs (zip/tar bomb protection and memory bounds).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest single message, in bytes.
    pub max_message: u64,
    /// Most bytes expanded from one compressed input or archive.
    pub max_expanded: u64,
    /// Most entries read from one archive.
    pub max_entries: u64,
    /// Largest expansion ratio allowed once more than `ratio_floor` bytes came out.
    pub max_ratio: u64,
    /// Expanded size below which the ratio is not checked.
    pub ratio_floor: u64,
    /// How deep archives inside archives are opened.
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 256 << 20,
            max_expanded: 1 << 40,
            max_entries: 10_000_000,
            max_ratio: 200,
            ratio_floor: 1 << 30,
            max_depth: 4,
        }
    }
}

/// What kind of input a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// An mbox file (possibly gzip/zstd compressed).
    Mbox,
    /// A single message file.
    Eml,
    /// A zip, tar or compressed tar archive, or a compressed file of unknown inner type.
    Archive,
    /// One maildir folder (its `cur/` and `new/`).
    Maildir,
    /// The loose message files directly inside one directory.
    Directory,
}

impl UnitKind {
    /// Name stored in the vault's `sources.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Mbox => "mbox",
            UnitKind::Eml => "eml",
            UnitKind::Archive => "archive",
            UnitKind::Maildir => "maildir",
            UnitKind::Directory => "directory",
        }
    }
}

/// One unit of input, read and committed as a whole.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The file or directory.
    pub path: PathBuf,
    /// Stable identity of the source in the vault (canonical path, or `stdin:<hash>`).
    pub key: String,
    /// What it is.
    pub kind: UnitKind,
    /// For maildir and directory units: the folder name recorded with each message.
    pub folder: Option<String>,
    /// For maildir and directory units: the files, in order, relative to `path`.
    pub files: Vec<PathBuf>,
    /// Bytes on disk (for progress).
    pub size: u64,
}

/// A message found in an input.
#[derive(Debug)]
pub struct RawMessage {
    /// Where in the unit it was found (mbox index, entry name, file name).
    pub locator: String,
    /// The mbox `From ` line, if it came from an mbox.
    pub envelope: Option<String>,
    /// Maildir or archive folder.
    pub folder: Option<String>,
    /// Maildir flags.
    pub flags: Option<String>,
    /// The exact message bytes.
    pub bytes: Vec<u8>,
}

/// What reading a unit yields, in order.
#[derive(Debug)]
pub enum Item {
    /// A message.
    Message(RawMessage),
    /// A file or entry that is not mail, listed so that nothing vanishes silently.
    Skipped {
        /// Where it was.
        locator: String,
        /// Why it is not a message.
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniff {
    Gzip,
    Zstd,
    Zip,
    Tar,
    Mbox,
    Mail,
    Unsupported(&'static str),
    NotMail,
}

fn sniff(head: &[u8]) -> Sniff {
    if head.starts_with(&[0x1f, 0x8b]) {
        Sniff::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Sniff::Zstd
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Sniff::Zip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Sniff::Tar
    } else if head.starts_with(b"BZh") {
        Sniff::Unsupported("bzip2-compressed; decompress it first (bunzip2)")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Sniff::Unsupported("xz-compressed; decompress it first (unxz)")
    } else if head.starts_with(b"7z\xbc\xaf\x27\x1c") {
        Sniff::Unsupported("a 7-Zip archive; extract it first")
    } else if head.starts_with(b"!BDN") {
        Sniff::Unsupported("an Outlook PST file; PST import is not supported yet (convert it with readpst -M first)")
    } else if mbox::looks_like_mbox(head) {
        Sniff::Mbox
    } else if looks_like_mail(head) {
        Sniff::Mail
    } else {
        Sniff::NotMail
    }
}

fn not_mail_reason(head: &[u8]) -> String {
    if head.is_empty() {
        "empty file".into()
    } else if head.iter().take(512).any(|&b| b == 0) {
        "binary data, not a message, mbox or archive".into()
    } else {
        "not mail: it does not start with a header field or an mbox `From ` line".into()
    }
}

fn read_head(path: &Path) -> Result<Vec<u8>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = Vec::with_capacity(4096);
    f.take(4096)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    Ok(head)
}

fn canonical_key(path: &Path) -> Result<String> {
    let c = fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    Ok(c.to_string_lossy().into_owned())
}

/// Checks every path and turns it into units, in a stable order. Fails before any work on a
/// missing or unreadable path, or a named file that is not mail.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Unit>> {
    let mut units = Vec::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            expand_dir(p, None, &mut units)?;
        } else {
            let head = read_head(p)?;
            match sniff(&head) {
                Sniff::NotMail => {
                    return Err(Error::bad_input(p.display(), not_mail_reason(&head)))
                }
                Sniff::Unsupported(why) => return Err(Error::bad_input(p.display(), why)),
                s => units.push(file_unit(p, s, meta.len())?),
            }
        }
    }
    Ok(units)
}

fn file_unit(p: &Path, s: Sniff, size: u64) -> Result<Unit> {
    let kind = match s {
        Sniff::Mbox => UnitKind::Mbox,
        Sniff::Mail => UnitKind::Eml,
        _ => UnitKind::Archive,
    };
    Ok(Unit {
        path: p.to_path_buf(),
        key: canonical_key(p)?,
        kind,
        folder: None,
        files: Vec::new(),
        size,
    })
}

fn sorted_entries(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    v.sort_by_key(|e| e.file_name());
    Ok(v)
}

fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// Expands a directory: a maildir (with its Maildir++ subfolders), or loose files plus
/// sub-directories, recursively.
fn expand_dir(dir: &Path, folder: Option<String>, units: &mut Vec<Unit>) -> Result<()> {
    if is_maildir(dir) {
        return expand_maildir(dir, folder, units);
    }
    let mut loose = Vec::new();
    let mut size = 0;
    let mut subdirs = Vec::new();
    for e in sorted_entries(dir)? {
        let p = e.path();
        let ft = e.file_type().map_err(|err| Error::io(&p, err))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if ft.is_dir() {
            subdirs.push((p, name));
        } else if ft.is_file() {
            let head = read_head(&p)?;
            match sniff(&head) {
                Sniff::Mail | Sniff::NotMail | Sniff::Unsupported(_) => {
                    size += e.metadata().map(|m| m.len()).unwrap_or(0);
                    loose.push(PathBuf::from(&name));
                }
                s => units.push(file_unit(
                    &p,
                    s,
                    e.metadata().map(|m| m.len()).unwrap_or(0),
                )?),
            }
        } else {
            // Symbolic links and special files are listed in the loose unit and skipped there.
            loose.push(PathBuf::from(&name));
        }
    }
    if !loose.is_empty() {
        units.push(Unit {
            path: dir.to_path_buf(),
            key: canonical_key(dir)?,
            kind: UnitKind::Directory,
            folder: folder.clone(),
            files: loose,
            size,
        });
    }
    for (p, name) in subdirs {
        let sub = match &folder {
            Some(f) => format!("{f}/{name}"),
            None => name,
        };
        expand_dir(&p, Some(sub), units)?;
    }
    Ok(())
}

fn expand_maildir(dir: &Path, folder: Option<String>, units: &mut Vec<Unit>) -> Result<()> {
    let mut files = Vec::new();
    let mut size = 0;
    for sub in ["cur", "new"] {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        for e in sorted_entries(&d)? {
            size += e.metadata().map(|m| m.len()).unwrap_or(0);
            files.push(Path::new(sub).join(e.file_name()));
        }
    }
    let mut subfolders = Vec::new();
    for e in sorted_entries(dir)? {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if matches!(name.as_str(), "cur" | "new" | "tmp") {
            continue;
        }
        if p.is_dir() {
            subfolders.push((p, name));
        } else {
            // Maildir metadata (dovecot-uidlist, maildirfolder…): listed, skipped.
            files.push(PathBuf::from(&name));
        }
    }
    units.push(Unit {
        path: dir.to_path_buf(),
        key: canonical_key(dir)?,
        kind: UnitKind::Maildir,
        folder: folder.clone(),
        files,
        size,
    });
    for (p, name) in subfolders {
        // Maildir++ names nested folders ".Parent.Child"; other layouts nest directories.
        let pretty = name.strip_prefix('.').unwrap_or(&name).replace('.', "/");
        let sub = match &folder {
            Some(f) => format!("{f}/{pretty}"),
            None => pretty,
        };
        expand_dir(&p, Some(sub), units)?;
    }
    Ok(())
}

/// Splits a maildir file name into its unique part and its flags (`:2,FLAGS`, or `;2,` / `!2,`
/// as written on systems where `:` is not allowed).
pub fn maildir_name(name: &str) -> (&str, Option<&str>) {
    for sep in [":2,", ";2,", "!2,"] {
        if let Some(i) = name.rfind(sep) {
            return (&name[..i], Some(&name[i + sep.len()..]));
        }
    }
    (name, None)
}

/// Counts bytes read from the underlying file, for the progress bar and the bomb ratio.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Shared state while reading one unit.
struct Ctx<'a> {
    name: String,
    limits: &'a Limits,
    /// Compressed bytes consumed from the file (shared with the progress bar).
    consumed: Arc<AtomicU64>,
    expanded: Arc<AtomicU64>,
    entries: u64,
}

/// Guards a decompressing reader: total expansion and ratio limits.
struct Guard<R> {
    inner: R,
    expanded: Arc<AtomicU64>,
    consumed: Arc<AtomicU64>,
    limits: Limits,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.expanded.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limits.max_expanded {
            return Err(io::Error::other(format!(
                "expanded size exceeds the limit of {} bytes (raise it with --max-expanded if this archive is genuine)",
                self.limits.max_expanded
            )));
        }
        let consumed = self.consumed.load(Ordering::Relaxed).max(1);
        if total > self.limits.ratio_floor && total / consumed > self.limits.max_ratio {
            return Err(io::Error::other(format!(
                "expands more than {}x ({total} bytes from {consumed}): a decompression bomb? (raise --max-ratio if genuine)",
                self.limits.max_ratio
            )));
        }
        Ok(n)
    }
}

fn guard<'r>(inner: Box<dyn Read + 'r>, ctx: &Ctx) -> Box<dyn Read + 'r> {
    Box::new(Guard {
        inner,
        expanded: ctx.expanded.clone(),
        consumed: ctx.consumed.clone(),
        limits: ctx.limits.clone(),
    })
}

/// Reads one unit, calling `sink` with each item in order. `consumed` is advanced with the
/// bytes read from disk, for progress.
pub fn read_unit(
    unit: &Unit,
    limits: &Limits,
    consumed: Arc<AtomicU64>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut ctx = Ctx {
        name: unit.path.display().to_string(),
        limits,
        consumed: consumed.clone(),
        expanded: Arc::new(AtomicU64::new(0)),
        entries: 0,
    };
    match unit.kind {
        UnitKind::Mbox | UnitKind::Eml | UnitKind::Archive => {
            let f = File::open(&unit.path).map_err(|e| Error::io(&unit.path, e))?;
            let r = Counting {
                inner: f,
                count: consumed,
            };
            read_stream(&mut ctx, Box::new(r), "", None, 0, sink)
        }
        UnitKind::Maildir | UnitKind::Directory => {
            for rel in &unit.files {
                let p = unit.path.join(rel);
                let name = rel
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let in_maildir = unit.kind == UnitKind::Maildir && rel.components().count() == 2;
                let (locator, flags) = if in_maildir {
                    let (unique, flags) = maildir_name(&name);
                    (unique.to_string(), flags.map(str::to_string))
                } else {
                    (rel.to_string_lossy().into_owned(), None)
                };
                let meta = fs::symlink_metadata(&p).map_err(|e| Error::io(&p, e))?;
                if !meta.is_file() {
                    sink(Item::Skipped {
                        locator,
                        reason: "not a regular file (symbolic links are not followed)".into(),
                    })?;
                    continue;
                }
                if meta.len() > limits.max_message {
                    return Err(Error::LimitExceeded {
                        input: p.display().to_string(),
                        what: "message size".into(),
                        limit: limits.max_message,
                        flag: "--max-message-size",
                    });
                }
                let bytes = fs::read(&p).map_err(|e| Error::io(&p, e))?;
                consumed.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                // Files in a maildir's cur/ and new/ are messages by definition: kept even
                // when they do not look like mail (the parser flags them).
                if in_maildir || looks_like_mail(&bytes) {
                    sink(Item::Message(RawMessage {
                        locator,
                        envelope: None,
                        folder: unit.folder.clone(),
                        flags,
                        bytes,
                    }))?;
                } else {
                    let reason = match sniff(&bytes[..bytes.len().min(4096)]) {
                        Sniff::Unsupported(why) => why.to_string(),
                        _ => not_mail_reason(&bytes),
                    };
                    sink(Item::Skipped { locator, reason })?;
                }
            }
            Ok(())
        }
    }
}

fn read_stream(
    ctx: &mut Ctx,
    mut r: Box<dyn Read + '_>,
    locator: &str,
    folder: Option<&str>,
    depth: u32,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let label = if locator.is_empty() {
        ctx.name.clone()
    } else {
        format!("{} (entry {locator})", ctx.name)
    };
    let io_err = |e: io::Error| {
        let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("truncated or corrupt data: {e}")
        } else {
            e.to_string()
        };
        Error::bad_input(&label, reason)
    };
    let mut head = Vec::with_capacity(4096);
    (&mut r).take(4096).read_to_end(&mut head).map_err(io_err)?;
    let kind = sniff(&head);
    let chained: Box<dyn Read + '_> = Box::new(Cursor::new(head.clone()).chain(r));
    if matches!(kind, Sniff::Gzip | Sniff::Zstd | Sniff::Zip | Sniff::Tar)
        && depth >= ctx.limits.max_depth
    {
        return Err(Error::LimitExceeded {
            input: label,
            what: "archive nesting depth".into(),
            limit: ctx.limits.max_depth as u64,
            flag: "--max-depth",
        });
    }
    match kind {
        Sniff::Gzip => {
            let dec = flate2::read::MultiGzDecoder::new(chained);
            let g = guard(Box::new(dec), ctx);
            read_stream(ctx, g, locator, folder, depth + 1, sink)
        }
        Sniff::Zstd => {
            let dec = zstd::stream::read::Decoder::new(chained).map_err(io_err)?;
            let g = guard(Box::new(dec), ctx);
            read_stream(ctx, g, locator, folder, depth + 1, sink)
        }
        Sniff::Tar => read_tar(ctx, chained, &label, depth, sink),
        Sniff::Zip => {
            // Zip needs random access: hold it in memory, within the expansion limit.
            let mut buf = Vec::new();
            chained
                .take(
                    ctx.limits
                        .max_expanded
                        .min(ctx.limits.max_message.saturating_mul(16))
                        + 1,
                )
                .read_to_end(&mut buf)
                .map_err(io_err)?;
            read_zip(ctx, Cursor::new(buf), &label, depth, sink)
        }
        Sniff::Mbox => {
            let prefix = if locator.is_empty() {
                String::new()
            } else {
                format!("{locator}#")
            };
            let preamble = mbox::split(
                BufReader::with_capacity(256 << 10, chained),
                &label,
                ctx.limits.max_message,
                &mut |m| {
                    sink(Item::Message(RawMessage {
                        locator: format!("{prefix}{}", m.index),
                        envelope: Some(m.envelope),
                        folder: folder.map(str::to_string),
                        flags: None,
                        bytes: m.bytes,
                    }))
                },
            )?;
            if let Some(p) = preamble {
                sink(Item::Skipped {
                    locator: format!("{prefix}preamble"),
                    reason: format!("{} bytes of text before the first `From ` line", p.len()),
                })?;
            }
            Ok(())
        }
        Sniff::Mail => {
            let mut bytes = Vec::new();
            chained
                .take(ctx.limits.max_message + 1)
                .read_to_end(&mut bytes)
                .map_err(io_err)?;
            if bytes.len() as u64 > ctx.limits.max_message {
                return Err(Error::LimitExceeded {
                    input: label,
                    what: "message size".into(),
                    limit: ctx.limits.max_message,
                    flag: "--max-message-size",
                });
            }
            let (loc, flags) = entry_locator(locator);
            sink(Item::Message(RawMessage {
                locator: if loc.is_empty() { "0".into() } else { loc },
                envelope: None,
                folder: folder.map(str::to_string),
                flags,
                bytes,
            }))
        }
        Sniff::Unsupported(why) => sink(Item::Skipped {
            locator: locator.to_string(),
            reason: why.to_string(),
        }),
        Sniff::NotMail => {
            // Files in a maildir's cur/ or new/ inside an archive are messages regardless.
            if is_maildir_entry(locator) {
                let mut bytes = Vec::new();
                chained
                    .take(ctx.limits.max_message + 1)
                    .read_to_end(&mut bytes)
                    .map_err(io_err)?;
                let (loc, flags) = entry_locator(locator);
                return sink(Item::Message(RawMessage {
                    locator: loc,
                    envelope: None,
                    folder: folder.map(str::to_string),
                    flags,
                    bytes,
                }));
            }
            sink(Item::Skipped {
                locator: locator.to_string(),
                reason: not_mail_reason(&head),
            })
        }
    }
}

fn is_maildir_entry(locator: &str) -> bool {
    let parts: Vec<&str> = locator.split('/').collect();
    parts.len() >= 2 && matches!(parts[parts.len() - 2], "cur" | "new")
}

/// For an archive entry inside a maildir's cur/ or new/, the locator drops the flags so that a
/// flag change does not make the same message look new; the flags are returned apart.
fn entry_locator(locator: &str) -> (String, Option<String>) {
    if is_maildir_entry(locator) {
        if let Some((dir, name)) = locator.rsplit_once('/') {
            let (unique, flags) = maildir_name(name);
            let parent = dir.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            let loc = if parent.is_empty() {
                unique.to_string()
            } else {
                format!("{parent}/{unique}")
            };
            return (loc, flags.map(str::to_string));
        }
    }
    (locator.to_string(), None)
}

/// Rejects archive entry names that try to leave the archive (`../`, absolute paths).
fn safe_entry_name(label: &str, name: &Path) -> Result<String> {
    for c in name.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Error::bad_input(
                    label,
                    format!(
                        "archive entry {:?} tries to escape the archive (contains `..` or is absolute); refusing the whole archive",
                        name.display().to_string()
                    ),
                ));
            }
        }
    }
    Ok(name.to_string_lossy().into_owned())
}

fn count_entry(ctx: &mut Ctx, label: &str) -> Result<()> {
    ctx.entries += 1;
    if ctx.entries > ctx.limits.max_entries {
        return Err(Error::LimitExceeded {
            input: label.to_string(),
            what: "number of archive entries".into(),
            limit: ctx.limits.max_entries,
            flag: "--max-entries",
        });
    }
    Ok(())
}

fn entry_folder(name: &str) -> Option<String> {
    let dir = name.rsplit_once('/').map(|(d, _)| d)?;
    let dir = dir
        .strip_suffix("/cur")
        .or_else(|| dir.strip_suffix("/new"))
        .unwrap_or(dir);
    if dir.is_empty() || dir == "cur" || dir == "new" {
        None
    } else {
        Some(dir.to_string())
    }
}

fn read_tar(
    ctx: &mut Ctx,
    r: Box<dyn Read + '_>,
    label: &str,
    depth: u32,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut ar = tar::Archive::new(r);
    let entries = ar
        .entries()
        .map_err(|e| Error::bad_input(label, format!("unreadable tar archive: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            Error::bad_input(label, format!("truncated or corrupt tar archive: {e}"))
        })?;
        count_entry(ctx, label)?;
        let path = entry
            .path()
            .map_err(|e| Error::bad_input(label, format!("bad entry name: {e}")))?
            .into_owned();
        let name = safe_entry_name(label, &path)?;
        let et = entry.header().entry_type();
        if et.is_dir()
            || et.is_pax_global_extensions()
            || et.is_pax_local_extensions()
            || et.is_gnu_longname()
        {
            continue;
        }
        if !et.is_file() {
            sink(Item::Skipped {
                locator: name,
                reason: "not a regular file (links and devices are not followed)".into(),
            })?;
            continue;
        }
        let folder = entry_folder(&name);
        read_stream(
            ctx,
            Box::new(entry),
            &name,
            folder.as_deref(),
            depth + 1,
            sink,
        )?;
    }
    Ok(())
}

fn read_zip<R: Read + io::Seek>(
    ctx: &mut Ctx,
    r: R,
    label: &str,
    depth: u32,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut zip = zip::ZipArchive::new(r)
        .map_err(|e| Error::bad_input(label, format!("unreadable zip archive: {e}")))?;
    if zip.len() as u64 > ctx.limits.max_entries {
        return Err(Error::LimitExceeded {
            input: label.to_string(),
            what: "number of archive entries".into(),
            limit: ctx.limits.max_entries,
            flag: "--max-entries",
        });
    }
    for i in 0..zip.len() {
        count_entry(ctx, label)?;
        let f = zip
            .by_index(i)
            .map_err(|e| Error::bad_input(label, format!("corrupt zip entry {i}: {e}")))?;
        let raw_name = f
            .name()
            .map_err(|e| {
                Error::bad_input(label, format!("zip entry {i} has an unreadable name: {e}"))
            })?
            .into_owned();
        let name = safe_entry_name(label, Path::new(&raw_name))?;
        if f.is_dir() {
            continue;
        }
        let declared = f.size();
        let compressed = f.compressed_size().max(1);
        if declared > ctx.limits.ratio_floor && declared / compressed > ctx.limits.max_ratio {
            return Err(Error::LimitExceeded {
                input: format!("{label} (entry {name})"),
                what: format!("expansion ratio ({declared} bytes from {compressed})"),
                limit: ctx.limits.max_ratio,
                flag: "--max-ratio",
            });
        }
        let before = ctx.expanded.fetch_add(declared, Ordering::Relaxed);
        if before + declared > ctx.limits.max_expanded {
            return Err(Error::LimitExceeded {
                input: format!("{label} (entry {name})"),
                what: "expanded size".into(),
                limit: ctx.limits.max_expanded,
                flag: "--max-expanded",
            });
        }
        // Never trust the declared size: read at most that much (+1 to notice a lie).
        let limited = f.take(declared + 1);
        let folder = entry_folder(&name);
        read_stream(
            ctx,
            Box::new(limited),
            &name,
            folder.as_deref(),
            depth + 1,
            sink,
        )?;
    }
    Ok(())
}

/// Copies standard input into `spool` (a file in the vault's tmp/), returning its BLAKE3 hex.
pub fn spool_stdin(spool: &Path) -> Result<String> {
    let mut out = File::create(spool).map_err(|e| Error::io(spool, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut stdin = io::stdin().lock();
    loop {
        let n = stdin.read(&mut buf).map_err(|e| Error::io("-", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        io::Write::write_all(&mut out, &buf[..n]).map_err(|e| Error::io(spool, e))?;
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// A unit for a spooled standard input, keyed by content so that re-ingesting the same bytes
/// from stdin adds nothing.
pub fn stdin_unit(spool: &Path, hash: &str) -> Result<Unit> {
    let head = read_head(spool)?;
    let size = fs::metadata(spool).map(|m| m.len()).unwrap_or(0);
    match sniff(&head) {
        Sniff::NotMail => Err(Error::bad_input("standard input", not_mail_reason(&head))),
        Sniff::Unsupported(why) => Err(Error::bad_input("standard input", why)),
        s => {
            let mut u = file_unit(spool, s, size)?;
            u.key = format!("stdin:{hash}");
            Ok(u)
        }
    }
}
