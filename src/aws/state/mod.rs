//! The state table: what replicas and operators share, in DynamoDB. One small item per concern,
//! keyed by `pk`: `lease`, `memory` (the memory as JSON, with a version), `halt`,
//! `notes#<pause>` (the operators' notes on one pause, appended atomically, gone through
//! DynamoDB's time to live a week after) and `claims` (the queues being re-driven, see
//! [`claims`]). Every write is conditional or
//! atomic: the memory on its version and, for the leader, in one transaction with a check that
//! the lease is still its own (the fence); the lease on its holder and expiry. Reads are
//! strongly consistent reads of known keys (no scans).

mod any;
mod claims;
mod init;

pub use any::AnyState;
pub use init::InitReport;

use super::classify;
use crate::domain::port_error::PortError;
use crate::memory::Memory;
use crate::state::shared::{Bid, Claim, Fence, Halt, Lease, LeaseOutcome, Note, Shared};
use crate::state::{StateError, StateStore};
use crate::time::Timestamp;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue as V, ReturnValue};
use std::collections::HashMap;
use std::time::Duration;

type Item = HashMap<String, V>;

const LEASE: &str = "lease";
const MEMORY: &str = "memory";
const HALT: &str = "halt";
const NOTES: &str = "notes#";
/// Notes outlive their pause by this long (then DynamoDB's time to live removes them).
const NOTES_KEEP: Duration = Duration::from_secs(7 * 86_400);
/// The attribute DynamoDB's time to live reads (seconds since the epoch).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// DynamoDB's item limit is 400 KB; the memory stays well below it (a day of changes).
const MAX_BODY: usize = 350_000;

/// The state table of one stack.
#[derive(Debug, Clone)]
pub struct DynamoState {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> V {
    V::S(v.into())
}

fn n(v: u64) -> V {
    V::N(v.to_string())
}

fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn key(pk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk))])
}

fn lease_of(item: &Item) -> Option<Lease> {
    Some(Lease {
        owner: get_s(item, "owner")?,
        epoch: get_n(item, "epoch")?,
        expires: Timestamp(get_n(item, "expires")?),
    })
}

fn json_of<T: serde::de::DeserializeOwned>(item: &Item) -> Option<T> {
    serde_json::from_str(&get_s(item, "body")?).ok()
}

/// The error code DynamoDB answered with, if it answered.
fn error_code<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<&str> {
    e.as_service_error()
        .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code)
}

/// Whether an SDK error is a failed condition (someone else holds or wrote it).
fn condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    error_code(e) == Some("ConditionalCheckFailedException")
}

impl DynamoState {
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The state table `table`, reached with the shared SDK configuration.
    #[must_use]
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Maps an SDK error: a missing table says how to create it.
    fn error<E>(
        &self,
        operation: &'static str,
        e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> StateError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        match classify("DynamoDB", operation, &self.table, e) {
            PortError::NotFound { .. } => StateError::NoTable {
                table: self.table.clone(),
            },
            other => StateError::Table(other),
        }
    }

