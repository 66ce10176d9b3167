//! A loopback tileIngestLambda for trying `remediator redrive` by hand against moto: each
//! invocation takes one message from the queue and deletes it, as the real lambda does.
//!
//! ```sh
//! export AWS_ENDPOINT_URL=http://127.0.0.1:5010 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
//! cargo run --example loopback_lambda -- tileIngestLambda-local-boss http://127.0.0.1:5010/123456789012/local-boss-ingest-7
//! ```
//!
//! It prints the `AWS_ENDPOINT_URL_LAMBDA=...` line to export for `remediator`, then serves until
//! Ctrl-C and prints what it saw. An optional third argument is the share of invocations that
//! fail (0.0 to 1.0) and leave their message.

#[path = "../tests/loopback/lambda.rs"]
mod lambda;

use lambda::{Backend, Behaviour, LoopbackLambda};
use std::io::Write as _;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(function), Some(queue_url)) = (args.first(), args.get(1)) else {
        eprintln!("usage: loopback_lambda FUNCTION QUEUE_URL [FAILURE_SHARE]");
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
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let mut behaviour = Behaviour::new(
        function,
        Backend::Sqs {
            client: aws_sdk_sqs::Client::new(&config),
            queue_url: queue_url.clone(),
        },
    );
    behaviour.duration = Duration::from_millis(50);
    behaviour.failure_share = share;
    let lambda = LoopbackLambda::start(behaviour).await;
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
