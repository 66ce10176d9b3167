//! Property tests of the pure core under absurd inputs: any observation (NaN, infinities, huge
//! and negative readings, any instant, any period) with any memory (times far in the future or
//! past, zero and huge capacities, any rate) goes through `vet`, `decide` and `admit` without a
//! panic; and what is admitted stays within what the policy allows.

use proptest::prelude::*;
use remediator::decide::decide;
use remediator::domain::action::{Action, EscalationCause};
use remediator::domain::observed::{
    CacheObs, DimensionObs, FunctionObs, IngestJob, Observed, Point, QueueDepth, ResourceObs,
    Series,
};
use remediator::domain::pause::{Baseline, Episode};
use remediator::domain::resource::{BillingMode, CapacityKey, Dimension, Resource, TableStatus};
use remediator::guard::admit;
use remediator::memory::{
    ChangeRecord, Direction, EscalationRecord, Memory, QueueWatch, RedriveRecord, RefusalRecord,
};
use remediator::policy::{LOCAL_POLICY, Policy};
use remediator::time::Timestamp;
use remediator::vet::vet;
use std::path::Path;
use std::time::Duration;

/// 2026-01-05T14:00:00Z: most generated instants fall near it, so rules engage.
const T0: u64 = 1_767_621_600;

fn policy() -> Policy {
    let (path, text) = LOCAL_POLICY;
    let text = text.replace("[redrive]\nenabled = false", "[redrive]\nenabled = true");
    Policy::parse(Path::new(path), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        8 => (T0 - 7200..T0 + 7200).prop_map(Timestamp),
        1 => any::<u64>().prop_map(Timestamp),
        1 => Just(Timestamp(0)),
    ]
}

fn reading() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0..50_000.0f64,
        1 => any::<f64>(),
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-1e300),
            Just(1e300),
            Just(-1.0),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
        ],
    ]
}

fn series() -> impl Strategy<Value = Series> {
    prop::collection::vec((0u64..40, reading()), 0..12).prop_map(|mut points| {
        points.sort_by_key(|p| p.0);
        points.dedup_by_key(|p| p.0);
        Series {
            points: points
                .into_iter()
                .map(|(m, value)| Point {
                    start: Timestamp(T0 - (40 - m) * 60),
                    value,
                })
                .collect(),
        }
    })
}

fn units() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 1u32..50_000, 1 => any::<u32>(), 1 => Just(0)]
}

fn dimension_obs() -> impl Strategy<Value = DimensionObs> {
    (prop::option::of(units()), series(), series()).prop_map(
        |(provisioned, consumed, throttles)| DimensionObs {
            provisioned,
            autoscaling: None,
            consumed,
            throttle_events: throttles,
        },
    )
}

const TABLES: [&str; 4] = [
    "tileindex.local.boss",
    "idIndex.local.boss",
    "s3index.local.boss",
    "idCount.local.boss",
];

fn resource() -> impl Strategy<Value = ResourceObs> {
    (
        0..TABLES.len(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(TableStatus::Active), Just(TableStatus::Updating)],
        dimension_obs(),
        dimension_obs(),
    )
        .prop_map(|(t, gsi, on_demand, status, read, write)| ResourceObs {
            resource: if gsi {
                Resource::index(TABLES[t], "task_id_index")
            } else {
                Resource::table(TABLES[t])
            },
            billing: if on_demand {
                BillingMode::PayPerRequest
            } else {
                BillingMode::Provisioned
            },
            status,
            read,
            write,
        })
}

const FUNCTIONS: [&str; 3] = [
    "tileIngestLambda-local-boss",
    "tileUploadLambda-local-boss",
    "multiLambda-local-boss",
];

fn function() -> impl Strategy<Value = FunctionObs> {
    (
        0..FUNCTIONS.len(),
        prop::option::of(0u64..1_000_000),
        prop::option::of(units()),
        (series(), series(), series(), series(), series()),
    )
        .prop_map(|(f, timeout, limit, s)| FunctionObs {
            name: FUNCTIONS[f].to_string(),
            timeout: timeout.map(Duration::from_secs),
            reserved_concurrency: None,
            reservation_read: true,
            concurrency_limit: limit,
            duration_ms: s.0,
            invocations: s.1,
            errors: s.2,
            throttles: s.3,
            concurrent: s.4,
        })
}

fn depth(name: String) -> impl Strategy<Value = QueueDepth> {
    (any::<u64>(), 0u64..1000, 0u64..10).prop_map(move |(visible, in_flight, delayed)| QueueDepth {
        name: name.clone(),
        url: format!("http://sqs/123456789012/{name}"),
        visible: visible % 1_000_000,
        in_flight,
        delayed,
        visibility_timeout: Some(Duration::from_secs(530)),
    })
}

fn job() -> impl Strategy<Value = IngestJob> {
    (1u32..5).prop_flat_map(|j| {
        (
            depth(format!("local-boss-ingest-{j}")),
            prop::option::of(depth(format!("local-boss-upload-{j}"))),
            prop::option::of(depth(format!("local-boss-{j}-index"))),
        )
            .prop_map(move |(ingest, upload, index)| IngestJob {
                job: j.to_string(),
                ingest,
                upload,
                index,
                index_dlq: None,
            })
    })
}

