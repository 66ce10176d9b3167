//! A loopback AWS Lambda: an in-process HTTP server that speaks enough of the Lambda REST-JSON
//! API for the official SDK (`Invoke`, `GetFunctionConfiguration`) and behaves like BOSS's
//! tileIngestLambda: each accepted invocation takes one message off an SQS queue, works on it
//! for a while, and then deletes it, or (when chosen to fail) leaves it to reappear after the
//! queue's visibility timeout.
//!
//! Reach it with `AWS_ENDPOINT_URL_LAMBDA=<endpoint()>` in a child process, or with an SDK
//! config's `endpoint_url`. It answers `Event` invocations with 202 at once and runs them in the
//! background, throttles with 429 `TooManyRequestsException` past `max_concurrency`, and counts
//! everything so tests and benchmarks can look at what the caller did.
//!
//! Included as a plain module (`#[path = "../loopback/lambda.rs"] mod lambda;`) from the
//! integration tests and the redrive benchmark; not every includer uses every item.
#![allow(dead_code)]

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::ProvideErrorMetadata;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const PATH_PREFIX: &str = "/2015-03-31/functions/";

/// Where an invocation's work comes from.
#[derive(Debug, Clone)]
pub enum Backend {
    /// Take one message off this queue, like tileIngestLambda.
    Sqs {
        client: aws_sdk_sqs::Client,
        queue_url: String,
    },
    /// No queue: just sleep `duration` and count. For measuring pacing.
    Count,
}

/// How the loopback function behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// The function's name, e.g. "tileIngestLambda-local-boss".
    pub function: String,
    pub backend: Backend,
    /// How long one invocation works on its message (or, for `Count`, how long it runs).
    pub duration: Duration,
    /// Share of invocations that fail, 0.0..=1.0; see [`fails`]. Changeable while running.
    pub failure_share: f64,
    /// Invocations executing at once beyond which new ones are throttled (429).
    pub max_concurrency: Option<usize>,
    /// How many times an invocation tries to receive a message (tileIngestLambda: 6).
    pub receive_attempts: u32,
    /// Pause between receive attempts (tileIngestLambda: 1 s).
    pub receive_interval: Duration,
    /// Time between accepting an `Event` invocation and starting it: real Lambda queues
    /// asynchronous events and may start them much later (cold starts, a busy account).
    pub start_delay: Duration,
}

impl Behaviour {
    /// 50 ms of work, no failures, no concurrency cap, 6 receive attempts 100 ms apart.
    pub fn new(function: &str, backend: Backend) -> Self {
        Behaviour {
            function: function.to_string(),
            backend,
            duration: Duration::from_millis(50),
            failure_share: 0.0,
            max_concurrency: None,
            receive_attempts: 6,
            receive_interval: Duration::from_millis(100),
            start_delay: Duration::ZERO,
        }
    }
}

/// How an accepted invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Worked on a message and deleted it (for `Count`: ran and did not fail).
    Succeeded,
    /// Chosen to fail (the message is left to reappear), or SQS answered with an error.
    Failed,
    /// No message arrived within the receive attempts.
    NoMessage,
}

/// One accepted invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub accepted_at: Instant,
    /// The request payload (`Value::Null` when empty).
    pub payload: Value,
    /// `None` while still executing.
    pub outcome: Option<Outcome>,
}

/// Whether invocation number `n` (0-based, in acceptance order) fails at failure share `share`:
/// when `floor((n+1)*share) > floor(n*share)`, so 0.3 fails 3 of every 10, evenly spread.
pub fn fails(n: u64, share: f64) -> bool {
    let share = share.clamp(0.0, 1.0);
    ((n + 1) as f64 * share).floor() > (n as f64 * share).floor()
}

/// Largest number of `times` within any window of length `window` (sliding; a window holds the
/// instants in `[t, t + window)`, and at least one when there is any).
pub fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut times = times.to_vec();
    times.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while start < end && times[end].duration_since(times[start]) >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// State shared by the server, its connections and the invocations.
