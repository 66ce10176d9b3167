//! A BOSS-like stack in moto, built and inspected through the official AWS SDK for Rust.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension as CwDimension, MetricDatum, StandardUnit};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType,
};
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub const REGION: &str = "us-east-1";
pub const GSI: &str = "task_id_index";

/// Starts moto once per test binary (the script is idempotent) and returns its URL.
pub fn moto_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/moto/server.sh");
        let out = Command::new("bash")
            .args([script, "start"])
            .output()
            .unwrap_or_else(|e| panic!("running {script}: {e}"));
        assert!(
            out.status.success(),
            "{script} start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

/// One test's stack: every name derives from its own domain, so tests share one moto server.
pub struct Stack {
    pub domain: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    endpoint: String,
    /// The minute all injected datapoints count back from, fixed when the stack is made so a
    /// minute boundary between two puts cannot split one scenario across two clocks.
    base_minute: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub read: i64,
    pub write: i64,
}

/// The start of the current minute, in seconds since the epoch.
pub fn minute_now() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(now - now % 60).expect("fits")
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key")
}

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute")
}

fn throughput(units: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(units)
        .write_capacity_units(units)
        .build()
        .expect("throughput")
}

impl Stack {
    pub async fn new(domain: &str, endpoint: &str) -> Self {
        let config = sdk_config(endpoint).await;
        Self {
            domain: domain.to_string(),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            endpoint: endpoint.to_string(),
            base_minute: minute_now(),
        }
    }

    pub fn table(&self, short: &str) -> String {
        format!("{short}.{}", self.domain)
    }

