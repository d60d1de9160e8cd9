//! The static site's search index: terms of every message (subject, sender,
//! recipients, body) → publication ids, written as small JSON shards keyed
//! by term prefix so the browser loads only the shards a query needs, plus
//! chunks of listing rows to show the hits. `search.js` reads it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::model::Item;

/// Terms shorter than this are not indexed (and ignored in queries).
pub const MIN_TERM: usize = 2;
/// Terms longer than this (hashes, base64) are not indexed.
pub const MAX_TERM: usize = 32;
/// Body text indexed per message, in bytes.
pub const MAX_BODY: usize = 64 * 1024;
/// A shard larger than this (in bytes of JSON) is split by one more character.
pub const MAX_SHARD: usize = 96 * 1024;
/// Longest shard key, in characters.
pub const MAX_KEY: usize = 4;
/// Listing rows per chunk file (`d/K.json` holds ids `K*CHUNK+1 ..`).
pub const CHUNK: u64 = 500;

/// Splits text into index terms: maximal runs of alphabetic or numeric
/// characters, lower-cased, [`MIN_TERM`] to [`MAX_TERM`] characters long.
/// `search.js` splits queries the same way (`[\p{Alphabetic}\p{N}]+`).
pub fn terms(text: &str, mut f: impl FnMut(String)) {
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        let n = w.chars().count();
        if (MIN_TERM..=MAX_TERM).contains(&n) {
            f(w.to_lowercase());
        }
    }
}

/// The postings being built: term → ascending ids.
#[derive(Debug, Default)]
pub struct Postings {
    map: BTreeMap<String, Vec<u64>>,
}

/// What the written index amounts to.
#[derive(Debug, Default, Clone, Copy)]
pub struct IndexStats {
    /// Distinct terms.
    pub terms: u64,
    /// Term shard files.
    pub shards: u64,
    /// Bytes of all index files.
    pub bytes: u64,
}

impl Postings {
    /// Adds every term of `text` for message `id` (ids must arrive in ascending order).
    pub fn add(&mut self, id: u64, text: &str) {
        let mut seen = std::collections::HashSet::new();
        terms(text, |t| {
            seen.insert(t);
        });
        for t in seen {
            self.add_term(t, id);
        }
    }

    /// Adds an already tokenised term (from a previous export's index).
    pub fn add_term(&mut self, term: String, id: u64) {
        let v = self.map.entry(term).or_default();
        if v.last() != Some(&id) {
            v.push(id);
        }
    }

    /// Sorts postings (needed after [`Postings::add_term`] merged older ids).
    pub fn finish(&mut self) {
        for v in self.map.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
    }

    /// Reads a previous export's shards back (term → ids up to `max_id`).
    pub fn load_shard(&mut self, json: &[u8], max_id: u64) -> bool {
        let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(json) else {
            return false;
        };
        for (term, deltas) in o {
            let Some(a) = deltas.as_array() else {
                return false;
            };
            let mut id = 0u64;
            let mut ids = Vec::with_capacity(a.len());
            for d in a {
                let Some(d) = d.as_u64() else { return false };
                id += d;
                if id <= max_id {
                    ids.push(id);
                }
            }
            self.map.entry(term).or_default().extend(ids);
        }
        true
    }

    /// The files of the index: `(path under search/, bytes)`, and counts.
    /// Shard keys are the term's first characters; a shard over
    /// [`MAX_SHARD`] is split by one more character, terms no longer than
    /// its key staying in it. Ids are delta-encoded.
    pub fn files(&self, items: &[Item]) -> (Vec<(String, Vec<u8>)>, IndexStats) {
        let mut out = Vec::new();
        let mut keys = Vec::new();
        let all: Vec<(&String, &Vec<u64>)> = self.map.iter().collect();
        split(&all, 1, &mut |key, group| {
            let body = shard_json(group);
            keys.push(key.to_string());
            out.push((format!("t/{}.json", hex(key)), body));
        });
        let stats = IndexStats {
            terms: self.map.len() as u64,
            shards: out.len() as u64,
            bytes: 0,
        };
        // Listing rows.
        for (k, chunk) in items.chunks(CHUNK as usize).enumerate() {
            let rows: Vec<Value> = chunk
                .iter()
                .map(|i| json!([i.id, i.date.get(..10).unwrap_or(&i.date), i.from, i.subject]))
                .collect();
            out.push((
                format!("d/{k}.json"),
                serde_json::to_vec(&rows).unwrap_or_default(),
            ));
        }
        keys.sort();
        let meta = json!({
            "version": 1,
            "docs": items.len(),
            "chunk": CHUNK,
            "min_term": MIN_TERM,
            "max_term": MAX_TERM,
            "shards": keys,
        });
        out.push((
            "meta.json".into(),
            serde_json::to_vec(&meta).unwrap_or_default(),
        ));
        let bytes = out.iter().map(|(_, b)| b.len() as u64).sum();
        (out, IndexStats { bytes, ..stats })
    }
}

