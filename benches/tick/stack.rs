//! The bench's BOSS-like stack in moto: what the policy watches, and `jobs` ingest jobs with
//! their four queues each, all named from the policy's domain so reruns never collide. Built and
//! deleted with plain SDK clients, which the timed tick does not share.

use anyhow::Context as _;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType,
};
use futures_util::StreamExt as _;
use remediator::policy::Policy;
use std::time::Duration;

/// The GSI BOSS gives TileIndex (shared/boss.md).
const GSI: &str = "task_id_index";
/// Setup calls in flight at once: builds 2000 queues in seconds without swamping moto.
const SETUP_CONCURRENCY: usize = 16;
/// One IAM role for every bench function (moto wants the role to exist).
const ROLE: &str = "tick-bench-lambda-role";

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
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "tick-bench",
        ))
        .load()
        .await;
    let call = aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .limit(1)
        .send();
    match tokio::time::timeout(Duration::from_secs(5), call).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!("{}", one_line(&e))),
        Err(_) => Err(anyhow::anyhow!("no answer within 5 s")),
    }
}

/// The cause chain on one line.
fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        parts.push(e.to_string());
        next = e.source();
    }
    parts.join(": ")
}

/// What was built, to delete it afterwards.
pub struct Stack {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
    tables: Vec<String>,
    queues: Vec<String>,
    functions: Vec<String>,
}

fn key(name: &str, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()?)
}

fn attribute(name: &str) -> anyhow::Result<AttributeDefinition> {
    Ok(AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()?)
}

fn throughput(units: i64) -> anyhow::Result<ProvisionedThroughput> {
    Ok(ProvisionedThroughput::builder()
        .read_capacity_units(units)
        .write_capacity_units(units)
        .build()?)
}

impl Stack {
    /// Tables (TileIndex provisioned 10/10 with its GSI, the others on demand, as BOSS makes
    /// them), the watched functions, the page-out dead-letter queue, and per job its ingest,
    /// upload, tile-index and tile-index dead-letter queues.
    pub async fn build(endpoint: &str, policy: &Policy, jobs: usize) -> anyhow::Result<Self> {
        let sdk = sdk_config(endpoint, policy).await;
        let mut stack = Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            tables: Vec::new(),
            queues: Vec::new(),
            functions: Vec::new(),
        };
        let domain = &policy.domain;
        for rule in &policy.tables {
            let name = rule.table_name.clone();
            let create = stack.dynamodb.create_table().table_name(&name);
            let create = if name == domain.table("tileindex") {
                create
                    .attribute_definitions(attribute("chunk_key")?)
                    .attribute_definitions(attribute("task_id")?)
                    .key_schema(key("chunk_key", KeyType::Hash)?)
                    .provisioned_throughput(throughput(10)?)
                    .global_secondary_indexes(
                        GlobalSecondaryIndex::builder()
                            .index_name(GSI)
                            .key_schema(key("task_id", KeyType::Hash)?)
                            .projection(
                                Projection::builder()
                                    .projection_type(ProjectionType::KeysOnly)
                                    .build(),
                            )
                            .provisioned_throughput(throughput(10)?)
                            .build()?,
                    )
            } else {
                create
                    .attribute_definitions(attribute("key")?)
                    .key_schema(key("key", KeyType::Hash)?)
                    .billing_mode(BillingMode::PayPerRequest)
            };
            create
                .send()
                .await
                .with_context(|| format!("creating table {name}"))?;
            stack.tables.push(name);
        }
        let mut functions = policy.drift.functions.clone();
        functions.push(policy.redrive.function.clone());
        functions.push(domain.function("tileIngestLambda"));
        functions.sort();
        functions.dedup();
        create_role(endpoint)?;
        for name in functions {
            stack.function(&name).await?;
            stack.functions.push(name);
        }
        let mut names = vec![domain.deadletter_queue()];
        for job in 1..=jobs {
            let job = job.to_string();
            names.push(domain.ingest_queue(&job));
            names.push(domain.upload_queue(&job));
            names.push(domain.index_queue(&job));
            names.push(format!("{}-dlq", domain.index_queue(&job)));
        }
        let sqs = &stack.sqs;
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
        for url in created {
            stack.queues.push(url?);
        }
        Ok(stack)
    }

    async fn function(&self, name: &str) -> anyhow::Result<()> {
        self.lambda
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Python311)
            .role(format!("arn:aws:iam::123456789012:role/{ROLE}"))
            .handler("index.handler")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(b"bench".to_vec()))
                    .build(),
            )
            .timeout(60)
            .memory_size(1024)
            .send()
            .await
            .with_context(|| format!("creating function {name}"))?;
        Ok(())
    }

    /// Deletes what was built, so a long-lived moto does not grow with every rerun. Failures
    /// are reported, not fatal: the figures are already taken.
    pub async fn delete(self) {
        for table in &self.tables {
            if let Err(e) = self.dynamodb.delete_table().table_name(table).send().await {
                eprintln!("warning: deleting table {table}: {e}");
            }
        }
        for function in &self.functions {
            if let Err(e) = self
                .lambda
                .delete_function()
                .function_name(function)
                .send()
                .await
            {
                eprintln!("warning: deleting function {function}: {e}");
            }
        }
        let sqs = &self.sqs;
        let failed = futures_util::stream::iter(&self.queues)
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

/// moto checks that a function's role exists. One plain IAM query call (moto does not check
/// signatures) rather than building the IAM SDK for a fixture, as tests/aws/stack.rs does.
fn create_role(endpoint: &str) -> anyhow::Result<()> {
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={ROLE}&AssumeRolePolicyDocument=%7B%7D"
    );
    let out = std::process::Command::new("curl")
        .args(["-sS", "-X", "POST", endpoint, "-d", &body])
        .args([
            "-H",
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        ])
        .output()
        .context("running curl to create the IAM role in moto")?;
    let answer = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        answer.contains("CreateRoleResponse") || answer.contains("EntityAlreadyExists"),
        "creating IAM role {ROLE} in moto: {answer}"
    );
    Ok(())
}
