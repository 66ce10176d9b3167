//! `remediator plan` output: what one tick would do and what it would hold, and why; as a
//! readable table or as JSON (top-level `actions` and `held`).

use crate::domain::action::Action;
use crate::domain::hold::Held;
use crate::domain::observed::Unobserved;
use crate::reconcile::TickReport;
use serde::Serialize;
use std::fmt::Write as _;

/// One line of the plan.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub kind: String,
    pub resource: String,
    pub reason: String,
    /// The full action with its evidence, when one was formed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub at: String,
    pub actions: Vec<Entry>,
    pub held: Vec<Entry>,
    pub unobserved: Vec<Unobserved>,
}

impl Plan {
    #[must_use]
    pub fn from_report(report: &TickReport) -> Self {
        Self {
            at: report.at.to_string(),
            actions: report
                .actions
                .iter()
                .map(|d| Entry {
                    kind: d.action.kind().to_string(),
                    resource: d.action.subject(),
                    reason: d.action.reason(),
                    action: Some(d.action.clone()),
                })
                .collect(),
            held: report.held.iter().map(held_entry).collect(),
            unobserved: report.observed.unobserved.clone(),
        }
    }

    /// A fixed-width table; reasons are not truncated.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "plan at {}: {} action(s), {} held",
            self.at,
            self.actions.len(),
            self.held.len()
        );
        section(&mut out, "WOULD DO", &self.actions);
        section(&mut out, "HELD", &self.held);
        out
    }
}

fn held_entry(h: &Held) -> Entry {
    Entry {
        kind: h.kind.clone(),
        resource: h.subject.clone(),
        reason: match &h.action {
            Some(a) => format!("{} (proposed: {})", h.reason, a.reason()),
            None => h.reason.to_string(),
        },
        action: h.action.clone(),
    }
}

fn section(out: &mut String, title: &str, entries: &[Entry]) {
    let _ = writeln!(out, "\n{title}");
    if entries.is_empty() {
        let _ = writeln!(out, "  (nothing)");
        return;
    }
    let width = |field: fn(&Entry) -> &str, header: &str| {
        entries
            .iter()
            .map(|e| field(e).len())
            .fold(header.len(), usize::max)
    };
    let kind_w = width(|e| &e.kind, "KIND");
    let res_w = width(|e| &e.resource, "RESOURCE");
    let _ = writeln!(out, "  {:kind_w$}  {:res_w$}  REASON", "KIND", "RESOURCE");
    for e in entries {
        let _ = writeln!(
            out,
            "  {:kind_w$}  {:res_w$}  {}",
            e.kind, e.resource, e.reason
        );
    }
}