    async fn get(&self, pk: &str) -> Result<Option<Item>, StateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("GetItem", &e))?;
        Ok(out.item)
    }

    fn corrupt(&self, what: &str) -> StateError {
        StateError::Table(PortError::Permanent {
            service: "DynamoDB",
            operation: "Scan",
            message: format!("item {what} of {} is not a remediator item", self.table),
        })
    }

    /// Takes the lease if it is free or expired; the epoch grows by one.
    async fn take(&self, bid: &Bid) -> Result<Option<Lease>, StateError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(LEASE)))
            .update_expression(
                "SET #owner = :owner, epoch = if_not_exists(epoch, :zero) + :one, expires = :expires",
            )
            .condition_expression("attribute_not_exists(pk) OR expires <= :now")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(&bid.owner))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(bid.now.plus(bid.hold_for).0))
            .expression_attribute_values(":now", n(bid.now.0))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.attributes.as_ref().and_then(lease_of)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(self.error("UpdateItem", &e)),
        }
    }

    /// Renews the lease this replica holds at `epoch`, expired or not, if nobody took it since.
    async fn renew(&self, bid: &Bid, epoch: u64) -> Result<Option<Lease>, StateError> {
        let expires = bid.now.plus(bid.hold_for);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(LEASE)))
            .update_expression("SET expires = :expires")
            .condition_expression("#owner = :owner AND epoch = :epoch")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(&bid.owner))
            .expression_attribute_values(":epoch", n(epoch))
            .expression_attribute_values(":expires", n(expires.0))
            .send()
            .await;
        match out {
            Ok(_) => Ok(Some(Lease {
                owner: bid.owner.clone(),
                epoch,
                expires,
            })),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(self.error("UpdateItem", &e)),
        }
    }

    fn memory_item(&self, memory: &Memory, version: u64) -> Result<Item, StateError> {
        let body = serde_json::to_string(memory).map_err(|e| self.corrupt(&e.to_string()))?;
        if body.len() > MAX_BODY {
            return Err(StateError::Table(PortError::Permanent {
                service: "DynamoDB",
                operation: "PutItem",
                message: format!(
                    "the memory is {} bytes, above the {MAX_BODY} kept under DynamoDB's item limit",
                    body.len()
                ),
            }));
        }
        let mut item = key(MEMORY);
        item.insert("version".into(), n(version + 1));
        item.insert("body".into(), s(body));
        Ok(item)
    }
}

impl StateStore for DynamoState {
    fn name(&self) -> String {
        format!("state table {}", self.table)
    }

