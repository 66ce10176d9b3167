//! The bench's BOSS-like stack in moto: what the policy watches, and `jobs` ingest jobs with
//! their four queues each, all named from the policy's domain so reruns never collide. The
//! tables and functions are made by the moto tests' own fixture (`tests/aws/stack.rs`, which
//! panics on a failed setup call); the thousands of queues here, many at once. Built and deleted
//! with plain SDK clients, which the timed tick does not share.

use crate::fixture;
use anyhow::Context as _;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use futures_util::StreamExt as _;
use remediator::policy::Policy;
use std::time::Duration;

/// Setup calls in flight at once: builds 2000 queues in seconds without swamping moto.
const SETUP_CONCURRENCY: usize = 16;
/// The timeout the fixture's functions get (BOSS's tileIngestLambda runs up to a minute).
const FUNCTION_TIMEOUT_S: i32 = 60;

/// The production SDK settings (`remediator::aws::load_config`: retries, timeouts), pointed
/// at moto with its test credentials.
pub async fn sdk_config(endpoint: &str, policy: &Policy) -> SdkConfig {
    remediator::aws::load_config(policy.region.as_deref())
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "tick-bench",
        )))
        .build()
}

/// Whether moto answers at `endpoint` (a DynamoDB ListTables within a few seconds).
pub async fn answers(endpoint: &str) -> anyhow::Result<()> {
    let sdk = fixture::sdk_config(endpoint).await;
    let call = aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .limit(1)
        .send();
    match tokio::time::timeout(Duration::from_secs(5), call).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(anyhow::anyhow!("no answer within 5 s")),
    }
}

/// What was built, to delete it afterwards.
pub struct Stack {
    fixture: fixture::Stack,
    tables: Vec<String>,
    queues: Vec<String>,
    functions: Vec<String>,
}

impl Stack {
    /// The fixture's tables (TileIndex provisioned 10/10 with its GSI, the others on demand, as
    /// BOSS makes them) and the functions the policy watches, the page-out dead-letter queue,
    /// and per job its ingest, upload, tile-index and tile-index dead-letter queues.
    pub async fn build(endpoint: &str, policy: &Policy, jobs: usize) -> anyhow::Result<Self> {
        let domain = &policy.domain;
        let fixture = fixture::Stack::create(domain.as_str(), endpoint).await;
        let mut tables = Vec::new();
        let mut tables_pages = fixture
            .dynamodb
            .list_tables()
            .into_paginator()
            .items()
            .send();
        while let Some(table) = tables_pages.next().await {
            let table = table.context("listing the tables just made")?;
            if table.ends_with(&format!(".{}", domain.as_str())) {
                tables.push(table);
            }
        }
        let mut functions = policy.drift.functions.clone();
        functions.push(policy.redrive.function.clone());
        functions.push(domain.function("tileIngestLambda"));
        functions.sort();
        functions.dedup();
        let suffix = format!("-{}", domain.dashed());
        for name in &functions {
            let short = name
                .strip_suffix(&suffix)
                .with_context(|| format!("function {name} is not named `<short>{suffix}`"))?;
            fixture.function(short, FUNCTION_TIMEOUT_S).await;
        }
        let mut names = vec![domain.deadletter_queue()];
        for job in 1..=jobs {
            let job = job.to_string();
            names.push(domain.ingest_queue(&job));
            names.push(domain.upload_queue(&job));
            names.push(domain.index_queue(&job));
            names.push(format!("{}-dlq", domain.index_queue(&job)));
        }
        let sqs = &fixture.sqs;
        let created: Vec<anyhow::Result<String>> = futures_util::stream::iter(names)
            .map(|name| async move {
                let out = sqs
                    .create_queue()
                    .queue_name(&name)
                    .send()
                    .await
                    .with_context(|| format!("creating queue {name}"))?;
                out.queue_url()
                    .map(str::to_string)
                    .with_context(|| format!("queue {name} created without a URL"))
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .collect()
            .await;
        let queues = created.into_iter().collect::<anyhow::Result<_>>()?;
        Ok(Self {
            fixture,
            tables,
            queues,
            functions,
        })
    }

    /// Deletes what was built, so a long-lived moto does not grow with every rerun. Failures
    /// are reported, not fatal: the figures are already taken.
    pub async fn delete(self) {
        let Self {
            fixture,
            tables,
            queues,
            functions,
        } = self;
        for table in &tables {
            if let Err(e) = fixture
                .dynamodb
                .delete_table()
                .table_name(table)
                .send()
                .await
            {
                eprintln!("warning: deleting table {table}: {e}");
            }
        }
        for function in &functions {
            if let Err(e) = fixture
                .lambda
                .delete_function()
                .function_name(function)
                .send()
                .await
            {
                eprintln!("warning: deleting function {function}: {e}");
            }
        }
        let sqs = &fixture.sqs;
        let failed = futures_util::stream::iter(&queues)
            .map(|url| async move { sqs.delete_queue().queue_url(url).send().await.is_err() })
            .buffer_unordered(SETUP_CONCURRENCY)
            .filter(|failed| std::future::ready(*failed))
            .count()
            .await;
        if failed > 0 {
            eprintln!("warning: {failed} queue(s) could not be deleted");
        }
    }
}