struct Shared {
    function: String,
    backend: Backend,
    duration: Duration,
    receive_attempts: u32,
    receive_interval: Duration,
    start_delay: Duration,
    /// `f64` bits.
    failure_share: AtomicU64,
    /// `usize::MAX` when uncapped.
    max_concurrency: AtomicUsize,
    accepted: AtomicU64,
    throttled: AtomicU64,
    not_found: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    no_message: AtomicU64,
    executing: AtomicUsize,
    max_executing: AtomicUsize,
    requests: AtomicU64,
    sqs_error_reported: AtomicBool,
    log: Mutex<Vec<Invocation>>,
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Vec<Invocation>> {
        // A panic elsewhere while holding the lock leaves the log intact; keep going.
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn matches(&self, requested: &str) -> bool {
        requested == self.function
            || requested
                .strip_suffix(self.function.as_str())
                .is_some_and(|head| head.ends_with(":function:"))
    }

    /// Admits one invocation unless `max_concurrency` are executing already. Returns its number
    /// and whether it is to fail.
    fn admit(&self, payload: Value) -> Option<(usize, bool)> {
        let cap = self.max_concurrency.load(Ordering::Acquire);
        let admitted =
            self.executing
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                    (running < cap).then_some(running + 1)
                });
        let Ok(before) = admitted else {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.max_executing.fetch_max(before + 1, Ordering::AcqRel);
        let share = f64::from_bits(self.failure_share.load(Ordering::Acquire));
        let mut log = self.log();
        let n = log.len();
        log.push(Invocation {
            accepted_at: Instant::now(),
            payload,
            outcome: None,
        });
        drop(log);
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Some((n, fails(n as u64, share)))
    }

    fn finish(&self, n: usize, outcome: Outcome) {
        if let Some(invocation) = self.log().get_mut(n) {
            invocation.outcome = Some(outcome);
        }
        let counter = match outcome {
            Outcome::Succeeded => &self.succeeded,
            Outcome::Failed => &self.failed,
            Outcome::NoMessage => &self.no_message,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.executing.fetch_sub(1, Ordering::AcqRel);
    }

    /// Prints the first SQS error to stderr; later ones would only repeat it.
    fn report_sqs_error(&self, what: &str, error: &str) {
        if !self.sqs_error_reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "loopback lambda {}: SQS {what} failed (further SQS errors not shown): {error}",
                self.function
            );
        }
    }

    /// tileIngestLambda's work for one invocation.
    async fn run(&self, fail: bool) -> Outcome {
        if !self.start_delay.is_zero() {
            tokio::time::sleep(self.start_delay).await;
        }
        let (client, queue_url) = match &self.backend {
            Backend::Count => {
                if !self.duration.is_zero() {
                    tokio::time::sleep(self.duration).await;
                }
                return if fail {
                    Outcome::Failed
                } else {
                    Outcome::Succeeded
                };
            }
            Backend::Sqs { client, queue_url } => (client, queue_url),
        };
        let mut message = None;
        for attempt in 0..self.receive_attempts {
            if attempt > 0 {
                tokio::time::sleep(self.receive_interval).await;
            }
            let received = client
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(1)
                .wait_time_seconds(0)
                .send()
                .await;
            match received {
                Ok(output) => {
                    message = output.messages.and_then(|m| m.into_iter().next());
                    if message.is_some() {
                        break;
                    }
                }
                Err(e) => {
                    self.report_sqs_error("ReceiveMessage", &describe(&e));
                    return Outcome::Failed;
                }
            }
        }
        let Some(message) = message else {
            return Outcome::NoMessage;
        };
        tokio::time::sleep(self.duration).await;
        if fail {
            // Leave the message: it reappears after the queue's visibility timeout.
            return Outcome::Failed;
        }
        let Some(handle) = message.receipt_handle else {
            self.report_sqs_error("ReceiveMessage", "a message without a receipt handle");
            return Outcome::Failed;
        };
        let deleted = client
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .send()
            .await;
        match deleted {
            Ok(_) => Outcome::Succeeded,
            Err(e) => {
                self.report_sqs_error("DeleteMessage", &describe(&e));
                Outcome::Failed
            }
        }
    }

    fn arn(&self, name: &str) -> String {
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
    }

    fn respond(&self, status: StatusCode, error_type: Option<&'static str>, body: Bytes) -> Reply {
        let request = self.requests.fetch_add(1, Ordering::Relaxed);
        let length = body.len() as u64;
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        let id = format!("00000000-0000-4000-8000-{request:012x}");
        headers.insert(
            HeaderName::from_static("x-amzn-requestid"),
            HeaderValue::from_str(&id).expect("a request id is ASCII"),
        );
        if let Some(error_type) = error_type {
            headers.insert(
                HeaderName::from_static("x-amzn-errortype"),
                HeaderValue::from_static(error_type),
            );
        }
        response
    }

    fn json(&self, status: StatusCode, error_type: Option<&'static str>, body: &Value) -> Reply {
        self.respond(status, error_type, Bytes::from(body.to_string()))
    }

    fn function_not_found(&self, requested: &str) -> Reply {
        self.not_found.fetch_add(1, Ordering::Relaxed);
        let name = requested
            .rsplit_once(":function:")
            .map_or(requested, |(_, name)| name);
        self.json(
            StatusCode::NOT_FOUND,
            Some("ResourceNotFoundException"),
            &json!({"Type": "User", "Message": format!("Function not found: {}", self.arn(name))}),
        )
    }

    fn configuration(&self) -> Reply {
        let body = json!({
            "FunctionName": self.function,
            "FunctionArn": self.arn(&self.function),
            "Runtime": "python3.11",
            "Role": format!("arn:aws:iam::{ACCOUNT}:role/lambda-role"),
            "Handler": "tile_ingest_lambda.handler",
            "CodeSize": 1024,
            "Description": "loopback tileIngestLambda",
            "Timeout": 510,
            "MemorySize": 3008,
            "LastModified": "2024-01-01T00:00:00.000+0000",
            "CodeSha256": "bG9vcGJhY2s=",
            "Version": "$LATEST",
            "TracingConfig": {"Mode": "PassThrough"},
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
        });
        self.json(StatusCode::OK, None, &body)
    }
}

