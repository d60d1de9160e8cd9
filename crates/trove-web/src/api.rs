//! The JSON API (every page's data) with its OpenAPI document, and the Atom feed.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};

use crate::html::esc;
use crate::model::ReadModel;
use crate::search::{safe_snippet, Engine, SearchError};
use crate::server::{
    answer_search, counterparts, parse_id, SearchBody, SearchOutcome, SearchQuery, Site,
};

fn nf() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response()
}

fn item_json(m: &ReadModel, id: u64) -> Value {
    match m.item(id) {
        Some(i) => {
            json!({"id": i.id, "release": i.release, "subject": i.subject, "from": i.from, "date": i.date, "url": format!("/emailid/{}", i.id)})
        }
        None => Value::Null,
    }
}

async fn publication(State(s): State<Site>) -> Response {
    let m = s.model();
    let d = m.publication.descriptor();
    let releases: Vec<Value> = m
        .publication
        .manifests()
        .iter()
        .map(|r| json!({"release": r.release, "title": r.title, "published_at": r.published_at, "first_id": r.first_id, "messages": r.messages.len()}))
        .collect();
    Json(json!({
        "name": d.name, "description": d.description, "public_key": d.public_key.to_string(),
        "id": m.publication.id().to_hex(), "messages": m.items.len(), "threads": m.threads.len(),
        "releases": releases, "months": m.months,
    }))
    .into_response()
}

async fn release(State(s): State<Site>, Path(r): Path<String>) -> Response {
    let m = s.model();
    let Some(man) = parse_id(&r).and_then(|r| m.publication.manifest(r)) else {
        return nf();
    };
    let msgs: Vec<Value> = man.messages.iter().map(|e| item_json(&m, e.id)).collect();
    Json(json!({"release": man.release, "title": man.title, "published_at": man.published_at, "files": man.files, "messages": msgs})).into_response()
}

async fn message(State(s): State<Site>, Path(id): Path<String>) -> Response {
    let m = s.model();
    let Some(id) = parse_id(&id) else { return nf() };
    let Some((man, e)) = m.publication.message(id) else {
        return nf();
    };
    let thread = m.thread_of(id);
    Json(json!({
        "id": id, "release": man.release, "blob": e.blob.to_hex(), "size": e.size,
        "summary": e.summary, "dkim": e.dkim,
        "attachments": e.attachments.iter().enumerate().map(|(k, a)| json!({
            "url": format!("/emailid/{id}/attachment/{}", k + 1), "size": a.size,
            "file_name": a.file_name, "content_type": a.content_type})).collect::<Vec<_>>(),
        "thread": thread, "raw": format!("/emailid/{id}/raw"),
    }))
    .into_response()
}

async fn thread(State(s): State<Site>, Path(id): Path<String>) -> Response {
    let m = s.model();
    let Some(id) = parse_id(&id).filter(|i| m.item(*i).is_some()) else {
        return nf();
    };
    Json(json!({"messages": m.thread_of(id).iter().map(|i| item_json(&m, *i)).collect::<Vec<_>>()}))
        .into_response()
}

async fn correspondent(State(s): State<Site>, Path(a): Path<String>) -> Response {
    let m = s.model();
    let a = a.to_ascii_lowercase();
    if a.len() > 320 || (!m.sent.contains_key(&a) && !m.received.contains_key(&a)) {
        return nf();
    }
    let (to, from) = counterparts(&m, &a);
    Json(json!({"address": a, "sent": m.sent.get(&a), "received": m.received.get(&a), "wrote_to": to, "heard_from": from})).into_response()
}

/// One hit of `/api/search`.
#[derive(Serialize)]
struct HitJson<'a> {
    date: Option<&'a str>,
    from: &'a str,
    id: u64,
    release: Option<u64>,
    score: f32,
    snippet: &'a str,
    snippet_html: String,
    subject: &'a str,
    url: String,
}

/// The answer of `/api/search`, serialised straight from the results (no
/// intermediate `Value` tree: this is built for every search that runs).
#[derive(Serialize)]
struct SearchJson<'a> {
    engine: &'a str,
    facets: &'a Option<trove_search::Facets>,
    hits: Vec<HitJson<'a>>,
    indexed: u64,
    limit: usize,
    messages: usize,
    offset: usize,
    query: &'a str,
    sort: trove_search::Sort,
    timed_out: bool,
    total: u64,
}

/// The JSON of a search that ran (or could not).
fn search_json(
    s: &Site,
    m: &ReadModel,
    query: &str,
    (offset, limit, sort): (usize, usize, trove_search::Sort),
    outcome: SearchOutcome,
) -> SearchBody {
    let (status, body, complete) = match outcome {
        Ok((r, engine)) => {
            let hits = r
                .hits
                .iter()
                .map(|h| {
                    let it = m.item(h.id);
                    HitJson {
                        date: it.map(|i| i.date.as_str()),
                        from: it.map_or(h.from.as_str(), |i| i.from.as_str()),
                        id: h.id,
                        release: it.map(|i| i.release),
                        score: h.score,
                        snippet: &h.snippet_text,
                        snippet_html: safe_snippet(&h.snippet),
                        subject: it.map_or(h.subject.as_str(), |i| i.subject.as_str()),
                        url: format!("/emailid/{}", h.id),
                    }
                })
                .collect();
            let v = SearchJson {
                engine: engine.as_str(),
                facets: &r.facets,
                hits,
                indexed: s.index().indexed(),
                limit,
                messages: m.items.len(),
                offset,
                query,
                sort,
                timed_out: r.timed_out,
                total: r.total,
            };
            match serde_json::to_string(&v) {
                Ok(body) => (
                    StatusCode::OK,
                    body,
                    engine == Engine::FullText && !r.timed_out,
                ),
                Err(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": format!("cannot encode the answer: {e}")}).to_string(),
                    false,
                ),
            }
        }
        Err(SearchError::BadQuery(e)) => (
            StatusCode::BAD_REQUEST,
            json!({"error": e, "query": query}).to_string(),
            true,
        ),
        Err(SearchError::Internal(e)) => {
            tracing::error!("search {query:?}: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "the search index failed; try again later"}).to_string(),
                false,
            )
        }
    };
    SearchBody {
        status,
        body,
        complete,
    }
}

