//! The tantivy schema: which fields exist, how they are tokenised, and how a
//! [`SearchDoc`] becomes a tantivy document.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::TantivyDocument;

use crate::doc::SearchDoc;
use crate::html::html_to_text;

/// Name of the tokenizer registered on every index this crate opens.
pub(crate) const TOKENIZER: &str = "trove";
/// Tokens longer than this many bytes (base64 runs, hashes) are not indexed.
pub const MAX_TOKEN_BYTES: usize = 40;
/// At most this many bytes of body (and of attachment text) are stored for snippets.
pub const SNIPPET_SOURCE_BYTES: usize = 32 * 1024;
/// At most this many bytes of body text are indexed per message.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The analyzer used for every text field: split on anything that is not a
/// letter or digit, drop tokens over [`MAX_TOKEN_BYTES`], lower-case. No
/// stemming and no accent folding, so what matches is easy to predict.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES + 1))
        .filter(LowerCaser)
        .build()
}

/// Handles of every field in the schema.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub id: Field,
    pub message_id: Field,
    pub from: Field,
    pub to: Field,
    pub cc: Field,
    pub from_addr: Field,
    pub to_addr: Field,
    pub cc_addr: Field,
    pub from_display: Field,
    pub subject: Field,
    pub body: Field,
    pub body_stored: Field,
    pub attachment: Field,
    pub attachment_stored: Field,
    pub filename: Field,
    /// Catch-all: the text of from, to, cc, subject, body, attachments and file names in
    /// one field, so a word without `field:` is one posting list (block-max WAND, one
    /// dictionary lookup) instead of a union over seven fields.
    pub all: Field,
    pub date: Field,
    pub thread: Field,
    pub list: Field,
    pub dkim: Field,
    pub release: Field,
    pub has_attachment: Field,
    pub stamp: Field,
}

pub(crate) const FROM_ADDR: &str = "from_addr";
pub(crate) const TO_ADDR: &str = "to_addr";
pub(crate) const CC_ADDR: &str = "cc_addr";
pub(crate) const DATE: &str = "date";
pub(crate) const ID: &str = "id";
pub(crate) const STAMP: &str = "stamp";

/// Builds the schema and returns it with its field handles.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let stored_text = text.clone().set_stored();
    let num = NumericOptions::default();
    let fields = Fields {
        id: b.add_u64_field(ID, num.clone().set_indexed().set_fast().set_stored()),
        message_id: b.add_text_field("message_id", STRING),
        from: b.add_text_field("from", text.clone()),
        to: b.add_text_field("to", text.clone()),
        cc: b.add_text_field("cc", text.clone()),
        from_addr: b.add_text_field(FROM_ADDR, STRING | FAST),
        to_addr: b.add_text_field(TO_ADDR, STRING | FAST),
        cc_addr: b.add_text_field(CC_ADDR, STRING | FAST),
        from_display: b.add_text_field("from_display", STORED),
        subject: b.add_text_field("subject", stored_text),
        body: b.add_text_field("body", text.clone()),
        body_stored: b.add_text_field("body_stored", STORED),
        attachment: b.add_text_field("attachment", text.clone()),
        attachment_stored: b.add_text_field("attachment_stored", STORED),
        filename: b.add_text_field("filename", text.clone()),
        all: b.add_text_field("all", text.clone()),
        date: b.add_i64_field(DATE, INDEXED | FAST | STORED),
        thread: b.add_u64_field("thread", INDEXED | FAST),
        list: b.add_text_field("list", text),
        dkim: b.add_text_field("dkim", STRING),
        release: b.add_u64_field("release", INDEXED | FAST | STORED),
        has_attachment: b.add_u64_field("has_attachment", INDEXED | FAST),
        stamp: b.add_u64_field(STAMP, FAST),
    };
    (b.build(), fields)
}

/// Cuts `s` to at most `max` bytes on a char boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The text indexed as a message's body: the plain text, or the HTML body
/// converted to text when there is no plain text.
pub fn body_text(doc: &SearchDoc) -> String {
    if !doc.body_text.trim().is_empty() {
        truncate(&doc.body_text, MAX_BODY_BYTES).to_string()
    } else if let Some(html) = &doc.body_html {
        html_to_text(truncate(html, MAX_BODY_BYTES))
    } else {
        String::new()
    }
}

impl Fields {
    /// Converts a [`SearchDoc`] to a tantivy document.
    pub(crate) fn to_document(&self, d: &SearchDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.id, d.id);
        doc.add_text(
            self.message_id,
            d.message_id.trim().trim_matches(|c| c == '<' || c == '>'),
        );
        for (list, text, addr) in [
            (&d.from, self.from, self.from_addr),
            (&d.to, self.to, self.to_addr),
            (&d.cc, self.cc, self.cc_addr),
        ] {
            for a in list {
                let name = a.name.as_deref().unwrap_or("");
                let both = format!("{name} {}", a.addr);
                doc.add_text(text, both.trim());
                doc.add_text(self.all, both.trim());
                let lower = a.addr.trim().to_lowercase();
                if !lower.is_empty() {
                    doc.add_text(addr, lower);
                }
            }
        }
        let display: Vec<String> = d.from.iter().map(|a| a.display()).collect();
        doc.add_text(self.from_display, display.join(", "));
        doc.add_text(self.subject, &d.subject);
        doc.add_text(self.all, &d.subject);
        let body = body_text(d);
        doc.add_text(self.body_stored, truncate(&body, SNIPPET_SOURCE_BYTES));
        doc.add_text(self.all, &body);
        doc.add_text(self.body, body);
        let mut stored_left = SNIPPET_SOURCE_BYTES;
        for a in &d.attachments {
            if !a.filename.is_empty() {
                doc.add_text(self.filename, &a.filename);
                doc.add_text(self.all, &a.filename);
            }
            if let Some(t) = a.text.as_deref().filter(|t| !t.is_empty()) {
                doc.add_text(self.attachment, t);
                doc.add_text(self.all, t);
                if stored_left > 0 {
                    let part = truncate(t, stored_left);
                    stored_left -= part.len();
                    doc.add_text(self.attachment_stored, part);
                }
            }
        }
        if let Some(date) = d.date {
            doc.add_i64(self.date, date);
        }
        doc.add_u64(self.thread, d.thread);
        if let Some(list) = &d.list {
            doc.add_text(self.list, list);
        }
        doc.add_text(self.dkim, d.dkim.as_str());
        if let Some(r) = d.release {
            doc.add_u64(self.release, u64::from(r));
        }
        doc.add_u64(
            self.has_attachment,
            u64::from(d.has_attachment || !d.attachments.is_empty()),
        );
        doc.add_u64(self.stamp, d.stamp);
        doc
    }
}
