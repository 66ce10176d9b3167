//! `remediator signals test`: one test message on every channel the policy switches on.

use crate::support::{BadInput, runtime, webhook_target};
use remediator::aws;
use remediator::cli::{SignalsArgs, SignalsCommand};
use remediator::policy::Policy;
use remediator::time::Timestamp;
use remediator::webhook;
use std::process::ExitCode;

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: SignalsArgs) -> anyhow::Result<ExitCode> {
    let SignalsArgs {
        command: SignalsCommand::Test { policy, message },
    } = args;
    let policy = Policy::load(&policy)?;
    if policy.signals.channels().is_empty() {
        return Err(BadInput(format!(
            "the policy switches on no signal channel: set [signals.sns] topic_arn, or \
             add [signals.webhook] (URL in {} or a file named by url_file), and leave \
             `enabled` out or true, to test them",
            webhook::URL_VARIABLE
        ))
        .into());
    }
    let webhook = webhook_target(&policy)?;
    Ok(runtime()?.block_on(signals_test(&policy, message.as_deref(), webhook)))
}

/// `remediator signals test`: one test message on every channel the policy switches on, one
/// line per channel; 1 if any failed.
async fn signals_test(
    policy: &Policy,
    text: Option<&str>,
    webhook: Option<webhook::Target>,
) -> ExitCode {
    use remediator::ports::Signals as _;
    let config = aws::load_config(policy.region.as_deref()).await;
    let signals = aws::AwsSignals::new(&config, &policy.signals).with_webhook(webhook);
    let message = aws::test_message(policy.domain.as_str(), text, Timestamp::now());
    let mut failed = false;
    for channel in policy.signals.channels() {
        match signals.send(channel, &message).await {
            Ok(receipt) => println!("{channel}: delivered ({receipt})"),
            Err(e) => {
                failed = true;
                // The webhook client's errors name it as scheme://host[:port] only.
                println!("{channel}: failed: {e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
