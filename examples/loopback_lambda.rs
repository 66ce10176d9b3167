//! A loopback tileIngestLambda for trying `remediator redrive` by hand against moto: each
//! invocation takes one message from the queue and deletes it, as the real lambda does.
//!
//! ```sh
//! cargo build --release --examples     # the first time: minutes (see README, "Re-driving")
//! export AWS_ENDPOINT_URL=$(tests/moto/server.sh url) AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
//! cargo run --release --example loopback_lambda -- tileIngestLambda-local-boss local-boss-ingest-7
//! ```
//!
//! The queue is a name (looked up with GetQueueUrl) or a URL. SQS is reached through the SDK's
//! usual variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SQS`); with neither set, at moto on
//! `http://127.0.0.1:$MOTO_PORT` (default 5010), as `tests/moto/server.sh` starts it, never
//! at AWS: the loopback deletes the messages it takes.
//!
//! It prints the `AWS_ENDPOINT_URL_LAMBDA=...` line to export for `remediator`, then serves until
//! Ctrl-C and prints what it saw. An optional third argument is the share of invocations that
//! fail (0.0 to 1.0) and leave their message.

#[path = "../tests/loopback/lambda.rs"]
mod lambda;

use lambda::{Backend, Behaviour, LoopbackLambda};
use std::io::Write as _;
use std::time::Duration;

/// moto's URL as `tests/moto/server.sh` starts it.
fn moto_url() -> String {
    let port = std::env::var("MOTO_PORT").unwrap_or_else(|_| "5010".into());
    format!("http://127.0.0.1:{port}")
}

fn set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(function), Some(queue)) = (args.first(), args.get(1)) else {
        eprintln!("usage: loopback_lambda FUNCTION QUEUE_NAME_OR_URL [FAILURE_SHARE]");
        std::process::exit(2);
    };
    let share = match args.get(2).map(|s| s.parse::<f64>()) {
        None => 0.0,
        Some(Ok(share)) if (0.0..=1.0).contains(&share) => share,
        Some(_) => {
            eprintln!("FAILURE_SHARE must be a number from 0.0 to 1.0");
            std::process::exit(2);
        }
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    let sqs_at = if set("AWS_ENDPOINT_URL_SQS") {
        "AWS_ENDPOINT_URL_SQS".to_string()
    } else if set("AWS_ENDPOINT_URL") {
        "AWS_ENDPOINT_URL".to_string()
    } else {
        let url = moto_url();
        loader = loader.endpoint_url(&url);
        format!("{url} (moto, MOTO_PORT)")
    };
    let config = loader.load().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue_url = if queue.contains("://") {
        queue.clone()
    } else {
        match client.get_queue_url().queue_name(queue).send().await {
            Ok(out) => out.queue_url().unwrap_or_default().to_string(),
            Err(e) => {
                eprintln!(
                    "loopback_lambda: cannot find queue {queue} through SQS at {sqs_at}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                );
                std::process::exit(1);
            }
        }
    };
    let mut behaviour = Behaviour::new(
        function,
        Backend::Sqs {
            client,
            queue_url: queue_url.clone(),
        },
    );
    behaviour.duration = Duration::from_millis(50);
    behaviour.failure_share = share;
    let lambda = LoopbackLambda::start(behaviour).await;
    eprintln!("loopback {function}: each invocation takes one message from {queue_url}");
    println!("AWS_ENDPOINT_URL_LAMBDA={}", lambda.endpoint());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    println!(
        "accepted {}, succeeded {}, failed {}, found no message {}, throttled {}",
        lambda.accepted(),
        lambda.succeeded(),
        lambda.failed(),
        lambda.no_message(),
        lambda.throttled()
    );
}
