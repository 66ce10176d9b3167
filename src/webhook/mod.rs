//! The chat webhook: its URL (a secret, read at start from the environment or a file) and its
//! HTTP client, one JSON POST (Slack-compatible `{"text": ...}`), retried within the call on
//! connection errors, timeouts, 5xx and 429; never on other 4xx or a TLS certificate refused.
//!
//! Built on the hyper/rustls stack the AWS SDK already uses; `https://` trusts the platform's
//! root certificates, `http://` is plain. A webhook URL carries its secret in the userinfo, the
//! path or the query, so hyper is never given the userinfo (it goes in an `Authorization`
//! header), every message names only `scheme://host[:port]`, and each one is scrubbed of the
//! URL's pieces before it leaves this module, whatever the server's body or the libraries
//! underneath put in it. Callers need no redaction of their own.

mod resolve;
mod url;

pub use resolve::{ResolveError, Target, URL_VARIABLE, UrlFrom, resolve};
pub use url::{SecretShape, UrlProblem, WebhookUrl};

use crate::domain::port_error::PortError;
use crate::quote::{MAX_CHARS, excerpt, one_line};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Attempts per message, the first one included.
pub const ATTEMPTS: u32 = 3;
/// The pause before the second and third attempts.
pub const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(1)];
/// A `Retry-After` longer than this is not waited for: the message is better reported failed.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

const SERVICE: &str = "webhook";
const OPERATION: &str = "POST";

/// The Slack-compatible body: the subject in bold on the first line, then the body.
#[must_use]
pub fn payload(subject: &str, body: &str) -> String {
    serde_json::json!({ "text": format!("*{subject}*\n{body}") }).to_string()
}

/// One attempt's failure, and whether another attempt may help.
#[derive(Debug)]
enum Failure {
    /// Connection refused or reset, no answer in time, 5xx: worth another attempt.
    Retry(String),
    /// 429: worth another attempt, after the server's `Retry-After` when it gave a short one.
    SlowDown(String, Option<Duration>),
    /// 4xx other than 429, a request that cannot be built: the same request will fail the
    /// same way.
    Permanent(String),
}

#[derive(Clone)]
pub struct WebhookClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Why `https://` cannot work here (no trusted root certificates), if it cannot.
    no_roots: Option<String>,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient")
            .field("no_roots", &self.no_roots)
            .finish_non_exhaustive()
    }
}

