//! Hand-written HTML pages. Every piece of message-derived text goes through
//! [`esc`]; no scripts, fonts or remote resources; one local stylesheet.

use std::fmt::Write;

use crate::mail::Rendered;
use crate::model::{address, Item, ReadModel};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes a path segment (everything but unreserved characters).
pub fn url_seg(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// Where a page's links point: absolute paths on the server (`/emailid/7`),
/// relative files in a static export (`../../emailid/7/index.html`), so the
/// same renderers serve both.
#[derive(Debug, Clone)]
pub struct Links {
    /// Prefix of every link: `/` on the server, `../` repeated to the site root in an export.
    pub base: String,
    /// Static export: links name files (`index.html`, `N.eml`), there is no API,
    /// and pages carry their Content-Security-Policy in a `<meta>`.
    pub static_site: bool,
}

/// The policy a static page carries in its `<meta>` (a static host sends no headers):
/// the server's [`crate::CSP`] plus the export's own search script and index.
pub const CSP_STATIC: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'self'";

impl Links {
    /// The server's absolute links.
    pub fn server() -> Links {
        Links {
            base: "/".into(),
            static_site: false,
        }
    }
    /// Relative links for a static page `depth` directories below the site root.
    pub fn relative(depth: usize) -> Links {
        Links {
            base: "../".repeat(depth),
            static_site: true,
        }
    }
    fn page(&self, path: &str) -> String {
        if self.static_site {
            format!("{}{path}/index.html", self.base)
        } else {
            format!("{}{path}", self.base)
        }
    }
    /// The home page.
    pub fn home(&self) -> String {
        if self.static_site {
            format!("{}index.html", self.base)
        } else {
            self.base.clone()
        }
    }
    /// A file at the site root (`style.css`, `feed.atom`).
    pub fn file(&self, name: &str) -> String {
        format!("{}{name}", self.base)
    }
    /// The search page.
    pub fn search(&self) -> String {
        self.page("search")
    }
    /// A publication file (`pub/descriptor.json`).
    pub fn pub_file(&self, path: &str) -> String {
        format!("{}pub/{path}", self.base)
    }
    /// A release page.
    pub fn release(&self, r: u64) -> String {
        self.page(&format!("release/{r}"))
    }
    /// A message page.
    pub fn message(&self, id: u64) -> String {
        self.page(&format!("emailid/{id}"))
    }
    /// A message's raw source (`N.eml` in an export).
    pub fn raw(&self, id: u64) -> String {
        if self.static_site {
            format!("{}emailid/{id}/raw/{id}.eml", self.base)
        } else {
            format!("{}emailid/{id}/raw", self.base)
        }
    }
    /// A message's sanitised HTML body (the sandboxed frame's source).
    pub fn body(&self, id: u64) -> String {
        if self.static_site {
            format!("{}emailid/{id}/body.html", self.base)
        } else {
            format!("{}emailid/{id}/html", self.base)
        }
    }
    /// Attachment `k` (1-based) of message `id`, under its `name` in an export.
    pub fn attachment(&self, id: u64, k: usize, name: &str) -> String {
        if self.static_site {
            format!("{}emailid/{id}/attachment/{k}/{}", self.base, url_seg(name))
        } else {
            format!("{}emailid/{id}/attachment/{k}", self.base)
        }
    }
    /// A thread page, named by one of its message ids.
    pub fn thread(&self, id: u64) -> String {
        self.page(&format!("thread/{id}"))
    }
    /// A correspondent page (by lower-cased address).
    pub fn correspondent(&self, addr: &str) -> String {
        if self.static_site {
            self.page(&format!(
                "correspondent/{}",
                url_seg(&static_dir_name(addr))
            ))
        } else {
            self.page(&format!("correspondent/{}", url_seg(addr)))
        }
    }
    /// An API path (`api/messages/7`): none in a static export.
    pub fn api(&self, path: &str) -> Option<String> {
        (!self.static_site).then(|| format!("{}api/{path}", self.base))
    }
}

/// The directory name of a correspondent's page in a static export: the
/// address itself when it is plain (`[a-z0-9._@-]`, at most 100 bytes, not
/// starting with a dot), else `x-` and a BLAKE3 prefix, so no address can name
/// a path outside its folder or one a file system or host mangles.
pub fn static_dir_name(addr: &str) -> String {
    let plain = !addr.is_empty()
        && addr.len() <= 100
        && !addr.starts_with('.')
        && !addr.starts_with("x-")
        && addr.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'@' | b'-')
        });
    if plain {
        addr.to_string()
    } else {
        format!(
            "x-{}",
            &trove_publication::Hash::of(addr.as_bytes()).to_hex()[..24]
        )
    }
}

