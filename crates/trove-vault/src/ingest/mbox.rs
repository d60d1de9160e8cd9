//! Streaming mbox splitter: mboxo and mboxrd `>From ` quoting, Content-Length mboxes, LF or CRLF.
//!
//! A line starting with `From ` begins a new message when it looks like an envelope (`From
//! sender date` with a time and a year, or Thunderbird's `From - …`), or when it follows a blank
//! line and the next line is a header field. So an unquoted `From Russia with love` in an
//! mboxo body (old clients did not quote) stays in its message. Inside a message whose
//! `Content-Length:` header says its body is not finished yet, no line is a separator
//! (Content-Length mboxes do not quote `From ` in bodies). The `From ` line itself is the
//! envelope, kept apart; one level of `>` quoting is removed from `>From `, `>>From `, … lines
//! (right for mboxrd, and for mboxo's single `>From `); the blank line that separates two
//! messages is not part of either. Memory is bounded by the largest single message.

use std::io::{BufRead, Read};

use crate::error::{Error, Result};

/// One message cut out of an mbox.
#[derive(Debug)]
pub struct MboxMessage {
    /// 0-based position in the mbox.
    pub index: u64,
    /// The `From ` envelope line without its line ending.
    pub envelope: String,
    /// The message bytes with quoting undone.
    pub bytes: Vec<u8>,
}

/// True when a (BOM-stripped) buffer starts like an mbox.
pub fn looks_like_mbox(head: &[u8]) -> bool {
    let h = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    h.starts_with(b"From ")
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// `From sender Thu Jan  1 00:00:00 1970`, `From - …`: a line that can only be an envelope.
fn is_envelope(line: &[u8]) -> bool {
    let rest = trim_eol(&line[5..]);
    if rest == b"-" || rest.starts_with(b"- ") {
        return true;
    }
    let has_time = rest.windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b':'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
    });
    let has_year = rest.windows(4).any(|w| {
        (w.starts_with(b"19") || w.starts_with(b"20"))
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
    });
    has_time && has_year
}

/// `Name: value`: what the first line of a message looks like.
fn is_header_line(line: &[u8]) -> bool {
    match memchr::memchr(b':', line) {
        Some(colon) => colon > 0 && line[..colon].iter().all(|&c| (33..=126).contains(&c)),
        None => false,
    }
}

fn is_quoted_from(line: &[u8]) -> bool {
    let n = line.iter().take_while(|&&c| c == b'>').count();
    n > 0 && line[n..].starts_with(b"From ")
}

struct Current {
    envelope: String,
    bytes: Vec<u8>,
    in_headers: bool,
    header_len: usize,
    content_length: Option<usize>,
    body_len: usize,
}

impl Current {
    fn body_complete(&self) -> bool {
        match self.content_length {
            Some(cl) => !self.in_headers && self.body_len >= cl,
            None => true,
        }
    }

    fn finish(mut self) -> (String, Vec<u8>) {
        if let Some(cl) = self.content_length {
            // Cut exactly at the declared length when it lands within the separator.
            let exact = self.header_len + cl;
            if !self.in_headers && exact <= self.bytes.len() && self.bytes.len() - exact <= 2 {
                self.bytes.truncate(exact);
                return (self.envelope, self.bytes);
            }
        }
        if self.bytes.ends_with(b"\r\n\r\n") {
            self.bytes.truncate(self.bytes.len() - 2);
        } else if self.bytes.ends_with(b"\n\n") {
            self.bytes.truncate(self.bytes.len() - 1);
        }
        (self.envelope, self.bytes)
    }
}

fn content_length(line: &[u8]) -> Option<usize> {
    let l = trim_eol(line);
    if l.len() < 15 || !l[..15].eq_ignore_ascii_case(b"content-length:") {
        return None;
    }
    std::str::from_utf8(&l[15..]).ok()?.trim().parse().ok()
}

