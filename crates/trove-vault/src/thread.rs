//! JWZ threading over Message-ID, In-Reply-To and References, with subject grouping only as a
//! fallback for replies that carry no reference headers.
//!
//! See <https://www.jwz.org/doc/threading.html>. A thread's id is the smallest vault id among
//! its messages, so ids stay stable as long as the thread's membership does.

use std::collections::HashMap;

/// What threading needs to know about one message.
#[derive(Debug, Clone)]
pub struct ThreadInput {
    /// Vault id.
    pub id: i64,
    /// Message-ID (without brackets).
    pub message_id: Option<String>,
    /// References followed by In-Reply-To, oldest first.
    pub refs: Vec<String>,
    /// Subject as decoded.
    pub subject: Option<String>,
}

/// Strips reply and forward prefixes (`Re:`, `Fwd:`, `AW:`, `[list]` tags…) and folds case.
pub fn base_subject(s: &str) -> String {
    let mut t = s.trim();
    loop {
        let before = t;
        if t.starts_with('[') {
            if let Some(end) = t.find(']') {
                t = t[end + 1..].trim_start();
            }
        }
        for p in [
            "re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:", "r:", "tr:",
        ] {
            if t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)) {
                t = t[p.len()..].trim_start();
            }
        }
        if t == before {
            break;
        }
    }
    t.to_lowercase()
}

fn is_reply_subject(s: &str) -> bool {
    let t = s.trim_start().to_ascii_lowercase();
    ["re:", "fw:", "fwd:", "aw:", "sv:"]
        .iter()
        .any(|p| t.starts_with(p))
}

struct Tree {
    parent: Vec<Option<usize>>,
}

impl Tree {
    fn root(&self, mut i: usize) -> usize {
        let mut steps = 0;
        while let Some(p) = self.parent[i] {
            i = p;
            steps += 1;
            if steps > self.parent.len() {
                break; // cannot happen (loops are refused), but never spin
            }
        }
        i
    }

    /// Is `a` an ancestor of (or equal to) `b`?
    fn is_ancestor(&self, a: usize, mut b: usize) -> bool {
        let mut steps = 0;
        loop {
            if a == b {
                return true;
            }
            match self.parent[b] {
                Some(p) => b = p,
                None => return false,
            }
            steps += 1;
            if steps > self.parent.len() {
                return true;
            }
        }
    }

    fn link(&mut self, child: usize, parent: usize, force: bool) {
        if child == parent || self.is_ancestor(child, parent) {
            return;
        }
        if self.parent[child].is_none() || force {
            self.parent[child] = Some(parent);
        }
    }
}

/// Computes the thread id of every message; returns `(message id, thread id)` pairs in input order.
pub fn thread(messages: &[ThreadInput]) -> Vec<(i64, i64)> {
    // Containers: one per distinct Message-ID seen anywhere (message or reference).
    let mut by_mid: HashMap<&str, usize> = HashMap::new();
    let mut n = 0usize;
    let mut msg_container = Vec::with_capacity(messages.len());
    let new_container = |n: &mut usize| -> usize {
        *n += 1;
        *n - 1
    };
    let mut holder: Vec<Option<usize>> = Vec::new(); // container -> message index
    for (i, m) in messages.iter().enumerate() {
        let c = match m.message_id.as_deref() {
            Some(mid) => match by_mid.get(mid) {
                Some(&c) if holder[c].is_none() => c,
                Some(_) => {
                    // Same Message-ID, different bytes: its own container, same place in the tree.
                    let c = new_container(&mut n);
                    holder.push(None);
                    c
                }
                None => {
                    let c = new_container(&mut n);
                    holder.push(None);
                    by_mid.insert(mid, c);
                    c
                }
            },
            None => {
                let c = new_container(&mut n);
                holder.push(None);
                c
            }
        };
        holder[c] = Some(i);
        msg_container.push(c);
    }
    for m in messages {
        for r in &m.refs {
            if !by_mid.contains_key(r.as_str()) {
                let c = new_container(&mut n);
                holder.push(None);
                by_mid.insert(r.as_str(), c);
            }
        }
    }
    let mut tree = Tree {
        parent: vec![None; n],
    };
    for (i, m) in messages.iter().enumerate() {
        let refs: Vec<usize> = m.refs.iter().map(|r| by_mid[r.as_str()]).collect();
        for w in refs.windows(2) {
            tree.link(w[1], w[0], false);
        }
        if let Some(&last) = refs.last() {
            tree.link(msg_container[i], last, true);
        }
        // A duplicate-id message sits beside its twin.
        if let Some(mid) = m.message_id.as_deref() {
            let twin = by_mid[mid];
            if twin != msg_container[i] {
                tree.link(msg_container[i], twin, false);
            }
        }
    }
    // Subject fallback: a reply with no references joins the earliest thread of that subject.
    let mut first_by_subject: HashMap<String, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        let c = msg_container[i];
        if tree.parent[c].is_some() {
            continue;
        }
        let Some(s) = m.subject.as_deref() else {
            continue;
        };
        let base = base_subject(s);
        if base.is_empty() {
            continue;
        }
        match first_by_subject.get(&base) {
            Some(&first) if m.refs.is_empty() && is_reply_subject(s) => tree.link(c, first, false),
            Some(_) => {}
            None => {
                first_by_subject.insert(base, c);
            }
        }
    }
    // Thread id: smallest message id under each root.
    let mut min_id: HashMap<usize, i64> = HashMap::new();
    let roots: Vec<usize> = msg_container.iter().map(|&c| tree.root(c)).collect();
    for (i, &r) in roots.iter().enumerate() {
        let e = min_id.entry(r).or_insert(messages[i].id);
        *e = (*e).min(messages[i].id);
    }
    messages
        .iter()
        .zip(roots)
        .map(|(m, r)| (m.id, min_id[&r]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: i64, mid: &str, refs: &[&str], subject: &str) -> ThreadInput {
        ThreadInput {
            id,
            message_id: Some(mid.into()),
            refs: refs.iter().map(|s| s.to_string()).collect(),
            subject: Some(subject.into()),
        }
    }

    #[test]
    fn threads_by_references_missing_parents_and_subject() {
        let msgs = vec![
            m(1, "a", &[], "Plan"),
            m(2, "b", &["a"], "Re: Plan"),
            // Parent "x" never arrived, but both reference it.
            m(3, "c", &["x"], "Lost parent"),
            m(4, "d", &["x", "c"], "Re: Lost parent"),
            // No references: subject fallback.
            m(5, "e", &[], "RE: [list] plan"),
            m(6, "f", &[], "Unrelated"),
            // A loop attempt: g says its parent is h, h says its parent is g.
            m(7, "g", &["h"], "loop"),
            m(8, "h", &["g"], "loop"),
        ];
        let t: HashMap<i64, i64> = thread(&msgs).into_iter().collect();
        assert_eq!(t[&2], 1);
        assert_eq!(t[&5], 1);
        assert_eq!(t[&3], 3);
        assert_eq!(t[&4], 3);
        assert_eq!(t[&6], 6);
        assert_eq!(t[&7], t[&8]);
        assert_eq!(base_subject("Re: AW: [x] Fwd:  Hello"), "hello");
        // Multi-byte subjects (seen in the io-uring corpus) must not be cut inside a char.
        assert_eq!(base_subject("あいさつ。"), "あいさつ。");
        assert_eq!(base_subject("Re: 【TS3】重要"), "【ts3】重要");
    }
}