async fn search(
    State(s): State<Site>,
    Query(q): Query<SearchQuery>,
    headers: HeaderMap,
) -> Response {
    let bad = |e: String| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e, "query": q.q})),
        )
            .into_response()
    };
    if q.q.is_empty() {
        return bad("empty query: give q=…".into());
    }
    let req = match q.request(true) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let window = (req.opts.offset, req.opts.limit, req.opts.sort);
    answer_search(&s, true, req, &headers, |s, m, query, outcome| {
        search_json(s, m, query, window, outcome)
    })
    .await
}

fn op(summary: &str, params: &[&str]) -> Value {
    let ps: Vec<Value> = params
        .iter()
        .map(|p| json!({"name": p, "in": if *p == "q" {"query"} else {"path"}, "required": *p != "q", "schema": {"type": "string"}}))
        .collect();
    json!({"get": {"summary": summary, "parameters": ps, "responses": {"200": {"description": "OK", "content": {"application/json": {}}}, "404": {"description": "Not found"}}}})
}

/// The OpenAPI 3.1 document of the JSON API.
pub fn openapi() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "trove publication API", "version": "1"},
        "paths": {
            "/api/publication": op("The publication: name, key, releases, counts, messages per month", &[]),
            "/api/releases/{release}": op("One release and its messages", &["release"]),
            "/api/messages/{id}": op("One message: summary, DKIM attestations, attachments, thread", &["id"]),
            "/api/threads/{id}": op("The thread of message id", &["id"]),
            "/api/correspondents/{address}": op("Who an address wrote to and heard from", &["address"]),
            "/api/search": {"get": {
                "summary": "Full-text search in trove's query language (see /search), with highlighted snippets and facets (top senders, top recipients, messages per month)",
                "parameters": [
                    {"name": "q", "in": "query", "required": true, "schema": {"type": "string", "maxLength": trove_search::MAX_QUERY_LEN}},
                    {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": crate::server::API_MAX_LIMIT, "default": crate::server::PER_PAGE}},
                    {"name": "sort", "in": "query", "required": false, "schema": {"type": "string", "enum": ["relevance", "date"]}},
                    {"name": "facets", "in": "query", "required": false, "schema": {"type": "boolean", "default": true}},
                ],
                "responses": {
                    "200": {"description": "total, hits (id, url, subject, from, date, release, score, snippet, snippet_html with <mark>), facets, engine (fulltext, or substring while the index builds), indexed", "content": {"application/json": {}}},
                    "400": {"description": "The query could not be understood: {\"error\": message with the byte position}"},
                }
            }},
            "/emailid/{id}/raw": {"get": {"summary": "Raw RFC 5322 source", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "message/rfc822"}}}},
        }
    })
}

pub(crate) fn routes() -> Router<Site> {
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(openapi()) }))
        .route("/api/publication", get(publication))
        .route("/api/releases/{r}", get(release))
        .route("/api/messages/{id}", get(message))
        .route("/api/threads/{id}", get(thread))
        .route("/api/correspondents/{a}", get(correspondent))
        .route("/api/search", get(search))
}

fn rfc3339(t: u64) -> String {
    // Civil-from-days (Howard Hinnant), UTC.
    let days = (t / 86_400) as i64;
    let s = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The Atom feed: one entry per release, newest first.
pub fn atom(m: &ReadModel) -> String {
    atom_with(&crate::html::Links::server(), m)
}

/// The Atom feed with links from `l` (relative ones resolve against the feed's own URL).
pub fn atom_with(l: &crate::html::Links, m: &ReadModel) -> String {
    let d = m.publication.descriptor();
    let id = m.publication.id().to_hex();
    let updated = m
        .publication
        .manifests()
        .last()
        .map_or(d.created_at, |r| r.published_at);
    let mut o = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title><id>urn:trove:{id}</id><updated>{}</updated><link href=\"{}\"/>",
        esc(&d.name),
        rfc3339(updated),
        esc(&l.home())
    );
    for r in m.publication.manifests().iter().rev() {
        o.push_str(&format!(
            "<entry><title>{}</title><id>urn:trove:{id}:release:{}</id><updated>{}</updated><link href=\"{}\"/><summary>{} messages</summary></entry>",
            esc(&r.title), r.release, rfc3339(r.published_at), esc(&l.release(r.release)), r.messages.len()
        ));
    }
    o.push_str("</feed>\n");
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::rfc3339(1_475_848_800), "2016-10-07T14:00:00Z");
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
