//! Lambda adapter for the [`Functions`] port: GetFunctionConfiguration, asynchronous Invoke,
//! and the flow-control calls (event-source mapping MaximumConcurrency, reserved concurrency,
//! the account's concurrency limit). Only Invoke goes without the SDK's retries.

use super::classify;
use crate::domain::observed::EventSourceMapping;
use crate::domain::port_error::PortError;
use crate::ports::{FunctionConfig, Functions};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{EventSourceMappingConfiguration, InvocationType, ScalingConfig};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct LambdaFunctions {
    client: Client,
}

impl LambdaFunctions {
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl Functions for LambdaFunctions {
    async fn configuration(&self, name: &str) -> Result<FunctionConfig, PortError> {
        let out = self
            .client
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| classify("Lambda", "GetFunctionConfiguration", name, &e))?;
        let non_negative = |n: Option<i32>| u32::try_from(n.unwrap_or(0)).unwrap_or(0);
        Ok(FunctionConfig {
            name: out.function_name().unwrap_or(name).to_string(),
            timeout: Duration::from_secs(u64::from(non_negative(out.timeout()))),
            memory_mb: non_negative(out.memory_size()),
        })
    }

    async fn invoke_async(&self, name: &str, payload: &[u8]) -> Result<(), PortError> {
        // No SDK retries: a throttled invocation must reach the re-drive's pacer at once, which
        // slows down; the SDK's own back-off would hide the signal and send the call again.
        self.client
            .invoke()
            .function_name(name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .customize()
            .config_override(
                aws_sdk_lambda::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("Lambda", "Invoke", &format!("function {name}"), &e))
    }

    async fn event_source_mappings(
        &self,
        function: &str,
    ) -> Result<Vec<EventSourceMapping>, PortError> {
        let resource = format!("function {function}");
        let mut mappings = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_event_source_mappings()
                .function_name(function)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify("Lambda", "ListEventSourceMappings", &resource, &e))?;
            mappings.extend(
                out.event_source_mappings()
                    .iter()
                    .filter_map(|m| sqs_mapping(m, function)),
            );
            marker = out.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(mappings);
            }
        }
    }

    async fn set_mapping_concurrency(&self, uuid: &str, max: Option<u32>) -> Result<(), PortError> {
        // An empty ScalingConfig removes the cap (the API's way of saying "no maximum").
        let scaling = ScalingConfig::builder()
            .set_maximum_concurrency(max.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
            .build();
        self.client
            .update_event_source_mapping()
            .uuid(uuid)
            .scaling_config(scaling)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                classify(
                    "Lambda",
                    "UpdateEventSourceMapping",
                    &format!("event-source mapping {uuid}"),
                    &e,
                )
            })
    }

    async fn reserved_concurrency(&self, function: &str) -> Result<Option<u32>, PortError> {
        let out = self
            .client
            .get_function_concurrency()
            .function_name(function)
            .send()
            .await
            .map_err(|e| {
                classify(
                    "Lambda",
                    "GetFunctionConcurrency",
                    &format!("function {function}"),
                    &e,
                )
            })?;
        Ok(out
            .reserved_concurrent_executions()
            .map(|n| u32::try_from(n).unwrap_or(0)))
    }

    async fn set_reserved_concurrency(
        &self,
        function: &str,
        reserved: Option<u32>,
    ) -> Result<(), PortError> {
        let resource = format!("function {function}");
        match reserved {
            Some(n) => self
                .client
                .put_function_concurrency()
                .function_name(function)
                .reserved_concurrent_executions(i32::try_from(n).unwrap_or(i32::MAX))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("Lambda", "PutFunctionConcurrency", &resource, &e)),
            None => self
                .client
                .delete_function_concurrency()
                .function_name(function)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("Lambda", "DeleteFunctionConcurrency", &resource, &e)),
        }
    }

    async fn account_concurrency(&self) -> Result<u32, PortError> {
        let out = self
            .client
            .get_account_settings()
            .send()
            .await
            .map_err(|e| classify("Lambda", "GetAccountSettings", "account settings", &e))?;
        let limit = out.account_limit().ok_or_else(|| PortError::Transient {
            service: "Lambda",
            operation: "GetAccountSettings",
            message: "the answer carried no AccountLimit".to_string(),
        })?;
        // A function without reserved concurrency draws on the unreserved pool, not the whole
        // account limit (Lambda keeps at least 100 unreserved).
        let pool = limit
            .unreserved_concurrent_executions()
            .unwrap_or_else(|| limit.concurrent_executions());
        Ok(u32::try_from(pool).unwrap_or(0))
    }
}

/// The port's view of one mapping, if its source is an SQS queue (Kinesis, DynamoDB streams
/// and Kafka sources are left out). The function is named as Lambda names it in the mapping's
/// FunctionArn (without a qualifier), else as it was asked for.
fn sqs_mapping(m: &EventSourceMappingConfiguration, asked: &str) -> Option<EventSourceMapping> {
    let arn = m.event_source_arn()?;
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 6 || parts[2] != "sqs" {
        return None;
    }
    let function = m
        .function_arn()
        .and_then(|a| a.split(':').nth(6))
        .unwrap_or(asked);
    Some(EventSourceMapping {
        uuid: m.uuid()?.to_string(),
        function: function.to_string(),
        queue: parts[5].to_string(),
        state: m.state().unwrap_or("Unknown").to_string(),
        max_concurrency: m
            .scaling_config()
            .and_then(ScalingConfig::maximum_concurrency)
            .map(|n| u32::try_from(n).unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(source: &str, max: Option<i32>) -> EventSourceMappingConfiguration {
        EventSourceMappingConfiguration::builder()
            .uuid("u-1")
            .event_source_arn(source)
            .function_arn("arn:aws:lambda:us-east-1:123456789012:function:tileUploadLambda-x:live")
            .state("Enabled")
            .set_scaling_config(
                max.map(|n| ScalingConfig::builder().maximum_concurrency(n).build()),
            )
            .build()
    }

    #[test]
    fn an_sqs_mapping_names_its_queue_function_and_cap() {
        let m = sqs_mapping(
            &mapping("arn:aws:sqs:us-east-1:123456789012:x-tile-index", Some(2)),
            "asked",
        );
        assert_eq!(
            m,
            Some(EventSourceMapping {
                uuid: "u-1".into(),
                function: "tileUploadLambda-x".into(),
                queue: "x-tile-index".into(),
                state: "Enabled".into(),
                max_concurrency: Some(2),
            })
        );
        let uncapped = sqs_mapping(
            &mapping("arn:aws:sqs:us-east-1:123456789012:q", None),
            "asked",
        );
        assert_eq!(uncapped.and_then(|m| m.max_concurrency), None);
    }

    #[test]
    fn stream_mappings_are_left_out() {
        let stream =
            "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000";
        assert_eq!(sqs_mapping(&mapping(stream, None), "asked"), None);
    }
}
