//! Selecting messages for a part: the [`Selector`] seam.
//!
//! Parts are defined with a query in `trove-search`'s language ([`Query`], run against the
//! vault's search index) or an explicit id list ([`IdList`]). Both implement [`Selector`]; the
//! release code only ever sees the resulting vault ids.

use crate::release::error::{ReleaseError, Result};
use crate::Vault;

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

    #[cfg(test)]
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

/// A query in the search language of `trove-search` (`date:2016-10-07..2016-10-09 from:x`,
/// words, phrases, boolean operators…), run against the vault's search index, which is
/// brought up to date first. Id lists go through [`IdList`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    text: String,
}

impl Query {
    /// Checks the query's syntax (against an empty in-memory index) and keeps it.
    pub fn parse(text: &str) -> Result<Query> {
        let bad = |reason: String| ReleaseError::BadSelection {
            input: text.into(),
            reason,
        };
        let probe = trove_search::Index::create_in_ram().map_err(|e| bad(e.to_string()))?;
        probe.search_ids(text).map_err(|e| bad(e.to_string()))?;
        Ok(Query { text: text.into() })
    }
}

impl Selector for Query {
    fn select(&self, vault: &Vault) -> Result<Vec<i64>> {
        vault.update_index(&crate::NoProgress)?;
        let index = vault.open_index()?;
        let ids = index
            .search_ids(&self.text)
            .map_err(|e| ReleaseError::BadSelection {
                input: self.text.clone(),
                reason: e.to_string(),
            })?;
        Ok(ids.into_iter().map(|id| id as i64).collect())
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
        assert!(Query::parse("date:2016-10-07..2016-10-09 from:A@B.org").is_ok());
        assert!(Query::parse("podesta OR \"usual place\"").is_ok());
        let err = Query::parse("subject:(x").unwrap_err().to_string();
        assert!(err.contains("unbalanced parenthesis"), "{err}");
        assert!(Query::parse("nosuchfield:x").is_err());
        assert!(Query::parse("date:2016-13-45").is_err());
    }
}
