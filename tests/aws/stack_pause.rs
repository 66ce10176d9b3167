//! The pause side of a test stack in moto: event-source mappings and reserved concurrency (the
//! flow-control levers), Lambda metrics, and an SNS topic whose notifications land in an SQS
//! queue the test reads.
//!
//! moto keeps mappings and reserved concurrency faithfully but does not implement
//! GetAccountSettings: point Lambda at a `LambdaFront` (tests/loopback/lambda_front.rs) in
//! front of moto for any run that reads the account's concurrency limit.
#![allow(dead_code)]

use super::stack::Stack;
use aws_sdk_cloudwatch::types::StandardUnit;
use aws_sdk_lambda::types::ScalingConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

impl Stack {
    /// The ARN of a queue of this stack, by name.
    pub async fn queue_arn(&self, queue: &str) -> String {
        let url = self
            .sqs
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .unwrap_or_else(|e| panic!("queue {queue}: {e:?}"))
            .queue_url()
            .expect("url")
            .to_string();
        self.sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .expect("QueueArn")
            .clone()
    }

    /// An enabled SQS event-source mapping queue → function (both must exist), with
    /// MaximumConcurrency `max` if given; returns its UUID.
    ///
    /// moto, like Lambda, then "polls" the queue: every message sent to it afterwards is handed
    /// to the function at once (without Docker, a canned success) and deleted. Fill the queue
    /// before mapping it, or disable the mapping, when the messages must stay.
    pub async fn event_source_mapping(
        &self,
        function: &str,
        queue: &str,
        max: Option<i32>,
    ) -> String {
        let arn = self.queue_arn(queue).await;
        self.lambda
            .create_event_source_mapping()
            .function_name(function)
            .event_source_arn(arn)
            .batch_size(1)
            .set_scaling_config(
                max.map(|n| ScalingConfig::builder().maximum_concurrency(n).build()),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("mapping {queue} -> {function}: {e:?}"))
            .uuid()
            .expect("uuid")
            .to_string()
    }

    /// A mapping's `(State, ScalingConfig.MaximumConcurrency)` as Lambda reports it.
    pub async fn mapping(&self, uuid: &str) -> (String, Option<i32>) {
        let out = self
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .unwrap_or_else(|e| panic!("mapping {uuid}: {e:?}"));
        (
            out.state().unwrap_or_default().to_string(),
            out.scaling_config()
                .and_then(ScalingConfig::maximum_concurrency),
        )
    }

    /// A function's reserved concurrency; `None` when it has none.
    pub async fn reserved_concurrency(&self, function: &str) -> Option<i32> {
        self.lambda
            .get_function_concurrency()
            .function_name(function)
            .send()
            .await
            .unwrap_or_else(|e| panic!("concurrency of {function}: {e:?}"))
            .reserved_concurrent_executions()
    }

    /// Sets (or, with `None`, removes) a function's reserved concurrency.
    pub async fn set_reserved_concurrency(&self, function: &str, reserved: Option<i32>) {
        match reserved {
            Some(n) => {
                self.lambda
                    .put_function_concurrency()
                    .function_name(function)
                    .reserved_concurrent_executions(n)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("put concurrency of {function}: {e:?}"));
            }
            None => {
                self.lambda
                    .delete_function_concurrency()
                    .function_name(function)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("delete concurrency of {function}: {e:?}"));
            }
        }
    }

    /// Puts `(minutes ago, value)` datapoints of an `AWS/Lambda` metric of one function:
    /// `Duration` in milliseconds (read as Average), `ConcurrentExecutions` (Maximum),
    /// `Invocations`, `Errors`, `Throttles` (Sum).
    pub async fn put_lambda_metric(&self, function: &str, metric: &str, points: &[(i64, f64)]) {
        let unit = if metric == "Duration" {
            StandardUnit::Milliseconds
        } else {
            StandardUnit::Count
        };
        self.put_datapoints(
            "AWS/Lambda",
            &[("FunctionName", function)],
            metric,
            unit,
            points,
        )
        .await;
    }
}

/// An SNS topic with an SQS queue subscribed to it, so a test can read what was published.
pub struct SnsInbox {
    pub topic_arn: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

/// One notification as SNS delivered it to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    pub message: String,
}

impl SnsInbox {
    /// Topic `<name>` and queue `<name>-inbox`, subscribed with protocol `sqs`.
    pub async fn create(stack: &Stack, name: &str) -> Self {
        let config = super::stack::sdk_config(stack.endpoint()).await;
        let sns = aws_sdk_sns::Client::new(&config);
        let topic_arn = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .expect("create topic")
            .topic_arn()
            .expect("topic arn")
            .to_string();
        let queue = format!("{name}-inbox");
        let queue_url = stack
            .sqs
            .create_queue()
            .queue_name(&queue)
            .send()
            .await
            .expect("create inbox queue")
            .queue_url()
            .expect("url")
            .to_string();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(stack.queue_arn(&queue).await)
            .send()
            .await
            .expect("subscribe the inbox");
        SnsInbox {
            topic_arn,
            queue_url,
            sqs: stack.sqs.clone(),
        }
    }

    /// Every notification waiting in the queue, removed from it, in arrival order.
    pub async fn take(&self) -> Vec<Notification> {
        let mut out = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive from the inbox");
            let messages = received.messages();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let envelope: Value =
                    serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope");
                out.push(Notification {
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                    message: envelope["Message"].as_str().unwrap_or_default().to_string(),
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete from the inbox");
            }
        }
    }
}
