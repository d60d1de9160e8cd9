//! `export_static`: a publication rendered as a static site. Every message
//! has a page and a raw source byte-identical to its blob; every link in
//! every page resolves to a file inside the export; hostile HTML is
//! sanitised; the copy under `pub/` verifies; nothing unreleased is copied;
//! an incremental re-export equals a full one. Then headless Chromium reads
//! the export from a plain static file server under a sub-path: a message,
//! the search (JavaScript) and the browse page (no JavaScript).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use trove_publication::{
    verify_dir, AttachmentEntry, MessageDraft, Publication, PublicationWriter, PublisherKey,
    VerifyOptions,
};
use trove_web::export::{export_static, ExportOptions, ExportReport, NoProgress};

const EMBARGO: &str = "EMBARGOEDSECRET7731";

fn opts(full: bool) -> ExportOptions {
    ExportOptions {
        full,
        now: NOW + 3600,
    }
}

/// Part 1: the hostile set, a message with hostile attachment names, a
/// thread root, an odd sender address; plus a staged, never released blob.
fn part1(w: &mut PublicationWriter) -> Vec<MessageDraft> {
    let mut d: Vec<MessageDraft> = hostile("http://127.0.0.1:9/beacon")
        .iter()
        .map(|m| draft(w, m, vec![], vec![]))
        .collect();
    let evil = w
        .put_blob(b"<html><script>alert(1)</script></html>")
        .expect("blob");
    let svg = w
        .put_blob(b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>")
        .expect("blob");
    let pdf = w.put_blob(b"%PDF-1.4 not really").expect("blob");
    let att = vec![
        AttachmentEntry::new(evil, Some("../../etc/passwd\r\n.html".into()), "text/html"),
        AttachmentEntry::new(svg, Some("logo.svg".into()), "image/svg+xml"),
        AttachmentEntry::new(pdf, Some("Quarterly report.pdf".into()), "application/pdf"),
        AttachmentEntry::new(pdf, None, "application/pdf"),
    ];
    let raw = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: with attachments\r\nDate: Mon, 2 Oct 2023 11:00:00 +0000\r\n\r\nsee attached quarterly figures\r\n";
    d.push(draft(w, raw, att, vec![]));
    let root = b"From: Ann <ann@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: pipeline budget\r\nDate: Tue, 3 Oct 2023 09:00:00 +0000\r\nMessage-ID: <root@example.org>\r\n\r\nThe pipeline budget is attached, zanzibar.\r\n";
    d.push(draft(w, root, vec![], vec![]));
    let odd = b"From: \"x\" <Weird/../Name+tag@Example.org>\r\nTo: \"a b\"@example.org\r\nSubject: odd addresses\r\nDate: Wed, 4 Oct 2023 09:00:00 +0000\r\n\r\nodd\r\n";
    d.push(draft(w, odd, vec![], vec![]));
    let secret = format!("From: x@example.org\r\nSubject: {EMBARGO}\r\n\r\n{EMBARGO}\r\n");
    w.put_blob(secret.as_bytes())
        .expect("staged, never released");
    d
}

/// Part 2: a reply into part 1's thread and a new message.
fn part2(w: &mut PublicationWriter) -> Vec<MessageDraft> {
    let reply = b"From: Bob <bob@example.org>\r\nTo: Ann <ann@example.org>\r\nSubject: Re: pipeline budget\r\nDate: Thu, 5 Oct 2023 09:00:00 +0000\r\nMessage-ID: <reply@example.org>\r\nIn-Reply-To: <root@example.org>\r\n\r\nReceived the budget.\r\n";
    let new = b"From: Cy <cy@example.org>\r\nTo: ann@example.org\r\nSubject: second part news\r\nDate: Mon, 6 Nov 2023 09:00:00 +0000\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>quokka</b></p><script>alert(1)</script>\r\n";
    vec![
        draft(w, reply, vec![], vec![]),
        draft(w, new, vec![], vec![]),
    ]
}

/// Every `href`, `src` and `action` of an HTML page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in [" href=\"", " src=\"", " action=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    out
}

