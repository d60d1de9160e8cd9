//! [`ReadModel`]: everything the pages need, derived at startup from a
//! publication's manifests (never from a vault), rebuilt on each new release.

use std::collections::{BTreeMap, HashMap};

use trove_publication::{MessageEntry, Publication};

/// One message as listed: its id, release and the summary fields pages show.
#[derive(Debug, Clone)]
pub struct Item {
    /// Publication id (`/emailid/N`).
    pub id: u64,
    /// Release number that published it.
    pub release: u64,
    /// Subject, or empty.
    pub subject: String,
    /// First `From`, as given.
    pub from: String,
    /// Date as given (RFC 3339), or empty.
    pub date: String,
    /// Thread key (index into [`ReadModel::threads`]).
    pub thread: usize,
}

/// The derived, in-memory read model of one publication state.
#[derive(Debug)]
pub struct ReadModel {
    /// The opened publication (manifests, blob paths).
    pub publication: Publication,
    /// All messages, in id order (`items[id - 1]`).
    pub items: Vec<Item>,
    /// Threads: each a list of ids in id order.
    pub threads: Vec<Vec<u64>>,
    /// Lower-cased address → ids it sent.
    pub sent: HashMap<String, Vec<u64>>,
    /// Lower-cased address → ids it received (To or Cc).
    pub received: HashMap<String, Vec<u64>>,
    /// `YYYY-MM` → number of messages dated that month.
    pub months: BTreeMap<String, u64>,
}

/// The bare, lower-cased address of `Name <addr>` or `addr`.
pub fn address(s: &str) -> String {
    let a = match (s.rfind('<'), s.rfind('>')) {
        (Some(i), Some(j)) if i < j => &s[i + 1..j],
        _ => s,
    };
    a.trim().to_ascii_lowercase()
}

fn month(date: &str) -> Option<String> {
    let b = date.as_bytes();
    let ok = b.len() >= 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit);
    ok.then(|| date[..7].to_string())
}

impl ReadModel {
    /// Builds the read model from an opened publication.
    pub fn build(publication: Publication) -> ReadModel {
        let mut items = Vec::new();
        let mut thread_of_key: HashMap<String, usize> = HashMap::new();
        let mut by_msgid: HashMap<String, usize> = HashMap::new();
        let mut threads: Vec<Vec<u64>> = Vec::new();
        let mut sent: HashMap<String, Vec<u64>> = HashMap::new();
        let mut received: HashMap<String, Vec<u64>> = HashMap::new();
        let mut months = BTreeMap::new();
        for (m, e) in publication.messages() {
            let s = &e.summary;
            // Thread: the publisher's key, else the parent's thread, else a new one.
            let t = if let Some(k) = &s.thread {
                *thread_of_key.entry(k.clone()).or_insert_with(|| {
                    threads.push(Vec::new());
                    threads.len() - 1
                })
            } else if let Some(t) = s.in_reply_to.as_ref().and_then(|p| by_msgid.get(p)) {
                *t
            } else {
                threads.push(Vec::new());
                threads.len() - 1
            };
            if let Some(mid) = &s.message_id {
                by_msgid.entry(mid.clone()).or_insert(t);
            }
            if let Some(v) = threads.get_mut(t) {
                v.push(e.id);
            }
            for f in &s.from {
                sent.entry(address(f)).or_default().push(e.id);
            }
            for r in s.to.iter().chain(&s.cc) {
                let v = received.entry(address(r)).or_default();
                if v.last() != Some(&e.id) {
                    v.push(e.id);
                }
            }
            if let Some(mo) = s.date.as_deref().and_then(month) {
                *months.entry(mo).or_insert(0) += 1;
            }
            items.push(Item {
                id: e.id,
                release: m.release,
                subject: s.subject.clone().unwrap_or_default(),
                from: s.from.first().cloned().unwrap_or_default(),
                date: s.date.clone().unwrap_or_default(),
                thread: t,
            });
        }
        ReadModel {
            publication,
            items,
            threads,
            sent,
            received,
            months,
        }
    }

    /// The listed message `id`.
    pub fn item(&self, id: u64) -> Option<&Item> {
        self.items.get(usize::try_from(id.checked_sub(1)?).ok()?)
    }

    /// The manifest entry of message `id`.
    pub fn entry(&self, id: u64) -> Option<&MessageEntry> {
        self.publication.message(id).map(|(_, e)| e)
    }

    /// The ids of message `id`'s thread.
    pub fn thread_of(&self, id: u64) -> &[u64] {
        self.item(id)
            .and_then(|i| self.threads.get(i.thread))
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_months() {
        assert_eq!(address("Ann <ANN@Example.org>"), "ann@example.org");
        assert_eq!(address(" bob@x.org "), "bob@x.org");
        assert_eq!(
            month("2016-10-07T14:03:00-04:00").as_deref(),
            Some("2016-10")
        );
        assert_eq!(month("Oct 2016"), None);
    }
}
