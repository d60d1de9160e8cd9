//! Shared test helpers: publications built from real and hostile mail, a
//! server on 127.0.0.1:0, and a tiny HTTP/1.1 client over a TCP socket.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trove_publication::{
    AttachmentEntry, DkimAttestation, MessageDraft, MessageSummary, PublicationWriter,
    PublisherKey, ReleaseDraft,
};

pub const NOW: u64 = 1_700_000_000;

pub fn data_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: ../shared/data not found");
        None
    }
}

fn addrs(a: Option<&mail_parser::Address>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| {
                let e = x.address()?;
                Some(match x.name() {
                    Some(n) => format!("{n} <{e}>"),
                    None => e.to_string(),
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

/// A summary the way a publisher would extract it.
pub fn summarize(raw: &[u8]) -> MessageSummary {
    let Some(m) = mail_parser::MessageParser::default().parse(raw) else {
        return MessageSummary::default();
    };
    MessageSummary {
        message_id: m.message_id().map(str::to_string),
        date: m.date().map(|d| d.to_rfc3339()),
        from: addrs(m.from()),
        to: addrs(m.to()),
        cc: addrs(m.cc()),
        subject: m.subject().map(str::to_string),
        in_reply_to: m.in_reply_to().as_text().map(str::to_string),
        thread: None,
    }
}

/// Messages of an mboxrd file compressed with zstd, at most `n`.
pub fn mbox_messages(path: &Path, n: usize) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).expect("corpus opens");
    let r = BufReader::new(zstd::Decoder::new(f).expect("zstd"));
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    for line in r.split(b'\n') {
        let Ok(mut line) = line else { break };
        if line.starts_with(b"From ") {
            if let Some(c) = cur.take() {
                out.push(c);
                if out.len() >= n {
                    return out;
                }
            }
            cur = Some(Vec::new());
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let gt = line.iter().take_while(|b| **b == b'>').count();
        if gt > 0 && line[gt..].starts_with(b"From ") {
            line.remove(0);
        }
        c.extend_from_slice(&line);
        c.push(b'\n');
    }
    out.extend(cur);
    out.truncate(n);
    out
}

/// Hostile HTML mails: each would change the title, phone home to `beacon`
/// (a loopback URL the test counts) or leave 127.0.0.1 if anything slipped.
pub fn hostile(beacon: &str) -> Vec<Vec<u8>> {
    let bodies = [
        format!("<script>document.title='PWNED';fetch('{beacon}/script')</script><p>script tag</p>"),
        format!("<img src=x onerror=\"document.title='PWNED';fetch('{beacon}/onerror')\"><p onclick=\"x()\">handlers</p>"),
        "<a href=\"javascript:document.title='PWNED'\">click</a><iframe src=\"javascript:alert(1)\"></iframe>".to_string(),
        format!("<div style=\"width:expression(alert(1));background:url({beacon}/cssurl)\">css</div><style>body{{background:url({beacon}/style)}}</style>"),
        format!("<svg><script>document.title='PWNED'</script><image href=\"{beacon}/svg\"/></svg><svg onload=\"fetch('{beacon}/svgload')\"></svg>"),
        format!("<meta http-equiv=\"refresh\" content=\"0;url={beacon}/refresh\"><p>refresh</p>"),
        format!("<form action=\"{beacon}/form\" method=post><input name=p value=secret><button>Send</button></form>"),
        format!("<img src=\"{beacon}/pixel.gif\" width=1 height=1><img src=\"http://198.51.100.7/remote.png\"><p>remote images</p>"),
        format!("<object data=\"{beacon}/object\"></object><embed src=\"{beacon}/embed\"><link rel=stylesheet href=\"{beacon}/link\"><base href=\"{beacon}/\">"),
    ];
    bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                "From: Hostile <evil{i}@attacker.example>\r\nTo: victim@example.org\r\nSubject: hostile {i}\r\nDate: Mon, 2 Oct 2023 10:0{i}:00 +0000\r\nMessage-ID: <hostile{i}@attacker.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><title>mail</title></head><body>{b}</body></html>\r\n"
            )
            .into_bytes()
        })
        .collect()
}

pub fn draft(
    w: &mut PublicationWriter,
    raw: &[u8],
    attachments: Vec<AttachmentEntry>,
    dkim: Vec<DkimAttestation>,
) -> MessageDraft {
    let blob = w.put_blob(raw).expect("put blob");
    MessageDraft {
        blob,
        attachments,
        summary: summarize(raw),
        dkim,
    }
}

