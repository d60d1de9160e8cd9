//! Translation of a parsed query into tantivy queries.
//!
//! Text is tokenised with the same analyzer as the index; a word that yields
//! several tokens (`io-uring`, `kernel.dk`) becomes a phrase. Prefixes are
//! expanded against the term dictionaries with a hard cap, so `ab*` cannot
//! turn into a million-term query.

use std::collections::BTreeSet;
use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Searcher, Term};

use super::parse::{AddrField, Node, NumField, TextField, TextValue};
use crate::error::{QueryError, QueryErrorKind};
use crate::schema::{analyzer, Fields};

/// Most distinct words a prefix may expand to (per field, over all segments).
pub const MAX_PREFIX_EXPANSIONS: usize = 1000;

pub(crate) struct Compiler<'a> {
    pub fields: &'a Fields,
    pub searcher: &'a Searcher,
    analyzer: TextAnalyzer,
}

impl<'a> Compiler<'a> {
    pub fn new(fields: &'a Fields, searcher: &'a Searcher) -> Self {
        Compiler {
            fields,
            searcher,
            analyzer: analyzer(),
        }
    }

    /// Compiles a tree. `None` means the node constrains nothing (a word made
    /// only of punctuation) and is dropped by its parent.
    pub fn compile(&mut self, node: &Node) -> Result<Option<Box<dyn Query>>, QueryError> {
        Ok(match node {
            Node::And(parts) => {
                let mut clauses = Vec::new();
                for p in parts {
                    match p {
                        Node::Not(inner) => {
                            if let Some(q) = self.compile(inner)? {
                                clauses.push((Occur::MustNot, q));
                            }
                        }
                        _ => {
                            if let Some(q) = self.compile(p)? {
                                clauses.push((Occur::Must, q));
                            }
                        }
                    }
                }
                bool_query(clauses)
            }
            Node::Or(parts) => {
                let mut clauses = Vec::new();
                for p in parts {
                    if let Some(q) = self.compile(p)? {
                        clauses.push((Occur::Should, q));
                    }
                }
                bool_query(clauses)
            }
            Node::Not(inner) => self
                .compile(inner)?
                .and_then(|q| bool_query(vec![(Occur::MustNot, q)])),
            // A word without a field searches the catch-all field (from, to, cc, subject,
            // body, attachment text and file names; not the list id, which on a list
            // archive is on every message, so `io_uring` would match everything: use
            // `list:`, as in notmuch).
            Node::Text { field, value } => {
                let f = field.map_or(self.fields.all, |f| self.field(f));
                self.text(f, value)?
            }
            Node::Address { field, addr } => {
                let f = match field {
                    AddrField::From => self.fields.from_addr,
                    AddrField::To => self.fields.to_addr,
                    AddrField::Cc => self.fields.cc_addr,
                };
                Some(term(Term::from_field_text(f, addr)))
            }
            Node::Date { start, end } => {
                let f = self.fields.date;
                let lo = start.map_or(Bound::Unbounded, |s| {
                    Bound::Included(Term::from_field_i64(f, s))
                });
                let hi = end.map_or(Bound::Unbounded, |e| {
                    Bound::Excluded(Term::from_field_i64(f, e))
                });
                if matches!((start, end), (Some(s), Some(e)) if s >= e) {
                    Some(Box::new(EmptyQuery))
                } else {
                    Some(Box::new(RangeQuery::new(lo, hi)))
                }
            }
            Node::Number { field, value } => {
                let f = match field {
                    NumField::Id => self.fields.id,
                    NumField::Release => self.fields.release,
                    NumField::Thread => self.fields.thread,
                };
                Some(term(Term::from_field_u64(f, *value)))
            }
            Node::Dkim(v) => Some(term(Term::from_field_text(self.fields.dkim, v))),
            Node::HasAttachment => Some(term(Term::from_field_u64(self.fields.has_attachment, 1))),
        })
    }

    fn field(&self, f: TextField) -> Field {
        match f {
            TextField::From => self.fields.from,
            TextField::To => self.fields.to,
            TextField::Cc => self.fields.cc,
            TextField::Subject => self.fields.subject,
            TextField::Body => self.fields.body,
            TextField::Attachment => self.fields.attachment,
            TextField::Filename => self.fields.filename,
            TextField::List => self.fields.list,
        }
    }

    fn tokens(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    fn text(
        &mut self,
        field: Field,
        value: &TextValue,
    ) -> Result<Option<Box<dyn Query>>, QueryError> {
        match value {
            TextValue::Word(s) | TextValue::Phrase(s) => {
                let toks = self.tokens(s);
                Ok(match toks.len() {
                    0 => None,
                    1 => Some(term(Term::from_field_text(field, &toks[0]))),
                    _ => Some(Box::new(PhraseQuery::new(
                        toks.iter()
                            .map(|t| Term::from_field_text(field, t))
                            .collect(),
                    ))),
                })
            }
            TextValue::Prefix(p) => {
                let toks = self.tokens(p);
                // `io-ur*`: all tokens but the last must match exactly; keep it
                // simple and only allow one-token prefixes.
                let [prefix] = toks.as_slice() else {
                    return Err(QueryError {
                        position: 0,
                        kind: QueryErrorKind::BadWildcard {
                            min: super::parse::MIN_PREFIX,
                        },
                    });
                };
                let terms = self.expand(field, prefix)?;
                Ok(Some(if terms.is_empty() {
                    Box::new(EmptyQuery)
                } else {
                    Box::new(TermSetQuery::new(terms))
                }))
            }
        }
    }

    /// All indexed words of `field` that start with `prefix`, at most
    /// [`MAX_PREFIX_EXPANSIONS`].
    fn expand(&self, field: Field, prefix: &str) -> Result<Vec<Term>, QueryError> {
        let too_many = || QueryError {
            position: 0,
            kind: QueryErrorKind::TooManyExpansions {
                prefix: prefix.to_string(),
                limit: MAX_PREFIX_EXPANSIONS,
            },
        };
        let mut found: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut upper = prefix.as_bytes().to_vec();
        // Smallest byte string greater than every string with this prefix.
        while let Some(last) = upper.pop() {
            if last < 0xFF {
                upper.push(last + 1);
                break;
            }
        }
        for seg in self.searcher.segment_readers() {
            let Ok(inv) = seg.inverted_index(field) else {
                continue;
            };
            let mut range = inv.terms().range().ge(prefix.as_bytes());
            if !upper.is_empty() {
                range = range.lt(&upper);
            }
            let Ok(mut stream) = range.into_stream() else {
                continue;
            };
            while stream.advance() {
                found.insert(stream.key().to_vec());
                if found.len() > MAX_PREFIX_EXPANSIONS {
                    return Err(too_many());
                }
            }
        }
        Ok(found
            .into_iter()
            .filter_map(|k| String::from_utf8(k).ok())
            .map(|k| Term::from_field_text(field, &k))
            .collect())
    }
}

fn term(t: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))
}

/// A boolean query that also works when every clause is negative (tantivy
/// matches nothing for a purely negative query, so "everything" is added).
fn bool_query(mut clauses: Vec<(Occur, Box<dyn Query>)>) -> Option<Box<dyn Query>> {
    if clauses.is_empty() {
        return None;
    }
    if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    } else if clauses.len() == 1 && clauses[0].0 != Occur::MustNot {
        return clauses.pop().map(|(_, q)| q);
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}
