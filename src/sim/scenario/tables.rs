//! The tables of a scenario: names by DynamoDB's rules, capacities within what DynamoDB allows.

use super::{IndexSpec, TableSpec};
use crate::domain::resource::BillingMode;
use crate::policy::names;
use crate::sim::limits::{MAX_INDEXES, MAX_TABLES, MAX_UNITS};
use crate::source::{Checker, Whole, excerpt};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct RawTable {
    name: String,
    billing: String,
    read: Option<Whole>,
    write: Option<Whole>,
    /// The BOSS autoscaler's and target tracking's min and max for this table.
    autoscaler_min: Option<Whole>,
    autoscaler_max: Option<Whole>,
    #[serde(default)]
    indexes: Vec<RawIndex>,
}

#[derive(Debug, Deserialize)]
struct RawIndex {
    name: String,
    read: Option<Whole>,
    write: Option<Whole>,
    /// Share of the table's writes that also write this index (1.0: every item is indexed).
    write_share: Option<f64>,
}

/// Capacity in units: 1 (DynamoDB's minimum) to [`MAX_UNITS`].
fn units(c: &mut Checker<'_, '_>, field: &str, value: Option<Whole>, default: u32) -> u32 {
    c.whole(field, value, default, 1, MAX_UNITS)
}

/// Checks the `[[tables]]` and builds their specs.
pub(super) fn check(c: &mut Checker<'_, '_>, raw: &[RawTable]) -> Vec<TableSpec> {
    c.count("tables", raw.len(), MAX_TABLES);
    let mut tables = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let at = format!("tables.{i}");
        let earlier = raw[..i].iter().map(|u| u.name.as_str());
        c.short_name(&format!("{at}.name"), &t.name, "table", earlier);
        let billing = match t.billing.as_str() {
            "provisioned" => BillingMode::Provisioned,
            "on-demand" => BillingMode::PayPerRequest,
            other => {
                c.fail(
                    &format!("{at}.billing"),
                    format!(
                        "`{}` is not a billing mode: allowed \"provisioned\" or \"on-demand\"",
                        excerpt(other)
                    ),
                );
                BillingMode::Provisioned
            }
        };
        let min = units(c, &format!("{at}.autoscaler_min"), t.autoscaler_min, 5);
        let max = units(c, &format!("{at}.autoscaler_max"), t.autoscaler_max, 40_000);
        if min > max {
            c.fail(
                &format!("{at}.autoscaler_min"),
                format!("autoscaler range {min}–{max}: need 1 ≤ min ≤ max"),
            );
        }
        c.count(&format!("{at}.indexes"), t.indexes.len(), MAX_INDEXES);
        let mut indexes = Vec::new();
        for (j, x) in t.indexes.iter().enumerate() {
            let field = format!("{at}.indexes.{j}");
            if let Err(rule) = names::index_name(&x.name) {
                c.fail(
                    &format!("{field}.name"),
                    format!("`{}` {rule}", excerpt(&x.name)),
                );
            }
            let write_share = c.real(
                &format!("{field}.write_share"),
                x.write_share,
                1.0,
                (0.0, 1.0),
                false,
                false,
            );
            indexes.push(IndexSpec {
                name: x.name.clone(),
                read: units(c, &format!("{field}.read"), x.read, 5),
                write: units(c, &format!("{field}.write"), x.write, 5),
                write_share,
            });
        }
        tables.push(TableSpec {
            short_name: t.name.clone(),
            billing,
            read: units(c, &format!("{at}.read"), t.read, 5),
            write: units(c, &format!("{at}.write"), t.write, 5),
            autoscaler_min: min,
            autoscaler_max: max,
            indexes,
        });
    }
    tables
}
