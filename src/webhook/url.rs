//! The webhook URL: parsed strictly, shown only as `scheme://host[:port]`, and judged for
//! whether it may sit in a policy file, which may be committed.
//!
//! A chat webhook's URL is a bearer credential: Slack, Discord and Teams put the token in the
//! path, relays use `user:password@` or the query. The full text stays inside this type: its
//! `Debug`, `Display` and `Serialize` show [`WebhookUrl::redacted`], and
//! [`WebhookUrl::scrub`] cleans messages holding text we did not write: an error body that
//! quotes the request's path (some services answer 404 with it), a library error that quotes the
//! URI.

use base64::Engine as _;
use hyper::Uri;
use hyper::header::HeaderValue;
use std::fmt;
use std::net::Ipv6Addr;

/// Far longer than any webhook URL a chat service hands out (Slack's are about 80 characters).
pub const MAX_LEN: usize = 2048;

/// A path segment at least this long that mixes letters and digits looks like a token.
const TOKEN_MIXED: usize = 16;
/// A path segment at least this long looks like a token whatever its characters.
const TOKEN_ANY: usize = 32;
/// Path segments at least this long are removed from messages by [`WebhookUrl::scrub`]; shorter
/// ones are common words ("api", "hooks") whose removal would garble messages.
const SCRUB_SEGMENT: usize = 8;

/// Hosts whose webhook URLs always carry a token (in the path or the query).
const TOKEN_HOSTS: &[&str] = &[
    "hooks.slack.com",
    "discord.com",
    "discordapp.com",
    "chat.googleapis.com",
    "api.telegram.org",
    "hooks.zapier.com",
];
/// Host suffixes of the same kind (Microsoft Teams' incoming webhooks).
const TOKEN_HOST_SUFFIXES: &[&str] = &[".webhook.office.com"];
/// Path prefixes of webhook URLs that carry their token in the rest of the path: Slack
/// (`/services/T…/B…/…`, `/workflows/…`, `/triggers/…`), Discord (`/api/webhooks/<id>/<token>`),
/// Mattermost, Rocket.Chat and Zapier (`/hooks/…`), Teams (`/webhookb2/…`).
const TOKEN_PATHS: &[&str] = &[
    "/services/",
    "/workflows/",
    "/triggers/",
    "/api/webhooks/",
    "/hooks/",
    "/webhookb2/",
];

/// What is wrong with a URL. The messages never quote the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("is empty")]
    Empty,
    #[error("is {0} characters long; at most {MAX_LEN} are allowed")]
    TooLong(usize),
    #[error("is not UTF-8 text")]
    NotUtf8,
    #[error("has a control character (U+{code:04X}) at character {at}")]
    Control { code: u32, at: usize },
    #[error("has whitespace at character {at}")]
    Whitespace { at: usize },
    #[error(
        "has a non-ASCII character at character {at}: write the host in punycode and percent-encode the path"
    )]
    NonAscii { at: usize },
    #[error("does not start with http:// or https://")]
    Scheme,
    #[error("has no host")]
    NoHost,
    #[error(
        "has a malformed host (allowed: letters, digits, '-', '_' and '.' in labels of 1 to 63 characters, or an [IPv6] literal)"
    )]
    Host,
    #[error("has a port that is not a number from 1 to 65535")]
    Port,
    #[error("has a fragment (#…), which a request never sends")]
    Fragment,
    #[error("has a path or query with characters HTTP does not allow")]
    Path,
}

/// Why a URL may not be written in a policy file: it looks like it carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretShape {
    #[error("carries credentials (user:password@)")]
    Credentials,
    #[error("has a query string, where webhook tokens are often passed")]
    Query,
    #[error("is on {0}, whose webhook URLs carry a token")]
    TokenHost(String),
    #[error("has a path starting with `{0}`, where webhook services put the token")]
    TokenPath(&'static str),
    #[error(
        "has a path segment (number {0}) that looks like a token ({TOKEN_MIXED}+ characters mixing letters and digits, or {TOKEN_ANY}+ characters)"
    )]
    RandomSegment(usize),
}

/// A parsed `http://` or `https://` URL whose text is never shown whole.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// The text as given.
    full: String,
    https: bool,
    /// Lowercased; an IPv6 literal keeps its brackets.
    host: String,
    port: Option<u16>,
    /// `user[:password]`, as written (percent-encoded).
    userinfo: Option<String>,
    /// What hyper is given: no userinfo (sent as an `Authorization` header instead).
    uri: Uri,
}

