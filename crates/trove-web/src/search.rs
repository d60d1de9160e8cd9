//! The search seam: [`Search`] answers a query with ids. The built-in
//! [`SubstringSearch`] matches subject and sender over the read model; a
//! full-text engine (trove-search) plugs in behind the same trait.

use crate::model::ReadModel;

/// A search engine over one read model.
pub trait Search: Send + Sync {
    /// Up to `limit` matching ids, best first, and the total number of matches.
    fn search(&self, model: &ReadModel, query: &str, limit: usize) -> (Vec<u64>, usize);
}

/// Case-insensitive substring match of every query word against subject
/// and `From`, newest first. No index: linear in the number of messages.
#[derive(Debug, Default, Clone, Copy)]
pub struct SubstringSearch;

impl Search for SubstringSearch {
    fn search(&self, model: &ReadModel, query: &str, limit: usize) -> (Vec<u64>, usize) {
        let words: Vec<String> = query
            .split_whitespace()
            .take(16)
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return (Vec::new(), 0);
        }
        let mut total = 0;
        let mut hits = Vec::new();
        for it in model.items.iter().rev() {
            let hay = format!("{}\n{}", it.subject, it.from).to_lowercase();
            if words.iter().all(|w| hay.contains(w.as_str())) {
                total += 1;
                if hits.len() < limit {
                    hits.push(it.id);
                }
            }
        }
        (hits, total)
    }
}
