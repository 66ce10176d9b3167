//! What the controller can change capacity of: tables and their indexes, each with a read and a
//! write dimension, and the range an autoscaler keeps a dimension in.
//!
//! The smallest names of the domain: the observation, the actions, the policy and the ports
//! all speak of them, so they depend on nothing here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Read or write capacity: DynamoDB provisions, meters and throttles them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Read,
    Write,
}

impl Dimension {
    pub const BOTH: [Dimension; 2] = [Dimension::Read, Dimension::Write];
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Read => "read",
            Dimension::Write => "write",
        })
    }
}

/// A table, or one of its global secondary indexes: each has its own capacity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Resource {
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<String>,
}

impl Resource {
    #[must_use]
    pub fn table(name: &str) -> Self {
        Self {
            table: name.to_string(),
            index: None,
        }
    }

    #[must_use]
    pub fn index(table: &str, index: &str) -> Self {
        Self {
            table: table.to_string(),
            index: Some(index.to_string()),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.index {
            Some(index) => write!(f, "{}/index/{}", self.table, index),
            None => f.write_str(&self.table),
        }
    }
}

/// One capacity dimension of one resource: what `RaiseCapacity` changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CapacityKey {
    pub resource: Resource,
    pub dimension: Dimension,
}

impl fmt::Display for CapacityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.resource, self.dimension)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

/// DynamoDB's table (or index) status; only `Active` accepts an UpdateTable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableStatus {
    Active,
    Updating,
    Creating,
    Deleting,
    Other,
}

/// The MinCapacity..MaxCapacity range of an Application Auto Scaling target on one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingRange {
    pub min: u32,
    pub max: u32,
}
