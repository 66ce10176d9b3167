//! SQS adapter for the [`Queues`] port: ListQueues by prefix, GetQueueUrl, GetQueueAttributes,
//! and a ReceiveMessage that leaves the message visible.

use super::classify;
use crate::domain::observed::QueueDepth;
use crate::domain::port_error::PortError;
use crate::ports::Queues;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

#[derive(Debug, Clone)]
pub struct SqsQueues {
    client: Client,
}

impl SqsQueues {
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl Queues for SqsQueues {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        let mut urls = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .client
                .list_queues()
                .queue_name_prefix(prefix)
                .max_results(1000)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("SQS", "ListQueues", prefix, &e))?;
            urls.extend(out.queue_urls().iter().cloned());
            next_token = out.next_token().map(str::to_string);
            if next_token.is_none() {
                urls.sort();
                return Ok(urls);
            }
        }
    }

    async fn url(&self, name: &str) -> Result<String, PortError> {
        let out = self
            .client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| classify("SQS", "GetQueueUrl", &format!("queue {name}"), &e))?;
        out.queue_url()
            .map(str::to_string)
            .ok_or_else(|| PortError::NotFound {
                resource: format!("queue {name}"),
            })
    }

    async fn peek(&self, url: &str) -> Result<Option<String>, PortError> {
        // Visibility timeout 0 leaves the message visible: the re-drive only borrows a chunk key
        // and must not delay the message the lambda it invokes is meant to take. (It does count
        // as a receive; the ingest queue has no dead-letter queue, so nothing moves it.) A short
        // long-poll, because a plain receive samples only some SQS servers and can miss the few
        // messages of a stranded tail.
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(1)
            .visibility_timeout(0)
            .wait_time_seconds(2)
            .send()
            .await
            .map_err(|e| classify("SQS", "ReceiveMessage", url, &e))?;
        Ok(out
            .messages()
            .first()
            .and_then(|m| m.body().map(str::to_string)))
    }

    async fn depth(&self, url: &str) -> Result<QueueDepth, PortError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .map_err(|e| classify("SQS", "GetQueueAttributes", url, &e))?;
        let count = |name: QueueAttributeName| {
            out.attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(QueueDepth {
            name: url.rsplit('/').next().unwrap_or(url).to_string(),
            url: url.to_string(),
            visible: count(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            visibility_timeout: out
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
                .and_then(|v| v.parse::<u64>().ok())
                .map(std::time::Duration::from_secs),
        })
    }
}
