//! Selecting messages for a part: the [`Selector`] seam.
//!
//! Parts are defined with a query. The full query language belongs to `trove-search` (built
//! separately); until it is wired in, [`Query`] understands a small subset:
//! `date:YYYY-MM-DD..YYYY-MM-DD` (inclusive days, UTC; either side may be empty),
//! `from:ADDR`, `id:1,2,5-9`, combined with spaces (AND). To plug the search crate in,
//! implement [`Selector`] for its query type and pass it to [`Vault::add_part`](crate::Vault::add_part):
//! the release code only ever sees the resulting vault ids.

use crate::release::error::{ReleaseError, Result};
use crate::{parse_date, Vault};

/// Something that picks vault messages. Returns vault ids; order does not matter (parts are
/// ordered by date, then id).
pub trait Selector {
    /// The matching vault ids.
    fn select(&self, vault: &Vault) -> Result<Vec<i64>>;
    /// How the selection is recorded in the plan (shown by `trove release list`).
    fn describe(&self) -> String;
}

/// An explicit id list such as `1,2,5-9`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdList {
    ranges: Vec<(i64, i64)>,
    text: String,
}

impl IdList {
    /// Parses `1,2,5-9` (inclusive ranges).
    pub fn parse(text: &str) -> Result<IdList> {
        let bad = |reason: &str| ReleaseError::BadSelection {
            input: text.into(),
            reason: reason.into(),
        };
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (a, b) = match item.split_once(['-', '.']) {
                Some((a, b)) => (a, b.trim_start_matches('.')),
                None => (item, item),
            };
            let a: i64 = a.trim().parse().map_err(|_| bad("ids are numbers"))?;
            let b: i64 = b.trim().parse().map_err(|_| bad("ids are numbers"))?;
            if a < 1 || b < a {
                return Err(bad("a range is LOW-HIGH with 1 <= LOW <= HIGH"));
            }
            ranges.push((a, b));
        }
        if ranges.is_empty() {
            return Err(bad("no ids given"));
        }
        Ok(IdList {
            ranges,
            text: text.into(),
        })
    }

    fn contains(&self, id: i64) -> bool {
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&id))
    }
}

impl Selector for IdList {
    fn select(&self, vault: &Vault) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        let mut st = vault
            .conn
            .prepare("SELECT id FROM messages WHERE id BETWEEN ?1 AND ?2")?;
        for &(a, b) in &self.ranges {
            let ids = st.query_map([a, b], |r| r.get::<_, i64>(0))?;
            for id in ids {
                out.push(id?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
    fn describe(&self) -> String {
        format!("ids {}", self.text)
    }
}

/// The interim query subset (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    since: Option<i64>,
    until: Option<i64>,
    from: Vec<String>,
    ids: Option<IdList>,
    text: String,
}

impl Query {
    /// Parses `date:A..B from:ADDR id:1-9` (terms ANDed).
    pub fn parse(text: &str) -> Result<Query> {
        let bad = |reason: String| ReleaseError::BadSelection {
            input: text.into(),
            reason,
        };
        let mut q = Query {
            since: None,
            until: None,
            from: Vec::new(),
            ids: None,
            text: text.into(),
        };
        for term in text.split_whitespace() {
            let (field, value) = term.split_once(':').ok_or_else(|| {
                bad(format!(
                    "{term:?}: this build understands date:, from: and id: terms only \
                     (full-text search comes with trove-search)"
                ))
            })?;
            match field {
                "date" => {
                    let (a, b) = value.split_once("..").unwrap_or((value, value));
                    if !a.is_empty() {
                        q.since = Some(
                            parse_date(a).ok_or_else(|| bad(format!("{a:?} is not YYYY-MM-DD")))?,
                        );
                    }
                    if !b.is_empty() {
                        let day =
                            parse_date(b).ok_or_else(|| bad(format!("{b:?} is not YYYY-MM-DD")))?;
                        // Inclusive: up to the end of that day unless a time was given.
                        q.until = Some(if b.len() <= 10 { day + 86_400 } else { day + 1 });
                    }
                }
                "from" => q.from.push(value.to_lowercase()),
                "id" => q.ids = Some(IdList::parse(value)?),
                other => {
                    return Err(bad(format!(
                        "unknown field {other:?} (known: date, from, id)"
                    )))
                }
            }
        }
        if q.since.is_none() && q.until.is_none() && q.from.is_empty() && q.ids.is_none() {
            return Err(bad("empty query".into()));
        }
        Ok(q)
    }
}

impl Selector for Query {
    fn select(&self, vault: &Vault) -> Result<Vec<i64>> {
        let mut sql = String::from("SELECT id FROM messages m WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(s) = self.since {
            sql.push_str(" AND date >= ?");
            args.push(s.into());
        }
        if let Some(u) = self.until {
            sql.push_str(" AND date < ?");
            args.push(u.into());
        }
        for f in &self.from {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM addresses a WHERE a.message = m.id AND a.role = 'from' AND a.addr = ?)",
            );
            args.push(f.clone().into());
        }
        let mut st = vault.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))?;
        let mut out = Vec::new();
        for id in rows {
            let id = id?;
            if self.ids.as_ref().is_none_or(|l| l.contains(id)) {
                out.push(id);
            }
        }
        Ok(out)
    }
    fn describe(&self) -> String {
        format!("query {}", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_queries() {
        let l = IdList::parse("1,2,5-9").unwrap();
        assert!(l.contains(7) && !l.contains(3));
        assert!(IdList::parse("9-5").is_err());
        assert!(IdList::parse("x").is_err());
        let q = Query::parse("date:2016-10-07..2016-10-09 from:A@B.org").unwrap();
        assert_eq!(q.since, parse_date("2016-10-07"));
        assert_eq!(q.until, parse_date("2016-10-10"));
        assert_eq!(q.from, vec!["a@b.org"]);
        assert!(Query::parse("podesta").is_err());
        assert!(Query::parse("subject:x").is_err());
    }
}
