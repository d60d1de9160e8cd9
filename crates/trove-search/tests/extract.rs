//! Attachment extraction on real files from ../shared/data (PDFs from the
//! malformed set, the turkstream leak's .doc, MimeKit's TNEF payloads with real
//! .doc/.pdf/.rtf/.htm) and on DOCX/XLSX/PPTX/ODT fixtures built here; plus a
//! search for text that only occurs inside a PDF attachment.

mod common;

use std::collections::HashSet;
use std::io::{Cursor, Write};
use std::path::Path;

use common::{data_dir, to_doc, tokens};
use mail_parser::{MessageParser, MimeHeaders};
use trove_search::{
    body_text, extract_text, ExtractError, Index, SearchDoc, SearchOptions, DEFAULT_MAX_CHARS,
};
use zip::write::SimpleFileOptions;

/// (filename, content type, decoded bytes) of every attachment of a message file.
fn attachments(path: &Path) -> Vec<(String, String, Vec<u8>)> {
    let raw = std::fs::read(path).unwrap();
    let msg = MessageParser::default().parse(&raw[..]).unwrap();
    msg.attachments()
        .map(|p| {
            let ct = p
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                .unwrap_or_default();
            (
                p.attachment_name().unwrap_or("").to_string(),
                ct,
                p.contents().to_vec(),
            )
        })
        .collect()
}