/// Splits the mbox read from `r`, calling `sink` for each message in order.
///
/// `name` names the input in errors; `max_message` bounds a single message (and line).
/// Text before the first `From ` line other than blank lines and a byte-order mark is
/// returned as `Ok(Some(bytes))` so the caller can report it.
pub fn split<R: BufRead>(
    mut r: R,
    name: &str,
    max_message: u64,
    sink: &mut dyn FnMut(MboxMessage) -> Result<()>,
) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::with_capacity(256);
    let mut cur: Option<Current> = None;
    let mut preamble = Vec::new();
    let mut index = 0u64;
    let mut first = true;
    // A `From ` line that is not clearly an envelope, held until the next line decides.
    let mut pending: Option<Vec<u8>> = None;
    let mut pushback: Option<Vec<u8>> = None;
    let mut prev_blank = true;
    loop {
        line.clear();
        if let Some(l) = pushback.take() {
            line = l;
        } else {
            let n = (&mut r)
                .take(max_message + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::bad_input(name, format!("read failed: {e}")))?;
            if n == 0 {
                if let Some(p) = pending.take() {
                    // End of file right after the doubtful line: it was body text.
                    if let Some(c) = cur.as_mut() {
                        c.body_len += p.len();
                        c.bytes.extend_from_slice(&p);
                    }
                }
                break;
            }
        }
        let mut forced = false;
        if let Some(p) = pending.take() {
            if is_header_line(&line) {
                // It was an envelope after all: replay it as a separator, then this line.
                pushback = Some(std::mem::take(&mut line));
                line = p;
                forced = true;
            } else if let Some(c) = cur.as_mut() {
                c.body_len += p.len();
                c.bytes.extend_from_slice(&p);
            }
        }
        if first {
            first = false;
            if line.starts_with(b"\xEF\xBB\xBF") {
                line.drain(..3);
            }
        }
        if line.len() as u64 > max_message {
            return Err(Error::LimitExceeded {
                input: format!("{name} (message {index})"),
                what: "a single line".into(),
                limit: max_message,
                flag: "--max-message-size",
            });
        }
        let blank = trim_eol(&line).is_empty();
        let can_split = cur.as_ref().is_none_or(Current::body_complete);
        if line.starts_with(b"From ")
            && can_split
            && !forced
            && cur.is_some()
            && !is_envelope(&line)
        {
            if prev_blank {
                pending = Some(std::mem::take(&mut line));
                line = Vec::with_capacity(256);
                continue;
            }
        } else if line.starts_with(b"From ") && can_split {
            prev_blank = false;
            if let Some(c) = cur.take() {
                let (envelope, bytes) = c.finish();
                sink(MboxMessage {
                    index,
                    envelope,
                    bytes,
                })?;
                index += 1;
            }
            cur = Some(Current {
                envelope: String::from_utf8_lossy(trim_eol(&line)).into_owned(),
                bytes: Vec::new(),
                in_headers: true,
                header_len: 0,
                content_length: None,
                body_len: 0,
            });
            continue;
        }
        prev_blank = blank;
        let Some(c) = cur.as_mut() else {
            if !trim_eol(&line).is_empty() {
                preamble.extend_from_slice(&line);
            }
            continue;
        };
        if c.in_headers {
            if trim_eol(&line).is_empty() {
                c.in_headers = false;
                c.bytes.extend_from_slice(&line);
                c.header_len = c.bytes.len();
                continue;
            }
            if let Some(cl) = content_length(&line) {
                c.content_length = Some(cl);
            }
            c.bytes.extend_from_slice(&line);
        } else {
            c.body_len += line.len();
            if c.content_length.is_none() && is_quoted_from(&line) {
                c.bytes.extend_from_slice(&line[1..]);
            } else {
                c.bytes.extend_from_slice(&line);
            }
        }
        if c.bytes.len() as u64 > max_message {
            return Err(Error::LimitExceeded {
                input: format!("{name} (message {index})"),
                what: "a single message".into(),
                limit: max_message,
                flag: "--max-message-size",
            });
        }
    }
    if let Some(c) = cur.take() {
        let (envelope, bytes) = c.finish();
        sink(MboxMessage {
            index,
            envelope,
            bytes,
        })?;
    }
    Ok((!preamble.is_empty()).then_some(preamble))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `mbox` and checks it gives exactly `expected`: each message's
    /// envelope line and its bytes (as text, for a readable failure).
    fn assert_splits(mbox: &[u8], expected: &[(&str, &str)]) {
        let mut got = Vec::new();
        split(mbox, "test", 1 << 20, &mut |m| {
            got.push((m.envelope, String::from_utf8(m.bytes).unwrap()));
            Ok(())
        })
        .unwrap();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(e, b)| (e.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn splits_and_unquotes_mboxrd() {
        assert_splits(
            b"From a@b Thu Jan  1 00:00:00 1970\nSubject: one\n\n>From here\n>>From there\nbody\n\nFrom c@d Thu Jan  1 00:00:00 1970\nSubject: two\n\nx\n",
            &[
                (
                    "From a@b Thu Jan  1 00:00:00 1970",
                    "Subject: one\n\nFrom here\n>From there\nbody\n",
                ),
                ("From c@d Thu Jan  1 00:00:00 1970", "Subject: two\n\nx\n"),
            ],
        );
    }

    #[test]
    fn crlf_and_content_length() {
        assert_splits(
            b"From x\r\nContent-Length: 18\r\n\r\nFrom inside body\r\n\r\nFrom y\r\nSubject: 2\r\n\r\nz\r\n",
            &[
                ("From x", "Content-Length: 18\r\n\r\nFrom inside body\r\n"),
                ("From y", "Subject: 2\r\n\r\nz\r\n"),
            ],
        );
    }

    #[test]
    fn unmunged_from_in_body_stays_in_its_message() {
        assert_splits(
            b"From -\nSubject: one\n\nMy favourite film:\n\nFrom Russia with love\n\nFrom sender\nSubject: two\n\nbody\n\nFrom nobody\n",
            &[
                (
                    "From -",
                    "Subject: one\n\nMy favourite film:\n\nFrom Russia with love\n",
                ),
                ("From sender", "Subject: two\n\nbody\n\nFrom nobody\n"),
            ],
        );
    }

    #[test]
    fn oversized_message_is_an_error() {
        let mut big = b"From x\nSubject: big\n\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', 100));
        let err = split(&big[..], "big.mbox", 50, &mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("big.mbox"), "{err}");
    }
}
