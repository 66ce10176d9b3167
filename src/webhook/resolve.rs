//! Where the webhook URL is read from, once at start: `REMEDIATOR_WEBHOOK_URL` when set, else
//! the file the policy names in `url_file`, else the policy's own secret-free `url`.
//!
//! The environment wins so that a deployment can supply the secret without touching the policy
//! (the usual order: environment over configuration). Errors name the variable, or the file and
//! line, and never quote the URL.

use super::url::{UrlProblem, WebhookUrl};
use crate::policy::{Webhook, WebhookUrlIn};
use std::ffi::OsString;
use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

/// The environment variable that holds the webhook URL.
pub const URL_VARIABLE: &str = "REMEDIATOR_WEBHOOK_URL";

/// A URL file larger than this is not a URL file (and is not read further).
const MAX_FILE_BYTES: u64 = 8 * 1024;

/// Where the URL in use was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlFrom {
    Variable,
    File { path: PathBuf, line: usize },
    Policy,
}

impl fmt::Display for UrlFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlFrom::Variable => write!(f, "environment variable {URL_VARIABLE}"),
            UrlFrom::File { path, line } => write!(f, "{}:{line}", path.display()),
            UrlFrom::Policy => f.write_str("the policy's signals.webhook.url"),
        }
    }
}

/// The webhook to post to.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: WebhookUrl,
    pub from: UrlFrom,
    /// Per attempt.
    pub timeout: Duration,
}

/// The URL could not be had. No variant carries the URL.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{from}: the webhook URL {problem}")]
    Invalid { from: UrlFrom, problem: UrlProblem },
    #[error("{}: cannot read the webhook URL file: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: the webhook URL file is larger than {MAX_FILE_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf },
    #[error("{}: the webhook URL file is empty", path.display())]
    EmptyFile { path: PathBuf },
    #[error(
        "{}:{line}: the webhook URL file has a second line; it must hold the URL alone on one line",
        path.display()
    )]
    MoreThanOneLine { path: PathBuf, line: usize },
    #[error(
        "[signals.webhook] is on but no URL is given: set {URL_VARIABLE}, or name a file holding it with [signals.webhook] url_file"
    )]
    Missing,
}

/// The URL of a switched-on webhook: `variable` (the value of [`URL_VARIABLE`], if set) wins
/// over the policy's `url_file`, which is read now, and over its `url`.
///
/// # Errors
/// The variable or file is unusable (empty, unreadable, several lines, not a valid URL), or
/// nothing gives a URL.
pub fn resolve(hook: &Webhook, variable: Option<OsString>) -> Result<Target, ResolveError> {
    let (url, from) = match (variable, &hook.url) {
        (Some(value), _) => parse(value.to_str(), UrlFrom::Variable)?,
        (None, Some(WebhookUrlIn::File(path))) => read_file(path)?,
        (None, Some(WebhookUrlIn::Policy(url))) => (url.clone(), UrlFrom::Policy),
        (None, None) => return Err(ResolveError::Missing),
    };
    Ok(Target {
        url,
        from,
        timeout: hook.timeout,
    })
}

/// The URL in `path`: one line, surrounding whitespace (and blank lines) ignored.
fn read_file(path: &PathBuf) -> Result<(WebhookUrl, UrlFrom), ResolveError> {
    let unreadable = |error| ResolveError::Unreadable {
        path: path.clone(),
        error,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    warn_if_others_can_read(&file, path);
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ResolveError::TooLarge { path: path.clone() });
    }
    let Ok(text) = String::from_utf8(bytes) else {
        let from = UrlFrom::File {
            path: path.clone(),
            line: 1,
        };
        return parse(None, from);
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ResolveError::EmptyFile { path: path.clone() });
    }
    let leading = text.len() - text.trim_start().len();
    let line = 1 + text[..leading].matches('\n').count();
    if let Some(first_break) = trimmed.find(['\n', '\r']) {
        return Err(ResolveError::MoreThanOneLine {
            path: path.clone(),
            line: line + 1 + trimmed[..first_break].matches('\n').count(),
        });
    }
    let from = UrlFrom::File {
        path: path.clone(),
        line,
    };
    parse(Some(trimmed), from)
}