type Reply = Response<Full<Bytes>>;

/// An SDK error in one line: the service's code and message, or else the chain of causes.
fn describe<E>(error: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    if let Some(code) = error.code() {
        return format!("{code}: {}", error.message().unwrap_or("(no message)"));
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Decodes `%XX` escapes; anything malformed is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(
    shared: Arc<Shared>,
    shutdown: watch::Receiver<()>,
    request: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let target = request
        .uri()
        .path()
        .strip_prefix(PATH_PREFIX)
        .and_then(|rest| rest.split_once('/'))
        .map(|(name, operation)| (percent_decode(name), operation.to_string()));
    let Some((name, operation)) = target else {
        return Ok(unknown_operation(&shared));
    };
    match (request.method(), operation.as_str()) {
        (&Method::GET, "configuration") => {
            if shared.matches(&name) {
                Ok(shared.configuration())
            } else {
                Ok(shared.function_not_found(&name))
            }
        }
        (&Method::POST, "invocations") => invoke(shared, shutdown, &name, request).await,
        _ => Ok(unknown_operation(&shared)),
    }
}

fn unknown_operation(shared: &Shared) -> Reply {
    shared.json(
        StatusCode::NOT_FOUND,
        Some("UnknownOperationException"),
        &json!({"Type": "User", "message": "Unknown operation"}),
    )
}

async fn invoke(
    shared: Arc<Shared>,
    shutdown: watch::Receiver<()>,
    name: &str,
    request: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let invocation_type = request
        .headers()
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_string();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return Ok(shared.json(
                StatusCode::BAD_REQUEST,
                Some("InvalidRequestContentException"),
                &json!({"Type": "User", "message": format!("could not read the body: {e}")}),
            ));
        }
    };
    if !shared.matches(name) {
        return Ok(shared.function_not_found(name));
    }
    let payload = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(payload) => payload,
            Err(e) => {
                return Ok(shared.json(
                    StatusCode::BAD_REQUEST,
                    Some("InvalidRequestContentException"),
                    &json!({"Type": "User", "message": format!("Could not parse request body into json: {e}")}),
                ));
            }
        }
    };
    if invocation_type == "DryRun" {
        return Ok(shared.respond(StatusCode::NO_CONTENT, None, Bytes::new()));
    }
    let Some((n, fail)) = shared.admit(payload) else {
        return Ok(shared.json(
            StatusCode::TOO_MANY_REQUESTS,
            Some("TooManyRequestsException"),
            &json!({
                "Type": "User",
                "message": "Rate Exceeded.",
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            }),
        ));
    };
    if invocation_type == "Event" {
        let worker = Arc::clone(&shared);
        let mut shutdown = shutdown;
        tokio::spawn(async move {
            tokio::select! {
                outcome = worker.run(fail) => worker.finish(n, outcome),
                // The LoopbackLambda was dropped: stop touching the queue.
                _ = shutdown.changed() => {}
            }
        });
        Ok(shared.respond(StatusCode::ACCEPTED, None, Bytes::new()))
    } else {
        let outcome = shared.run(fail).await;
        shared.finish(n, outcome);
        let mut response = shared.json(StatusCode::OK, None, &json!({}));
        response.headers_mut().insert(
            HeaderName::from_static("x-amz-executed-version"),
            HeaderValue::from_static("$LATEST"),
        );
        Ok(response)
    }
}

