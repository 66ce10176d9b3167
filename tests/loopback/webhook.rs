//! A loopback chat webhook: an in-process HTTP server that records every request and answers
//! as scripted (a status, possibly late), then 200 `ok` as Slack does.
//!
//! Included as a plain module (`#[path = "../loopback/webhook.rs"] mod webhook;`); not every
//! includer uses every item.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The token in the webhook URL's path, shaped like the one a Slack URL carries.
pub const TOKEN: &str = "Zq8TokenSecretXw4Vb7Nm";
/// The path of the webhook URL.
pub const PATH: &str = "/services/T0000/B0000/Zq8TokenSecretXw4Vb7Nm";
/// The user and password in the webhook URL, as a relay behind basic authorization has them.
pub const USER: &str = "remediator";
pub const PASSWORD: &str = "pw-Secret-51e7";
/// What must never be printed, logged or journaled.
pub const SECRETS: [&str; 3] = [TOKEN, PASSWORD, PATH];

/// One scripted answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Answer only after this long (to exceed the client's timeout).
    pub delay: Duration,
}

impl Reply {
    pub const fn status(status: u16) -> Self {
        Reply {
            status,
            delay: Duration::ZERO,
        }
    }

    pub const fn late(delay: Duration) -> Self {
        Reply { status: 200, delay }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: String,
}

impl Recorded {
    /// The `text` field of a JSON body, if it has one.
    pub fn text(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["text"].as_str().map(str::to_string))
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
}

/// The running webhook; dropping it stops the server.
pub struct LoopbackWebhook {
    shared: Arc<Shared>,
    port: u16,
    server: JoinHandle<()>,
}

impl LoopbackWebhook {
    /// A webhook answering 200 to everything.
    pub async fn start() -> Self {
        Self::scripted(&[]).await
    }

    /// A webhook giving these answers to the first requests, in order, then 200.
    pub async fn scripted(replies: &[Reply]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the loopback webhook to 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            script: Mutex::new(replies.iter().copied().collect()),
            requests: Mutex::new(Vec::new()),
        });
        let server = tokio::spawn(super::http::serve(listener, Arc::clone(&shared), handle));
        LoopbackWebhook {
            shared,
            port,
            server,
        }
    }

    /// `http://<user>:<password>@127.0.0.1:<port>/services/...`.
    pub fn url(&self) -> String {
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{}{PATH}", self.port)
    }

    /// `http://127.0.0.1:<port>`: all of the URL that may be shown.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("requests").clone()
    }
}

impl Drop for LoopbackWebhook {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A loopback URL (with the same secrets) on which nothing listens: a port bound and released
/// at once.
pub async fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}{PATH}")
}

/// `http://127.0.0.1:<port>` of a URL made here.
pub fn origin_of(url: &str) -> String {
    let after = url.split_once('@').map_or(url, |(_, a)| a);
    let host = after.split('/').next().expect("host");
    format!("http://{host}")
}

/// The secrets found in `text`, for an assertion message (empty when none).
pub fn leaked(text: &str) -> Vec<&'static str> {
    SECRETS.into_iter().filter(|s| text.contains(s)).collect()
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let quoted_path = path.clone();
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(hyper::header::CONTENT_TYPE);
    let authorization = header(hyper::header::AUTHORIZATION);
    let body = match request.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) => format!("(unreadable body: {e})"),
    };
    shared.requests.lock().expect("requests").push(Recorded {
        method,
        path,
        content_type,
        authorization,
        body,
    });
    let reply = shared
        .script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or(Reply::status(200));
    tokio::time::sleep(reply.delay).await;
    // A failure quotes the request's path, as some services do, with a terminal escape and a
    // line break: the client must neither repeat the secret nor let the escape through.
    let text = if reply.status == 200 {
        "ok".to_string()
    } else {
        format!("scripted failure\n\u{1b}[31mno hook at {quoted_path}")
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = StatusCode::from_u16(reply.status).expect("a valid status");
    Ok(response)
}