/// Resolves `link` found in `page` (a file under `root`) to the file it names,
/// or says why it does not stay inside the export.
fn resolve(root: &Path, page: &Path, link: &str) -> Result<PathBuf, String> {
    if link.starts_with('/')
        || link.contains("://")
        || link.split('/').next().unwrap_or("").contains(':')
    {
        return Err(format!("absolute or external link {link:?}"));
    }
    let path = link.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        return Ok(page.to_path_buf());
    }
    let path = pct_decode(path).ok_or("bad percent-encoding")?;
    let mut cur: Vec<String> = page
        .parent()
        .and_then(|d| d.strip_prefix(root).ok())
        .map(|d| d.iter().map(|s| s.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                cur.pop()
                    .ok_or_else(|| format!("{link:?} climbs out of the export"))?;
            }
            s => cur.push(s.to_string()),
        }
    }
    let mut p = root.to_path_buf();
    p.extend(&cur);
    if p.is_dir() {
        p.push("index.html");
    }
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{link:?} names {} which does not exist",
            p.display()
        ))
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The ids the static search finds for one term (what search.js does: the
/// longest shard key the term starts with, delta-decoded ids).
fn search_ids(out: &Path, term: &str) -> Vec<u64> {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("search/meta.json")).expect("meta"))
            .expect("json");
    let keys: Vec<String> = meta["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let chars: Vec<char> = term.chars().collect();
    let key = (1..=chars.len().min(4))
        .rev()
        .map(|n| chars[..n].iter().collect::<String>())
        .find(|k| keys.contains(k));
    let Some(key) = key else { return vec![] };
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let shard: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("search/t/{hex}.json"))).expect("shard"),
    )
    .expect("json");
    let mut id = 0;
    shard[term]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    id += d.as_u64().expect("delta");
                    id
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everything the export promises, checked file by file.
fn check_export(pubdir: &Path, out: &Path) {
    let p = Publication::open(pubdir).expect("publication");
    for (_, e) in p.messages() {
        let id = e.id;
        assert!(
            out.join(format!("emailid/{id}/index.html")).is_file(),
            "page {id}"
        );
        let raw = std::fs::read(out.join(format!("emailid/{id}/raw/{id}.eml"))).expect("raw");
        assert_eq!(raw, p.read_blob(&e.blob, e.size).expect("blob"), "raw {id}");
    }
    let mut files = Vec::new();
    walk(out, &mut files);
    let mut pages = 0;
    let mut checked = 0;
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let rel = f
            .strip_prefix(out)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        assert!(!rel.contains(".."), "{rel}");
        if rel.starts_with("emailid/") && rel.contains("/attachment/") {
            let ext = name.rsplit('.').next().unwrap_or("");
            assert!(
                !["html", "htm", "svg", "xml", "js", "xhtml"].contains(&ext),
                "attachment served as active content: {rel}"
            );
        }
        if !name.ends_with(".html") {
            continue;
        }
        let html = std::fs::read_to_string(f).expect("utf-8 page");
        if name == "body.html" {
            // A mail body: sanitised, inert even when opened on its own.
            let low = html.to_ascii_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "javascript:",
                "<iframe",
                "<meta http-equiv=\"refresh",
                "<form",
                "<object",
                "<embed",
                "<base",
            ] {
                assert!(!low.contains(bad), "{rel}: {bad} in {html}");
            }
            let odd: Vec<String> = links(&html)
                .into_iter()
                .filter(|l| !l.starts_with("http") && !l.starts_with("mailto:"))
                .filter(|l| !l.starts_with("data:image/"))
                .collect();
            assert!(odd.is_empty(), "{rel}: unexpected links {odd:?}");
            let srcs: Vec<&str> = html
                .match_indices(" src=\"")
                .map(|(i, _)| &html[i + 6..])
                .collect();
            assert!(
                srcs.iter().all(|s| s.starts_with("data:image/")),
                "{rel}: remote src"
            );
            assert!(low.contains("content-security-policy"), "{rel}: no policy");
            continue;
        }
        pages += 1;
        assert!(
            html.contains("http-equiv=\"Content-Security-Policy\""),
            "{rel}: no CSP meta"
        );
        assert!(!html.contains("<script>"), "{rel}: inline script");
        for l in links(&html) {
            resolve(out, f, &l).unwrap_or_else(|e| panic!("{rel}: {e}"));
            checked += 1;
        }
    }
    assert!(pages > p.message_count() as usize, "{pages} pages");
    println!("{pages} pages, {checked} links, all inside the export");

    // The copy under pub/ is the publication: it verifies, pinned to its key.
    let mut o = VerifyOptions::new(NOW + 3600);
    o.pinned_key = Some(p.public_key());
    let r = verify_dir(&out.join("pub"), &o);
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.messages, p.message_count());
    assert!(r.unlisted.is_empty(), "{:?}", r.unlisted);
    assert!(!out.join("pub/.staging").exists());
}