/// Terms with their ids, sorted by term.
type Group<'a> = [(&'a String, &'a Vec<u64>)];

fn shard_json(group: &Group<'_>) -> Vec<u8> {
    let mut o = serde_json::Map::new();
    for (t, ids) in group {
        let mut prev = 0;
        let d: Vec<Value> = ids
            .iter()
            .map(|i| {
                let v = i - prev;
                prev = *i;
                Value::from(v)
            })
            .collect();
        o.insert((*t).clone(), Value::Array(d));
    }
    serde_json::to_vec(&Value::Object(o)).unwrap_or_default()
}

fn prefix(t: &str, n: usize) -> &str {
    match t.char_indices().nth(n) {
        Some((i, _)) => &t[..i],
        None => t,
    }
}

/// Groups sorted `terms` by their first `n` characters; a group over
/// [`MAX_SHARD`] is split by `n + 1` (its terms of at most `n` characters
/// stay under the shorter key).
fn split(terms: &Group<'_>, n: usize, emit: &mut dyn FnMut(&str, &Group<'_>)) {
    let mut i = 0;
    while i < terms.len() {
        let key = prefix(terms[i].0, n);
        let mut j = i;
        while j < terms.len() && prefix(terms[j].0, n) == key {
            j += 1;
        }
        let group = &terms[i..j];
        let size: usize = group.iter().map(|(t, v)| t.len() + 4 + v.len() * 4).sum();
        if size > MAX_SHARD && n < MAX_KEY {
            let (short, long): (Vec<_>, Vec<_>) =
                group.iter().partition(|(t, _)| t.chars().count() <= n);
            if !short.is_empty() {
                emit(key, &short);
            }
            split(&long, n + 1, emit);
        } else {
            emit(key, group);
        }
        i = j;
    }
}

/// Lower-case hex of the UTF-8 bytes of `s` (shard file names).
pub fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Rough text of sanitised HTML, for indexing when a message has no text part.
pub fn html_text(html: &str) -> String {
    let mut o = String::with_capacity(html.len() / 2);
    let mut tag = false;
    for c in html.chars() {
        match c {
            '<' => tag = true,
            '>' => {
                tag = false;
                o.push(' ');
            }
            c if !tag => o.push(c),
            _ => {}
        }
    }
    o.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_and_shards() {
        let mut v = Vec::new();
        terms("Re: KASAN report — x86/mm café, a@b.org 2023", |t| {
            v.push(t)
        });
        assert_eq!(
            v,
            ["re", "kasan", "report", "x86", "mm", "café", "org", "2023"]
        );
        let mut p = Postings::default();
        p.add(1, "kasan report");
        p.add(2, "KASAN again");
        let (files, st) = p.files(&[]);
        assert_eq!(st.terms, 3);
        let ka = files
            .iter()
            .find(|(n, _)| n == "t/6b.json")
            .expect("k shard");
        assert_eq!(String::from_utf8_lossy(&ka.1), r#"{"kasan":[1,1]}"#);
        let mut back = Postings::default();
        assert!(back.load_shard(&ka.1, 1));
        assert_eq!(back.map["kasan"], [1]);
    }

    #[test]
    fn big_shards_split() {
        let mut p = Postings::default();
        for id in 1..=20_000u64 {
            p.add(id, &format!("ta{} tb{} tc{} t", id % 50, id % 70, id % 90));
        }
        let (files, _) = p.files(&[]);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.len() > 2, "{names:?}");
        assert!(files.iter().all(|(_, b)| b.len() < 4 * MAX_SHARD));
    }
}
