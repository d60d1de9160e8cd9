//! TNEF (winmail.dat) unpacking against MimeKit's real samples in `../shared/data`: each
//! `X.tnef` must yield the attachments its `X.list` names (the message bodies `body.rtf` /
//! `body.html` are not attachments), with the bytes of the files in folder `X/`.

mod common;

use std::collections::BTreeMap;

use trove_vault::tnef;

#[test]
fn mimekit_tnef_samples() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = data.join("malformed/mimekit/tnef");
    let mut checked = 0;
    let mut names_ok = 0;
    let mut lists = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "tnef") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        // Never panics, whatever the input; "panic.tnef" and "garbage-at-end.tnef" included.
        let files = tnef::unpack(&bytes);
        let list = p.with_extension("list");
        let Ok(expected) = std::fs::read_to_string(&list) else {
            continue;
        };
        lists += 1;
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        for name in expected.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if name != "body.rtf" && name != "body.html" {
                *want.entry(name.to_string()).or_default() += 1;
            }
        }
        let files = files.unwrap_or_default();
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        for f in &files {
            *got.entry(f.filename.clone()).or_default() += 1;
        }
        if got == want {
            names_ok += 1;
        }
        // Where MimeKit ships the extracted file, our bytes must equal it.
        let folder = p.with_extension("");
        for f in &files {
            let on_disk = folder.join(&f.filename);
            if let Ok(b) = std::fs::read(&on_disk) {
                // MimeKit's repository stores text files with LF endings (git normalisation),
                // while the TNEF stream carries the original CRLF: compare both ways.
                let lf = |v: &[u8]| {
                    String::from_utf8_lossy(v)
                        .replace("\r\n", "\n")
                        .into_bytes()
                };
                // For PT_OBJECT attachments MimeKit keeps the 16-byte interface id in front of
                // the object; trove strips it so the file is the embedded OLE document itself.
                let same = b == f.data || lf(&b) == lf(&f.data) || b.get(16..) == Some(&f.data[..]);
                assert!(same, "{}: bytes of {}", p.display(), f.filename);
                checked += 1;
            }
        }
    }
    eprintln!("tnef: {names_ok}/{lists} samples give exactly the listed attachments; {checked} files byte-identical");
    assert!(checked >= 10, "only {checked} files compared");
    assert!(
        names_ok * 10 >= lists * 8,
        "only {names_ok} of {lists} samples match their list"
    );
}