fn no_embargo(out: &Path) {
    let mut files = Vec::new();
    walk(out, &mut files);
    for f in files {
        let b = std::fs::read(&f).expect("read");
        assert!(
            !b.windows(EMBARGO.len()).any(|w| w == EMBARGO.as_bytes()),
            "unreleased text in {}",
            f.display()
        );
    }
    assert!(search_ids(out, &EMBARGO.to_lowercase()).is_empty());
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files
        .into_iter()
        .filter(|f| !f.ends_with(trove_web::export::STATE_FILE))
        .map(|f| {
            (
                f.strip_prefix(dir)
                    .expect("in")
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(&f).expect("read"),
            )
        })
        .collect()
}

fn export(pubdir: &Path, out: &Path, full: bool) -> ExportReport {
    export_static(pubdir, out, &opts(full), &NoProgress).expect("export")
}

#[test]
fn fixture_exports_completely_and_incrementally() {
    let tmp = tempfile::tempdir().expect("tmp");
    let pubdir = tmp.path().join("pub");
    let out = tmp.path().join("site");
    let mut w = writer(&pubdir);
    let d = part1(&mut w);
    publish(&mut w, "Part 1", d, NOW);

    let r1 = export(&pubdir, &out, false);
    assert!(!r1.incremental);
    assert_eq!(r1.messages, 12);
    check_export(&pubdir, &out);
    no_embargo(&out);
    assert!(!tmp.path().join("site.tmp").exists());

    // Hostile HTML: the bodies are sanitised; attachments keep inert names.
    let body = std::fs::read_to_string(out.join("emailid/1/body.html")).expect("body");
    assert!(
        body.contains("script tag") && !body.contains("PWNED"),
        "{body}"
    );
    let page = std::fs::read_to_string(out.join("emailid/10/index.html")).expect("page");
    for name in [
        "etc_passwd__.html.bin",
        "logo.svg.bin",
        "Quarterly_report.pdf",
        "attachment-4.bin",
    ] {
        assert!(page.contains(name), "{name} in {page}");
    }
    assert!(out
        .join("emailid/10/attachment/1/etc_passwd__.html.bin")
        .is_file());
    // The odd address gets a hashed folder, linked from its message.
    let odd = std::fs::read_to_string(out.join("emailid/12/index.html")).expect("page");
    assert!(odd.contains("correspondent/x-"), "{odd}");

    // Search: words of bodies, subjects and addresses find their messages.
    assert_eq!(search_ids(&out, "hostile"), (1..=9).collect::<Vec<_>>());
    assert_eq!(search_ids(&out, "zanzibar"), vec![11]);
    assert_eq!(search_ids(&out, "quarterly"), vec![10]);
    assert_eq!(search_ids(&out, "ann"), vec![11]);

    // A new release: the re-export reuses old files and equals a full export.
    let mut w = PublicationWriter::open(&pubdir, PublisherKey::from_seed([7; 32])).expect("open");
    let d = part2(&mut w);
    publish(&mut w, "Part 2", d, NOW + 60);
    let r2 = export(&pubdir, &out, false);
    assert!(r2.incremental, "{r2:?}");
    assert!(r2.reused > 20, "reused {}", r2.reused);
    assert_eq!(r2.messages, 14);
    check_export(&pubdir, &out);
    no_embargo(&out);
    let full = tmp.path().join("full");
    let r3 = export(&pubdir, &full, true);
    assert_eq!(r3.reused, 0);
    let (a, b) = (tree(&out), tree(&full));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(
            v == &b[k],
            "{k} differs between incremental and full export"
        );
    }
    // The thread page now holds the reply; the old message page links to it.
    let t = std::fs::read_to_string(out.join("thread/11/index.html")).expect("thread");
    assert!(
        t.contains("2 messages") && t.contains("Re: pipeline budget"),
        "{t}"
    );
    assert_eq!(search_ids(&out, "quokka"), vec![14]);
    assert_eq!(search_ids(&out, "budget"), vec![11, 13]);
    let body = std::fs::read_to_string(out.join("emailid/14/body.html")).expect("body");
    assert!(!body.contains("<script"), "{body}");
    println!(
        "incremental: {} written, {} reused; full: {} written",
        r2.written, r2.reused, r3.written
    );
}

