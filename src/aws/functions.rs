//! Lambda adapter for the [`Functions`] port: GetFunctionConfiguration and asynchronous Invoke.

use super::classify;
use crate::ports::{FunctionConfig, Functions, PortError};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
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
    ) -> Result<Vec<crate::ports::EventSourceMapping>, PortError> {
        Err(PortError::NotFound {
            resource: format!("mappings of {function} (STUB)"),
        })
    }

    async fn set_mapping_concurrency(&self, uuid: &str, _max: Option<u32>) -> Result<(), PortError> {
        Err(PortError::NotFound {
            resource: format!("mapping {uuid} (STUB)"),
        })
    }

    async fn reserved_concurrency(&self, function: &str) -> Result<Option<u32>, PortError> {
        Err(PortError::NotFound {
            resource: format!("function {function} (STUB)"),
        })
    }

    async fn set_reserved_concurrency(
        &self,
        function: &str,
        _reserved: Option<u32>,
    ) -> Result<(), PortError> {
        Err(PortError::NotFound {
            resource: format!("function {function} (STUB)"),
        })
    }

    async fn account_concurrency(&self) -> Result<u32, PortError> {
        Err(PortError::NotFound {
            resource: "account settings (STUB)".to_string(),
        })
    }
}
