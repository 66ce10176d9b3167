//! DynamoDB and Application Auto Scaling adapter for the [`Tables`] port.
//!
//! A description joins DescribeTable with DescribeScalableTargets, so the act step knows which
//! dimensions an autoscaler manages. If the autoscaler's targets cannot be read the description
//! fails: acting with UpdateTable on an autoscaled table would fight the autoscaler.

use super::classify;
use crate::domain::port_error::PortError;
use crate::domain::resource::{BillingMode, Dimension, ScalingRange, TableStatus};
use crate::ports::{
    Autoscaling, IndexDescription, ScalingUpdate, TableDescription, TableUpdate, Tables, Throughput,
};
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_dynamodb::types::{
    BillingMode as SdkBilling, GlobalSecondaryIndexUpdate, IndexStatus, ProvisionedThroughput,
    TableStatus as SdkStatus, UpdateGlobalSecondaryIndexAction,
};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct DynamoTables {
    dynamodb: aws_sdk_dynamodb::Client,
    autoscaling: aws_sdk_applicationautoscaling::Client,
}

impl DynamoTables {
    #[must_use]
    pub fn new(
        dynamodb: aws_sdk_dynamodb::Client,
        autoscaling: aws_sdk_applicationautoscaling::Client,
    ) -> Self {
        Self {
            dynamodb,
            autoscaling,
        }
    }

    /// Scaling ranges by Application Auto Scaling resource id (`table/T`, `table/T/index/I`).
    async fn scaling_ranges(
        &self,
        table: &str,
        resource_ids: Vec<String>,
    ) -> Result<HashMap<String, Autoscaling>, PortError> {
        let mut ranges: HashMap<String, Autoscaling> = HashMap::new();
        let mut next_token = None;
        loop {
            let out = self
                .autoscaling
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Dynamodb)
                .set_resource_ids(Some(resource_ids.clone()))
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "ApplicationAutoScaling",
                        "DescribeScalableTargets",
                        table,
                        &e,
                    )
                })?;
            for target in out.scalable_targets() {
                let range = ScalingRange {
                    min: units(i64::from(target.min_capacity())),
                    max: units(i64::from(target.max_capacity())),
                };
                let entry = ranges.entry(target.resource_id().to_string()).or_default();
                match target.scalable_dimension() {
                    ScalableDimension::DynamoDbTableReadCapacityUnits
                    | ScalableDimension::DynamoDbIndexReadCapacityUnits => entry.read = Some(range),
                    ScalableDimension::DynamoDbTableWriteCapacityUnits
                    | ScalableDimension::DynamoDbIndexWriteCapacityUnits => {
                        entry.write = Some(range);
                    }
                    _ => {}
                }
            }
            next_token = out.next_token().map(str::to_string);
            if next_token.is_none() {
                return Ok(ranges);
            }
        }
    }
}

/// The Application Auto Scaling resource id of a table or GSI.
fn resource_id(table: &str, index: Option<&str>) -> String {
    match index {
        None => format!("table/{table}"),
        Some(index) => format!("table/{table}/index/{index}"),
    }
}