/// Extracts the attachment called `name` from a message file.
fn extract_attachment(path: &Path, name: &str) -> Result<String, ExtractError> {
    let (n, ct, bytes) = attachments(path)
        .into_iter()
        .find(|(n, _, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in {}", path.display()));
    extract_text(&bytes, Some(&ct), Some(&n), DEFAULT_MAX_CHARS)
}

fn extract_file(path: &Path) -> Result<String, ExtractError> {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    extract_text(&bytes, None, Some(&name), DEFAULT_MAX_CHARS)
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn real_pdfs() {
    let Some(data) = data_dir() else { return };
    let spam = data.join("malformed/spamscope-mail-parser");
    // Sent as application/octet-stream: recognised by its %PDF header.
    let t = squash(
        &extract_attachment(
            &spam.join("mail_test_10.eml"),
            "Move To Eight ZWEP6227F.pdf",
        )
        .unwrap(),
    );
    assert!(t.contains("IBM Power Systems"), "{t:.300}");
    assert!(t.contains("Table of Contents"));
    let t = squash(&extract_attachment(&spam.join("mail_test_2.eml"), "Bollettino.pdf").unwrap());
    assert!(t.contains("BOLLETTINO METEOROLOGICO"), "{t:.300}");
    assert!(t.contains("SITUAZIONE SINOTTICA"));
    // A scanned page: a valid PDF without text.
    let t = extract_attachment(&spam.join("mail_test_7.eml"), "20170609091403417.pdf").unwrap();
    assert!(t.trim().is_empty(), "{t:.300}");
    // ruby-mail's deliberately broken PDF: an error with the reason, no panic.
    let e = extract_attachment(
        &data.join("malformed/ruby-mail/attachment_emails/attachment_pdf.eml"),
        "broken.pdf",
    )
    .unwrap_err();
    assert!(
        matches!(e, ExtractError::Malformed { format: "pdf", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("cross reference"), "{e}");
    // A Norwegian newsletter from a TNEF blob, with its letters intact.
    let t = squash(
        &extract_file(&data.join("malformed/mimekit/tnef/MAPI_ATTACH_DATA_OBJ/VIA_Nytt_1402.pdf"))
            .unwrap(),
    );
    assert!(
        t.contains("VIA Flyspesialisten ønsker den nye konkurransesituasjonen"),
        "{t:.300}"
    );
}

#[test]
fn real_word_documents_heuristic() {
    let Some(data) = data_dir() else { return };
    // The turkstream leak's Russian .doc (UTF-16 text, RFC 2231 koi8-r file name).
    let msg = data.join("dkim/leaked-real/turkstream-roadmap/Message14960479880043215677.eml");
    let att = attachments(&msg);
    assert_eq!(att.len(), 1);
    assert_eq!(att[0].0, "Road-map_RUS_clean с коррективами.doc");
    let t = squash(
        &extract_text(
            &att[0].2,
            Some(&att[0].1),
            Some(&att[0].0),
            DEFAULT_MAX_CHARS,
        )
        .unwrap(),
    );
    assert!(
        t.starts_with("ДОРОЖНАЯ КАРТА реализации проекта строительства"),
        "{t:.300}"
    );
    assert!(t.contains("Республики Болгарии"));
    // A Norwegian .doc stored as 8-bit text: windows-1252 letters survive.
    let t = squash(
        &extract_file(&data.join("malformed/mimekit/tnef/MAPI_ATTACH_DATA_OBJ/VIA_Nytt_1402.doc"))
            .unwrap(),
    );
    assert!(
        t.contains("VIA Flyspesialisten ønsker den nye konkurransesituasjonen"),
        "{t:.300}"
    );
}

#[test]
fn real_rtf_and_html_from_tnef() {
    let Some(data) = data_dir() else { return };
    let tnef = data.join("malformed/mimekit/tnef");
    let t = squash(&extract_file(&tnef.join("MAPI_ATTACH_DATA_OBJ/message.rtf")).unwrap());
    assert!(
        t.starts_with("Det er jo en velkjent sak at bodødamene er noe mer jålete/velkledde"),
        "{t:.200}"
    );
    assert!(
        !t.contains('\\') && !t.contains('{'),
        "control words left: {t:.300}"
    );
    let t = extract_file(&tnef.join("triples/message.rtf")).unwrap();
    assert_eq!(t.trim(), "Sample description");
    let t = squash(&extract_file(&tnef.join("body/message.html")).unwrap());
    assert!(
        t.starts_with("THE BILL OF RIGHTS Amendments 1-10 of the Constitution"),
        "{t:.200}"
    );
    // An untyped text file (no extension) is recognised as text.
    let t = extract_file(&tnef.join("two-files/AUTHORS")).unwrap();
    assert!(!t.is_empty());
    // A JPEG is not text.
    assert!(matches!(
        extract_file(&tnef.join("attachments/zappa_av1.jpg")),
        Err(ExtractError::Unsupported { .. })
    ));
}

#[test]
fn every_attachment_in_the_malformed_set_extracts_or_fails_cleanly() {
    let Some(data) = data_dir() else { return };
    let index = std::fs::read_to_string(data.join("attachments/INDEX.tsv")).unwrap();
    let mut files: Vec<&str> = index
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    files.retain(|f| !f.starts_with("corpora/"));
    files.dedup();
    let (mut ok, mut failed) = (0, 0);
    for f in files {
        let path = data.join(f);
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let Some(msg) = MessageParser::default().parse(&raw[..]) else {
            continue;
        };
        for p in msg.attachments() {
            let ct = p
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")));
            match extract_text(p.contents(), ct.as_deref(), p.attachment_name(), 10_000) {
                Ok(t) => {
                    assert!(t.chars().count() <= 10_000);
                    ok += 1;
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    failed += 1;
                }
            }
        }
    }
    println!("{ok} extracted, {failed} refused with a reason");
    assert!(ok > 20);
}

fn zip_of(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in parts {
        w.start_file(*name, SimpleFileOptions::default()).unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

#[test]
fn office_documents_built_here() {
    let docx = zip_of(&[
        ("[Content_Types].xml", "<Types/>"),
        (
            "word/document.xml",
            &format!(
                r#"<?xml version="1.0"?><w:document {W}><w:body>
                <w:p><w:r><w:t>Quarterly</w:t></w:r><w:r><w:t xml:space="preserve"> ledger &amp; notes</w:t></w:r></w:p>
                <w:p><w:r><w:t>Second</w:t><w:tab/><w:t>para&#233;</w:t></w:r></w:p>
                <w:p><w:pPr><w:rPr><w:b/></w:rPr></w:pPr><w:r><w:instrText>HYPERLINK</w:instrText></w:r></w:p>
                </w:body></w:document>"#
            ),
        ),
    ]);
    let t = extract_text(
        &docx,
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        None,
        1000,
    )
    .unwrap();
    assert_eq!(t, "Quarterly ledger & notes\nSecond\tparaé");

    let xlsx = zip_of(&[
        (
            "xl/sharedStrings.xml",
            r#"<sst><si><t>Name</t></si><si><t>Amount</t></si><si><r><t>Acme</t></r><r><t> Corp</t></r></si></sst>"#,
        ),
        (
            "xl/worksheets/sheet1.xml",
            r#"<worksheet><sheetData><row><c t="s"><v>0</v></c><c t="inlineStr"><is><t>inline cell</t></is></c></row></sheetData></worksheet>"#,
        ),
    ]);
    let t = extract_text(&xlsx, None, Some("book.xlsx"), 1000).unwrap();
    assert_eq!(t, "Name\nAmount\nAcme Corp\n\tinline cell");

    let pptx = zip_of(&[
        (
            "ppt/slides/slide2.xml",
            r#"<p:sld><a:p><a:r><a:t>Second slide</a:t></a:r></a:p></p:sld>"#,
        ),
        (
            "ppt/slides/slide10.xml",
            r#"<p:sld><a:p><a:r><a:t>Tenth slide</a:t></a:r></a:p></p:sld>"#,
        ),
        (
            "ppt/slides/slide1.xml",
            r#"<p:sld><a:p><a:r><a:t>First slide</a:t></a:r></a:p></p:sld>"#,
        ),
    ]);
    let t = extract_text(&pptx, None, Some("deck.pptx"), 1000).unwrap();
    assert_eq!(t, "First slide\nSecond slide\nTenth slide");

    let odt = zip_of(&[
        ("mimetype", "application/vnd.oasis.opendocument.text"),
        (
            "content.xml",
            r#"<office:document-content><office:body><office:text>
            <text:h>Title</text:h><text:p>Body <text:span>with span</text:span><text:s/>and<text:tab/>tab</text:p>
            </office:text></office:body></office:document-content>"#,
        ),
    ]);
    let t = extract_text(
        &odt,
        Some("application/vnd.oasis.opendocument.text"),
        Some("a.odt"),
        1000,
    )
    .unwrap();
    assert_eq!(squash(&t), "Title Body with span and tab");

    // Output cap.
    let t = extract_text(&docx, None, Some("x.docx"), 9).unwrap();
    assert_eq!(t, "Quarterly");

    // A zip that is not an office document.
    let plain = zip_of(&[("notes.txt", "hello")]);
    assert!(matches!(
        extract_text(&plain, None, Some("a.zip"), 100),
        Err(ExtractError::Unsupported { .. })
    ));
}

#[test]
fn zip_bomb_is_bounded() {
    // 200 MB of XML compressing to a few hundred KB.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("word/document.xml", opts).unwrap();
    w.write_all(format!("<w:document {W}><w:body><w:p><w:r><w:t>").as_bytes())
        .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..200 {
        w.write_all(&chunk).unwrap();
    }
    w.write_all(b"</w:t></w:r></w:p></w:body></w:document>")
        .unwrap();
    let bytes = w.finish().unwrap().into_inner();
    assert!(bytes.len() < 2_000_000, "{}", bytes.len());
    let t = extract_text(&bytes, None, Some("bomb.docx"), 1000).unwrap();
    assert_eq!(t.len(), 1000);
}

#[test]
fn text_only_in_a_pdf_attachment_is_found() {
    let Some(data) = data_dir() else { return };
    let raw = std::fs::read(data.join("malformed/spamscope-mail-parser/mail_test_10.eml")).unwrap();
    let doc = to_doc(7, &raw);
    let pdf_text = doc
        .attachments
        .iter()
        .filter_map(|a| a.text.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!pdf_text.is_empty(), "the PDF was not extracted");
    // Words of the PDF that appear nowhere else in the message.
    let elsewhere: HashSet<String> = tokens(&format!(
        "{} {} {:?} {:?}",
        doc.subject,
        body_text(&doc),
        doc.from,
        doc.attachments
            .iter()
            .map(|a| &a.filename)
            .collect::<Vec<_>>()
    ))
    .into_iter()
    .collect();
    let only_pdf: Vec<String> = tokens(&pdf_text)
        .into_iter()
        .filter(|t| t.len() > 6 && t.chars().all(char::is_alphabetic) && !elsewhere.contains(t))
        .collect();
    assert!(!only_pdf.is_empty());
    let ix = Index::create_in_ram().unwrap();
    let mut w = ix.writer_with_heap(20_000_000).unwrap();
    w.add(&doc).unwrap();
    w.add(&SearchDoc {
        id: 8,
        subject: "unrelated".into(),
        body_text: "nothing to see".into(),
        ..SearchDoc::default()
    })
    .unwrap();
    w.commit().unwrap();
    for word in only_pdf.iter().take(5) {
        for q in [word.clone(), format!("attachment:{word}")] {
            let r = ix.search(&q, &SearchOptions::default()).unwrap();
            assert_eq!(
                r.hits.iter().map(|h| h.id).collect::<Vec<_>>(),
                vec![7],
                "{q}"
            );
            assert!(
                r.hits[0].snippet.contains("<b>"),
                "{q}: {}",
                r.hits[0].snippet
            );
        }
        let r = ix
            .search(&format!("body:{word}"), &SearchOptions::default())
            .unwrap();
        assert_eq!(r.total, 0);
    }
    let r = ix
        .search("filename:eight has:attachment", &SearchOptions::default())
        .unwrap();
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![7]);
}
