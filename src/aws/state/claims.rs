//! Re-drive claims in the state table: one item, `claims`, whose map `queues` holds one entry
//! per queue being re-driven (`owner`, `expires`, and the claim as JSON in `body`). One item,
//! so every replica's and operator's read of the state sees all the claims at once, and the
//! guard can bound the re-drive rate of all of them together; each entry is still written
//! conditionally on its own (claimed only when free, lapsed or already the claimant's).

use super::{DynamoState, Item, V, condition_failed, error_code, key, n, s};
use crate::state::StateError;
use crate::state::shared::Claim;
use crate::time::Timestamp;
use std::collections::HashMap;

pub(super) const CLAIMS: &str = "claims";

/// Every claim the `claims` item holds, lapsed ones included (the reader knows the time).
pub(super) fn claims_of(item: &Item) -> Vec<Claim> {
    item.get("queues")
        .and_then(|v| v.as_m().ok())
        .into_iter()
        .flat_map(HashMap::values)
        .filter_map(|entry| entry.as_m().ok()?.get("body")?.as_s().ok())
        .filter_map(|body| serde_json::from_str(body).ok())
        .collect()
}

impl DynamoState {
    pub(super) async fn put_claim(&self, claim: &Claim, now: Timestamp) -> Result<(), StateError> {
        let body = serde_json::to_string(claim).map_err(|e| self.corrupt(&e.to_string()))?;
        let entry = V::M(HashMap::from([
            ("owner".to_string(), s(&claim.owner)),
            ("expires".to_string(), n(claim.expires.0)),
            ("body".to_string(), s(body)),
        ]));
        for attempt in 0..2 {
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(CLAIMS)))
                .update_expression("SET queues.#q = :entry")
                .condition_expression(
                    "attribute_not_exists(queues.#q) OR queues.#q.#owner = :owner \
                     OR queues.#q.expires <= :now",
                )
                .expression_attribute_names("#q", &claim.queue)
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":entry", entry.clone())
                .expression_attribute_values(":owner", s(&claim.owner))
                .expression_attribute_values(":now", n(now.0))
                .send()
                .await;
            match out {
                Ok(_) => return Ok(()),
                Err(e) if condition_failed(&e) => {
                    let other = self
                        .get(CLAIMS)
                        .await?
                        .map(|item| claims_of(&item))
                        .unwrap_or_default()
                        .into_iter()
                        .find(|c| c.queue == claim.queue)
                        .ok_or_else(|| self.corrupt(CLAIMS))?;
                    return Err(StateError::Claimed {
                        queue: other.queue,
                        owner: other.owner,
                        since: other.since,
                    });
                }
                // The first claim of a new table: the item (or its map) is not there yet, and
                // DynamoDB refuses a path into it. Created empty, once, then claimed again.
                Err(e) if attempt == 0 && error_code(&e) == Some("ValidationException") => {
                    self.create_claims().await?
                }
                Err(e) => return Err(self.error("UpdateItem", &e)),
            }
        }
        Err(self.corrupt(CLAIMS))
    }

    /// Creates the `claims` item with an empty map unless it exists.
    async fn create_claims(&self) -> Result<(), StateError> {
        let mut item = key(CLAIMS);
        item.insert("queues".into(), V::M(HashMap::new()));
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(self.error("PutItem", &e)),
        }
    }

    pub(super) async fn remove_claim(&self, queue: &str, owner: &str) -> Result<(), StateError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(CLAIMS)))
            .update_expression("REMOVE queues.#q")
            .condition_expression("queues.#q.#owner = :owner")
            .expression_attribute_names("#q", queue)
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // Lapsed and taken by another, or already given back.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(self.error("UpdateItem", &e)),
        }
    }
}
