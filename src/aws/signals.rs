//! The [`Signals`] port on AWS: SNS Publish to the stack's alert topic, and the chat webhook.

use crate::ports::{Channel, Message, PortError, Signals};

/// The configured channels. A channel the policy leaves off is `None`.
#[derive(Debug, Clone)]
pub struct AwsSignals {
    sns: Option<(aws_sdk_sns::Client, String)>,
    webhook: Option<crate::policy::Webhook>,
}

impl AwsSignals {
    #[must_use]
    pub fn new(config: &aws_config::SdkConfig, signals: &crate::policy::Signals) -> Self {
        Self {
            sns: signals
                .sns_topic_arn
                .as_ref()
                .map(|arn| (aws_sdk_sns::Client::new(config), arn.clone())),
            webhook: signals.webhook.clone(),
        }
    }
}

impl Signals for AwsSignals {
    async fn send(&self, channel: Channel, message: &Message) -> Result<String, PortError> {
        let _ = (&self.sns, &self.webhook, message);
        Err(PortError::Permanent {
            service: "signals",
            operation: "send",
            message: format!("{channel}: STUB"),
        })
    }
}