    /// tileindex (provisioned 10/10, GSI `task_id_index` 10/10), idIndex, s3index and idCount
    /// on demand, and bossmeta, as BOSS creates them.
    pub async fn create(domain: &str, endpoint: &str) -> Self {
        let stack = Self::new(domain, endpoint).await;
        stack
            .dynamodb
            .create_table()
            .table_name(stack.table("tileindex"))
            .attribute_definitions(attribute("chunk_key"))
            .attribute_definitions(attribute("task_id"))
            .key_schema(key("chunk_key", KeyType::Hash))
            .provisioned_throughput(throughput(10))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(GSI)
                    .key_schema(key("task_id", KeyType::Hash))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::KeysOnly)
                            .build(),
                    )
                    .provisioned_throughput(throughput(10))
                    .build()
                    .expect("gsi"),
            )
            .send()
            .await
            .expect("create tileindex");
        for short in ["idIndex", "s3index", "idCount", "bossmeta"] {
            stack
                .dynamodb
                .create_table()
                .table_name(stack.table(short))
                .attribute_definitions(attribute("key"))
                .key_schema(key("key", KeyType::Hash))
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await
                .unwrap_or_else(|e| panic!("create {short}: {e:?}"));
        }
        stack
    }

    async fn describe(&self, short: &str) -> aws_sdk_dynamodb::types::TableDescription {
        self.dynamodb
            .describe_table()
            .table_name(self.table(short))
            .send()
            .await
            .expect("describe")
            .table()
            .expect("table")
            .clone()
    }

    /// Provisioned read/write of a table, or of one of its GSIs.
    pub async fn capacity(&self, short: &str, index: Option<&str>) -> Capacity {
        let table = self.describe(short).await;
        let p = match index {
            None => table.provisioned_throughput().expect("throughput").clone(),
            Some(index) => table
                .global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == Some(index))
                .and_then(|g| g.provisioned_throughput())
                .expect("gsi throughput")
                .clone(),
        };
        Capacity {
            read: p.read_capacity_units().unwrap_or(0),
            write: p.write_capacity_units().unwrap_or(0),
        }
    }

    pub async fn billing_mode(&self, short: &str) -> Option<BillingMode> {
        self.describe(short)
            .await
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .cloned()
    }

    /// Puts one datapoint per minute into `AWS/DynamoDB` for the minutes starting
    /// `minutes_ago` (e.g. `[3, 2, 1]`) before the current minute. With one datapoint a minute,
    /// the minute's Sum, Average and Maximum are all `value`.
    pub async fn put_metric(
        &self,
        short: &str,
        index: Option<&str>,
        metric: &str,
        value: f64,
        minutes_ago: &[i64],
    ) {
        let table = self.table(short);
        let mut dims = vec![("TableName", table.as_str())];
        dims.extend(index.map(|i| ("GlobalSecondaryIndexName", i)));
        let points: Vec<(i64, f64)> = minutes_ago.iter().map(|ago| (*ago, value)).collect();
        self.put_datapoints("AWS/DynamoDB", &dims, metric, StandardUnit::Count, &points)
            .await;
    }

    /// Puts datapoints `(minutes ago, value)` of one metric; several in one minute make that
    /// minute's Sum, Average and Maximum differ.
    pub async fn put_datapoints(
        &self,
        namespace: &str,
        dimensions: &[(&str, &str)],
        metric: &str,
        unit: StandardUnit,
        points: &[(i64, f64)],
    ) {
        let dims: Vec<CwDimension> = dimensions
            .iter()
            .map(|(name, value)| CwDimension::builder().name(*name).value(*value).build())
            .collect();
        let now = self.base_minute;
        let data: Vec<MetricDatum> = points
            .iter()
            .map(|(ago, value)| {
                MetricDatum::builder()
                    .metric_name(metric)
                    .set_dimensions(Some(dims.clone()))
                    .timestamp(DateTime::from_secs(now - ago * 60))
                    .value(*value)
                    .unit(unit.clone())
                    .build()
            })
            .collect();
        self.cloudwatch
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .expect("put metric data");
    }

    /// The endpoint the stack's clients talk to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Write throttling on a table or GSI: consumption at the provisioned 10 WCU/s and `events`
    /// throttle events a minute, for the last three minutes.
    pub async fn throttle_writes(&self, short: &str, index: Option<&str>, events: f64) {
        let minutes = [3, 2, 1];
        self.put_metric(short, index, "ConsumedWriteCapacityUnits", 600.0, &minutes)
            .await;
        self.put_metric(short, index, "WriteThrottleEvents", events, &minutes)
            .await;
    }

    /// The domain with dashes, the prefix of per-job queues and the suffix of lambdas.
    pub fn dashed(&self) -> String {
        self.domain.replace('.', "-")
    }

    /// An ingest queue of this domain (`<dom>-ingest-<job>`) holding `messages` messages.
    pub async fn ingest_queue(&self, job: u32, messages: u32) -> String {
        let name = format!("{}-ingest-{job}", self.dashed());
        self.queue(&name, job, messages, 30).await;
        name
    }

    /// A queue named `name` holding `messages` chunk messages of `job` (the body tileUploadLambda
    /// sends to an ingest queue), with the given visibility timeout; returns its URL.
    pub async fn queue(&self, name: &str, job: u32, messages: u32, visibility_s: u32) -> String {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_s.to_string(),
            )
            .send()
            .await
            .expect("create queue")
            .queue_url()
            .expect("url")
            .to_string();
        let bodies: Vec<String> = (0..messages)
            .map(|i| {
                format!(r#"{{"chunk_key": "{i:032x}&16&1&2&3&0&{i}&0&0&0", "ingest_job": {job}}}"#)
            })
            .collect();
        for batch in bodies.chunks(10) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .expect("entry")
                })
                .collect();
            self.sqs
                .send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("send batch");
        }
        url
    }

    /// A Lambda function `<short>-<domain with dashes>` with the given timeout. moto needs an
    /// IAM role first; the test fixture creates it with one plain IAM query call (moto does not
    /// check signatures) rather than building the IAM SDK for a fixture.
    pub async fn function(&self, short: &str, timeout_s: i32) -> String {
        let role = format!("{}-lambda-role", self.dashed());
        let body = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={role}&AssumeRolePolicyDocument=%7B%7D"
        );
        let out = std::process::Command::new("curl")
            .args(["-sS", "-X", "POST", &self.endpoint, "-d", &body])
            .args([
                "-H",
                "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            ])
            .output()
            .expect("curl");
        let answer = String::from_utf8_lossy(&out.stdout);
        assert!(
            answer.contains("CreateRoleResponse") || answer.contains("EntityAlreadyExists"),
            "create IAM role in moto: {answer}"
        );
        let name = format!("{short}-{}", self.dashed());
        self.lambda
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Python311)
            .role(format!("arn:aws:iam::123456789012:role/{role}"))
            .handler("index.handler")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(b"fixture".to_vec()))
                    .build(),
            )
            .timeout(timeout_s)
            .memory_size(1024)
            .send()
            .await
            .expect("create function");
        name
    }

    /// Light, unthrottled reads (1 RCU/s) for the last three minutes.
    pub async fn calm_reads(&self, short: &str, index: Option<&str>) {
        self.put_metric(short, index, "ConsumedReadCapacityUnits", 60.0, &[3, 2, 1])
            .await;
    }
}
