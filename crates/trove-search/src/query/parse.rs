//! The query language: a lexer and a recursive-descent parser that turn the
//! user's string into a [`Node`] tree, with every error tied to a byte
//! position. Nothing here knows tantivy; `compile.rs` does the translation.

use crate::date::parse_span;
use crate::error::{QueryError, QueryErrorKind};

/// Longest query accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 2048;
/// Most terms (leaves) a query may have; also the nesting limit.
pub const MAX_CLAUSES: usize = 64;
/// Deepest nesting of parentheses and NOTs.
pub const MAX_DEPTH: usize = 32;
/// Shortest prefix before a `*` wildcard.
pub const MIN_PREFIX: usize = 2;

/// Fields that hold tokenised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextField {
    From,
    To,
    Cc,
    Subject,
    Body,
    Attachment,
    Filename,
    List,
}

/// Fields that hold one mailbox address per value, matched exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrField {
    From,
    To,
    Cc,
}

/// Numeric fields matched exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumField {
    Id,
    Release,
    Thread,
}

/// What a text leaf matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextValue {
    /// A bare word; several tokens (`foo-bar`) are matched as a phrase.
    Word(String),
    /// A quoted phrase: its tokens in order, adjacent.
    Phrase(String),
    /// `foo*`: any word starting with the (lower-cased) prefix.
    Prefix(String),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `field` is `None` for the default fields (all text fields).
    Text {
        field: Option<TextField>,
        value: TextValue,
    },
    /// Exact (case-insensitive) address.
    Address {
        field: AddrField,
        addr: String,
    },
    /// Half-open `[start, end)` in Unix seconds; `None` = open end.
    Date {
        start: Option<i64>,
        end: Option<i64>,
    },
    Number {
        field: NumField,
        value: u64,
    },
    Dkim(&'static str),
    HasAttachment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Minus,
    Field(String),
    Word(String),
    Phrase(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn err(position: usize, kind: QueryErrorKind) -> QueryError {
    QueryError { position, kind }
}

fn lex(q: &str) -> Result<Vec<Token>, QueryError> {
    let mut out = Vec::new();
    let bytes = q.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match c {
            b'(' => {
                out.push(Token {
                    tok: Tok::LParen,
                    pos: i,
                });
                i += 1;
            }
            b')' => {
                out.push(Token {
                    tok: Tok::RParen,
                    pos: i,
                });
                i += 1;
            }
            b'"' => {
                let Some(len) = q[i + 1..].find('"') else {
                    return Err(err(i, QueryErrorKind::UnbalancedQuote));
                };
                out.push(Token {
                    tok: Tok::Phrase(q[i + 1..i + 1 + len].to_string()),
                    pos: i,
                });
                i += len + 2;
            }
            b'-' if bytes
                .get(i + 1)
                .is_some_and(|n| !n.is_ascii_whitespace() && *n != b')' && *n != b'-') =>
            {
                out.push(Token {
                    tok: Tok::Minus,
                    pos: i,
                });
                i += 1;
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !bytes[i].is_ascii_whitespace()
                    && !b"()\"".contains(&bytes[i])
                {
                    i += 1;
                }
                let chunk = &q[start..i];
                match chunk {
                    "AND" => out.push(Token {
                        tok: Tok::And,
                        pos: start,
                    }),
                    "OR" => out.push(Token {
                        tok: Tok::Or,
                        pos: start,
                    }),
                    "NOT" => out.push(Token {
                        tok: Tok::Not,
                        pos: start,
                    }),
                    _ => match chunk.split_once(':') {
                        Some((name, rest))
                            if !name.is_empty()
                                && name.bytes().all(|b| b.is_ascii_alphabetic()) =>
                        {
                            out.push(Token {
                                tok: Tok::Field(name.to_ascii_lowercase()),
                                pos: start,
                            });
                            if !rest.is_empty() {
                                out.push(Token {
                                    tok: Tok::Word(rest.to_string()),
                                    pos: start + name.len() + 1,
                                });
                            } else if i >= bytes.len()
                                || bytes[i].is_ascii_whitespace()
                                || bytes[i] == b')'
                            {
                                return Err(err(
                                    start,
                                    QueryErrorKind::MissingOperand {
                                        operator: format!("{name}:"),
                                    },
                                ));
                            }
                        }
                        _ => out.push(Token {
                            tok: Tok::Word(chunk.to_string()),
                            pos: start,
                        }),
                    },
                }
            }
        }
    }
    Ok(out)
}

/// Field names as typed after `name:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldName {
    Text(TextField),
    Date,
    Before,
    After,
    Has,
    Dkim,
    Num(NumField),
}

