//! The query language: parsing (`parse.rs`) and translation to tantivy
//! queries (`compile.rs`).

pub(crate) mod compile;
pub(crate) mod parse;

/// The query language in a form fit for `trove search --help` and the README.
pub const QUERY_SYNTAX: &str = "\
Query syntax:
  word word            both words (AND is implicit), in from/to/cc/subject/body/attachments
  \"a phrase\"           the words next to each other, in order
  a OR b, a AND b      boolean logic (operators in capitals; AND binds tighter)
  NOT a, -a            exclude; ( ... ) groups
  uring*               words starting with 'uring' (2+ characters, at most 1000 words)
  from: to: cc:        names and addresses; with an @ the address must match exactly
  subject: body: attachment: filename: list:
                       text in that field; field:\"phrase\" and field:(a OR b) work
  date:2016-10-07..2016-10-20
                       inclusive days, UTC; YYYY and YYYY-MM too; open ends date:..D, date:D..
  before:D after:D     strictly before day D / on or after day D
  has:attachment       messages with attachments
  dkim:pass|fail|none  DKIM verdict
  release:N id:N thread:N
Text is split on anything but letters and digits and lower-cased (no stemming):
io-uring means \"io uring\".";
