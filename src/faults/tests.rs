//! The rules, the gate and the decorator over a port that always answers.

use super::{Fault, Faults, Faulty, Op, Rule};
use crate::domain::notice::{Channel, Message};
use crate::domain::port_error::PortError;
use crate::domain::resource::{BillingMode, TableStatus};
use crate::ports::{Autoscaling, ScalingUpdate, Signals, TableDescription, TableUpdate, Tables};
use crate::state::{FileState, StateError, StateStore};
use std::time::Duration;

/// A port that answers every call at once.
#[derive(Debug)]
struct Echo;

impl Tables for Echo {
    async fn describe(&self, table: &str) -> Result<TableDescription, PortError> {
        Ok(TableDescription {
            name: table.to_string(),
            billing: BillingMode::PayPerRequest,
            status: TableStatus::Active,
            throughput: None,
            autoscaling: Autoscaling::default(),
            indexes: Vec::new(),
        })
    }

    async fn update(&self, _update: &TableUpdate) -> Result<(), PortError> {
        Ok(())
    }

    async fn set_scaling_range(&self, _update: &ScalingUpdate) -> Result<(), PortError> {
        Ok(())
    }
}

impl Signals for Echo {
    async fn send(&self, channel: Channel, _message: &Message) -> Result<String, PortError> {
        Ok(format!("{channel}: ok"))
    }
}

/// Describes `table` once: `Ok` or the error.
async fn describe(port: &Faulty<Echo>, table: &str) -> Result<(), PortError> {
    port.describe(table).await.map(|_| ())
}

#[tokio::test]
async fn a_rule_for_the_first_calls_fails_them_and_lets_the_rest_through() {
    let port = Faulty::new(Echo);
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Transient).first(2));
    let results = [
        describe(&port, "t").await,
        describe(&port, "t").await,
        describe(&port, "t").await,
    ];
    assert!(matches!(results[0], Err(PortError::Transient { .. })));
    assert!(matches!(results[1], Err(PortError::Transient { .. })));
    assert_eq!(results[2], Ok(()));
    assert_eq!(port.faults().calls(Op::DescribeTable), 3);
    assert_eq!(port.faults().calls(Op::UpdateTable), 0);
    let faulted: Vec<_> = port.faults().log().iter().map(|c| c.fault).collect();
    assert_eq!(
        faulted,
        [Some(Fault::Transient), Some(Fault::Transient), None]
    );
}

#[tokio::test]
async fn a_rule_from_the_kth_call_lets_the_earlier_ones_through() {
    let port = Faulty::new(Echo);
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Permanent).from_call(3));
    let mut results = Vec::new();
    for _ in 0..4 {
        results.push(describe(&port, "t").await.is_ok());
    }
    assert_eq!(results, [true, true, false, false]);
}

#[tokio::test]
async fn a_subject_chooses_the_calls_that_name_it() {
    let port = Faulty::new(Echo);
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::NotFound).on("gone"));
    assert_eq!(describe(&port, "here").await, Ok(()));
    assert_eq!(
        describe(&port, "gone").await,
        Err(PortError::NotFound {
            resource: "gone".into()
        })
    );
    assert_eq!(port.faults().calls_on(Op::DescribeTable, "gone"), 1);
    assert_eq!(port.faults().calls_on(Op::DescribeTable, "here"), 1);
}

#[tokio::test]
async fn every_matching_rule_counts_and_the_first_that_takes_decides() {
    let port = Faulty::new(Echo);
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Permanent).first(1));
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Throttled).from_call(3));
    let first = describe(&port, "t").await;
    let second = describe(&port, "t").await;
    let third = describe(&port, "t").await;
    assert!(
        matches!(first, Err(PortError::Permanent { .. })),
        "{first:?}"
    );
    assert_eq!(second, Ok(()));
    assert!(
        matches!(third, Err(PortError::Throttled { .. })),
        "{third:?}"
    );
}

#[tokio::test]
async fn faults_are_classified_as_the_loop_expects() {
    let cases = [
        (Fault::Transient, true),
        (Fault::Throttled, true),
        (Fault::Busy, true),
        (Fault::Permanent, false),
        (Fault::NotFound, false),
    ];
    for (fault, transient) in cases {
        let port = Faulty::new(Echo);
        port.faults().add(Rule::new(Op::UpdateTable, fault));
        let update = TableUpdate {
            table: "t".into(),
            table_throughput: None,
            indexes: Vec::new(),
        };
        let err = port.update(&update).await.err();
        assert_eq!(err.map(|e| e.is_transient()), Some(transient), "{fault:?}");
    }
}