impl WebhookUrl {
    /// Parses `text` (already trimmed by its source).
    ///
    /// # Errors
    /// The first [`UrlProblem`] found; its message does not quote the text.
    pub fn parse(text: &str) -> Result<Self, UrlProblem> {
        if text.is_empty() {
            return Err(UrlProblem::Empty);
        }
        let length = text.chars().count();
        if length > MAX_LEN {
            return Err(UrlProblem::TooLong(length));
        }
        for (i, c) in text.chars().enumerate() {
            let at = i + 1;
            if c.is_control() {
                return Err(UrlProblem::Control {
                    code: u32::from(c),
                    at,
                });
            }
            if c.is_whitespace() {
                return Err(UrlProblem::Whitespace { at });
            }
            if !c.is_ascii() {
                return Err(UrlProblem::NonAscii { at });
            }
        }
        let (scheme, rest) = text.split_once("://").ok_or(UrlProblem::Scheme)?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(UrlProblem::Scheme),
        };
        if rest.contains('#') {
            return Err(UrlProblem::Fragment);
        }
        let (authority, path_and_query) =
            rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user.to_string()), host),
            None => (None, authority),
        };
        let (host, port) = host_and_port(host_port)?;
        let path_and_query = match path_and_query {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        let port_text = port.map(|p| format!(":{p}")).unwrap_or_default();
        let scheme = if https { "https" } else { "http" };
        let uri: Uri = format!("{scheme}://{host}{port_text}{path_and_query}")
            .parse()
            .map_err(|_| UrlProblem::Path)?;
        Ok(Self {
            full: text.to_string(),
            https,
            host,
            port,
            userinfo,
            uri,
        })
    }

    /// `scheme://host[:port]`: all of the URL that may be shown.
    #[must_use]
    pub fn redacted(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }

    #[must_use]
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The URI to request: the URL without its userinfo.
    #[must_use]
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// `Basic …` from the URL's `user:password@`, as curl and browsers send it; marked
    /// sensitive so HTTP/2 never indexes it.
    #[must_use]
    pub fn basic_auth(&self) -> Option<HeaderValue> {
        let userinfo = self.userinfo.as_deref()?;
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let mut plain = percent_decode(user);
        plain.push(b':');
        plain.extend(percent_decode(password));
        let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Why this URL may not be written in a policy, if it looks like it carries a secret.
    ///
    /// The rule: credentials (`user@`), any query string, a host known to put a token in every
    /// webhook URL, a path under a prefix where webhook services put the token, or a path
    /// segment that looks random (at least 16 characters mixing letters and digits, or at
    /// least 32 characters). It cannot recognise every secret; a URL it lets through is meant
    /// for a relay whose address is not one.
    #[must_use]
    pub fn secret_shape(&self) -> Option<SecretShape> {
        if self.userinfo.is_some() {
            return Some(SecretShape::Credentials);
        }
        if self.uri.query().is_some() {
            return Some(SecretShape::Query);
        }
        if TOKEN_HOSTS.contains(&self.host.as_str())
            || TOKEN_HOST_SUFFIXES.iter().any(|s| self.host.ends_with(s))
        {
            return Some(SecretShape::TokenHost(self.host.clone()));
        }
        let path = self.uri.path().to_ascii_lowercase();
        if let Some(prefix) = TOKEN_PATHS.iter().find(|p| path.starts_with(*p)) {
            return Some(SecretShape::TokenPath(prefix));
        }
        self.uri
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .position(looks_random)
            .map(|i| SecretShape::RandomSegment(i + 1))
    }

    /// `text` with every piece of this URL that could carry its secret replaced by `…`: the
    /// whole URL, its userinfo, path and query, and its longer path segments. For messages
    /// holding text we did not write: a server's error body quoting the path, a library's error
    /// quoting the URI.
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        let mut pieces: Vec<&str> = vec![self.full.as_str()];
        if let Some((_, rest)) = self.full.split_once("://") {
            pieces.push(rest);
        }
        if let Some(userinfo) = self.userinfo.as_deref() {
            pieces.push(userinfo);
            if let Some((_, password)) = userinfo.split_once(':')
                && password.len() >= 4
            {
                pieces.push(password);
            }
        }
        if let Some(pq) = self.uri.path_and_query() {
            pieces.push(pq.as_str());
        }
        if let Some(query) = self.uri.query() {
            pieces.push(query);
        }
        pieces.extend(
            self.uri
                .path()
                .split('/')
                .filter(|s| s.len() >= SCRUB_SEGMENT),
        );
        pieces.retain(|p| p.len() > 1);
        pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let mut out = text.to_string();
        for piece in pieces {
            if out.contains(piece) {
                out = out.replace(piece, "…");
            }
        }
        out
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.redacted())
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl serde::Serialize for WebhookUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// The host (lowercased) and port of `host[:port]` or `[v6][:port]`.
fn host_and_port(text: &str) -> Result<(String, Option<u16>), UrlProblem> {
    if text.is_empty() {
        return Err(UrlProblem::NoHost);
    }
    let (host, port) = if let Some(after) = text.strip_prefix('[') {
        let (inside, tail) = after.split_once(']').ok_or(UrlProblem::Host)?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(UrlProblem::Host);
        }
        let port = match tail {
            "" => None,
            t => Some(t.strip_prefix(':').ok_or(UrlProblem::Host)?),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host.to_ascii_lowercase(), Some(port)),
            None => (text.to_ascii_lowercase(), None),
        }
    };
    if host.is_empty() {
        return Err(UrlProblem::NoHost);
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !host.starts_with('[') && (host.len() > 253 || !host.split('.').all(label_ok)) {
        return Err(UrlProblem::Host);
    }
    let port = match port {
        None => None,
        Some(p) if (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()) => {
            match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(UrlProblem::Port),
                Ok(n) => Some(n),
            }
        }
        Some(_) => return Err(UrlProblem::Port),
    };
    Ok((host, port))
}

