//! Legacy Word `.doc` (OLE compound file): **heuristic** extraction.
//!
//! Word 97–2003 keeps the document text in the `WordDocument` stream, either
//! as 8-bit windows-1252 or as UTF-16LE, located through a piece table. This
//! module does not parse OLE or the piece table: it scans the whole file for
//! runs of printable UTF-16LE text (both byte alignments) and of printable
//! ASCII text, and keeps runs that are long enough and mostly letters. It
//! finds the body text of real documents, in any script, but also picks up
//! some noise (style names, font names, document properties); 8-bit text is
//! read as windows-1252 (Word's "compressed" pieces), which is wrong for
//! documents saved in other ANSI code pages. Fast-saved or encrypted
//! documents yield little or nothing.

use crate::error::ExtractError;

/// Shortest run of characters kept.
const MIN_RUN: usize = 6;

pub(crate) fn extract(bytes: &[u8]) -> Result<String, ExtractError> {
    let mut runs: Vec<(usize, String)> = Vec::new();
    for align in 0..2 {
        utf16_runs(&bytes[align.min(bytes.len())..], align, &mut runs);
    }
    ascii_runs(bytes, &mut runs);
    runs.sort_by_key(|(at, _)| *at);
    let mut out = String::new();
    for (_, r) in runs {
        out.push_str(r.trim());
        out.push('\n');
    }
    if out.trim().is_empty() {
        return Err(ExtractError::Malformed {
            format: "doc",
            reason: "no text found".into(),
        });
    }
    Ok(out.trim().to_string())
}

fn texty(c: char) -> bool {
    (c.is_alphanumeric()
        || c == ' '
        || c.is_ascii_punctuation()
        || matches!(c, '\r' | '\t' | '«' | '»' | '–' | '—' | '“' | '”' | '’'))
        && !matches!(c as u32, 0xE000..=0xF8FF)
}

fn keep(run: &str) -> bool {
    let n = run.chars().count();
    let letters = run.chars().filter(|c| c.is_alphabetic()).count();
    n >= MIN_RUN && letters * 2 >= n && run.contains(' ')
}

fn utf16_runs(b: &[u8], base: usize, runs: &mut Vec<(usize, String)>) {
    let mut cur = String::new();
    let mut start = 0;
    for (k, pair) in b.chunks_exact(2).enumerate() {
        let unit = u16::from_le_bytes([pair[0], pair[1]]);
        let c = char::from_u32(u32::from(unit)).filter(|c| texty(*c));
        match c {
            Some(c) => {
                if cur.is_empty() {
                    start = base + 2 * k;
                }
                cur.push(if c == '\r' { '\n' } else { c });
            }
            None => {
                if keep(&cur) {
                    runs.push((start, std::mem::take(&mut cur)));
                }
                cur.clear();
            }
        }
    }
    if keep(&cur) {
        runs.push((start, cur));
    }
}

/// Runs of 8-bit text, read as windows-1252 (Word's "compressed" text).
fn ascii_runs(b: &[u8], runs: &mut Vec<(usize, String)>) {
    let mut start = 0;
    let mut cur = String::new();
    for (k, &c) in b.iter().enumerate() {
        let ch = match c {
            b'\r' => Some('\n'),
            b'\t' | 0x20..=0x7E => Some(c as char),
            0xC0..=0xFF => {
                let (s, _, _) = encoding_rs::WINDOWS_1252.decode(std::slice::from_ref(&c));
                s.chars().next().filter(|c| c.is_alphabetic())
            }
            _ => None,
        };
        if let Some(ch) = ch {
            if cur.is_empty() {
                start = k;
            }
            cur.push(ch);
        } else {
            if keep(&cur) && cur.len() >= 2 * MIN_RUN {
                runs.push((start, std::mem::take(&mut cur)));
            }
            cur.clear();
        }
    }
    if keep(&cur) && cur.len() >= 2 * MIN_RUN {
        runs.push((start, cur));
    }
}
