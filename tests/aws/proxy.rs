//! A small fault-injecting HTTP proxy in front of moto: for the next N requests of one
//! operation it answers 500, answers a throttling error, answers late, or forwards the request
//! and never answers. Every request is
//! otherwise forwarded unchanged (one request per connection, `Connection: close`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 InternalServerError.
    ServerError,
    /// HTTP 400 ThrottlingException (the JSON protocols' shape).
    Throttling,
    /// HTTP 400 AccessDeniedException: retrying will not help.
    AccessDenied,
    /// Forwarded after 12 s, beyond the controller's 10 s attempt timeout.
    Slow,
    /// Never answered (the connection is held open for ten minutes): a hung endpoint.
    Hang,
    /// Forwarded, and the upstream's answer read, but never passed on (the connection is held
    /// open for ten minutes): the change is made and the caller never learns it.
    ForwardThenHang,
}

#[derive(Default)]
struct Rules {
    /// Operation name → (fault, how many more requests get it).
    faults: HashMap<String, (Fault, u32)>,
    /// Operation name → requests seen.
    seen: HashMap<String, u32>,
}

pub struct Proxy {
    port: u16,
    rules: Arc<Mutex<Rules>>,
}

/// The operations the tests name; a request is counted under the first one it mentions
/// (in `X-Amz-Target` for JSON protocols, in the `Action=` body for CloudWatch's query protocol).
const OPERATIONS: &[&str] = &[
    "GetMetricData",
    "DescribeTable",
    "ListQueues",
    "UpdateTable",
    "TransactWriteItems",
    "PutItem",
    "DeleteItem",
    "DescribeScalableTargets",
    "RegisterScalableTarget",
    "GetQueueUrl",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "PurgeQueue",
];

impl Proxy {
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let rules = Arc::new(Mutex::new(Rules::default()));
        let shared = Arc::clone(&rules);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rules = Arc::clone(&shared);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &rules).await;
                });
            }
        });
        Self { port, rules }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn fail(&self, operation: &str, fault: Fault, times: u32) {
        self.rules
            .lock()
            .expect("rules")
            .faults
            .insert(operation.to_string(), (fault, times));
    }

    pub fn seen(&self, operation: &str) -> u32 {
        self.rules
            .lock()
            .expect("rules")
            .seen
            .get(operation)
            .copied()
            .unwrap_or(0)
    }
}

/// Reads one request: the head up to the blank line, then `Content-Length` bytes of body.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, body)))
}

fn response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn serve(mut client: TcpStream, upstream: &str, rules: &Mutex<Rules>) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let text = format!("{head}{}", String::from_utf8_lossy(&body));
    let operation = OPERATIONS
        .iter()
        .find(|op| text.contains(&format!(".{op}\r\n")) || text.contains(&format!("Action={op}&")))
        .map(|op| (*op).to_string());
    let fault = operation.as_ref().and_then(|op| {
        let mut rules = rules.lock().expect("rules");
        *rules.seen.entry(op.clone()).or_default() += 1;
        let entry = rules.faults.get_mut(op)?;
        if entry.1 == 0 {
            return None;
        }
        entry.1 -= 1;
        Some(entry.0)
    });
    match fault {
        Some(Fault::ServerError) => {
            let r = response(
                "500 Internal Server Error",
                r#"{"__type":"InternalServerError","message":"injected by the test proxy"}"#,
            );
            return client.write_all(r.as_bytes()).await;
        }
        Some(Fault::Throttling) => {
            let r = response(
                "400 Bad Request",
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput (injected)"}"#,
            );
            return client.write_all(r.as_bytes()).await;
        }
        Some(Fault::AccessDenied) => {
            let r = response(
                "400 Bad Request",
                r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User is not authorized to perform: dynamodb:UpdateTable (injected)"}"#,
            );
            return client.write_all(r.as_bytes()).await;
        }
        Some(Fault::Slow) => tokio::time::sleep(Duration::from_secs(12)).await,
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            return Ok(());
        }
        Some(Fault::ForwardThenHang) | None => {}
    }
    let mut head_lines: Vec<&str> = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    head_lines.push("Connection: close");
    let mut upstream_conn = TcpStream::connect(upstream).await?;
    upstream_conn
        .write_all(format!("{}\r\n\r\n", head_lines.join("\r\n")).as_bytes())
        .await?;
    upstream_conn.write_all(&body).await?;
    let mut answer = Vec::new();
    upstream_conn.read_to_end(&mut answer).await?;
    if fault == Some(Fault::ForwardThenHang) {
        tokio::time::sleep(Duration::from_secs(600)).await;
        return Ok(());
    }
    client.write_all(&answer).await?;
    client.shutdown().await
}