/// Whether a path segment looks like a generated token rather than a name.
fn looks_random(segment: &str) -> bool {
    let n = segment.chars().count();
    let letters = segment.chars().any(|c| c.is_ascii_alphabetic());
    let digits = segment.chars().any(|c| c.is_ascii_digit());
    n >= TOKEN_ANY || (n >= TOKEN_MIXED && letters && digits)
}

/// `%XX` sequences decoded; a malformed one is kept as written.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str =
        "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx";

    fn parse(text: &str) -> WebhookUrl {
        WebhookUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn only_scheme_host_and_port_are_shown() {
        assert_eq!(parse(SLACK).redacted(), "https://hooks.slack.com");
        assert_eq!(
            parse("http://bot:hunter2@127.0.0.1:9/hook?token=x").redacted(),
            "http://127.0.0.1:9"
        );
        assert_eq!(parse("HTTP://[::1]:8080").redacted(), "http://[::1]:8080");
        let url = parse("https://user:pw@relay.example/a");
        assert_eq!(
            format!("{url} {url:?}"),
            "https://relay.example WebhookUrl(https://relay.example)"
        );
        assert_eq!(
            serde_json::to_string(&url).expect("json"),
            "\"https://relay.example\""
        );
    }

    #[test]
    fn malformed_urls_are_named_without_quoting_them() {
        let cases = [
            ("", UrlProblem::Empty),
            ("hooks.example.com/abc", UrlProblem::Scheme),
            ("ftp://x/y", UrlProblem::Scheme),
            ("http://", UrlProblem::NoHost),
            ("http://u:p@/x", UrlProblem::NoHost),
            ("http://host:99999/x", UrlProblem::Port),
            ("http://host:0/x", UrlProblem::Port),
            ("http://host:/x", UrlProblem::Port),
            ("http://host:8o/x", UrlProblem::Port),
            ("http://ho%st/x", UrlProblem::Host),
            ("http://[::g]/x", UrlProblem::Host),
            ("http://a..b/x", UrlProblem::Host),
            ("http://h/x#frag", UrlProblem::Fragment),
            (
                "http://h/x\r\nHost: evil",
                UrlProblem::Control { code: 13, at: 11 },
            ),
            ("http://h/x y", UrlProblem::Whitespace { at: 11 }),
            (
                "http://h/\u{1b}[31m",
                UrlProblem::Control { code: 27, at: 10 },
            ),
            ("http://h/é", UrlProblem::NonAscii { at: 10 }),
            ("http://h/\u{202e}x", UrlProblem::NonAscii { at: 10 }),
            ("http://h/a<b", UrlProblem::Path),
        ];
        for (text, want) in cases {
            assert_eq!(WebhookUrl::parse(text), Err(want), "{text:?}");
        }
        let long = format!("http://h/{}", "a".repeat(MAX_LEN));
        assert!(matches!(
            WebhookUrl::parse(&long),
            Err(UrlProblem::TooLong(_))
        ));
        assert!(
            parse("http://h:65535")
                .uri()
                .to_string()
                .ends_with(":65535/")
        );
    }

    #[test]
    fn secrets_are_recognised_and_relays_are_not() {
        use SecretShape::*;
        let cases = [
            ("https://u:p@relay.internal/x", Some(Credentials)),
            ("https://token@relay.internal/x", Some(Credentials)),
            ("https://relay.internal/x?key=1", Some(Query)),
            (SLACK, Some(TokenHost("hooks.slack.com".into()))),
            (
                "https://chat.slack.example/services/T0/B0/x",
                Some(TokenPath("/services/")),
            ),
            (
                "https://d.example/api/webhooks/1234/abc",
                Some(TokenPath("/api/webhooks/")),
            ),
            (
                "https://x.webhook.office.com/a",
                Some(TokenHost("x.webhook.office.com".into())),
            ),
            (
                "https://relay.internal/boss/a8f3k2j9d7s6q1w0",
                Some(RandomSegment(2)),
            ),
            (
                "https://relay.internal/123e4567-e89b-12d3-a456-426614174000",
                Some(RandomSegment(1)),
            ),
            (
                "https://relay.internal/abcdefghijklmnopqrstuvwxyzabcdefg",
                Some(RandomSegment(1)),
            ),
            ("http://alert-relay.internal:8080/boss/notifications", None),
            ("http://127.0.0.1:9/hook", None),
            ("https://relay.internal", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).secret_shape(), want, "{text}");
        }
    }

    #[test]
    fn scrub_removes_every_secret_piece_a_library_might_quote() {
        let url =
            parse("http://bot:s3cr3t-pw@127.0.0.1:9/services/T0/B0/Zx9TokenTokenToken?sig=abc");
        let quoted = "error sending request for url (http://bot:s3cr3t-pw@127.0.0.1:9/services/T0/B0/Zx9TokenTokenToken?sig=abc): \
                      path /services/T0/B0/Zx9TokenTokenToken?sig=abc, segment Zx9TokenTokenToken, pw s3cr3t-pw, q sig=abc";
        let out = url.scrub(quoted);
        for secret in ["s3cr3t-pw", "Zx9TokenTokenToken", "sig=abc", "/services/T0"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.starts_with("error sending request for url ("), "{out}");
    }

    #[test]
    fn userinfo_becomes_a_basic_authorization() {
        let url = parse("https://bot%40x:p%3Ass@relay.internal/");
        let header = url.basic_auth().expect("basic auth");
        assert!(header.is_sensitive());
        // base64("bot@x:p:ss")
        assert_eq!(header, "Basic Ym90QHg6cDpzcw==");
        assert!(!url.uri().to_string().contains("bot"));
        assert!(parse("https://relay.internal/").basic_auth().is_none());
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,120}") {
            let _ = WebhookUrl::parse(&text);
        }

        #[test]
        fn only_scheme_host_and_port_survive_display_and_scrub(
            user in "[a-z]{1,8}",
            password in "[A-Za-z0-9]{4,16}",
            host in "[a-z]{1,10}(\\.[a-z]{1,10}){0,2}",
            port in 1u16..,
            path in "(/[A-Za-z0-9_-]{1,24}){0,4}",
            query in proptest::option::of("[a-z]{1,5}=[A-Za-z0-9]{1,12}"),
        ) {
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            let text = format!("https://{user}:{password}@{host}:{port}{path}{query}");
            let url = WebhookUrl::parse(&text).map_err(|e| {
                proptest::test_runner::TestCaseError::fail(format!("{text}: {e}"))
            })?;
            proptest::prop_assert_eq!(url.redacted(), format!("https://{host}:{port}"));
            proptest::prop_assert_eq!(format!("{url:?}"), format!("WebhookUrl(https://{host}:{port})"));
            proptest::prop_assert_eq!(url.secret_shape(), Some(SecretShape::Credentials));
            let message = url.scrub(&format!("client error ({text}): at {path}{query}"));
            proptest::prop_assert!(!message.contains(&password), "{}", message);
            proptest::prop_assert!(!message.contains(&text), "{}", message);
            if path.len() + query.len() > 1 {
                let tail = format!("{path}{query}");
                proptest::prop_assert!(!message.contains(&tail), "{}", message);
            }
        }
    }
}
