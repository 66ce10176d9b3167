//! AWS adapters: the capability ports implemented with the official AWS SDK for Rust.
//!
//! They translate SDK types to domain types and decide nothing. Credentials and region come
//! from the standard aws-config chain (the policy's `region`, when set, wins over the chain's);
//! endpoints follow the SDK's `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, so
//! the same binary talks to AWS or to an emulator.

mod endpoints;
mod functions;
mod metrics;
mod queues;
mod signals;
mod state;
mod tables;

pub use endpoints::{
    ENDPOINT_VARIABLE, LAMBDA_ENDPOINT_VARIABLE, lambda_endpoint_hint, warn_lambda_endpoint,
};
pub use functions::LambdaFunctions;
pub use metrics::CloudWatchMetrics;
pub use queues::SqsQueues;
pub use signals::{AwsSignals, test_message};
pub use state::{AnyState, DynamoState, InitReport};
pub use tables::DynamoTables;

use crate::domain::port_error::PortError;
use crate::ports::Ports;
use crate::quote::{MAX_CHARS, excerpt, one_line};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// Attempts per call (the first one included). Retries inside a call cover brief blips; anything
/// longer is left to the next tick, which observes afresh before deciding again.
pub const MAX_ATTEMPTS: u32 = 3;
/// A connection that is not up in this time will not be up in time for this tick.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt; DynamoDB and CloudWatch answer in well under a second when healthy.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One call, retries included: keeps a tick well inside the 30 s interval's neighbourhood.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(25);

/// Loads the shared SDK configuration with explicit retry and timeout settings.
pub async fn load_config(region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(2)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(CALL_TIMEOUT)
                .build(),
        );
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    loader.load().await
}

/// No credentials could be found by the standard chain.
#[derive(Debug, thiserror::Error)]
#[error(
    "no AWS credentials: {0} (set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is available)"
)]
pub struct CredentialsError(String);

/// Resolves credentials once, so a missing credential is one clear line rather than a failed
/// call per table.
///
/// # Errors
/// No provider in the chain produced credentials.
pub async fn check_credentials(config: &SdkConfig) -> Result<(), CredentialsError> {
    use aws_sdk_dynamodb::config::ProvideCredentials as _;
    let Some(provider) = config.credentials_provider() else {
        return Err(CredentialsError(
            "no credentials provider configured".into(),
        ));
    };
    provider
        .provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| CredentialsError(one_line(&e)))
}

/// The adapters of every port, built from one configuration.
#[derive(Debug, Clone)]
pub struct Aws {
    pub metrics: CloudWatchMetrics,
    pub tables: DynamoTables,
    pub queues: SqsQueues,
    pub functions: LambdaFunctions,
    pub signals: AwsSignals,
}

impl Aws {
    /// The ports one tick needs, all backed by AWS.
    #[must_use]
    pub fn ports(
        &self,
    ) -> Ports<'_, CloudWatchMetrics, DynamoTables, SqsQueues, LambdaFunctions, AwsSignals> {
        Ports {
            metrics: &self.metrics,
            tables: &self.tables,
            queues: &self.queues,
            functions: &self.functions,
            signals: &self.signals,
        }
    }

    /// The adapters; the signal channels are those the policy switches on.
    #[must_use]
    pub fn new(config: &SdkConfig, signals: &crate::policy::Signals) -> Self {
        Self {
            metrics: CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(config)),
            tables: DynamoTables::new(
                aws_sdk_dynamodb::Client::new(config),
                aws_sdk_applicationautoscaling::Client::new(config),
            ),
            queues: SqsQueues::new(aws_sdk_sqs::Client::new(config)),
            functions: LambdaFunctions::new(aws_sdk_lambda::Client::new(config)),
            signals: AwsSignals::new(config, signals),
        }
    }

    /// The webhook channel, posting to `target` (its URL is read at start, not from here).
    #[must_use]
    pub fn with_webhook(mut self, target: Option<crate::webhook::Target>) -> Self {
        self.signals = self.signals.with_webhook(target);
        self
    }
}

/// Error codes that ask the caller to slow down.
const THROTTLING_CODES: &[&str] = &[
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
];

/// Error codes that retrying will not fix: permissions, credentials, malformed requests. Every
/// other service error (throttling, concurrent updates, limits, internal errors) is transient:
/// holding a raise for long in the middle of an incident on a code we did not foresee would be
/// the worse mistake.
const PERMANENT_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "ValidationException",
    "ValidationError",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidParameterCombination",
    "MissingParameter",
    "ObjectNotFoundException",
    // SNS: the topic's policy refuses us; a malformed subject or message.
    "AuthorizationError",
    "InvalidParameter",
];

/// Classifies an SDK error: a missing resource and a resource being changed have their own
/// kinds; permissions, credentials and validation errors are permanent; everything else
/// (throttling, 5xx, timeouts, connection failures, unforeseen codes) is transient.
pub(crate) fn classify<E>(
    service: &'static str,
    operation: &'static str,
    resource: &str,
    err: &SdkError<E, HttpResponse>,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let transient = |message: String| PortError::Transient {
        service,
        operation,
        message,
    };
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().unwrap_or("Unknown");
            // The message is the service's (or a proxy's) text: quoted short and inert.
            let message = match e.code() {
                Some(code) => format!(
                    "{}: {}",
                    excerpt(code, MAX_CHARS),
                    excerpt(e.message().unwrap_or("no message"), MAX_CHARS)
                ),
                // No AWS error at all (a proxy's or an emulator's bare 404 page, say).
                None => format!(
                    "HTTP {} without an AWS error code",
                    ctx.raw().status().as_u16()
                ),
            };
            if code == "ResourceNotFoundException"
                || code == "ResourceNotFound"
                || code == "QueueDoesNotExist"
                || code == "AWS.SimpleQueueService.NonExistentQueue"
                // SNS: no such topic.
                || code == "NotFound"
            {
                PortError::NotFound {
                    resource: resource.to_string(),
                }
            } else if code == "ResourceInUseException"
                // Lambda: an update of the function or mapping is still in progress.
                || code == "ResourceConflictException"
            {
                PortError::Busy {
                    resource: resource.to_string(),
                    message,
                }
            } else if THROTTLING_CODES.contains(&code) || ctx.raw().status().as_u16() == 429 {
                PortError::Throttled {
                    service,
                    operation,
                    message,
                }
            } else if PERMANENT_CODES.contains(&code) {
                PortError::Permanent {
                    service,
                    operation,
                    message,
                }
            } else {
                transient(message)
            }
        }
        SdkError::TimeoutError(_) => transient(format!(
            "no answer within {}",
            crate::time::human(CALL_TIMEOUT)
        )),
        SdkError::DispatchFailure(d) if d.is_user() => PortError::Permanent {
            service,
            operation,
            message: one_line(err),
        },
        SdkError::ConstructionFailure(_) => PortError::Permanent {
            service,
            operation,
            message: one_line(err),
        },
        _ => transient(one_line(err)),
    }
}
