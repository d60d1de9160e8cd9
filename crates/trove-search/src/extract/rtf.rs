//! RTF to text: a control-word stripper. Skips destinations that hold no body
//! text (font and colour tables, style sheets, pictures, `{\*…}` groups),
//! turns `\par`/`\line`/`\tab` into whitespace, and decodes `\'hh` bytes in
//! the document's code page (`\ansicpgN`, default windows-1252) and `\uN`
//! characters (skipping their `\ucN` fallback characters). Linear time; group
//! nesting is tracked with a counter stack of bounded size.

use encoding_rs::{Encoding, WINDOWS_1252};

const SKIP_DESTINATIONS: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "fldinst",
    "filetbl",
    "revtbl",
    "pgdsctbl",
    "header",
    "footer",
    "headerl",
    "headerr",
    "footerl",
    "footerr",
    "bkmkstart",
    "bkmkend",
    "mmathPr",
    "wgrffmtfilter",
    "nonshppict",
    "shppict",
    "objdata",
    "private",
];
/// Deeper groups are treated as text of their parent (no state is pushed).
const MAX_GROUP_DEPTH: usize = 1000;

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    uc: usize,
}

pub(crate) fn extract(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut enc: &'static Encoding = WINDOWS_1252;
    let mut stack: Vec<Group> = Vec::new();
    let mut cur = Group { skip: false, uc: 1 };
    let mut group_start = false;
    let mut skip_fallback = 0usize;
    let mut i = 0;
    let flush = |pending: &mut Vec<u8>, out: &mut String, enc: &'static Encoding| {
        if !pending.is_empty() {
            out.push_str(&enc.decode_without_bom_handling(pending).0);
            pending.clear();
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'{' => {
                flush(&mut pending, &mut out, enc);
                if stack.len() < MAX_GROUP_DEPTH {
                    stack.push(cur);
                }
                group_start = true;
                i += 1;
                continue;
            }
            b'}' => {
                flush(&mut pending, &mut out, enc);
                if let Some(g) = stack.pop() {
                    cur = g;
                }
                group_start = false;
                skip_fallback = 0;
                i += 1;
                continue;
            }
            b'\\' => {
                let Some(&n) = bytes.get(i + 1) else { break };
                if n.is_ascii_alphabetic() {
                    let ws = i + 1;
                    let mut j = ws;
                    while j < bytes.len() && bytes[j].is_ascii_alphabetic() && j - ws < 32 {
                        j += 1;
                    }
                    let word = std::str::from_utf8(&bytes[ws..j]).unwrap_or("");
                    let ps = j;
                    if j < bytes.len() && bytes[j] == b'-' {
                        j += 1;
                    }
                    while j < bytes.len() && bytes[j].is_ascii_digit() && j - ps < 11 {
                        j += 1;
                    }
                    let param: Option<i64> = std::str::from_utf8(&bytes[ps..j])
                        .ok()
                        .and_then(|p| p.parse().ok());
                    if j < bytes.len() && bytes[j] == b' ' {
                        j += 1;
                    }
                    i = j;
                    if group_start && SKIP_DESTINATIONS.contains(&word) {
                        cur.skip = true;
                    }
                    group_start = false;
                    if cur.skip {
                        continue;
                    }
                    match word {
                        "par" | "line" | "sect" | "page" | "row" => {
                            flush(&mut pending, &mut out, enc);
                            out.push('\n');
                        }
                        "tab" | "cell" => {
                            flush(&mut pending, &mut out, enc);
                            out.push('\t');
                        }
                        "ansicpg" => {
                            if let Some(e) = param.and_then(|p| {
                                Encoding::for_label(format!("windows-{p}").as_bytes())
                            }) {
                                enc = e;
                            }
                        }
                        "uc" => cur.uc = param.unwrap_or(1).clamp(0, 10) as usize,
                        "u" => {
                            flush(&mut pending, &mut out, enc);
                            if let Some(p) = param {
                                let v = if p < 0 { p + 65_536 } else { p };
                                if let Some(ch) = u32::try_from(v).ok().and_then(char::from_u32) {
                                    out.push(ch);
                                }
                            }
                            skip_fallback = cur.uc;
                        }
                        _ => {}
                    }
                    continue;
                }
                group_start = false;
                i += 2;
                match n {
                    b'*' => cur.skip = true,
                    b'\'' => {
                        let hex = bytes
                            .get(i..i + 2)
                            .and_then(|h| std::str::from_utf8(h).ok());
                        if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            i += 2;
                            if skip_fallback > 0 {
                                skip_fallback -= 1;
                            } else if !cur.skip {
                                pending.push(b);
                            }
                        }
                    }
                    b'\\' | b'{' | b'}' if !cur.skip => {
                        flush(&mut pending, &mut out, enc);
                        out.push(n as char);
                    }
                    b'~' if !cur.skip => out.push('\u{a0}'),
                    b'_' if !cur.skip => out.push('-'),
                    b'\n' | b'\r' if !cur.skip => {
                        flush(&mut pending, &mut out, enc);
                        out.push('\n');
                    }
                    _ => {}
                }
                continue;
            }
            b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        group_start = false;
        i += 1;
        if cur.skip {
            continue;
        }
        if skip_fallback > 0 {
            skip_fallback -= 1;
            continue;
        }
        pending.push(c);
    }
    flush(&mut pending, &mut out, enc);
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::extract;

    #[test]
    fn strips_control_words() {
        let rtf =
            br"{\rtf1\ansi\ansicpg1251{\fonttbl{\f0 Times;}}{\colortbl;\red0;}{\*\generator Foo;}
\pard Hello \b world\b0 !\par
\'cf\'f0\'e8\'e2\'e5\'f2 \u1087?\u1088?\tab end\{x\}}";
        assert_eq!(extract(rtf), "Hello world!\nПривет пр\tend{x}");
        assert_eq!(extract(b"{\\rtf1 unclosed {{{ \\"), "unclosed");
        let deep = "{".repeat(100_000) + "x";
        assert_eq!(extract(deep.as_bytes()), "x");
    }
}
