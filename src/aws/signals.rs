//! The [`Signals`] port on AWS: SNS Publish to the stack's alert topic, and the chat webhook.

use super::classify;
use crate::domain::notice::{Channel, Message};
use crate::domain::port_error::PortError;
use crate::ports::Signals;
use crate::webhook::{Target, WebhookClient};

/// SNS accepts subjects of at most this many ASCII characters.
pub const SNS_SUBJECT_MAX: usize = 100;

/// The configured channels. A channel the policy leaves off is `None`; so is the webhook until
/// its URL, read at start, is given with [`AwsSignals::with_webhook`].
#[derive(Debug, Clone)]
pub struct AwsSignals {
    sns: Option<(aws_sdk_sns::Client, String)>,
    webhook: Option<(WebhookClient, Target)>,
}

impl AwsSignals {
    /// The SNS channel, if the policy names a topic.
    #[must_use]
    pub fn new(config: &aws_config::SdkConfig, signals: &crate::policy::Signals) -> Self {
        Self {
            sns: signals
                .sns_topic_arn
                .as_ref()
                .map(|arn| (aws_sdk_sns::Client::new(config), arn.clone())),
            webhook: None,
        }
    }

    /// The webhook channel, posting to `target` (see [`crate::webhook::resolve`]).
    #[must_use]
    pub fn with_webhook(mut self, target: Option<Target>) -> Self {
        self.webhook = target.map(|t| (WebhookClient::new(), t));
        self
    }

    async fn publish(
        &self,
        client: &aws_sdk_sns::Client,
        topic: &str,
        message: &Message,
    ) -> Result<String, PortError> {
        // SNS refuses an empty message; the subject then says it all.
        let body = if message.body.trim().is_empty() {
            &message.subject
        } else {
            &message.body
        };
        let out = client
            .publish()
            .topic_arn(topic)
            .subject(sns_subject(&message.subject))
            .message(body)
            .send()
            .await
            .map_err(|e| classify("SNS", "Publish", &format!("topic {topic}"), &e))?;
        Ok(format!(
            "SNS Publish {}",
            out.message_id().unwrap_or("(no message id)")
        ))
    }
}

fn not_configured(channel: Channel) -> PortError {
    PortError::Permanent {
        service: "signals",
        operation: "send",
        message: format!(
            "the {channel} channel is not configured (or not enabled) in the policy{}",
            if channel == Channel::Webhook {
                ", or its URL was not read"
            } else {
                ""
            }
        ),
    }
}

impl Signals for AwsSignals {
    async fn send(&self, channel: Channel, message: &Message) -> Result<String, PortError> {
        match channel {
            Channel::Sns => match &self.sns {
                Some((client, topic)) => self.publish(client, topic, message).await,
                None => Err(not_configured(channel)),
            },
            Channel::Webhook => match &self.webhook {
                Some((client, target)) => {
                    let body = crate::webhook::payload(&message.subject, &message.body);
                    client.post(&target.url, &body, target.timeout).await
                }
                None => Err(not_configured(channel)),
            },
        }
    }
}

/// The message of `remediator signals test`: who sends it, from where, for which stack.
#[must_use]
pub fn test_message(domain: &str, text: Option<&str>, now: crate::time::Timestamp) -> Message {
    let host = hostname();
    let mut body = format!(
        "remediator signal test from {host} at {now} for the stack {domain}. \
         If you can read this, the channel works; nothing needs doing."
    );
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        body.push_str("\n\n");
        body.push_str(text);
    }
    Message {
        subject: format!("remediator signal test from {host} ({domain})"),
        body,
    }
}

/// This machine's name, as the kernel or `/etc/hostname` gives it.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "an unnamed host".to_string())
}

/// A subject SNS accepts: printable ASCII on one line, at most [`SNS_SUBJECT_MAX`] characters,
/// starting with a letter, digit or punctuation. Common typographic characters become their
/// ASCII look-alikes, anything else `?`; a subject that is too long ends in `...`.
#[must_use]
pub fn sns_subject(subject: &str) -> String {
    let mut ascii = String::with_capacity(subject.len());
    for c in subject.chars() {
        match c {
            ' '..='~' => ascii.push(c),
            c if c.is_whitespace() || c.is_control() => ascii.push(' '),
            '→' => ascii.push_str("->"),
            '←' => ascii.push_str("<-"),
            '…' => ascii.push_str("..."),
            '×' => ascii.push('x'),
            '–' | '—' | '−' => ascii.push('-'),
            '‘' | '’' => ascii.push('\''),
            '“' | '”' => ascii.push('"'),
            _ => ascii.push('?'),
        }
    }
    let line = ascii.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "remediator".to_string();
    }
    if line.len() <= SNS_SUBJECT_MAX {
        return line;
    }
    let mut cut = line[..SNS_SUBJECT_MAX - 3].trim_end().to_string();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_become_one_short_line_of_printable_ascii() {
        assert_eq!(
            sns_subject("Pause: tileIngestLambda 2× slower → paused\n(job 7)"),
            "Pause: tileIngestLambda 2x slower -> paused (job 7)"
        );
        assert_eq!(sns_subject("  \t\n "), "remediator");
        assert_eq!(sns_subject("Ingest 😀 done"), "Ingest ? done");
        let long = sns_subject(&"word ".repeat(40));
        assert!(long.len() <= SNS_SUBJECT_MAX, "{long}");
        assert!(long.ends_with("..."), "{long}");
        assert!(long.chars().all(|c| (' '..='~').contains(&c)));
    }

    #[test]
    fn a_subject_of_exactly_the_limit_is_kept_whole() {
        let exact = "a".repeat(SNS_SUBJECT_MAX);
        assert_eq!(sns_subject(&exact), exact);
    }
}
