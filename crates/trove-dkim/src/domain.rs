//! Domain syntax and the organisational-domain heuristic behind
//! [`Warning::DomainUnrelatedToFrom`](crate::Warning::DomainUnrelatedToFrom).
//!
//! A full Public Suffix List is overkill for a warning; the heuristic is: the organisational
//! domain is the last two labels, or the last three when the second-to-last label is a common
//! second-level registry label (`co`, `com`, `net`, `org`, `ac`, `gov`, `edu`, `ne`, `or`,
//! `go`, `ltd`, `plc`) under a two-letter country TLD (`example.co.uk`, `example.com.au`).
//! Two domains are related when their organisational domains are equal. So `gmail.com` and
//! `mail.gmail.com` are related; `gappssmtp.com` (Google Workspace signing for `kernel.dk`) and
//! `kernel.dk` are not, which is exactly what a reader should be told.

const SECOND_LEVEL: [&str; 12] = [
    "co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go", "ltd", "plc",
];

/// The organisational domain of `domain` by the heuristic above (lower case, no trailing dot).
pub fn organizational_domain(domain: &str) -> String {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let n = labels.len();
    if n <= 2 {
        return domain;
    }
    let tld = labels[n - 1];
    let take = if tld.len() == 2 && SECOND_LEVEL.contains(&labels[n - 2]) {
        3
    } else {
        2
    };
    labels[n - take..].join(".")
}

/// True when the two domains share an organisational domain.
pub fn domains_related(a: &str, b: &str) -> bool {
    organizational_domain(a) == organizational_domain(b)
}

/// RFC 6376 `domain-name`: dot-separated labels of letters, digits, `-` (and `_`, seen in the
/// wild), none empty, not starting or ending with `-`. Rejects `legitimate.com(.attacker.com`.
pub(crate) fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisational_domains() {
        assert_eq!(organizational_domain("mail.gmail.com"), "gmail.com");
        assert_eq!(organizational_domain("gmail.com."), "gmail.com");
        assert_eq!(organizational_domain("news.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(
            organizational_domain("a.b.example.com.au"),
            "example.com.au"
        );
        assert_eq!(organizational_domain("localhost"), "localhost");
        assert!(domains_related("Gmail.com", "googlemail.gmail.com"));
        assert!(!domains_related(
            "kernel-dk.20210112.gappssmtp.com",
            "kernel.dk"
        ));
    }

    #[test]
    fn domain_syntax() {
        assert!(valid_domain("football.example.com"));
        assert!(valid_domain("_x.example.com"));
        assert!(!valid_domain("legitimate.com(.attacker.com"));
        assert!(!valid_domain("a..b"));
        assert!(!valid_domain(""));
    }
}