#[test]
fn refuses_unsafe_outputs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let pubdir = tmp.path().join("pub");
    let mut w = writer(&pubdir);
    let d = part1(&mut w);
    publish(&mut w, "Part 1", d, NOW);
    // Inside the publication, or the publication itself.
    for bad in [
        pubdir.join("site"),
        pubdir.clone(),
        tmp.path().to_path_buf(),
    ] {
        let e = export_static(&pubdir, &bad, &opts(false), &NoProgress).expect_err("refused");
        assert!(e.to_string().contains("outside the publication"), "{e}");
    }
    // A folder that is not an export is never replaced.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).expect("dir");
    std::fs::write(mine.join("thesis.txt"), b"precious").expect("write");
    let e = export_static(&pubdir, &mine, &opts(false), &NoProgress).expect_err("refused");
    assert!(e.to_string().contains("not a trove export"), "{e}");
    assert_eq!(
        std::fs::read(mine.join("thesis.txt")).expect("kept"),
        b"precious"
    );
    // Not a publication.
    let e = export_static(&mine, &tmp.path().join("x"), &opts(false), &NoProgress)
        .expect_err("refused");
    assert!(e.to_string().contains("cannot open publication"), "{e}");
    assert!(publication_is_untouched(&pubdir));
}

fn publication_is_untouched(pubdir: &Path) -> bool {
    verify_dir(pubdir, &VerifyOptions::new(NOW + 3600)).is_ok()
}

#[test]
fn real_corpus_exports() {
    let Some(data) = data_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let pubdir = tmp.path().join("pub");
    let out = tmp.path().join("site");
    let mut w = writer(&pubdir);
    let msgs = mbox_messages(&data.join("corpora/lore-kasan-dev-2022-2023.mbox.zst"), 300);
    let d: Vec<_> = msgs
        .iter()
        .map(|m| draft(&mut w, m, vec![], vec![]))
        .collect();
    let (a, b) = d.split_at(150);
    publish(&mut w, "Part 1", a.to_vec(), NOW);
    publish(&mut w, "Part 2", b.to_vec(), NOW + 60);
    let r = export(&pubdir, &out, false);
    assert_eq!(r.messages, 300);
    check_export(&pubdir, &out);
    // A word of the first message's subject finds it.
    let p = Publication::open(&pubdir).expect("open");
    let (_, e) = p.message(1).expect("1");
    let subject = e.summary.subject.clone().unwrap_or_default();
    let mut words = Vec::new();
    trove_web::export::terms(&subject, |t| words.push(t));
    let word = words
        .iter()
        .find(|w| w.len() >= 4)
        .expect("a word in the subject");
    assert!(search_ids(&out, word).contains(&1), "{word}");
    println!(
        "real corpus: {} messages, index {} terms in {} shards ({} bytes), {} bytes in all",
        r.messages, r.index.terms, r.index.shards, r.index.bytes, r.bytes
    );
}

