//! SQS adapter for the [`Queues`] port: ListQueues by prefix and GetQueueAttributes.

use super::classify;
use crate::ports::{PortError, QueueDepth, Queues};
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

    async fn depth(&self, url: &str) -> Result<QueueDepth, PortError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
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
        })
    }
}
