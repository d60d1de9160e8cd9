//! The Atom feed (RFC 4287): one entry per release, regenerated from every manifest.

use trove_publication::{layout, Publication};

use crate::rfc3339;

fn esc(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// The feed for `publication`, newest release first. Links are relative to the
/// publication's root, so the feed works from any mirror.
pub fn atom(publication: &Publication) -> Vec<u8> {
    let d = publication.descriptor();
    let id = publication.id().to_hex();
    let updated = publication
        .manifests()
        .last()
        .map(|m| m.published_at)
        .unwrap_or(d.created_at);
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!("  <title>{}</title>\n", esc(&d.name)));
    out.push_str(&format!("  <subtitle>{}</subtitle>\n", esc(&d.description)));
    out.push_str(&format!("  <id>urn:trove:{id}</id>\n"));
    out.push_str(&format!(
        "  <updated>{}</updated>\n",
        rfc3339(updated as i64)
    ));
    out.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        esc(&d.name)
    ));
    for m in publication.manifests().iter().rev() {
        let last = m.first_id + m.messages.len() as u64;
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <title>{}</title>\n", esc(&m.title)));
        out.push_str(&format!(
            "    <id>urn:trove:{id}:release:{}</id>\n",
            m.release
        ));
        out.push_str(&format!(
            "    <updated>{}</updated>\n",
            rfc3339(m.published_at as i64)
        ));
        out.push_str(&format!(
            "    <link rel=\"alternate\" type=\"application/json\" href=\"{}\"/>\n",
            layout::manifest_path(m.release)
        ));
        for f in &m.files {
            out.push_str(&format!(
                "    <link rel=\"enclosure\" type=\"{}\" length=\"{}\" href=\"{}\"/>\n",
                esc(&f.content_type),
                f.size,
                esc(&f.path)
            ));
        }
        let range = if m.messages.is_empty() {
            "no messages".to_string()
        } else {
            format!(
                "{} messages, emailid {}–{}",
                m.messages.len(),
                m.first_id,
                last - 1
            )
        };
        out.push_str(&format!("    <summary>{}</summary>\n", esc(&range)));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out.into_bytes()
}