/// Headless Chromium against a plain static file server serving the export
/// under a sub-path: a message page, a search with a query (rendered by the
/// script from the JSON index), and the search page with JavaScript off.
#[test]
fn static_export_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        println!("skipped: {CHROMIUM} not found (apt-get install chromium)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let pubdir = tmp.path().join("pub");
    let out = tmp.path().join("site");
    let mut w = writer(&pubdir);
    let mut d = part1(&mut w);
    d.extend(part2(&mut w));
    let mut query = ("hostile", 9usize, "hostile 4".to_string());
    if let Some(data) = data_dir() {
        for raw in mbox_messages(&data.join("corpora/lore-kasan-dev-2022-2023.mbox.zst"), 200) {
            d.push(draft(&mut w, &raw, vec![], vec![]));
        }
    }
    publish(&mut w, "Part 1", d, NOW);
    export(&pubdir, &out, false);
    if data_dir().is_some() {
        let n = search_ids(&out, "kasan");
        let p = Publication::open(&pubdir).expect("open");
        let last = *n.iter().max().expect("kasan hits");
        let subject = p
            .message(last)
            .and_then(|(_, e)| e.summary.subject.clone())
            .unwrap_or_default();
        query = ("kasan", n.len(), subject);
    }
    let addr = static_server(&out, "/mirror/site/");
    let base = format!("http://{addr}/mirror/site");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target")
        .join("screenshots");
    std::fs::create_dir_all(&shots).expect("dir");
    let profile = tempfile::tempdir().expect("profile");
    let run = |args: &[&str]| chromium(profile.path(), "", args);
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };

    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let pages = [
        (
            "export-message",
            "/emailid/11/index.html".to_string(),
            v(&["pipeline budget", "Raw source", "Thread (2 messages)"]),
            false,
        ),
        (
            "export-hostile",
            "/emailid/1/index.html".to_string(),
            v(&["iframe sandbox=\"\"", "hostile 0"]),
            false,
        ),
        (
            "export-search",
            format!("/search/index.html?q={}", query.0),
            vec![
                format!("{} results", query.1),
                esc(&query.2),
                "id=\"nojs\" hidden".into(),
            ],
            false,
        ),
        (
            "export-search-nojs",
            "/search/index.html?q=hostile".to_string(),
            v(&[
                "<p id=\"nojs\"><strong>Search runs in your browser",
                "Browse by month",
                "2023-10/index.html",
                "Part 1",
            ]),
            true,
        ),
        (
            "export-home-nojs",
            "/index.html".to_string(),
            v(&["Releases", "Part 1"]),
            true,
        ),
    ];
    for (name, path, expect, nojs) in pages {
        // Without JavaScript: the same files, every script blocked by the server's policy.
        let url = if nojs {
            format!("http://{addr}/nojs/mirror/site{path}")
        } else {
            format!("{base}{path}")
        };
        let args = vec!["--dump-dom", url.as_str()];
        let dom = run(&args);
        for e in &expect {
            assert!(dom.contains(e), "{name}: {e:?} not in {dom}");
        }
        if nojs {
            assert!(
                !dom.contains("id=\"count\""),
                "{name}: script ran with JavaScript off"
            );
        }
        if name == "export-search" {
            // The hit links to its message page, relative to the sub-path.
            assert!(dom.contains("href=\"../emailid/"), "{dom}");
        }
        let png = shots.join(format!("{name}.png"));
        let shot = format!("--screenshot={}", png.display());
        run(&[shot.as_str(), url.as_str()]);
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(size > 5_000, "{name}: screenshot {size} bytes");
        println!("screenshot {}", png.display());
    }
}
