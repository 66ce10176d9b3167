//! Failure injection in-process: [`Faulty`] wraps any port implementation (the simulated cloud,
//! an AWS adapter, a state store) and fails, throttles, delays or hangs the calls a test
//! chooses, passing every other call through.
//!
//! It exists so the act step, the controller loop and their handling of AWS faults can be
//! tested in-process and in virtual time (`#[tokio::test(start_paused = true)]`: delays are
//! `tokio::time::sleep`), without a moto server. The moto tests remain the proof that the AWS
//! calls themselves work.
//!
//! ```
//! use remediator::faults::{Fault, Faulty, Op, Rule};
//! use remediator::state::{FileState, StateStore};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let store = Faulty::new(FileState::new("/nonexistent/state.json"));
//! let faults = store.faults().clone(); // a handle that outlives a move of `store`
//! faults.add(Rule::new(Op::LoadState, Fault::Permanent).first(1));
//! assert!(store.load().await.is_err()); // the first load meets the fault
//! assert!(store.load().await.is_ok()); // the second reaches the file (none: empty memory)
//! assert_eq!(faults.calls(Op::LoadState), 2);
//! # });
//! ```
//!
//! [`Faults`] holds the rules and the call log; [`Faulty`] (in `decorator.rs`) puts them in
//! front of every port trait its wrapped value implements.

mod decorator;

pub use decorator::Faulty;

use crate::domain::port_error::PortError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A port call, named after the AWS API operation it makes (two for the state store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    GetMetricData,
    DescribeTable,
    UpdateTable,
    RegisterScalableTarget,
    ListQueues,
    GetQueueUrl,
    GetQueueAttributes,
    ReceiveMessage,
    GetFunctionConfiguration,
    Invoke,
    ListEventSourceMappings,
    UpdateEventSourceMapping,
    GetFunctionConcurrency,
    PutFunctionConcurrency,
    DeleteFunctionConcurrency,
    GetAccountSettings,
    /// `Signals::send` on the SNS channel.
    Publish,
    /// `Signals::send` on the webhook channel.
    PostWebhook,
    LoadState,
    SaveState,
    /// Taking or renewing the leader lease.
    Lease,
}

impl Op {
    /// The service and operation named in an injected [`PortError`].
    #[must_use]
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Op::GetMetricData => ("CloudWatch", "GetMetricData"),
            Op::DescribeTable => ("DynamoDB", "DescribeTable"),
            Op::UpdateTable => ("DynamoDB", "UpdateTable"),
            Op::RegisterScalableTarget => ("ApplicationAutoScaling", "RegisterScalableTarget"),
            Op::ListQueues => ("SQS", "ListQueues"),
            Op::GetQueueUrl => ("SQS", "GetQueueUrl"),
            Op::GetQueueAttributes => ("SQS", "GetQueueAttributes"),
            Op::ReceiveMessage => ("SQS", "ReceiveMessage"),
            Op::GetFunctionConfiguration => ("Lambda", "GetFunctionConfiguration"),
            Op::Invoke => ("Lambda", "Invoke"),
            Op::ListEventSourceMappings => ("Lambda", "ListEventSourceMappings"),
            Op::UpdateEventSourceMapping => ("Lambda", "UpdateEventSourceMapping"),
            Op::GetFunctionConcurrency => ("Lambda", "GetFunctionConcurrency"),
            Op::PutFunctionConcurrency => ("Lambda", "PutFunctionConcurrency"),
            Op::DeleteFunctionConcurrency => ("Lambda", "DeleteFunctionConcurrency"),
            Op::GetAccountSettings => ("Lambda", "GetAccountSettings"),
            Op::Publish => ("SNS", "Publish"),
            Op::PostWebhook => ("webhook", "POST"),
            Op::LoadState => ("state", "load"),
            Op::SaveState => ("state", "save"),
            Op::Lease => ("state", "lease"),
        }
    }
}

/// What happens to a chosen call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `PortError::Transient` (a 5xx, a timeout).
    Transient,
    /// `PortError::Permanent` (access denied, validation).
    Permanent,
    /// `PortError::Throttled` (429, Throttling).
    Throttled,
    /// `PortError::NotFound` naming the call's subject.
    NotFound,
    /// `PortError::Busy` (ResourceInUse: a table still UPDATING).
    Busy,
    /// Waits this long (in tokio time), then makes the call.
    Delay(Duration),
    /// Never answers, like a hung endpoint without a timeout.
    Hang,
}

/// Which of the calls a rule matches it takes (counted 1, 2, 3... per rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    First(u32),
    From(u32),
}

/// How a rule names the calls it chooses.
#[derive(Debug, Clone)]
enum Subject {
    Exact(String),
    Prefix(String),
}

/// Chooses calls by operation and, optionally, subject, and says what happens to them.
///
/// A call's subjects are what it names: the table (DescribeTable, UpdateTable,
/// RegisterScalableTarget), every dimension value of the queries (GetMetricData), the queue URL
/// and the queue name (GetQueueAttributes, ReceiveMessage), the name or prefix (GetQueueUrl,
/// ListQueues), the function (Lambda calls), the mapping UUID (UpdateEventSourceMapping), the
/// message subject (Publish, POST); none for GetAccountSettings and the state store.
#[derive(Debug, Clone)]
pub struct Rule {
    op: Op,
    subject: Option<Subject>,
    fault: Fault,
    when: When,
    /// Matching calls seen so far.
    seen: u32,
}

