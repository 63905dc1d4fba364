//! Where a project's people may be sent and who may frame its pages: origins, trusted-domain
//! patterns as Stack writes them, localhost, and the origins a Content-Security-Policy may name.

/// An origin a Content-Security-Policy may name in `frame-ancestors`: http(s), a host of
/// letters, digits, dots and dashes (or an IPv6 literal), perhaps a port, nothing after.
pub(crate) fn is_frame_origin(o: &str) -> bool {
    let Some((scheme, authority)) = o.split_once("://") else {
        return false;
    };
    let host = authority.strip_prefix("*.").unwrap_or(authority);
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && Origin::parse(o).is_some()
}

/// Whether a trusted domain (`https://app.example.com`, or a pattern as Stack allows:
/// `https://*.example.com` for one label, `https://**.example.com` for any depth, a port when
/// the pattern names one, else the scheme's default port) covers an origin.
pub(crate) fn domain_matches(pattern: &str, target: &Origin) -> bool {
    if !pattern.contains('*') {
        return Origin::parse(pattern).is_some_and(|trusted| trusted == *target);
    }
    let Some((scheme, rest)) = pattern.split_once("://") else {
        return false;
    };
    let host_pattern = rest
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !scheme.eq_ignore_ascii_case(&target.scheme) {
        return false;
    }
    if host_pattern.contains(':') {
        host_matches(&host_pattern, &format!("{}:{}", target.host, target.port))
    } else {
        let default_port = if target.scheme == "https" { 443 } else { 80 };
        target.port == default_port && host_matches(&host_pattern, &target.host)
    }
}

/// Glob matching of host names: `**` stands for any characters, `*` for any but a dot.
pub(crate) fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("**") {
        Some(rest) => {
            (0..=host.len()).any(|i| host.is_char_boundary(i) && host_matches(rest, &host[i..]))
        }
        None => match pattern.strip_prefix('*') {
            Some(rest) => {
                let label_end = host.find('.').unwrap_or(host.len());
                (0..=label_end).any(|i| host_matches(rest, &host[i..]))
            }
            None => match (pattern.chars().next(), host.chars().next()) {
                (None, None) => true,
                (Some(p), Some(h)) if p == h => {
                    host_matches(&pattern[p.len_utf8()..], &host[h.len_utf8()..])
                }
                _ => false,
            },
        },
    }
}

/// The scheme, host and port of an http(s) URL: what "same site" is decided on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    pub(crate) fn parse(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        // Credentials and backslashes in the authority are how redirect checks get fooled.
        if authority.is_empty() || authority.contains(['@', '\\']) {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse() {
                Ok(port) => (h, port),
                Err(_) if authority.starts_with('[') && authority.ends_with(']') => {
                    (authority, default_port)
                }
                Err(_) => return None,
            },
            _ => (authority, default_port),
        };
        Some(Origin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    pub(crate) fn is_localhost(&self) -> bool {
        let loopback_v4 = self.host.strip_prefix("127.").is_some_and(|rest| {
            let parts: Vec<_> = rest.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
        loopback_v4
            || matches!(self.host.as_str(), "localhost" | "[::1]")
            || self.host.ends_with(".localhost")
    }
}
