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
    // Same as comparing organizational_domain(a) and (b), without building either: this
    // runs for every signature.
    org_suffix(a).eq_ignore_ascii_case(org_suffix(b))
}

/// The organisational domain as a slice of `domain` (case as written): the lower-cased
/// string [`organizational_domain`] builds is exactly this suffix lower-cased, since ASCII
/// lower-casing keeps every byte in place.
fn org_suffix(domain: &str) -> &str {
    let domain = domain.trim().trim_end_matches('.');
    // Byte offsets just after the last three dots (labels counted from the right).
    let mut dots = domain.rmatch_indices('.').map(|(i, _)| i + 1);
    let (Some(last), Some(second)) = (dots.next(), dots.next()) else {
        return domain; // at most two labels
    };
    let tld = &domain[last..];
    let sld = &domain[second..last - 1];
    let three = tld.len() == 2 && SECOND_LEVEL.iter().any(|l| l.eq_ignore_ascii_case(sld));
    if three {
        domain.get(dots.next().unwrap_or(0)..).unwrap_or(domain)
    } else {
        &domain[second..]
    }
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
    fn suffix_is_the_organisational_domain() {
        for d in [
            "",
            ".",
            "localhost",
            "a.b",
            "A.B.",
            " Mail.Gmail.COM. ",
            "x.CO.uk",
            "co.uk",
            "a.co.uk",
            "b.a.Com.Au",
            "a..b",
            "..",
            "a.b.c.d.e.f",
            "x.y.org.z",
            "x.ORG.ab",
            "x.com.abc",
            "é.co.uk",
            "a.b.co.u",
        ] {
            assert_eq!(
                org_suffix(d).to_ascii_lowercase(),
                organizational_domain(d),
                "{d:?}"
            );
        }
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
