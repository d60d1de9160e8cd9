//! Bulk downloads of a part: an mboxrd file and a zip of `.eml` files, both deterministic
//! (same part, same bytes), so a re-run of an interrupted publish produces the same release.

use std::io::{Cursor, Write};

use crate::release::error::{ReleaseError, Result};
use crate::rfc3339;

/// One message going into the bulk files.
pub(crate) struct BundleItem<'a> {
    pub publication_id: u64,
    pub from_addr: Option<&'a str>,
    pub date: Option<i64>,
    pub raw: &'a [u8],
}

/// `asctime`-style date of the mbox envelope line (`Sat Oct  8 16:30:00 2016`), UTC.
fn asctime(ts: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let s = rfc3339(ts); // YYYY-MM-DDTHH:MM:SSZ
    let month: usize = s.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    let day: u32 = s.get(8..10).and_then(|d| d.parse().ok()).unwrap_or(1);
    format!(
        "{} {} {day:>2} {} {}",
        DAYS[ts.div_euclid(86_400).rem_euclid(7) as usize],
        MONTHS[month.clamp(1, 12) - 1],
        s.get(11..19).unwrap_or("00:00:00"),
        s.get(0..4).unwrap_or("1970")
    )
}

/// The part as one mboxrd file: an envelope line per message (`From ADDR DATE`), body lines
/// matching `^>*From ` get one more `>`, a blank line after each message.
pub(crate) fn mbox(items: &[BundleItem]) -> Vec<u8> {
    let mut out = Vec::new();
    for it in items {
        let addr = it
            .from_addr
            .filter(|a| !a.is_empty() && !a.contains(char::is_whitespace))
            .unwrap_or("MAILER-DAEMON");
        out.extend_from_slice(
            format!("From {addr} {}\n", asctime(it.date.unwrap_or(0))).as_bytes(),
        );
        for line in it.raw.split_inclusive(|&b| b == b'\n') {
            let rest = line.iter().position(|&b| b != b'>').map(|i| &line[i..]);
            if rest.is_some_and(|r| r.starts_with(b"From ")) {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !it.raw.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

/// The part as a zip of `NNNNNN.eml` (publication id), raw bytes, fixed timestamps and modes.
pub(crate) fn eml_zip(items: &[BundleItem]) -> Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let err = |e: String| ReleaseError::Io {
        path: "eml.zip".into(),
        source: std::io::Error::other(e),
    };
    for it in items {
        z.start_file(format!("{:06}.eml", it.publication_id), opts)
            .map_err(|e| err(e.to_string()))?;
        z.write_all(it.raw).map_err(|e| err(e.to_string()))?;
    }
    Ok(z.finish().map_err(|e| err(e.to_string()))?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mboxrd_quotes_from_lines() {
        let raw = b"Subject: x\n\nFrom here\n>From there\nFromage\n";
        let m = mbox(&[BundleItem {
            publication_id: 1,
            from_addr: Some("a@b.org"),
            date: Some(1_475_944_200),
            raw,
        }]);
        let text = String::from_utf8(m).unwrap();
        assert_eq!(
            text,
            "From a@b.org Sat Oct  8 16:30:00 2016\nSubject: x\n\n>From here\n>>From there\nFromage\n\n"
        );
    }

    #[test]
    fn zip_is_deterministic() {
        let items = [BundleItem {
            publication_id: 3,
            from_addr: None,
            date: None,
            raw: b"Subject: y\n\nbody\n",
        }];
        assert_eq!(eml_zip(&items).unwrap(), eml_zip(&items).unwrap());
    }
}