fn units(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn throughput(
    p: Option<&aws_sdk_dynamodb::types::ProvisionedThroughputDescription>,
) -> Option<Throughput> {
    let p = p?;
    let read = units(p.read_capacity_units()?);
    let write = units(p.write_capacity_units()?);
    // On-demand tables report 0/0.
    (read > 0 || write > 0).then_some(Throughput { read, write })
}

fn status(s: Option<&SdkStatus>) -> TableStatus {
    match s {
        Some(SdkStatus::Active) => TableStatus::Active,
        Some(SdkStatus::Updating) => TableStatus::Updating,
        Some(SdkStatus::Creating) => TableStatus::Creating,
        Some(SdkStatus::Deleting) => TableStatus::Deleting,
        _ => TableStatus::Other,
    }
}

fn sdk_throughput(t: Throughput) -> Result<ProvisionedThroughput, PortError> {
    ProvisionedThroughput::builder()
        .read_capacity_units(i64::from(t.read))
        .write_capacity_units(i64::from(t.write))
        .build()
        .map_err(|e| PortError::Permanent {
            service: "DynamoDB",
            operation: "UpdateTable",
            message: e.to_string(),
        })
}

impl Tables for DynamoTables {
    async fn describe(&self, table: &str) -> Result<TableDescription, PortError> {
        let out = self
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "DescribeTable", table, &e))?;
        let desc = out.table().ok_or_else(|| PortError::NotFound {
            resource: table.to_string(),
        })?;
        let billing = match desc.billing_mode_summary().and_then(|b| b.billing_mode()) {
            Some(SdkBilling::PayPerRequest) => BillingMode::PayPerRequest,
            _ => BillingMode::Provisioned,
        };
        let mut table_status = status(desc.table_status());
        // An index being created or updated accepts no capacity change either.
        let index_busy = desc.global_secondary_indexes().iter().any(|i| {
            matches!(
                i.index_status(),
                Some(IndexStatus::Updating | IndexStatus::Creating)
            )
        });
        if index_busy && table_status == TableStatus::Active {
            table_status = TableStatus::Updating;
        }
        let on_demand = billing == BillingMode::PayPerRequest;
        let gsis = desc.global_secondary_indexes();
        let mut ids = vec![resource_id(table, None)];
        ids.extend(
            gsis.iter()
                .filter_map(|i| i.index_name())
                .map(|i| resource_id(table, Some(i))),
        );
        let ranges = if on_demand {
            HashMap::new()
        } else {
            self.scaling_ranges(table, ids).await?
        };
        let range_of = |index: Option<&str>| {
            ranges
                .get(&resource_id(table, index))
                .copied()
                .unwrap_or_default()
        };
        Ok(TableDescription {
            name: table.to_string(),
            billing,
            status: table_status,
            throughput: if on_demand {
                None
            } else {
                throughput(desc.provisioned_throughput())
            },
            autoscaling: range_of(None),
            indexes: gsis
                .iter()
                .filter_map(|i| {
                    let name = i.index_name()?;
                    Some(IndexDescription {
                        name: name.to_string(),
                        throughput: if on_demand {
                            None
                        } else {
                            throughput(i.provisioned_throughput())
                        },
                        autoscaling: range_of(Some(name)),
                    })
                })
                .collect(),
        })
    }

    async fn update(&self, update: &TableUpdate) -> Result<(), PortError> {
        let mut request = self.dynamodb.update_table().table_name(&update.table);
        if let Some(t) = update.table_throughput {
            request = request.provisioned_throughput(sdk_throughput(t)?);
        }
        for (index, t) in &update.indexes {
            let action = UpdateGlobalSecondaryIndexAction::builder()
                .index_name(index)
                .provisioned_throughput(sdk_throughput(*t)?)
                .build()
                .map_err(|e| PortError::Permanent {
                    service: "DynamoDB",
                    operation: "UpdateTable",
                    message: e.to_string(),
                })?;
            request = request.global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().update(action).build(),
            );
        }
        request
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "UpdateTable", &update.table, &e))?;
        Ok(())
    }

    async fn set_scaling_range(&self, update: &ScalingUpdate) -> Result<(), PortError> {
        let resource = &update.key.resource;
        let dimension = match (resource.index.is_some(), update.key.dimension) {
            (false, Dimension::Read) => ScalableDimension::DynamoDbTableReadCapacityUnits,
            (false, Dimension::Write) => ScalableDimension::DynamoDbTableWriteCapacityUnits,
            (true, Dimension::Read) => ScalableDimension::DynamoDbIndexReadCapacityUnits,
            (true, Dimension::Write) => ScalableDimension::DynamoDbIndexWriteCapacityUnits,
        };
        let clamp = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        self.autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Dynamodb)
            .resource_id(resource_id(&resource.table, resource.index.as_deref()))
            .scalable_dimension(dimension)
            .min_capacity(clamp(update.range.min))
            .max_capacity(clamp(update.range.max))
            .send()
            .await
            .map_err(|e| {
                classify(
                    "ApplicationAutoScaling",
                    "RegisterScalableTarget",
                    &resource.to_string(),
                    &e,
                )
            })?;
        Ok(())
    }
}
