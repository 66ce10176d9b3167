//! A loopback front for moto's Lambda: answers GetAccountSettings, which moto 5.2.5 does not
//! implement (it answers 404 with an HTML page), and forwards every other request unchanged
//! to the upstream (moto), which keeps the functions, event-source mappings and reserved
//! concurrency.
//!
//! Reach it with `AWS_ENDPOINT_URL_LAMBDA=<endpoint()>` in a child process. Included as a plain
//! module (`#[path = "../loopback/lambda_front.rs"] mod lambda_front;`).
#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The REST path of GetAccountSettings (API version 2016-08-19).
const ACCOUNT_SETTINGS: &str = "/2016-08-19/account-settings";
/// A new account's concurrency limit in a region.
pub const DEFAULT_ACCOUNT_CONCURRENCY: u32 = 1000;

struct Shared {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    account_concurrency: AtomicU32,
    account_settings_calls: AtomicU64,
    forwarded: AtomicU64,
}

/// The running front; dropping it stops the server.
pub struct LambdaFront {
    shared: Arc<Shared>,
    port: u16,
    server: JoinHandle<()>,
}

impl LambdaFront {
    /// Binds 127.0.0.1 on a free port in front of `upstream` (e.g. `moto_url()`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Lambda front to 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            account_concurrency: AtomicU32::new(DEFAULT_ACCOUNT_CONCURRENCY),
            account_settings_calls: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
        });
        let server = tokio::spawn(super::http::serve(listener, Arc::clone(&shared), handle));
        LambdaFront {
            shared,
            port,
            server,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `AccountLimit.ConcurrentExecutions` GetAccountSettings answers from now on.
    pub fn set_account_concurrency(&self, limit: u32) {
        self.shared
            .account_concurrency
            .store(limit, Ordering::Release);
    }

    /// GetAccountSettings requests answered so far.
    pub fn account_settings_calls(&self) -> u64 {
        self.shared.account_settings_calls.load(Ordering::Acquire)
    }

    /// Requests forwarded to the upstream so far.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::Acquire)
    }
}

impl Drop for LambdaFront {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: Bytes) -> Reply {
    let length = body.len();
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// GetAccountSettings as Lambda answers it. UnreservedConcurrentExecutions is the whole limit:
/// the front does not add up the reservations moto keeps.
fn account_settings(shared: &Shared) -> Reply {
    shared.account_settings_calls.fetch_add(1, Ordering::AcqRel);
    let limit = shared.account_concurrency.load(Ordering::Acquire);
    let body = json!({
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800_u64,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
    });
    reply(StatusCode::OK, Bytes::from(body.to_string()))
}

/// The request, unchanged but for its Host, sent to the upstream; its answer, unchanged but
/// for being read in full.
async fn forward(shared: &Shared, request: Request<Incoming>) -> Reply {
    shared.forwarded.fetch_add(1, Ordering::AcqRel);
    let (mut parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(StatusCode::BAD_GATEWAY, Bytes::from(e.to_string())),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match format!("{}{path}", shared.upstream).parse::<Uri>() {
        Ok(uri) => uri,
        Err(e) => return reply(StatusCode::BAD_GATEWAY, Bytes::from(e.to_string())),
    };
    parts.headers.remove(HOST);
    let upstream = Request::from_parts(parts, Full::new(body));
    let answer = match shared.client.request(upstream).await {
        Ok(answer) => answer,
        Err(e) => return reply(StatusCode::BAD_GATEWAY, Bytes::from(e.to_string())),
    };
    let (mut parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(StatusCode::BAD_GATEWAY, Bytes::from(e.to_string())),
    };
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Full::new(body))
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = request.uri().path().trim_end_matches('/');
    if request.method() == Method::GET && path == ACCOUNT_SETTINGS {
        return Ok(account_settings(&shared));
    }
    Ok(forward(&shared, request).await)
}