fn field_name(name: &str) -> Option<FieldName> {
    Some(match name {
        "from" => FieldName::Text(TextField::From),
        "to" => FieldName::Text(TextField::To),
        "cc" => FieldName::Text(TextField::Cc),
        "subject" => FieldName::Text(TextField::Subject),
        "body" => FieldName::Text(TextField::Body),
        "attachment" => FieldName::Text(TextField::Attachment),
        "filename" => FieldName::Text(TextField::Filename),
        "list" => FieldName::Text(TextField::List),
        "date" => FieldName::Date,
        "before" => FieldName::Before,
        "after" => FieldName::After,
        "has" => FieldName::Has,
        "dkim" => FieldName::Dkim,
        "release" => FieldName::Num(NumField::Release),
        "id" => FieldName::Num(NumField::Id),
        "thread" => FieldName::Num(NumField::Thread),
        _ => return None,
    })
}

struct Parser {
    toks: Vec<Token>,
    at: usize,
    leaves: usize,
    /// Field applied by an enclosing `field:( … )`.
    ctx: Option<(FieldName, &'static str)>,
    end: usize,
}

/// Parses a query string into a tree, or says where it is wrong.
pub(crate) fn parse(q: &str) -> Result<Node, QueryError> {
    if q.len() > MAX_QUERY_LEN {
        return Err(err(
            MAX_QUERY_LEN,
            QueryErrorKind::TooLong {
                len: q.len(),
                max: MAX_QUERY_LEN,
            },
        ));
    }
    let toks = lex(q)?;
    if toks.is_empty() {
        return Err(err(0, QueryErrorKind::Empty));
    }
    let mut p = Parser {
        toks,
        at: 0,
        leaves: 0,
        ctx: None,
        end: q.len(),
    };
    let node = p.or(0)?;
    if let Some(t) = p.toks.get(p.at) {
        return Err(err(t.pos, QueryErrorKind::UnexpectedCloseParen));
    }
    Ok(node)
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.at)
    }

    fn pos(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn deeper(&self, depth: usize) -> Result<usize, QueryError> {
        if depth >= MAX_DEPTH {
            return Err(err(
                self.pos(),
                QueryErrorKind::TooComplex { max: MAX_DEPTH },
            ));
        }
        Ok(depth + 1)
    }

    fn or(&mut self, depth: usize) -> Result<Node, QueryError> {
        let mut parts = vec![self.and(depth)?];
        while let Some(Token { tok: Tok::Or, pos }) = self.peek().cloned() {
            self.at += 1;
            if matches!(
                self.peek().map(|t| &t.tok),
                None | Some(Tok::RParen | Tok::Or)
            ) {
                return Err(err(
                    pos,
                    QueryErrorKind::MissingOperand {
                        operator: "OR".into(),
                    },
                ));
            }
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Node, QueryError> {
        let mut parts = Vec::new();
        while let Some(t) = self.peek().cloned() {
            match t.tok {
                Tok::RParen => break,
                Tok::Or => {
                    if parts.is_empty() {
                        return Err(err(
                            t.pos,
                            QueryErrorKind::MissingOperand {
                                operator: "OR".into(),
                            },
                        ));
                    }
                    break;
                }
                Tok::And => {
                    self.at += 1;
                    if parts.is_empty()
                        || matches!(
                            self.peek().map(|t| &t.tok),
                            None | Some(Tok::RParen | Tok::Or | Tok::And)
                        )
                    {
                        return Err(err(
                            t.pos,
                            QueryErrorKind::MissingOperand {
                                operator: "AND".into(),
                            },
                        ));
                    }
                }
                _ => parts.push(self.unary(depth)?),
            }
        }
        match parts.len() {
            0 => Err(err(self.pos(), QueryErrorKind::Empty)),
            1 => Ok(parts.remove(0)),
            _ => Ok(Node::And(parts)),
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Node, QueryError> {
        let Some(t) = self.peek().cloned() else {
            return Err(err(self.end, QueryErrorKind::Empty));
        };
        match t.tok {
            Tok::Not | Tok::Minus => {
                self.at += 1;
                if matches!(
                    self.peek().map(|t| &t.tok),
                    None | Some(Tok::RParen | Tok::Or | Tok::And)
                ) {
                    let operator = if t.tok == Tok::Not { "NOT" } else { "-" };
                    return Err(err(
                        t.pos,
                        QueryErrorKind::MissingOperand {
                            operator: operator.into(),
                        },
                    ));
                }
                let depth = self.deeper(depth)?;
                Ok(Node::Not(Box::new(self.unary(depth)?)))
            }
            _ => self.primary(depth),
        }
    }

    fn primary(&mut self, depth: usize) -> Result<Node, QueryError> {
        let Some(t) = self.peek().cloned() else {
            return Err(err(self.end, QueryErrorKind::Empty));
        };
        self.at += 1;
        match t.tok {
            Tok::LParen => self.group(t.pos, depth),
            Tok::RParen => Err(err(t.pos, QueryErrorKind::UnexpectedCloseParen)),
            Tok::Field(name) => {
                let Some(field) = field_name(&name) else {
                    return Err(err(t.pos, QueryErrorKind::UnknownField { field: name }));
                };
                let Some(v) = self.peek().cloned() else {
                    return Err(err(
                        t.pos,
                        QueryErrorKind::MissingOperand {
                            operator: format!("{name}:"),
                        },
                    ));
                };
                self.at += 1;
                let label = field_label(field);
                match v.tok {
                    Tok::Word(w) => self.leaf(Some((field, label)), &w, false, v.pos),
                    Tok::Phrase(p) => self.leaf(Some((field, label)), &p, true, v.pos),
                    Tok::LParen => {
                        let outer = self.ctx.replace((field, label));
                        let r = self.group(v.pos, depth);
                        self.ctx = outer;
                        r
                    }
                    _ => Err(err(
                        t.pos,
                        QueryErrorKind::MissingOperand {
                            operator: format!("{name}:"),
                        },
                    )),
                }
            }
            Tok::Word(w) => self.leaf(self.ctx, &w, false, t.pos),
            Tok::Phrase(p) => self.leaf(self.ctx, &p, true, t.pos),
            Tok::And | Tok::Or | Tok::Not | Tok::Minus => Err(err(
                t.pos,
                QueryErrorKind::MissingOperand {
                    operator: format!("{:?}", t.tok).to_uppercase(),
                },
            )),
        }
    }

    fn group(&mut self, open: usize, depth: usize) -> Result<Node, QueryError> {
        let depth = self.deeper(depth)?;
        if matches!(self.peek().map(|t| &t.tok), Some(Tok::RParen)) {
            return Err(err(open, QueryErrorKind::Empty));
        }
        let inner = self.or(depth)?;
        match self.peek() {
            Some(Token {
                tok: Tok::RParen, ..
            }) => {
                self.at += 1;
                Ok(inner)
            }
            _ => Err(err(open, QueryErrorKind::UnclosedParen)),
        }
    }

    fn leaf(
        &mut self,
        field: Option<(FieldName, &'static str)>,
        value: &str,
        quoted: bool,
        pos: usize,
    ) -> Result<Node, QueryError> {
        self.leaves += 1;
        if self.leaves > MAX_CLAUSES {
            return Err(err(pos, QueryErrorKind::TooComplex { max: MAX_CLAUSES }));
        }
        let invalid = |label: &str, expected: &'static str| {
            err(
                pos,
                QueryErrorKind::InvalidValue {
                    field: label.to_string(),
                    value: value.to_string(),
                    expected,
                },
            )
        };
        let bad_date = || {
            err(
                pos,
                QueryErrorKind::InvalidDate {
                    value: value.to_string(),
                },
            )
        };
        let Some((field, label)) = field else {
            return text_leaf(None, value, quoted, pos);
        };
        match field {
            FieldName::Text(f) => {
                let addr_field = match f {
                    TextField::From => Some(AddrField::From),
                    TextField::To => Some(AddrField::To),
                    TextField::Cc => Some(AddrField::Cc),
                    _ => None,
                };
                match addr_field {
                    Some(af)
                        if value.contains('@')
                            && !value.contains('*')
                            && !value.contains(char::is_whitespace) =>
                    {
                        Ok(Node::Address {
                            field: af,
                            addr: value.trim_matches(|c| c == '<' || c == '>').to_lowercase(),
                        })
                    }
                    _ => text_leaf(Some(f), value, quoted, pos),
                }
            }
            FieldName::Date => {
                let v = value.trim();
                if let Some((lo, hi)) = v.split_once("..") {
                    let start = if lo.is_empty() {
                        None
                    } else {
                        Some(parse_span(lo).ok_or_else(bad_date)?.0)
                    };
                    let end = if hi.is_empty() {
                        None
                    } else {
                        Some(parse_span(hi).ok_or_else(bad_date)?.1)
                    };
                    if start.is_none() && end.is_none() {
                        return Err(bad_date());
                    }
                    Ok(Node::Date { start, end })
                } else {
                    let (s, e) = parse_span(v).ok_or_else(bad_date)?;
                    Ok(Node::Date {
                        start: Some(s),
                        end: Some(e),
                    })
                }
            }
            FieldName::Before => {
                let (s, _) = parse_span(value.trim()).ok_or_else(bad_date)?;
                Ok(Node::Date {
                    start: None,
                    end: Some(s),
                })
            }
            FieldName::After => {
                let (s, _) = parse_span(value.trim()).ok_or_else(bad_date)?;
                Ok(Node::Date {
                    start: Some(s),
                    end: None,
                })
            }
            FieldName::Has => match value.to_ascii_lowercase().as_str() {
                "attachment" | "attachments" => Ok(Node::HasAttachment),
                _ => Err(invalid(label, "attachment")),
            },
            FieldName::Dkim => match value.to_ascii_lowercase().as_str() {
                "pass" => Ok(Node::Dkim("pass")),
                "fail" => Ok(Node::Dkim("fail")),
                "none" => Ok(Node::Dkim("none")),
                _ => Err(invalid(label, "pass, fail or none")),
            },
            FieldName::Num(nf) => match value.trim().parse::<u64>() {
                Ok(n) => Ok(Node::Number {
                    field: nf,
                    value: n,
                }),
                Err(_) => Err(invalid(label, "a whole number")),
            },
        }
    }
}

fn field_label(f: FieldName) -> &'static str {
    match f {
        FieldName::Text(TextField::From) => "from",
        FieldName::Text(TextField::To) => "to",
        FieldName::Text(TextField::Cc) => "cc",
        FieldName::Text(TextField::Subject) => "subject",
        FieldName::Text(TextField::Body) => "body",
        FieldName::Text(TextField::Attachment) => "attachment",
        FieldName::Text(TextField::Filename) => "filename",
        FieldName::Text(TextField::List) => "list",
        FieldName::Date => "date",
        FieldName::Before => "before",
        FieldName::After => "after",
        FieldName::Has => "has",
        FieldName::Dkim => "dkim",
        FieldName::Num(NumField::Id) => "id",
        FieldName::Num(NumField::Release) => "release",
        FieldName::Num(NumField::Thread) => "thread",
    }
}

fn text_leaf(
    field: Option<TextField>,
    value: &str,
    quoted: bool,
    pos: usize,
) -> Result<Node, QueryError> {
    if quoted {
        return Ok(Node::Text {
            field,
            value: TextValue::Phrase(value.to_string()),
        });
    }
    if let Some(star) = value.find('*') {
        let prefix = &value[..star];
        if star + 1 != value.len()
            || prefix.chars().count() < MIN_PREFIX
            || !prefix.chars().all(char::is_alphanumeric)
        {
            return Err(err(
                pos + star,
                QueryErrorKind::BadWildcard { min: MIN_PREFIX },
            ));
        }
        return Ok(Node::Text {
            field,
            value: TextValue::Prefix(prefix.to_lowercase()),
        });
    }
    Ok(Node::Text {
        field,
        value: TextValue::Word(value.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(q: &str) -> (usize, QueryErrorKind) {
        let e = parse(q).unwrap_err();
        (e.position, e.kind)
    }

    fn word(w: &str) -> Node {
        Node::Text {
            field: None,
            value: TextValue::Word(w.into()),
        }
    }

    #[test]
    fn precedence_and_negation() {
        let n = parse("a b OR c -d").unwrap();
        assert_eq!(
            n,
            Node::Or(vec![
                Node::And(vec![word("a"), word("b")]),
                Node::And(vec![word("c"), Node::Not(Box::new(word("d")))]),
            ])
        );
        assert_eq!(parse("NOT a").unwrap(), Node::Not(Box::new(word("a"))));
        assert_eq!(
            parse("(a OR b) AND c").unwrap(),
            Node::And(vec![Node::Or(vec![word("a"), word("b")]), word("c")])
        );
    }

    #[test]
    fn fields() {
        assert_eq!(
            parse("from:Axboe@Kernel.dk").unwrap(),
            Node::Address {
                field: AddrField::From,
                addr: "axboe@kernel.dk".into()
            }
        );
        assert_eq!(
            parse("subject:\"io uring\"").unwrap(),
            Node::Text {
                field: Some(TextField::Subject),
                value: TextValue::Phrase("io uring".into())
            }
        );
        assert_eq!(
            parse("subject:(a b)").unwrap(),
            Node::And(vec![
                Node::Text {
                    field: Some(TextField::Subject),
                    value: TextValue::Word("a".into())
                },
                Node::Text {
                    field: Some(TextField::Subject),
                    value: TextValue::Word("b".into())
                },
            ])
        );
        assert_eq!(
            parse("date:2016-10-07..2016-10-20").unwrap(),
            Node::Date {
                start: Some(1_475_798_400),
                end: Some(1_475_798_400 + 14 * 86_400)
            }
        );
        assert_eq!(
            parse("date:..2016").unwrap(),
            Node::Date {
                start: None,
                end: Some(1_483_228_800)
            }
        );
        assert_eq!(
            parse("has:attachment dkim:PASS release:3").unwrap(),
            Node::And(vec![
                Node::HasAttachment,
                Node::Dkim("pass"),
                Node::Number {
                    field: NumField::Release,
                    value: 3
                },
            ])
        );
        assert_eq!(
            parse("uring*").unwrap(),
            Node::Text {
                field: None,
                value: TextValue::Prefix("uring".into())
            }
        );
    }

    #[test]
    fn errors_have_positions() {
        assert_eq!(kind(""), (0, QueryErrorKind::Empty));
        assert_eq!(kind("   "), (0, QueryErrorKind::Empty));
        assert_eq!(kind("a \"b c"), (2, QueryErrorKind::UnbalancedQuote));
        assert_eq!(kind("a (b c"), (2, QueryErrorKind::UnclosedParen));
        assert_eq!(kind("a b) c"), (3, QueryErrorKind::UnexpectedCloseParen));
        assert_eq!(kind("()"), (0, QueryErrorKind::Empty));
        assert_eq!(
            kind("x frm:bob"),
            (
                2,
                QueryErrorKind::UnknownField {
                    field: "frm".into()
                }
            )
        );
        assert_eq!(kind("date:2016-13-01").0, 5);
        assert!(matches!(
            kind("date:2016-13-01").1,
            QueryErrorKind::InvalidDate { .. }
        ));
        assert!(matches!(
            kind("before:yesterday").1,
            QueryErrorKind::InvalidDate { .. }
        ));
        assert!(matches!(
            kind("date:..").1,
            QueryErrorKind::InvalidDate { .. }
        ));
        assert_eq!(
            kind("a *foo"),
            (2, QueryErrorKind::BadWildcard { min: MIN_PREFIX })
        );
        assert_eq!(
            kind("a f*o"),
            (3, QueryErrorKind::BadWildcard { min: MIN_PREFIX })
        );
        assert_eq!(
            kind("a AND"),
            (
                2,
                QueryErrorKind::MissingOperand {
                    operator: "AND".into()
                }
            )
        );
        assert_eq!(
            kind("OR a"),
            (
                0,
                QueryErrorKind::MissingOperand {
                    operator: "OR".into()
                }
            )
        );
        assert_eq!(
            kind("a NOT"),
            (
                2,
                QueryErrorKind::MissingOperand {
                    operator: "NOT".into()
                }
            )
        );
        assert_eq!(
            kind("from: x"),
            (
                0,
                QueryErrorKind::MissingOperand {
                    operator: "from:".into()
                }
            )
        );
        assert!(matches!(
            kind("has:pdf").1,
            QueryErrorKind::InvalidValue { .. }
        ));
        assert!(matches!(
            kind("dkim:maybe").1,
            QueryErrorKind::InvalidValue { .. }
        ));
        assert!(matches!(
            kind("id:-1").1,
            QueryErrorKind::InvalidValue { .. }
        ));
        let long = "a ".repeat(MAX_QUERY_LEN);
        assert!(matches!(kind(&long).1, QueryErrorKind::TooLong { .. }));
        let many = "a ".repeat(MAX_CLAUSES + 1);
        assert_eq!(
            kind(&many).1,
            QueryErrorKind::TooComplex { max: MAX_CLAUSES }
        );
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(kind(&deep).1, QueryErrorKind::TooComplex { max: MAX_DEPTH });
        let nots = "NOT ".repeat(200) + "a";
        assert_eq!(kind(&nots).1, QueryErrorKind::TooComplex { max: MAX_DEPTH });
    }

    #[test]
    fn words_with_colons_and_dashes() {
        // Not a field name (digits): a plain word.
        assert_eq!(parse("10:30").unwrap(), word("10:30"));
        // A dash inside a word is part of it; a lone dash is a word too.
        assert_eq!(parse("io-uring").unwrap(), word("io-uring"));
        assert_eq!(
            parse("a - b").unwrap(),
            Node::And(vec![word("a"), word("-"), word("b")])
        );
    }
}
