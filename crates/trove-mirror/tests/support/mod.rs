//! Test fixtures: publications built with trove-publication's writer, and a
//! real (possibly hostile) HTTP/1.1 server on 127.0.0.1.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use trove_publication::{
    layout, AttachmentEntry, FileDraft, MessageDraft, MessageSummary, PublicationWriter,
    PublisherKey, ReleaseDraft,
};

pub const T0: u64 = 1_475_848_800;
pub const DAY: u64 = 86_400;
pub const SEED: [u8; 32] = [4; 32];

/// What the server answers for one path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with these bytes.
    Bytes(Vec<u8>),
    /// 404.
    NotFound,
    /// 200 with a Content-Length, then one byte every `delay`.
    Drip(Vec<u8>, Duration),
    /// 200 without a length, then bytes for ever.
    Endless,
    /// Close the connection without answering.
    Close,
    /// An empty answer with this status (429, 503…).
    Status(u16),
}

type Rule = Arc<dyn Fn(&str) -> Option<Reply> + Send + Sync>;

/// A real HTTP server on 127.0.0.1 serving a publication directory, with
/// per-path overrides to make it hostile.
pub struct Server {
    pub addr: SocketAddr,
    root: Arc<Mutex<PathBuf>>,
    rules: Arc<Mutex<Vec<Rule>>>,
    stop: Arc<AtomicBool>,
    /// Requests answered.
    pub requests: Arc<AtomicU64>,
    /// Paths requested, in order.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let s = Server {
            addr,
            root: Arc::new(Mutex::new(root.to_path_buf())),
            rules: Arc::default(),
            stop: Arc::default(),
            requests: Arc::default(),
            log: Arc::default(),
        };
        let (root, rules, stop, requests, log) = (
            s.root.clone(),
            s.rules.clone(),
            s.stop.clone(),
            s.requests.clone(),
            s.log.clone(),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, rules, stop, requests, log) = (
                    root.clone(),
                    rules.clone(),
                    stop.clone(),
                    requests.clone(),
                    log.clone(),
                );
                thread::spawn(move || {
                    let _ = handle(conn, &root, &rules, &stop, &requests, &log);
                });
            }
        });
        s
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves another directory from now on.
    pub fn set_root(&self, root: &Path) {
        *self.root.lock().unwrap() = root.to_path_buf();
    }

    /// Adds an override, consulted before the files (latest first).
    pub fn rule(&self, f: impl Fn(&str) -> Option<Reply> + Send + Sync + 'static) {
        self.rules.lock().unwrap().insert(0, Arc::new(f));
    }

    /// Removes every override.
    pub fn clear_rules(&self) {
        self.rules.lock().unwrap().clear();
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn handle(
    conn: TcpStream,
    root: &Mutex<PathBuf>,
    rules: &Mutex<Vec<Rule>>,
    stop: &AtomicBool,
    requests: &AtomicU64,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .trim_start_matches('/')
            .to_string();
        requests.fetch_add(1, Ordering::Relaxed);
        log.lock().unwrap().push(path.clone());
        let rules: Vec<Rule> = rules.lock().unwrap().clone();
        let reply = rules
            .iter()
            .find_map(|r| r(&path))
            .unwrap_or_else(|| serve_file(&root.lock().unwrap(), &path));
        match reply {
            Reply::Bytes(b) => {
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                    b.len()
                )?;
                out.write_all(&b)?;
            }
            Reply::NotFound => {
                out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n")?;
            }
            Reply::Drip(b, delay) => {
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    b.len()
                )?;
                for byte in b {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    out.write_all(&[byte])?;
                    out.flush()?;
                    thread::sleep(delay);
                }
            }
            Reply::Endless => {
                out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
                let chunk = vec![b'x'; 64 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    out.write_all(&chunk)?;
                }
                return Ok(());
            }
            Reply::Close => return Ok(()),
            Reply::Status(code) => {
                write!(
                    out,
                    "HTTP/1.1 {code} Busy\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"
                )?;
            }
        }
    }
}

fn serve_file(root: &Path, path: &str) -> Reply {
    if path.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
        return Reply::NotFound;
    }
    match std::fs::read(layout::to_fs_path(root, path)) {
        Ok(b) => Reply::Bytes(b),
        Err(_) => Reply::NotFound,
    }
}

/// Reads a file of a publication directory.
pub fn read(dir: &Path, path: &str) -> Vec<u8> {
    std::fs::read(layout::to_fs_path(dir, path)).unwrap()
}

/// A publication writer for `dir` with key `seed`.
pub fn writer(dir: &Path, seed: [u8; 32], name: &str) -> PublicationWriter {
    let mut w =
        PublicationWriter::create(dir, PublisherKey::from_seed(seed), name, "test", T0).unwrap();
    w.set_fsync(false);
    w
}

/// Publishes part `p` (5 messages, one with an attachment, plus a zip of
/// `NNNNNN.eml` entries like trove's releases) at `T0 + p days`.
pub fn publish_part(w: &mut PublicationWriter, p: u32) {
    let first_id = w.publication().message_count() + 1;
    let mut messages = Vec::new();
    let mut raws = Vec::new();
    for n in 0..5 {
        let raw = format!(
            "From: a{n}@example.org\r\nSubject: part {p} message {n}\r\n\r\n{}\r\n",
            "body text ".repeat(50 + n as usize * 7)
        );
        let mut attachments = Vec::new();
        if n == 2 {
            let bytes = format!("attachment of part {p}").repeat(40);
            let blob = w.put_blob(bytes.as_bytes()).unwrap();
            attachments.push(AttachmentEntry {
                blob: blob.hash,
                size: blob.size,
                file_name: Some(format!("a{p}.txt")),
                content_type: "text/plain".into(),
            });
        }
        messages.push(MessageDraft {
            blob: w.put_blob(raw.as_bytes()).unwrap(),
            attachments,
            summary: MessageSummary {
                subject: Some(format!("part {p} message {n}")),
                ..Default::default()
            },
            dkim: vec![],
        });
        raws.push(raw);
    }
    let zip = eml_zip(first_id, &raws);
    let zblob = w.put_blob(&zip).unwrap();
    let mbox: String = raws.iter().map(|r| format!("From x\n{r}\n")).collect();
    let mblob = w.put_blob(mbox.as_bytes()).unwrap();
    let at = T0 + u64::from(p) * DAY;
    let draft = ReleaseDraft {
        title: format!("Part {p}"),
        messages,
        files: vec![
            FileDraft {
                name: format!("part-{p}.mbox"),
                content_type: "application/mbox".into(),
                blob: mblob,
            },
            FileDraft {
                name: format!("part-{p}-eml.zip"),
                content_type: "application/zip".into(),
                blob: zblob,
            },
        ],
    };
    w.publish(&draft, at, at + 7 * DAY).unwrap();
}

fn eml_zip(first_id: u64, raws: &[String]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (i, raw) in raws.iter().enumerate() {
        z.start_file(format!("{:06}.eml", first_id + i as u64), opts)
            .unwrap();
        z.write_all(raw.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Every file below `dir` (dot directories skipped) with its bytes.
pub fn tree(dir: &Path) -> HashMap<String, Vec<u8>> {
    fn walk(root: &Path, rel: &str, out: &mut HashMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let p = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let mut b = Vec::new();
                std::fs::File::open(e.path())
                    .unwrap()
                    .read_to_end(&mut b)
                    .unwrap();
                out.insert(p, b);
            }
        }
    }
    let mut out = HashMap::new();
    walk(dir, "", &mut out);
    out
}