impl Rule {
    /// Every call of `op` meets `fault`.
    #[must_use]
    pub fn new(op: Op, fault: Fault) -> Self {
        Self {
            op,
            subject: None,
            fault,
            when: When::Always,
            seen: 0,
        }
    }

    /// Only calls that name `subject`.
    #[must_use]
    pub fn on(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(Subject::Exact(subject.into()));
        self
    }

    /// Only calls with a subject that starts with `prefix` (a message subject such as
    /// `[remediator] PAUSE`, a queue URL's base).
    #[must_use]
    pub fn on_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.subject = Some(Subject::Prefix(prefix.into()));
        self
    }

    /// Only the first `n` matching calls; the later ones pass.
    #[must_use]
    pub fn first(mut self, n: u32) -> Self {
        self.when = When::First(n);
        self
    }

    /// The `k`th matching call (counting from 1) and every one after it.
    #[must_use]
    pub fn from_call(mut self, k: u32) -> Self {
        self.when = When::From(k);
        self
    }

    fn matches(&self, op: Op, subjects: &[&str]) -> bool {
        let named = |s: &&str| match &self.subject {
            None => true,
            Some(Subject::Exact(x)) => s == x,
            Some(Subject::Prefix(p)) => s.starts_with(p.as_str()),
        };
        self.op == op && (self.subject.is_none() || subjects.iter().any(named))
    }

    /// Counts a matching call; whether this one is taken.
    fn take(&mut self) -> bool {
        self.seen = self.seen.saturating_add(1);
        match self.when {
            When::Always => true,
            When::First(n) => self.seen <= n,
            When::From(k) => self.seen >= k,
        }
    }
}

/// One call as the decorator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub op: Op,
    pub subjects: Vec<String>,
    /// The fault it met, if any.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct Book {
    rules: Vec<Rule>,
    calls: Vec<Call>,
}

/// The rules and the call log, shared (cheap to clone) by every [`Faulty`] made with it and by
/// the test that changes the rules while the code under test runs.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Book>>);

impl Faults {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock only means a test thread panicked; the book is still readable.
    fn book(&self) -> MutexGuard<'_, Book> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a rule after the others. Every rule that matches a call counts it; the first one
    /// that takes it decides its fault.
    pub fn add(&self, rule: Rule) {
        self.book().rules.push(rule);
    }

    /// Removes every rule: calls pass from now on. The call log is kept.
    pub fn clear(&self) {
        self.book().rules.clear();
    }

    /// Calls of `op` made so far, faulted or not.
    #[must_use]
    pub fn calls(&self, op: Op) -> usize {
        self.book().calls.iter().filter(|c| c.op == op).count()
    }

    /// Calls of `op` that named `subject`.
    #[must_use]
    pub fn calls_on(&self, op: Op, subject: &str) -> usize {
        let book = self.book();
        let named = |c: &&Call| c.op == op && c.subjects.iter().any(|s| s == subject);
        book.calls.iter().filter(named).count()
    }

    /// Every call so far, in order.
    #[must_use]
    pub fn log(&self) -> Vec<Call> {
        self.book().calls.clone()
    }

    /// Logs a call and decides its fault; the lock is released before anything is awaited.
    fn gate(&self, op: Op, subjects: &[&str]) -> Gate {
        let mut book = self.book();
        let mut fault = None;
        for rule in book.rules.iter_mut().filter(|r| r.matches(op, subjects)) {
            if rule.take() && fault.is_none() {
                fault = Some(rule.fault);
            }
        }
        book.calls.push(Call {
            op,
            subjects: subjects.iter().map(|s| (*s).to_string()).collect(),
            fault,
        });
        let subject = subjects.first().copied().unwrap_or_default();
        match fault {
            None => Gate::Pass,
            Some(Fault::Delay(d)) => Gate::Delay(d),
            Some(Fault::Hang) => Gate::Hang,
            Some(f) => Gate::Fail(f.error(op, subject)),
        }
    }
}

impl Fault {
    /// The error a failing fault makes of a call of `op` about `subject`.
    fn error(self, op: Op, subject: &str) -> PortError {
        let (service, operation) = op.names();
        let message = format!("injected fault on {operation} {subject}");
        match self {
            Fault::Permanent => PortError::Permanent {
                service,
                operation,
                message,
            },
            Fault::Throttled => PortError::Throttled {
                service,
                operation,
                message,
            },
            Fault::NotFound => PortError::NotFound {
                resource: subject.to_string(),
            },
            Fault::Busy => PortError::Busy {
                resource: subject.to_string(),
                message,
            },
            // Delays and hangs make no error; `gate` never asks.
            Fault::Transient | Fault::Delay(_) | Fault::Hang => PortError::Transient {
                service,
                operation,
                message,
            },
        }
    }
}

/// What a call meets before it reaches the wrapped port.
enum Gate {
    Pass,
    Delay(Duration),
    Hang,
    Fail(PortError),
}

impl Gate {
    async fn pass(self) -> Result<(), PortError> {
        match self {
            Gate::Pass => Ok(()),
            Gate::Delay(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            Gate::Hang => std::future::pending().await,
            Gate::Fail(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