/// The file name of an attachment in a static export: its [`safe_name`](crate::safe_name),
/// plus `.bin` unless its extension is one a static host serves as inert
/// content (never `.html`, `.svg`, `.xml`, `.js`: those would run on the site's origin).
pub fn static_attachment_name(safe: &str) -> String {
    const INERT: &[&str] = &[
        "pdf", "png", "jpg", "jpeg", "gif", "txt", "zip", "ics", "csv", "doc", "docx", "xls",
        "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "eml", "tif", "tiff", "bmp", "gz",
        "mp3", "mp4", "wav", "patch", "diff",
    ];
    let ext = safe
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if INERT.contains(&ext.as_str()) {
        safe.to_string()
    } else {
        format!("{safe}.bin")
    }
}

/// The stylesheet served at `/style.css`.
pub const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:0 1rem;color:#111;background:#fff}\
header,footer{border-bottom:1px solid #ccc;padding:.5rem 0}footer{border-top:1px solid #ccc;border-bottom:0;margin-top:2rem;font-size:.9rem}\
a{color:#0645ad}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .4rem;border-bottom:1px solid #eee;vertical-align:top}\
pre{white-space:pre-wrap;word-wrap:break-word;background:#f6f6f6;padding:.5rem}iframe{width:100%;height:30rem;border:1px solid #ccc}\
.pass{background:#d4f7d4}.fail,.permerror{background:#fbd3d3}.badge{padding:.1rem .4rem;border-radius:.3rem;border:1px solid #999}\
nav ul{list-style:none;padding:0}nav li{display:inline;margin-right:1rem}@media(max-width:40rem){td,th{display:block}}";

/// Wraps `body` in the page layout.
pub fn page(title: &str, name: &str, body: &str) -> String {
    page_with(&Links::server(), title, name, body)
}

/// Wraps `body` in the page layout, with links from `l`.
pub fn page_with(l: &Links, title: &str, name: &str, body: &str) -> String {
    let csp = if l.static_site {
        format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP_STATIC}\">")
    } else {
        String::new()
    };
    let api = l
        .api("openapi.json")
        .map(|u| format!("<li><a href=\"{u}\">API</a></li>"))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
{csp}<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{t}</title><link rel=\"stylesheet\" href=\"{style}\">\
<link rel=\"alternate\" type=\"application/atom+xml\" href=\"{feed}\" title=\"Releases\"></head>\
<body><header><nav aria-label=\"Site\"><ul><li><a href=\"{home}\">{n}</a></li><li><a href=\"{search}\">Search</a></li>\
<li><a href=\"{feed}\">Atom feed</a></li>{api}</ul></nav>\
<form role=\"search\" action=\"{search}\" method=\"get\"><label for=\"q\">Search</label> <input id=\"q\" name=\"q\" type=\"search\"> <button>Go</button></form></header>\
<main>{body}</main><footer>Every message is published with its raw source; verify it with the publisher's key from <a href=\"{desc}\">descriptor.json</a>.</footer></body></html>",
        t = esc(title),
        n = esc(name),
        style = l.file("style.css"),
        feed = l.file("feed.atom"),
        home = l.home(),
        search = l.search(),
        desc = l.pub_file("descriptor.json"),
    )
}

/// A table of messages, with links from `l`.
pub fn list_with(l: &Links, items: &[&Item]) -> String {
    let mut o = String::from("<table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Date</th><th scope=\"col\">From</th><th scope=\"col\">Subject</th></tr></thead><tbody>");
    for it in items {
        let subject = if it.subject.is_empty() {
            "(no subject)"
        } else {
            &it.subject
        };
        let _ = write!(
            o,
            "<tr><td><a href=\"{u}\">{id}</a></td><td>{d}</td><td><a href=\"{fa}\">{f}</a></td><td><a href=\"{u}\">{s}</a></td></tr>",
            id = it.id,
            u = l.message(it.id),
            d = esc(it.date.get(..10).unwrap_or(&it.date)),
            fa = esc(&l.correspondent(&address(&it.from))),
            f = esc(&it.from),
            s = esc(subject),
        );
    }
    o.push_str("</tbody></table>");
    o
}

/// Bars of messages per month, as inline SVG with a text alternative.
pub fn timeline(months: &[(&String, &u64)]) -> String {
    if months.is_empty() {
        return String::new();
    }
    let max = months.iter().map(|(_, c)| **c).max().unwrap_or(1).max(1);
    let w = 8;
    let h = 80;
    let mut o = format!(
        "<figure><svg role=\"img\" aria-labelledby=\"tl\" viewBox=\"0 0 {} {}\" width=\"100%\" height=\"100\" preserveAspectRatio=\"none\"><title id=\"tl\">Messages per month, {} to {}</title>",
        months.len() * w,
        h,
        esc(months[0].0),
        esc(months[months.len() - 1].0)
    );
    for (i, (m, c)) in months.iter().enumerate() {
        let bh = (**c * h as u64 / max).max(1);
        let _ = write!(
            o,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#36c\"><title>{}: {}</title></rect>",
            i * w,
            h as u64 - bh,
            w - 1,
            bh,
            esc(m),
            c
        );
    }
    let _ = write!(
        o,
        "</svg><figcaption>Messages per month ({} months)</figcaption></figure>",
        months.len()
    );
    o
}

/// The home page.
pub fn home(m: &ReadModel) -> String {
    home_with(&Links::server(), m)
}

/// The home page, with links from `l`.
pub fn home_with(l: &Links, m: &ReadModel) -> String {
    let d = m.publication.descriptor();
    let mut b = format!(
        "<h1>{}</h1><p>{}</p><p>{} messages in {} releases, {} threads, {} senders. <a href=\"{}\">Atom feed of releases</a>.</p>",
        esc(&d.name),
        esc(&d.description),
        m.items.len(),
        m.publication.latest_release(),
        m.threads.len(),
        m.sent.len(),
        l.file("feed.atom")
    );
    let months: Vec<_> = m.months.iter().collect();
    b.push_str(&timeline(&months));
    b.push_str("<h2>Releases</h2><ul>");
    for r in m.publication.manifests().iter().rev() {
        let _ = write!(
            b,
            "<li><a href=\"{}\">{}</a>: {} messages (emailid {} to {})</li>",
            l.release(r.release),
            esc(&r.title),
            r.messages.len(),
            r.first_id,
            r.next_id().saturating_sub(1)
        );
    }
    b.push_str("</ul><h2>Latest messages</h2>");
    let latest: Vec<&Item> = m.items.iter().rev().take(20).collect();
    b.push_str(&list_with(l, &latest));
    page_with(l, &d.name, &d.name, &b)
}

/// The page of one message.
pub fn message(m: &ReadModel, id: u64, r: &Rendered) -> Option<String> {
    message_with(&Links::server(), m, id, r)
}

/// The page of one message, with links from `l`.
pub fn message_with(l: &Links, m: &ReadModel, id: u64, r: &Rendered) -> Option<String> {
    let (man, e) = m.publication.message(id)?;
    let it = m.item(id)?;
    let name = &m.publication.descriptor().name;
    let title = if it.subject.is_empty() {
        "(no subject)"
    } else {
        &it.subject
    };
    let mut b = format!(
        "<article><h1>{}</h1><p>emailid {id}, published in <a href=\"{}\">{}</a>.</p>",
        esc(title),
        l.release(man.release),
        esc(&man.title)
    );
    // DKIM badge.
    b.push_str("<section aria-labelledby=\"dkim\"><h2 id=\"dkim\">DKIM</h2>");
    if e.dkim.is_empty() {
        b.push_str("<p><span class=\"badge\">no DKIM signature attested</span></p>");
    } else {
        b.push_str("<ul>");
        for a in &e.dkim {
            let cls = match a.result.as_str() {
                "pass" => "pass",
                "fail" => "fail",
                "permerror" => "permerror",
                _ => "other",
            };
            let _ = write!(
                b,
                "<li><span class=\"badge {cls}\">{}</span> d={} s={} a={}{}</li>",
                esc(&a.result),
                esc(&a.domain),
                esc(&a.selector),
                esc(&a.algorithm),
                a.reason
                    .as_deref()
                    .map(|x| format!(": {}", esc(x)))
                    .unwrap_or_default()
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("</section><h2>Headers</h2><table>");
    for (k, v) in &r.headers {
        let _ = write!(
            b,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            esc(k),
            esc(v)
        );
    }
    b.push_str("</table>");
    for f in &e.summary.from {
        let _ = write!(
            b,
            "<p>Sender: <a href=\"{}\">{}</a></p>",
            esc(&l.correspondent(&address(f))),
            esc(f)
        );
    }
    if let Some(t) = &r.text {
        let _ = write!(b, "<h2>Text</h2><pre>{}</pre>", esc(t));
    }
    if r.html.is_some() {
        let _ = write!(b, "<h2>HTML (sanitised, scripts and remote images blocked)</h2><iframe sandbox=\"\" title=\"HTML body of message {id}\" src=\"{}\"></iframe>", l.body(id));
    }
    if !e.attachments.is_empty() {
        b.push_str("<h2>Attachments</h2><ul>");
        for (k, a) in e.attachments.iter().enumerate() {
            let name = crate::server::safe_name(a.file_name.as_deref(), k + 1);
            let _ = write!(
                b,
                "<li><a href=\"{}\" download>{}</a> ({}, {} bytes)</li>",
                esc(&l.attachment(id, k + 1, &static_attachment_name(&name))),
                esc(&name),
                esc(&a.content_type),
                a.size
            );
        }
        b.push_str("</ul>");
    }
    let thread = m.thread_of(id);
    b.push_str("<nav aria-label=\"Message\"><ul>");
    if id > 1 {
        let _ = write!(
            b,
            "<li><a rel=\"prev\" href=\"{}\">Previous</a></li>",
            l.message(id - 1)
        );
    }
    if id < m.items.len() as u64 {
        let _ = write!(
            b,
            "<li><a rel=\"next\" href=\"{}\">Next</a></li>",
            l.message(id + 1)
        );
    }
    let _ = write!(
        b,
        "<li><a href=\"{}\">Thread ({} messages)</a></li><li><a href=\"{}\">Raw source (.eml)</a></li>{}</ul></nav>",
        l.thread(thread.first().copied().unwrap_or(id)),
        thread.len(),
        l.raw(id),
        l.api(&format!("messages/{id}"))
            .map(|u| format!("<li><a href=\"{u}\">JSON</a></li>"))
            .unwrap_or_default()
    );
    if thread.len() > 1 {
        b.push_str("<h2>In this thread</h2>");
        let items: Vec<&Item> = thread.iter().filter_map(|t| m.item(*t)).collect();
        b.push_str(&list_with(l, &items));
    }
    b.push_str("</article>");
    Some(page_with(l, title, name, &b))
}

/// A release page: its messages and bulk files; `None` when there is no such release.
pub fn release_with(l: &Links, m: &ReadModel, r: u64) -> Option<String> {
    let man = m.publication.manifest(r)?;
    let items: Vec<&Item> = man.messages.iter().filter_map(|e| m.item(e.id)).collect();
    let name = &m.publication.descriptor().name;
    let mut files = String::new();
    for f in &man.files {
        let _ = write!(
            files,
            "<li><a href=\"{}\">{}</a> ({} bytes)</li>",
            esc(&l.pub_file(&f.path)),
            esc(&f.path),
            f.size
        );
    }
    let mp = trove_publication::layout::manifest_path(man.release);
    let body = format!(
        "<h1>{}</h1><p>Release {}, {} messages, manifest <a href=\"{}\">{}</a>.</p><ul>{files}</ul>{}",
        esc(&man.title), man.release, man.messages.len(), esc(&l.pub_file(&mp)), mp, list_with(l, &items)
    );
    Some(page_with(l, &man.title, name, &body))
}

/// The page of the thread holding message `id`; `None` when there is no such message.
pub fn thread_with(l: &Links, m: &ReadModel, id: u64) -> Option<String> {
    m.item(id)?;
    let items: Vec<&Item> = m.thread_of(id).iter().filter_map(|t| m.item(*t)).collect();
    let title = items.first().map(|i| i.subject.clone()).unwrap_or_default();
    let body = format!(
        "<h1>Thread: {}</h1><p>{} messages.</p>{}",
        esc(&title),
        items.len(),
        list_with(l, &items)
    );
    Some(page_with(
        l,
        &title,
        &m.publication.descriptor().name,
        &body,
    ))
}

/// The page of a lower-cased address: who it wrote to and heard from, a
/// timeline and its messages; `None` when it never appears.
pub fn correspondent_with(l: &Links, m: &ReadModel, addr: &str) -> Option<String> {
    if !m.sent.contains_key(addr) && !m.received.contains_key(addr) {
        return None;
    }
    let (to, from) = crate::server::counterparts(m, addr);
    let sent = m.sent.get(addr).map_or(0, Vec::len);
    let recv = m.received.get(addr).map_or(0, Vec::len);
    let mut months: std::collections::BTreeMap<String, u64> = Default::default();
    let ids: Vec<u64> = m
        .sent
        .get(addr)
        .into_iter()
        .flatten()
        .chain(m.received.get(addr).into_iter().flatten())
        .copied()
        .collect();
    for id in &ids {
        if let Some(mo) = m.item(*id).and_then(|i| i.date.get(..7)) {
            *months.entry(mo.to_string()).or_default() += 1;
        }
    }
    let lst = |v: &[(String, usize)]| {
        v.iter()
            .map(|(a, c)| {
                format!(
                    "<li><a href=\"{}\">{}</a> ({c})</li>",
                    esc(&l.correspondent(a)),
                    esc(a)
                )
            })
            .collect::<String>()
    };
    let mut items: Vec<&Item> = ids.iter().filter_map(|i| m.item(*i)).collect();
    items.sort_by_key(|i| i.id);
    items.dedup_by_key(|i| i.id);
    let body = format!(
        "<h1>{a}</h1><p>Sent {sent} messages, received {recv}.</p>{tl}<h2>Wrote to</h2><ul>{}</ul><h2>Heard from</h2><ul>{}</ul><h2>Messages</h2>{}",
        lst(&to), lst(&from), list_with(l, &items),
        a = esc(addr),
        tl = timeline(&months.iter().collect::<Vec<_>>()),
    );
    Some(page_with(l, addr, &m.publication.descriptor().name, &body))
}

/// Styles of the search page (served after [`STYLE`]).
pub const SEARCH_STYLE: &str = "mark{background:#ffe066;color:inherit}.hits li{margin-bottom:.8rem}.meta{color:#555;font-size:.9rem}\
.snip{margin:.2rem 0}.facets{display:flex;flex-wrap:wrap;gap:0 2rem}.facets section{min-width:14rem}.error{background:#fbd3d3;padding:.5rem}\
.note{color:#555}";

/// What the search page shows.
pub struct SearchView<'a> {
    /// The query as typed.
    pub query: &'a str,
    /// `relevance` or `date`.
    pub sort: &'a str,
    /// 1-based page number.
    pub page: usize,
    /// Which engine answered (`fulltext` or `substring`).
    pub engine: &'a str,
    /// Messages indexed so far.
    pub indexed: u64,
    /// Messages in the publication.
    pub messages: u64,
    /// The results, when the search ran.
    pub results: Option<&'a trove_search::SearchResults>,
    /// The message of a query that could not run.
    pub error: Option<&'a str>,
    /// The read model (dates, senders and links of hits).
    pub model: &'a ReadModel,
}

/// `/search?q=…` with `q` (and the sort when not relevance) percent-encoded.
pub fn search_href(q: &str, sort: &str, page: usize) -> String {
    let mut h = format!("/search?q={}", url_seg(q));
    if sort == "date" {
        h.push_str("&sort=date");
    }
    if page > 1 {
        let _ = write!(h, "&page={page}");
    }
    h
}

/// A query refined by one more clause (`a` then `a from:"x@y"`).
fn refine(q: &str, clause: &str) -> String {
    let q = q.trim();
    if q.is_empty() {
        clause.to_string()
    } else {
        format!("{q} {clause}")
    }
}

fn facet_list(
    o: &mut String,
    title: &str,
    v: &[trove_search::FacetCount],
    q: &str,
    sort: &str,
    clause: impl Fn(&str) -> String,
) {
    if v.is_empty() {
        return;
    }
    let _ = write!(o, "<section><h3>{}</h3><ul>", esc(title));
    for f in v {
        // An address that cannot be quoted safely gets no refine link.
        if f.value.contains(['"', ' ', '\\']) {
            let _ = write!(o, "<li>{} ({})</li>", esc(&f.value), f.count);
        } else {
            let _ = write!(
                o,
                "<li><a href=\"{}\">{}</a> ({})</li>",
                esc(&search_href(&refine(q, &clause(&f.value)), sort, 1)),
                esc(&f.value),
                f.count
            );
        }
    }
    o.push_str("</ul></section>");
}

/// The search page: form, syntax help, hits with highlighted snippets,
/// facets (top senders, top recipients, messages per month) and paging.
pub fn search_page(v: &SearchView<'_>, name: &str) -> String {
    let mut b = String::from("<h1>Search</h1>");
    let _ = write!(
        b,
        "<form role=\"search\" action=\"/search\" method=\"get\"><label for=\"sq\">Query</label> \
<input id=\"sq\" name=\"q\" type=\"search\" size=\"50\" value=\"{}\"> \
<label for=\"sort\">Order</label> <select id=\"sort\" name=\"sort\"><option value=\"relevance\"{}>best match</option><option value=\"date\"{}>newest first</option></select> \
<button>Search</button></form>",
        esc(v.query),
        if v.sort == "date" { "" } else { " selected" },
        if v.sort == "date" { " selected" } else { "" },
    );
    if v.engine == "substring" {
        let _ = write!(
            b,
            "<p class=\"note\">The full-text index is being built ({} of {} messages): until it is ready, only subjects and senders are matched.</p>",
            v.indexed, v.messages
        );
    } else if v.indexed < v.messages && v.results.is_some() {
        let _ = write!(
            b,
            "<p class=\"note\">Indexing the latest release: {} of {} messages searchable.</p>",
            v.indexed, v.messages
        );
    }
    if let Some(e) = v.error {
        let _ = write!(
            b,
            "<p class=\"error\" role=\"alert\">Cannot search for <code>{}</code>: {}</p>",
            esc(v.query),
            esc(e)
        );
    }
    let Some(r) = v.results else {
        let _ = write!(
            b,
            "<details{}><summary>Query syntax</summary><pre>{}</pre></details>",
            if v.error.is_some() { " open" } else { "" },
            esc(trove_search::QUERY_SYNTAX)
        );
        return page("Search", name, &b);
    };
    let first = (v.page - 1) * crate::server::PER_PAGE;
    let _ = write!(
        b,
        "<p>{} result{} for <code>{}</code>{}.</p>",
        r.total,
        if r.total == 1 { "" } else { "s" },
        esc(v.query),
        if r.timed_out {
            " (the search ran out of time: there may be more)"
        } else {
            ""
        }
    );
    if let Some(f) = &r.facets {
        b.push_str("<div class=\"facets\" aria-label=\"Refine\">");
        facet_list(&mut b, "Top senders", &f.senders, v.query, v.sort, |a| {
            format!("from:\"{a}\"")
        });
        facet_list(
            &mut b,
            "Top recipients",
            &f.recipients,
            v.query,
            v.sort,
            |a| format!("(to:\"{a}\" OR cc:\"{a}\")"),
        );
        if !f.months.is_empty() {
            b.push_str("<section><h3>By month</h3>");
            let months: Vec<(String, u64)> = f
                .months
                .iter()
                .map(|m| (m.month.clone(), m.count))
                .collect();
            let refs: Vec<(&String, &u64)> = months.iter().map(|(m, c)| (m, c)).collect();
            b.push_str(&timeline(&refs));
            b.push_str("<ul>");
            for m in f.months.iter().rev().take(24) {
                let _ = write!(
                    b,
                    "<li><a href=\"{}\">{}</a> ({})</li>",
                    esc(&search_href(
                        &refine(v.query, &format!("date:{}", m.month)),
                        v.sort,
                        1
                    )),
                    esc(&m.month),
                    m.count
                );
            }
            b.push_str("</ul></section>");
        }
        b.push_str("</div>");
    }
    let _ = write!(b, "<ol class=\"hits\" start=\"{}\">", first + 1);
    for h in &r.hits {
        let it = v.model.item(h.id);
        let subject = it.map_or(h.subject.as_str(), |i| i.subject.as_str());
        let subject = if subject.is_empty() {
            "(no subject)"
        } else {
            subject
        };
        let from = it.map_or(h.from.as_str(), |i| i.from.as_str());
        let date = it.map_or("", |i| i.date.get(..10).unwrap_or(&i.date));
        let _ = write!(
            b,
            "<li><a href=\"/emailid/{id}\">{s}</a><br><span class=\"meta\">{d} · <a href=\"/correspondent/{fa}\">{f}</a> · emailid {id}</span>",
            id = h.id,
            s = esc(subject),
            d = esc(date),
            fa = esc(&url_seg(&address(from))),
            f = esc(from),
        );
        if !h.snippet.is_empty() {
            let _ = write!(
                b,
                "<p class=\"snip\">{}</p>",
                crate::search::safe_snippet(&h.snippet)
            );
        }
        b.push_str("</li>");
    }
    b.push_str("</ol>");
    let shown = (r.total as usize).min(trove_search::MAX_WINDOW);
    let pages = shown.div_ceil(crate::server::PER_PAGE).max(1);
    if pages > 1 {
        b.push_str("<nav aria-label=\"Pages\"><ul>");
        if v.page > 1 {
            let _ = write!(
                b,
                "<li><a rel=\"prev\" href=\"{}\">Previous</a></li>",
                esc(&search_href(v.query, v.sort, v.page - 1))
            );
        }
        let _ = write!(b, "<li>Page {} of {pages}</li>", v.page);
        if v.page < pages {
            let _ = write!(
                b,
                "<li><a rel=\"next\" href=\"{}\">Next</a></li>",
                esc(&search_href(v.query, v.sort, v.page + 1))
            );
        }
        b.push_str("</ul></nav>");
    }
    page(&format!("Search: {}", v.query), name, &b)
}
