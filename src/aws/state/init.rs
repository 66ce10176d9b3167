//! `remediator init`: creates the state table the way an operator would by hand, and checks
//! an existing one: on-demand billing (a handful of small writes a tick), point-in-time
//! recovery on (the memory can be restored to any second of the last 35 days), and DynamoDB's
//! time to live on the notes and the claims. Running it again changes nothing.

use super::{DynamoState, TTL_ATTRIBUTE};
use crate::state::StateError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use std::time::Duration;

/// What `init` found or did, one line each.
#[derive(Debug, Default)]
pub struct InitReport {
    pub lines: Vec<String>,
}

impl DynamoState {
    /// Creates the table if it does not exist, waits for it to be ACTIVE, and turns on
    /// point-in-time recovery and time to live.
    ///
    /// # Errors
    /// A call failed, or the table did not become ACTIVE within two minutes.
    pub async fn init(&self) -> Result<InitReport, StateError> {
        let mut report = InitReport::default();
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| self.corrupt(&e.to_string()))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| self.corrupt(&e.to_string()))?,
            )
            .send()
            .await;
        match created {
            Ok(_) => report
                .lines
                .push(format!("created table {} (on-demand billing)", self.table)),
            Err(e)
                if e.as_service_error()
                    .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code)
                    == Some("ResourceInUseException") =>
            {
                report.lines.push(format!("table {} exists", self.table));
            }
            Err(e) => return Err(self.error("CreateTable", &e)),
        }
        self.wait_active().await?;
        self.client
            .update_continuous_backups()
            .table_name(&self.table)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .map_err(|e| self.corrupt(&e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| self.error("UpdateContinuousBackups", &e))?;
        report.lines.push("point-in-time recovery on".into());
        let ttl = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .map_err(|e| self.corrupt(&e.to_string()))?,
            )
            .send()
            .await;
        match ttl {
            Ok(_) => {}
            // Already on: DynamoDB refuses to turn it on twice.
            Err(e)
                if e.as_service_error()
                    .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::message)
                    .is_some_and(|m| m.contains("already enabled")) => {}
            Err(e) => return Err(self.error("UpdateTimeToLive", &e)),
        }
        report
            .lines
            .push(format!("time to live on attribute {TTL_ATTRIBUTE}"));
        Ok(report)
    }

    async fn wait_active(&self) -> Result<(), StateError> {
        for _ in 0..120 {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| self.error("DescribeTable", &e))?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(StateError::Table(
            crate::domain::port_error::PortError::Transient {
                service: "DynamoDB",
                operation: "DescribeTable",
                message: format!("{} did not become ACTIVE within two minutes", self.table),
            },
        ))
    }
}