impl Default for WebhookClient {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookClient {
    /// A client for `http://` and `https://` URLs. Without any trusted root certificate on
    /// this machine `http://` still works and `https://` fails with a message saying why.
    #[must_use]
    pub fn new() -> Self {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let (builder, no_roots) = match hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider.clone())
        {
            Ok(builder) => (builder, None),
            Err(e) => {
                let config = rustls::ClientConfig::builder_with_provider(provider.into())
                    .with_safe_default_protocol_versions()
                    .expect("the aws-lc-rs provider supports TLS 1.2 and 1.3")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                (
                    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config),
                    Some(e.to_string()),
                )
            }
        };
        let connector = builder.https_or_http().enable_http1().build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            no_roots,
        }
    }

    /// Posts `body` (JSON) to `url`: up to [`ATTEMPTS`] attempts of at most `timeout` each,
    /// [`BACKOFF`] apart. Returns the receipt `webhook HTTP <status>`. No message, returned or
    /// logged, holds more of the URL than `scheme://host[:port]`.
    ///
    /// # Errors
    /// `Permanent` for a 4xx other than 429 or a refused TLS certificate; `Throttled` when the
    /// last attempt was answered 429; `Transient` for connection errors, timeouts and 5xx.
    pub async fn post(
        &self,
        url: &WebhookUrl,
        body: &str,
        timeout: Duration,
    ) -> Result<String, PortError> {
        let target = url.redacted();
        // Every message leaves through here, scrubbed once: a 404 body may quote the token path.
        let say = |m: &str| url.scrub(&format!("{target}: {m}"));
        if url.is_https()
            && let Some(why) = &self.no_roots
        {
            return Err(PortError::Permanent {
                service: SERVICE,
                operation: OPERATION,
                message: say(&format!("cannot verify https: {why}")),
            });
        }
        let mut last = Failure::Retry(String::new());
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let mut pause = BACKOFF[(attempt as usize - 1).min(BACKOFF.len() - 1)];
                if let Failure::SlowDown(_, Some(after)) = &last {
                    pause = pause.max(*after);
                }
                tokio::time::sleep(pause).await;
            }
            last = match self.attempt(url, body, timeout).await {
                Ok(status) => return Ok(format!("webhook HTTP {}", status.as_u16())),
                Err(Failure::Permanent(m)) => {
                    return Err(PortError::Permanent {
                        service: SERVICE,
                        operation: OPERATION,
                        message: say(&m),
                    });
                }
                Err(retry) => retry,
            };
            tracing::debug!(
                attempt = attempt + 1,
                "webhook {}",
                say(&format!("{last:?}"))
            );
        }
        let tries = format!("after {ATTEMPTS} attempts");
        Err(match last {
            Failure::SlowDown(m, _) => PortError::Throttled {
                service: SERVICE,
                operation: OPERATION,
                message: say(&format!("{m} ({tries})")),
            },
            Failure::Retry(m) | Failure::Permanent(m) => PortError::Transient {
                service: SERVICE,
                operation: OPERATION,
                message: say(&format!("{m} ({tries})")),
            },
        })
    }

    async fn attempt(
        &self,
        url: &WebhookUrl,
        body: &str,
        timeout: Duration,
    ) -> Result<StatusCode, Failure> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(url.uri().clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(
                USER_AGENT,
                HeaderValue::from_static(concat!("remediator/", env!("CARGO_PKG_VERSION"))),
            );
        if let Some(auth) = url.basic_auth() {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| Failure::Permanent(format!("cannot build the request: {e}")))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if refused_certificate(&e) {
                    Failure::Permanent(one_line(&e))
                } else {
                    Failure::Retry(one_line(&e))
                }
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
                .filter(|d| *d <= MAX_RETRY_AFTER);
            // The body is read in full so the connection can be reused, and quoted on errors.
            let text = match response.into_body().collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
                Err(e) if status.is_success() => {
                    tracing::debug!(
                        "webhook {} answered {status} but the body broke off: {}",
                        url.redacted(),
                        url.scrub(&e.to_string())
                    );
                    String::new()
                }
                Err(e) => format!("(body unreadable: {e})"),
            };
            Ok((status, retry_after, text))
        };
        let (status, retry_after, text) =
            tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| {
                    Failure::Retry(format!("no answer within {}", crate::time::human(timeout)))
                })??;
        if status.is_success() {
            return Ok(status);
        }
        let message = format!("HTTP {status}{}", quoted(&text));
        if status == StatusCode::TOO_MANY_REQUESTS {
            Err(Failure::SlowDown(message, retry_after))
        } else if status.is_server_error() {
            Err(Failure::Retry(message))
        } else {
            // 4xx, and redirects: a webhook that moved needs its URL changed where it is kept.
            Err(Failure::Permanent(message))
        }
    }
}

/// `: <excerpt of the body>` on one line, control characters escaped, or nothing for an
/// empty body.
fn quoted(text: &str) -> String {
    let shown = excerpt(text, MAX_CHARS);
    if shown.is_empty() {
        String::new()
    } else {
        format!(": {shown}")
    }
}

/// Whether TLS refused the server's certificate (or the server ours): the next attempt would
/// meet the same certificate.
fn refused_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut pending = vec![err];
    while let Some(e) = pending.pop() {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::AlertReceived(_)
            );
        }
        // An io::Error hides the error it wraps from `source()`; look inside.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            pending.push(inner as &(dyn std::error::Error + 'static));
        }
        if let Some(source) = e.source() {
            pending.push(source);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_slack_text_with_the_subject_in_bold() {
        let p: serde_json::Value =
            serde_json::from_str(&payload("Pause \"now\"", "line 1\nline 2")).expect("json");
        assert_eq!(p["text"], "*Pause \"now\"*\nline 1\nline 2");
    }

    #[test]
    fn a_refused_certificate_is_found_however_deeply_io_errors_wrap_it() {
        use std::io::{Error, ErrorKind};
        // The shape hyper-rustls gives: io::Error(Other, io::Error(InvalidData, rustls::Error)).
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = Error::other(Error::new(ErrorKind::InvalidData, tls));
        assert!(refused_certificate(&wrapped));
        let refused = Error::new(ErrorKind::ConnectionRefused, "connection refused");
        assert!(!refused_certificate(&Error::other(refused)));
    }

    #[test]
    fn error_bodies_are_quoted_short_and_on_one_line() {
        assert_eq!(quoted(""), "");
        assert_eq!(quoted(" \n "), "");
        assert_eq!(quoted("no\nsuch  hook"), ": no such hook");
        assert_eq!(
            quoted("\u{1b}[2Jgone\u{7}\u{202e}"),
            ": \\u{1b}[2Jgone\\u{7}\\u{202e}"
        );
        assert_eq!(quoted(&"x".repeat(300)).chars().count(), 2 + MAX_CHARS + 1);
    }
}