/// The running loopback Lambda. Dropping it stops the server, its connections and any
/// invocations still executing.
pub struct LoopbackLambda {
    shared: Arc<Shared>,
    port: u16,
    server: JoinHandle<()>,
    /// Dropped with `self`, which tells background invocations to stop.
    _shutdown: watch::Sender<()>,
}

impl fmt::Debug for LoopbackLambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackLambda")
            .field("function", &self.shared.function)
            .field("endpoint", &self.endpoint())
            .field("accepted", &self.accepted())
            .field("throttled", &self.throttled())
            .field("executing", &self.executing())
            .finish_non_exhaustive()
    }
}

impl LoopbackLambda {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the loopback lambda to 127.0.0.1");
        let port = listener
            .local_addr()
            .expect("local address of the loopback lambda")
            .port();
        let shared = Arc::new(Shared {
            function: behaviour.function,
            backend: behaviour.backend,
            duration: behaviour.duration,
            receive_attempts: behaviour.receive_attempts,
            receive_interval: behaviour.receive_interval,
            start_delay: behaviour.start_delay,
            failure_share: AtomicU64::new(behaviour.failure_share.clamp(0.0, 1.0).to_bits()),
            max_concurrency: AtomicUsize::new(behaviour.max_concurrency.unwrap_or(usize::MAX)),
            accepted: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            not_found: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            no_message: AtomicU64::new(0),
            executing: AtomicUsize::new(0),
            max_executing: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            sqs_error_reported: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
        });
        let (shutdown, watcher) = watch::channel(());
        let server = tokio::spawn(serve(listener, Arc::clone(&shared), watcher));
        LoopbackLambda {
            shared,
            port,
            server,
            _shutdown: shutdown,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Invocations accepted (202 for `Event`, 200 for `RequestResponse`).
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Invocations refused with 429 because `max_concurrency` were executing.
    pub fn throttled(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// Requests naming an unknown function (404).
    pub fn not_found(&self) -> u64 {
        self.shared.not_found.load(Ordering::Relaxed)
    }

    pub fn succeeded(&self) -> u64 {
        self.shared.succeeded.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    pub fn no_message(&self) -> u64 {
        self.shared.no_message.load(Ordering::Relaxed)
    }

    /// Invocations accepted and not yet finished.
    pub fn executing(&self) -> usize {
        self.shared.executing.load(Ordering::Acquire)
    }

    /// The most invocations ever executing at once.
    pub fn max_executing(&self) -> usize {
        self.shared.max_executing.load(Ordering::Acquire)
    }

    /// When each accepted invocation arrived, in acceptance order.
    pub fn accepted_times(&self) -> Vec<Instant> {
        self.shared.log().iter().map(|i| i.accepted_at).collect()
    }

    /// Every accepted invocation so far, in acceptance order.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.shared.log().clone()
    }

    /// Waits until no invocation is executing; false if `timeout` passed first.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.executing() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Changes the failure share for invocations accepted from now on (clamped to 0..=1).
    pub fn set_failure_share(&self, share: f64) {
        self.shared
            .failure_share
            .store(share.clamp(0.0, 1.0).to_bits(), Ordering::Release);
    }

    /// Changes the concurrency cap for invocations arriving from now on.
    pub fn set_max_concurrency(&self, cap: Option<usize>) {
        self.shared
            .max_concurrency
            .store(cap.unwrap_or(usize::MAX), Ordering::Release);
    }
}

impl Drop for LoopbackLambda {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Typically out of file descriptors: back off a little and keep serving.
                eprintln!("loopback lambda: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Small request/response exchanges on kept-alive connections: do not wait for Nagle.
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("loopback lambda: TCP_NODELAY: {e}");
        }
        while connections.try_join_next().is_some() {}
        let shared = Arc::clone(&shared);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let service =
                service_fn(move |request| handle(Arc::clone(&shared), shutdown.clone(), request));
            // Errors here are clients going away mid-exchange; nothing to do about them.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
