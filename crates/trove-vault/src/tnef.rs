//! Unpacking Outlook's TNEF (`winmail.dat`, `application/ms-tnef`) into its attached files.
//!
//! TNEF ([MS-OXTNEF]) is a flat list of attributes: `level (u8) | id (u32) | length (u32) |
//! data | checksum (u16)`. An attachment starts with `attAttachRendData`; its file name is in
//! `attAttachTitle` (an 8.3 name) or, better, in the MAPI property `PR_ATTACH_LONG_FILENAME`
//! inside `attAttachment`; its bytes are in `attAttachData` or the MAPI property
//! `PR_ATTACH_DATA_OBJ`. Only attachments are taken out: the message body (compressed RTF)
//! stays in the stored `winmail.dat`, which is kept whole as an attachment of its own.
//!
//! Written here rather than taken from the `tnef` crate, which is unmaintained since 2018,
//! ignores long file names and drops any attachment missing one of six attributes.

/// One file found inside a TNEF stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnefFile {
    /// Best file name found (long name, else title, else `Untitled Attachment`).
    pub filename: String,
    /// MIME type if the sender recorded one (`PR_ATTACH_MIME_TAG`).
    pub content_type: Option<String>,
    /// The file's bytes.
    pub data: Vec<u8>,
}

const SIGNATURE: u32 = 0x223E_9F78;
const LVL_ATTACHMENT: u8 = 2;
const ATT_ATTACH_REND_DATA: u32 = 0x9002;
const ATT_ATTACH_TITLE: u32 = 0x8010;
const ATT_ATTACH_DATA: u32 = 0x800F;
const ATT_ATTACHMENT: u32 = 0x9005;

const PR_ATTACH_DATA_OBJ: u16 = 0x3701;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_DISPLAY_NAME: u16 = 0x3001;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;

/// True when `bytes` start with the TNEF signature.
pub fn is_tnef(bytes: &[u8]) -> bool {
    bytes.len() >= 6 && u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) == SIGNATURE
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn align4(&mut self, len: usize) -> Option<()> {
        let pad = (4 - len % 4) % 4;
        self.take(pad).map(|_| ())
    }
}

#[derive(Default)]
struct Pending {
    title: Option<String>,
    long_name: Option<String>,
    display_name: Option<String>,
    mime: Option<String>,
    data: Option<Vec<u8>>,
}