    async fn read(&self) -> Result<Shared, StateError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut shared = Shared::default();
        let mut keys = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(vec![
                    key(LEASE),
                    key(MEMORY),
                    key(HALT),
                    key(claims::CLAIMS),
                ]))
                .consistent_read(true)
                .build()
                .map_err(|e| self.corrupt(&e.to_string()))?,
        );
        // BatchGetItem may leave keys unprocessed under load: asked again, a few times.
        for _ in 0..5 {
            let Some(ask) = keys.take() else { break };
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ask)
                .send()
                .await
                .map_err(|e| self.error("BatchGetItem", &e))?;
            for item in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                match get_s(item, "pk").as_deref() {
                    Some(LEASE) => shared.lease = lease_of(item),
                    Some(MEMORY) => {
                        shared.memory = json_of(item).ok_or_else(|| self.corrupt(MEMORY))?;
                        shared.version = get_n(item, "version").unwrap_or(0);
                    }
                    Some(HALT) => {
                        shared.halt = Some(json_of(item).ok_or_else(|| self.corrupt(HALT))?);
                    }
                    Some(claims::CLAIMS) => shared.claims = claims::claims_of(item),
                    _ => {}
                }
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
        }
        if keys.is_some() {
            return Err(StateError::Table(PortError::Throttled {
                service: "DynamoDB",
                operation: "BatchGetItem",
                message: "keys left unprocessed after five attempts".into(),
            }));
        }
        if let Some(episode) = &shared.memory.pause.episode
            && let Some(item) = self.get(&format!("{NOTES}{}", episode.since.0)).await?
        {
            let notes = item
                .get("notes")
                .and_then(|v| v.as_l().ok())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_s().ok())
                .filter_map(|s| serde_json::from_str::<Note>(s).ok());
            shared.notes.extend(notes);
        }
        Ok(shared)
    }

    async fn write(
        &self,
        memory: &Memory,
        version: u64,
        fence: Option<&Fence>,
    ) -> Result<u64, StateError> {
        use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
        let item = self.memory_item(memory, version)?;
        let (condition, values) = if version == 0 {
            ("attribute_not_exists(pk)", HashMap::new())
        } else {
            (
                "version = :read",
                HashMap::from([(":read".to_string(), n(version))]),
            )
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values((!values.is_empty()).then_some(values.clone()))
            .build()
            .map_err(|e| self.corrupt(&e.to_string()))?;
        let conflict = || StateError::Conflict {
            store: self.name(),
            read: version,
        };
        let Some(fence) = fence else {
            let out = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item))
                .condition_expression(condition)
                .set_expression_attribute_values((!values.is_empty()).then_some(values))
                .send()
                .await;
            return match out {
                Ok(_) => Ok(version + 1),
                Err(e) if condition_failed(&e) => Err(conflict()),
                Err(e) => Err(self.error("PutItem", &e)),
            };
        };
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(LEASE)))
            .condition_expression("#owner = :owner AND epoch = :epoch AND expires > :now")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(&fence.owner))
            .expression_attribute_values(":epoch", n(fence.epoch))
            .expression_attribute_values(":now", n(fence.now.0))
            .build()
            .map_err(|e| self.corrupt(&e.to_string()))?;
        let out = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(version + 1),
            Err(e) => {
                let reasons: Vec<Option<String>> = match e.as_service_error() {
                    Some(
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t),
                    ) => t
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().map(ToString::to_string))
                        .collect(),
                    _ => return Err(self.error("TransactWriteItems", &e)),
                };
                let failed = |i: usize| {
                    reasons
                        .get(i)
                        .and_then(Option::as_deref)
                        .is_some_and(|c| c == "ConditionalCheckFailed")
                };
                if failed(0) {
                    Err(StateError::Fenced {
                        store: self.name(),
                        owner: fence.owner.clone(),
                        epoch: fence.epoch,
                    })
                } else if failed(1) {
                    Err(conflict())
                } else {
                    Err(self.error("TransactWriteItems", &e))
                }
            }
        }
    }

    async fn bid(&self, bid: &Bid) -> Result<LeaseOutcome, StateError> {
        if let Some(epoch) = bid.epoch
            && let Some(lease) = self.renew(bid, epoch).await?
        {
            return Ok(LeaseOutcome::Held(lease));
        }
        if let Some(lease) = self.take(bid).await? {
            return Ok(LeaseOutcome::Held(lease));
        }
        let holder = self
            .get(LEASE)
            .await?
            .as_ref()
            .and_then(lease_of)
            .ok_or_else(|| self.corrupt(LEASE))?;
        Ok(LeaseOutcome::Follower(holder))
    }

    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(LEASE)))
            .update_expression("SET expires = :zero")
            .condition_expression("#owner = :owner AND epoch = :epoch")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":epoch", n(lease.epoch))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(self.error("UpdateItem", &e)),
        }
    }

    async fn set_halt(&self, halt: Option<&Halt>) -> Result<(), StateError> {
        match halt {
            Some(halt) => {
                let mut item = key(HALT);
                let body = serde_json::to_string(halt).map_err(|e| self.corrupt(&e.to_string()))?;
                item.insert("body".into(), s(body));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.error("PutItem", &e))
            }
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(HALT)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.error("DeleteItem", &e)),
        }
    }

    async fn add_note(&self, note: &Note) -> Result<(), StateError> {
        let body = serde_json::to_string(note).map_err(|e| self.corrupt(&e.to_string()))?;
        // Appended atomically: two operators' notes at once are both kept.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&format!("{NOTES}{}", note.episode.0))))
            .update_expression(
                "SET notes = list_append(if_not_exists(notes, :empty), :note), #ttl = :ttl",
            )
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":empty", V::L(Vec::new()))
            .expression_attribute_values(":note", V::L(vec![s(body)]))
            .expression_attribute_values(":ttl", n(note.at.plus(NOTES_KEEP).0))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.error("UpdateItem", &e))
    }

    async fn claim(&self, claim: &Claim, now: Timestamp) -> Result<(), StateError> {
        self.put_claim(claim, now).await
    }

    async fn unclaim(&self, queue: &str, owner: &str) -> Result<(), StateError> {
        self.remove_claim(queue, owner).await
    }
}