pub fn publish(
    w: &mut PublicationWriter,
    title: &str,
    messages: Vec<MessageDraft>,
    now: u64,
) -> u64 {
    w.publish(
        &ReleaseDraft {
            title: title.into(),
            messages,
            files: vec![],
        },
        now,
        now + 30 * 86_400,
    )
    .expect("publish")
    .release
}

/// Publishes `raws` as one release of plain messages (no attachments, no DKIM
/// attestations); returns its number.
pub fn publish_plain(w: &mut PublicationWriter, title: &str, raws: &[Vec<u8>], now: u64) -> u64 {
    let drafts = raws.iter().map(|m| draft(w, m, vec![], vec![])).collect();
    publish(w, title, drafts, now)
}

pub fn writer(dir: &Path) -> PublicationWriter {
    PublicationWriter::create(
        dir,
        PublisherKey::from_seed([7; 32]),
        "Test leak",
        "Messages for <tests> & checks",
        NOW,
    )
    .expect("create")
}

/// Starts the server on 127.0.0.1:0; returns its address and a shutdown sender.
pub async fn start(
    dir: &Path,
    config: trove_web::Config,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (addr, _site, tx, h) = start_site(dir, config).await;
    (addr, tx, h)
}

/// [`start`], also keeping a handle on the server's [`trove_web::Site`] (to count the
/// searches it really ran).
pub async fn start_site(
    dir: &Path,
    config: trove_web::Config,
) -> (
    SocketAddr,
    trove_web::Site,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let site = trove_web::Site::open(dir).expect("site opens");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = site.clone();
    let h = tokio::spawn(async move {
        trove_web::serve(l, served, config, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    (addr, site, tx, h)
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 GET with `Connection: close`; `path` is sent as is.
pub async fn get(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> Resp {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut body = buf[end..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(p) = rest.windows(2).position(|w| w == b"\r\n") {
            let n =
                usize::from_str_radix(std::str::from_utf8(&rest[..p]).unwrap_or("0").trim(), 16)
                    .unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[p + 2..p + 2 + n]);
            rest = &rest[p + 4 + n..];
        }
        body = out;
    }
    Resp {
        status,
        headers,
        body,
    }
}

/// The browser the browser tests drive.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs headless Chromium with a fresh profile in `profile`, through the
/// HTTP proxy `proxy` unless it is empty; returns its standard output
/// (`--dump-dom` prints the rendered DOM).
pub fn chromium(profile: &Path, proxy: &str, args: &[&str]) -> String {
    let mut c = std::process::Command::new(CHROMIUM);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=900,1400",
        "--virtual-time-budget=3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    if !proxy.is_empty() {
        c.arg(format!("--proxy-server=http://{proxy}"));
    }
    let out = c.args(args).output().expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A plain static file server on 127.0.0.1:0 (std only, a thread per
/// connection) serving `root` under the URL prefix `prefix` (`/a/b/`), the
/// way any static host would: GET, percent-decoding, `index.html` for
/// directories, a content type from the extension, no special headers
/// (except under `/nojs/`: see below).
pub fn static_server(root: &Path, prefix: &'static str) -> SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let target = head.split(' ').nth(1).unwrap_or("/").to_string();
                let path = target.split(['?', '#']).next().unwrap_or("/");
                // Under /nojs/ the same files come with a policy that blocks
                // every script: the page as a reader without JavaScript gets it.
                let (path, extra) = match path.strip_prefix("/nojs") {
                    Some(p) => (p, "Content-Security-Policy: script-src 'none'\r\n"),
                    None => (path, ""),
                };
                let (status, ctype, body) = match static_file(&root, prefix, path) {
                    Some((c, b)) => ("200 OK", c, b),
                    None => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(&body);
            });
        }
    });
    addr
}

/// Percent-decodes a URL path.
pub fn pct_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn static_file(root: &Path, prefix: &str, path: &str) -> Option<(&'static str, Vec<u8>)> {
    let rel = pct_decode(path.strip_prefix(prefix)?)?;
    let mut p = root.to_path_buf();
    for seg in rel.split('/') {
        if seg == ".." || seg.starts_with('.') && !seg.is_empty() {
            return None;
        }
        if !seg.is_empty() {
            p.push(seg);
        }
    }
    if p.is_dir() {
        p.push("index.html");
    }
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    let ctype = match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "atom" => "application/atom+xml",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    };
    Some((ctype, std::fs::read(&p).ok()?))
}

/// Waits until the server's full-text index holds `n` messages (it builds in
/// the background; `/api/search` answers with the substring fallback until then).
pub async fn wait_indexed(addr: SocketAddr, n: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let r = get(addr, "/api/search?q=zzznothing&facets=false", &[]).await;
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if v["engine"] == "fulltext" && v["indexed"].as_u64() == Some(n) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "index never reached {n}: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
