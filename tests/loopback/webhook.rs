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

/// The path of the webhook URL, standing in for the secret a Slack URL carries.
pub const PATH: &str = "/services/T0000/B0000/not-a-secret";

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

    /// `http://127.0.0.1:<port>/services/...`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{PATH}", self.port)
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

/// A loopback URL on which nothing listens: a port bound and released at once.
pub async fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}{PATH}")
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match request.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) => format!("(unreadable body: {e})"),
    };
    shared.requests.lock().expect("requests").push(Recorded {
        method,
        path,
        content_type,
        body,
    });
    let reply = shared
        .script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or(Reply::status(200));
    tokio::time::sleep(reply.delay).await;
    let text = if reply.status == 200 {
        "ok"
    } else {
        "scripted failure"
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = StatusCode::from_u16(reply.status).expect("a valid status");
    Ok(response)
}