#[tokio::test]
async fn cleared_rules_let_every_call_through_and_the_log_stays() {
    let port = Faulty::new(Echo);
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Transient));
    assert!(describe(&port, "t").await.is_err());
    port.faults().clear();
    assert_eq!(describe(&port, "t").await, Ok(()));
    assert_eq!(port.faults().calls(Op::DescribeTable), 2);
}

#[tokio::test]
async fn decorators_sharing_faults_share_rules_and_counts() {
    let faults = Faults::new();
    let (a, b) = (
        Faulty::sharing(Echo, &faults),
        Faulty::sharing(Echo, &faults),
    );
    faults.add(Rule::new(Op::Publish, Fault::Throttled).first(1));
    let message = Message {
        subject: "ALERT".into(),
        body: String::new(),
    };
    assert!(a.send(Channel::Sns, &message).await.is_err());
    assert!(b.send(Channel::Sns, &message).await.is_ok());
    assert!(b.send(Channel::Webhook, &message).await.is_ok());
    assert_eq!(faults.calls(Op::Publish), 2);
    assert_eq!(faults.calls_on(Op::PostWebhook, "ALERT"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_delay_waits_in_virtual_time_then_makes_the_call() {
    let port = Faulty::new(Echo);
    let delay = Duration::from_secs(25);
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Delay(delay)));
    let started = tokio::time::Instant::now();
    let result = describe(&port, "t").await;
    assert_eq!(result, Ok(()));
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    let cut = tokio::time::timeout(delay / 2, describe(&port, "t")).await;
    assert!(cut.is_err(), "a call delayed 25 s answered within 12.5 s");
}

#[tokio::test(start_paused = true)]
async fn a_hung_call_never_answers() {
    let port = Faulty::new(Echo);
    port.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Hang).first(1));
    let hour = Duration::from_secs(3600);
    assert!(
        tokio::time::timeout(hour, describe(&port, "t"))
            .await
            .is_err()
    );
    let next = tokio::time::timeout(hour, describe(&port, "t")).await;
    assert_eq!(next, Ok(Ok(())), "only the first call hangs");
}

#[tokio::test]
async fn a_state_store_fault_is_a_read_or_write_error() {
    let dir = std::env::temp_dir().join(format!("remediator-faults-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let store = Faulty::new(FileState::new(dir.join("state.json")));
    store
        .faults()
        .add(Rule::new(Op::SaveState, Fault::Permanent).first(1));
    store
        .faults()
        .add(Rule::new(Op::LoadState, Fault::Transient).first(1));
    let memory = crate::memory::Memory::default();
    let saved = store.write(&memory, 0, None).await;
    assert!(matches!(saved, Err(StateError::Write { .. })), "{saved:?}");
    assert!(
        !dir.join("state.json").exists(),
        "a failed save wrote the file"
    );
    assert!(matches!(store.load().await, Err(StateError::Read { .. })));
    assert_eq!(store.write(&memory, 0, None).await.ok(), Some(1));
    assert!(dir.join("state.json").exists());
    assert_eq!(store.load().await.ok(), Some(memory));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The AWS adapters, the simulated cloud and the state file can all be wrapped: their futures
/// stay `Send` behind the gate. Checked by the compiler; nothing runs.
#[test]
fn every_port_implementation_can_be_wrapped() {
    fn metrics<P: crate::ports::Metrics>() {}
    fn tables<P: Tables>() {}
    fn queues<P: crate::ports::Queues>() {}
    fn functions<P: crate::ports::Functions>() {}
    fn signals<P: Signals>() {}
    fn state<P: StateStore>() {}
    use crate::sim::cloud::SimCloud;
    metrics::<Faulty<crate::aws::CloudWatchMetrics>>();
    tables::<Faulty<crate::aws::DynamoTables>>();
    queues::<Faulty<crate::aws::SqsQueues>>();
    functions::<Faulty<crate::aws::LambdaFunctions>>();
    signals::<Faulty<crate::aws::AwsSignals>>();
    metrics::<Faulty<SimCloud>>();
    tables::<Faulty<SimCloud>>();
    queues::<Faulty<SimCloud>>();
    functions::<Faulty<SimCloud>>();
    signals::<Faulty<SimCloud>>();
    state::<Faulty<FileState>>();
    // A re-drive fleet takes its ports by value, cloned into each task.
    let _ = |q: Faulty<crate::aws::SqsQueues>,
             f: Faulty<crate::aws::LambdaFunctions>,
             m: Faulty<crate::aws::CloudWatchMetrics>| {
        crate::redrive::fleet::Fleet::new(q, f, m)
    };
}