/// The URL read from `from` (`None`: what was read is not UTF-8), surrounding whitespace ignored.
fn parse(text: Option<&str>, from: UrlFrom) -> Result<(WebhookUrl, UrlFrom), ResolveError> {
    match text.map_or(Err(UrlProblem::NotUtf8), |t| WebhookUrl::parse(t.trim())) {
        Ok(url) => Ok((url, from)),
        Err(problem) => Err(ResolveError::Invalid { from, problem }),
    }
}

/// A secret file that every user of the machine can read deserves a word, not a refusal
/// (containers often run with such modes).
fn warn_if_others_can_read(file: &std::fs::File, path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = file.metadata()
            && meta.permissions().mode() & 0o004 != 0
        {
            tracing::warn!(
                "{}: the webhook URL file is readable by every user; chmod o-r it",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(url: Option<WebhookUrlIn>) -> Webhook {
        Webhook {
            url,
            timeout: Duration::from_secs(3),
        }
    }

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("remediator-url-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    const SECRET: &str = "Zx9SecretSecretSecret";

    #[test]
    fn the_variable_wins_over_the_file_and_the_policy() {
        let path = file("wins", "http://file.example/a\n");
        let target = resolve(
            &hook(Some(WebhookUrlIn::File(path))),
            Some(" https://env.example/b \n".into()),
        )
        .expect("resolved");
        assert_eq!(target.url.redacted(), "https://env.example");
        assert_eq!(target.from, UrlFrom::Variable);
        assert_eq!(target.timeout, Duration::from_secs(3));
        let inline = WebhookUrl::parse("http://relay.example/x").expect("url");
        let target = resolve(&hook(Some(WebhookUrlIn::Policy(inline))), None).expect("policy");
        assert_eq!(target.from, UrlFrom::Policy);
        assert!(matches!(
            resolve(&hook(None), None),
            Err(ResolveError::Missing)
        ));
    }

    #[test]
    fn the_file_is_one_line_and_errors_name_file_and_line_not_the_url() {
        let path = file("ok", &format!("\n\n  https://h.example/{SECRET}  \n\n"));
        let target = resolve(&hook(Some(WebhookUrlIn::File(path.clone()))), None).expect("ok");
        assert_eq!(target.from, UrlFrom::File { path, line: 3 });

        let path = file("two", &format!("https://h.example/{SECRET}\nsecond\n"));
        let e = resolve(&hook(Some(WebhookUrlIn::File(path.clone()))), None).expect_err("two");
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2: the webhook URL file has a second line; it must hold the URL alone on one line",
                path.display()
            )
        );

        let path = file("port", &format!("\nhttps://h.example:99999/{SECRET}\n"));
        let e = resolve(&hook(Some(WebhookUrlIn::File(path.clone()))), None).expect_err("port");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{}:2: ", path.display())),
            "{text}"
        );
        assert!(text.contains("port") && !text.contains(SECRET), "{text}");

        let empty = file("empty", " \n");
        assert!(matches!(
            resolve(&hook(Some(WebhookUrlIn::File(empty))), None),
            Err(ResolveError::EmptyFile { .. })
        ));
        let big = file("big", &"x".repeat(10_000));
        assert!(matches!(
            resolve(&hook(Some(WebhookUrlIn::File(big))), None),
            Err(ResolveError::TooLarge { .. })
        ));
        let missing = PathBuf::from("/nonexistent/remediator-webhook-url");
        let e = resolve(&hook(Some(WebhookUrlIn::File(missing))), None).expect_err("missing");
        assert!(
            e.to_string()
                .starts_with("/nonexistent/remediator-webhook-url: cannot read"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_variable_is_named_without_its_value() {
        let e = resolve(
            &hook(None),
            Some(format!("https://u:{SECRET}@h.example/a\r\nX: y").into()),
        )
        .expect_err("CRLF");
        let text = e.to_string();
        assert!(
            text.starts_with("environment variable REMEDIATOR_WEBHOOK_URL: the webhook URL has a control character"),
            "{text}"
        );
        assert!(!text.contains(SECRET), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt as _;
            let e = resolve(&hook(None), Some(OsString::from_vec(vec![b'h', 0xff])));
            assert!(matches!(
                e,
                Err(ResolveError::Invalid {
                    from: UrlFrom::Variable,
                    problem: UrlProblem::NotUtf8
                })
            ));
        }
        let e = resolve(&hook(None), Some("".into())).expect_err("empty");
        assert_eq!(
            e.to_string(),
            "environment variable REMEDIATOR_WEBHOOK_URL: the webhook URL is empty"
        );
    }
}