impl Pending {
    fn finish(self) -> Option<TnefFile> {
        let data = self.data?;
        let filename = self
            .long_name
            .or(self.title)
            .or(self.display_name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Untitled Attachment".to_string());
        Some(TnefFile {
            filename,
            content_type: self.mime,
            data,
        })
    }
}

/// Decodes an 8-bit TNEF string (NUL-terminated, usually in the sender's code page).
fn string8(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let bytes = &data[..end];
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        // Latin-1 is the common Outlook default; every byte maps to one char.
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn utf16(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Unpacks every attached file; `Err` says why the stream could not be read.
///
/// Files read before a corrupt attribute are returned only on success; a stream with garbage
/// after a complete final attachment still yields its files.
pub fn unpack(bytes: &[u8]) -> Result<Vec<TnefFile>, String> {
    if !is_tnef(bytes) {
        return Err("not a TNEF stream (bad signature)".into());
    }
    let mut c = Cursor { buf: bytes, pos: 6 };
    let mut files = Vec::new();
    let mut cur: Option<Pending> = None;
    while c.pos < bytes.len() {
        let start = c.pos;
        let (Some(level), Some(id), Some(len)) = (c.u8(), c.u32(), c.u32()) else {
            break; // trailing garbage shorter than a header
        };
        let Some(data) = c.take(len as usize) else {
            if files.is_empty() && cur.is_none() {
                return Err(format!("attribute at offset {start} runs past the end"));
            }
            break;
        };
        if c.u16().is_none() {
            break;
        }
        if level != LVL_ATTACHMENT {
            continue;
        }
        match id & 0xFFFF {
            ATT_ATTACH_REND_DATA => {
                if let Some(done) = cur.take().and_then(Pending::finish) {
                    files.push(done);
                }
                cur = Some(Pending::default());
            }
            ATT_ATTACH_TITLE => {
                cur.get_or_insert_with(Default::default).title = Some(string8(data))
            }
            ATT_ATTACH_DATA => cur.get_or_insert_with(Default::default).data = Some(data.to_vec()),
            ATT_ATTACHMENT => {
                let p = cur.get_or_insert_with(Default::default);
                read_props(data, p);
            }
            _ => {}
        }
    }
    if let Some(done) = cur.take().and_then(Pending::finish) {
        files.push(done);
    }
    Ok(files)
}

/// Reads the MAPI property list of one attachment, keeping the few properties trove uses.
/// Malformed lists are read as far as they go.
fn read_props(buf: &[u8], p: &mut Pending) {
    let mut c = Cursor { buf, pos: 0 };
    let Some(count) = c.u32() else { return };
    for _ in 0..count.min(10_000) {
        let (Some(ptype), Some(pid)) = (c.u16(), c.u16()) else {
            return;
        };
        if pid >= 0x8000 {
            // Named property: GUID, kind, then a numeric id or a UTF-16 name.
            if c.take(16).is_none() {
                return;
            }
            match c.u32() {
                Some(0) => {
                    if c.u32().is_none() {
                        return;
                    }
                }
                Some(_) => {
                    let Some(n) = c.u32() else { return };
                    if c.take(n as usize).is_none() || c.align4(n as usize).is_none() {
                        return;
                    }
                }
                None => return,
            }
        }
        let multi = ptype & 0x1000 != 0;
        let base = ptype & 0x0FFF;
        let variable = matches!(base, 0x001E | 0x001F | 0x0102 | 0x000D);
        let fixed = match base {
            0x0001 => Some(0),
            0x0002 | 0x0003 | 0x0004 | 0x000A | 0x000B => Some(4),
            0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8),
            0x0048 => Some(16),
            _ => None,
        };
        let n_values = if multi || variable {
            match c.u32() {
                Some(n) => n.min(100_000),
                None => return,
            }
        } else {
            1
        };
        for _ in 0..n_values {
            if variable {
                let Some(len) = c.u32() else { return };
                let Some(val) = c.take(len as usize) else {
                    return;
                };
                if c.align4(len as usize).is_none() {
                    return;
                }
                let text = |v: &[u8]| {
                    if base == 0x001F {
                        utf16(v)
                    } else {
                        string8(v)
                    }
                };
                match pid {
                    PR_ATTACH_LONG_FILENAME => p.long_name = Some(text(val)),
                    PR_ATTACH_FILENAME if p.title.is_none() => p.title = Some(text(val)),
                    PR_DISPLAY_NAME => p.display_name = Some(text(val)),
                    PR_ATTACH_MIME_TAG => p.mime = Some(text(val)),
                    PR_ATTACH_DATA_OBJ if p.data.is_none() => {
                        // PT_OBJECT values start with the 16-byte interface id.
                        let body = if base == 0x000D {
                            val.get(16..).unwrap_or(&[])
                        } else {
                            val
                        };
                        p.data = Some(body.to_vec());
                    }
                    _ => {}
                }
            } else if let Some(size) = fixed {
                if c.take(size).is_none() {
                    return;
                }
            } else {
                return; // unknown type: cannot know its size, stop reading this list
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(level: u8, id: u32, data: &[u8]) -> Vec<u8> {
        let mut v = vec![level];
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        let sum: u32 = data.iter().map(|&b| b as u32).sum();
        v.extend_from_slice(&((sum & 0xFFFF) as u16).to_le_bytes());
        v
    }

    #[test]
    fn unpacks_a_hand_built_stream() {
        let mut s = SIGNATURE.to_le_bytes().to_vec();
        s.extend_from_slice(&[0x01, 0x00]);
        s.extend(attr(1, 0x0008_8008, b"IPM.Microsoft Mail.Note\0"));
        s.extend(attr(2, 0x0006_9002, &[0; 14]));
        s.extend(attr(2, 0x0001_8010, b"REPORT~1.TXT\0"));
        s.extend(attr(2, 0x0006_800F, b"hello world"));
        assert_eq!(
            unpack(&s).unwrap(),
            vec![TnefFile {
                filename: "REPORT~1.TXT".into(),
                content_type: None,
                data: b"hello world".to_vec()
            }]
        );
        assert!(unpack(b"not tnef at all").is_err());
        // Truncated in the middle of the data: no panic.
        let cut = &s[..s.len() - 5];
        let _ = unpack(cut);
    }
}
