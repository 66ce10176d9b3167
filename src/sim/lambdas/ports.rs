//! What the Lambda port asks of the simulated functions: configuration, reserved and account
//! concurrency.

use super::{Function, Lambdas};
use crate::domain::port_error::PortError;
use crate::ports::FunctionConfig;

/// PutFunctionConcurrency leaves at least this much of the account's concurrency unreserved.
const UNRESERVED_MIN: u32 = 100;

impl Lambdas {
    fn function(&self, name: &str) -> Result<&Function, PortError> {
        self.functions
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| PortError::NotFound {
                resource: format!("function {name}"),
            })
    }

    /// GetFunctionConfiguration.
    ///
    /// # Errors
    /// `NotFound` for a function the scenario does not have.
    pub fn configuration(&self, name: &str) -> Result<FunctionConfig, PortError> {
        let f = self.function(name)?;
        Ok(FunctionConfig {
            name: f.name.clone(),
            timeout: f.spec.timeout,
            memory_mb: f.spec.memory_mb,
        })
    }

    /// GetFunctionConcurrency.
    ///
    /// # Errors
    /// `NotFound` for a function the scenario does not have.
    pub fn reserved(&self, name: &str) -> Result<Option<u32>, PortError> {
        Ok(self.function(name)?.reserved)
    }

    /// PutFunctionConcurrency / DeleteFunctionConcurrency, refused as Lambda refuses a
    /// reservation that leaves less than 100 unreserved.
    ///
    /// # Errors
    /// `NotFound` for an unknown function, `Permanent` for a refused reservation.
    pub fn set_reserved(&mut self, name: &str, reserved: Option<u32>) -> Result<(), PortError> {
        self.function(name)?;
        let others: u32 = self
            .functions
            .iter()
            .filter(|f| f.name != name)
            .filter_map(|f| f.reserved)
            .sum();
        if let Some(r) = reserved
            && u64::from(others) + u64::from(r) + u64::from(UNRESERVED_MIN)
                > u64::from(self.account)
        {
            return Err(PortError::Permanent {
                service: "lambda",
                operation: "PutFunctionConcurrency",
                message: format!(
                    "InvalidParameterValueException: reserving {r} leaves less than {UNRESERVED_MIN} of {} unreserved",
                    self.account
                ),
            });
        }
        if let Some(f) = self.functions.iter_mut().find(|f| f.name == name) {
            f.reserved = reserved;
        }
        Ok(())
    }

    /// GetAccountSettings: the account's concurrency limit.
    #[must_use]
    pub fn account_concurrency(&self) -> u32 {
        self.account
    }
}