fn observed() -> impl Strategy<Value = Observed> {
    (
        instant(),
        prop_oneof![8 => Just(60u64), 1 => 0u64..7200],
        prop::collection::vec(resource(), 0..5),
        prop::collection::vec(function(), 0..3),
        prop::collection::vec(job(), 0..3),
        prop::collection::vec(series(), 0..2),
    )
        .prop_map(|(at, period, mut resources, functions, jobs, cpu)| {
            resources.sort_by(|a, b| a.resource.cmp(&b.resource));
            resources.dedup_by(|a, b| a.resource == b.resource);
            Observed {
                resources,
                functions,
                jobs,
                caches: cpu
                    .into_iter()
                    .map(|engine_cpu| CacheObs {
                        cluster: "boss-redis".into(),
                        engine_cpu,
                    })
                    .collect(),
                ..Observed::empty(at, Duration::from_secs(period))
            }
        })
}

fn key() -> impl Strategy<Value = CapacityKey> {
    (0..TABLES.len(), any::<bool>(), any::<bool>()).prop_map(|(t, gsi, read)| CapacityKey {
        resource: if gsi {
            Resource::index(TABLES[t], "task_id_index")
        } else {
            Resource::table(TABLES[t])
        },
        dimension: if read {
            Dimension::Read
        } else {
            Dimension::Write
        },
    })
}

fn memory() -> impl Strategy<Value = Memory> {
    let change = (
        key(),
        instant(),
        units(),
        units(),
        any::<bool>(),
        prop::option::of(instant()),
    )
        .prop_map(|(key, at, from, to, raise, settled_at)| ChangeRecord {
            key,
            at,
            from,
            to,
            direction: if raise {
                Direction::Raise
            } else {
                Direction::Lower
            },
            settled_at,
        });
    let escalation = (key(), instant()).prop_map(|(k, at)| EscalationRecord {
        resource: k.resource,
        cause: EscalationCause::HotPartition,
        at,
    });
    let refusal = (key(), instant()).prop_map(|(key, at)| RefusalRecord {
        key,
        at,
        error: "denied".into(),
    });
    let redrive = (1u32..5, instant(), reading()).prop_map(|(j, at, rate_per_s)| RedriveRecord {
        queue: format!("local-boss-ingest-{j}"),
        at,
        manual: false,
        rate_per_s,
        end: None,
    });
    let watch = (1u32..5, any::<u64>(), instant()).prop_map(|(j, visible, since)| QueueWatch {
        queue: format!("local-boss-ingest-{j}"),
        visible,
        since,
        unread: false,
    });
    let baseline = (
        0..FUNCTIONS.len(),
        reading(),
        reading(),
        any::<u32>(),
        instant(),
    )
        .prop_map(|(f, ms, learned_ms, minutes, through)| Baseline {
            function: FUNCTIONS[f].to_string(),
            ms,
            learned_ms,
            minutes,
            through,
        });
    let episode = prop::option::of(instant().prop_map(|since| Episode {
        since,
        trouble: Vec::new(),
        jobs: Vec::new(),
        acknowledged: None,
        end_requested: None,
    }));
    (
        prop::collection::vec(change, 0..5),
        prop::collection::vec(escalation, 0..3),
        prop::collection::vec(refusal, 0..2),
        prop::collection::vec(redrive, 0..3),
        prop::collection::vec(watch, 0..3),
        prop::collection::vec(baseline, 0..3),
        episode,
        prop::option::of(instant()),
    )
        .prop_map(
            |(changes, escalations, refusals, redrives, queue_watch, baselines, episode, sup)| {
                let mut memory = Memory {
                    changes,
                    escalations,
                    refusals,
                    redrives,
                    queue_watch,
                    ..Memory::default()
                };
                memory.pause.baselines = baselines;
                memory.pause.episode = episode;
                memory.pause.suppressed_since = sup;
                memory
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The raw core must survive anything, even an observation `vet` has not seen.
    #[test]
    fn decide_and_admit_never_panic(observed in observed(), memory in memory()) {
        let policy = policy();
        let decision = decide(&observed, &policy, &memory);
        let admission = admit(decision.actions, &observed, &policy, &memory);
        for action in &admission.admitted {
            let _ = (action.reason(), action.subject(), serde_json::to_string(action));
        }
        for held in &admission.held {
            let _ = held.reason.to_string();
        }
    }

    /// After vetting, nothing admitted rests on an impossible reading, and every capacity
    /// change stays within the policy's floor and ceiling.
    #[test]
    fn vetted_decisions_stay_within_the_policy(observed in observed(), memory in memory()) {
        let policy = policy();
        let observed = vet(observed, &memory);
        for r in &observed.resources {
            for d in [&r.read, &r.write] {
                for p in d.consumed.points.iter().chain(&d.throttle_events.points) {
                    prop_assert!(p.value.is_finite() && p.value >= 0.0, "{p:?} passed vetting");
                }
            }
        }
        let decision = decide(&observed, &policy, &memory);
        let admission = admit(decision.actions, &observed, &policy, &memory);
        for action in &admission.admitted {
            if let Action::RaiseCapacity(c) | Action::LowerCapacity(c) = action {
                let rule = policy.table_rule(&c.key.resource.table).expect("governed");
                let limits = rule.limits(c.key.dimension);
                prop_assert!(c.to <= limits.ceiling.max(c.from), "{c:?} above the ceiling");
                prop_assert!(c.to >= 1);
                prop_assert!(c.evidence.consumed.is_finite() && c.evidence.consumed >= 0.0);
                prop_assert!(
                    !observed.implausible.iter().any(|i| i.subject == c.key.to_string()),
                    "acted on an implausible signal"
                );
            }
        }
    }
}
