//! Property tests of the re-drive pacer over the whole accepted rate range, value-in/value-out:
//! a simulated sender asks the pacer when to send, wakes up late by arbitrary amounts, stalls
//! with nothing to send, gets throttled, and every send time is checked. No clock is read but
//! one base `Instant`; the runs cover seconds to days of simulated time in milliseconds.
//!
//! Why the rate property has late wake-ups now and then rather than on every wake-up: the
//! window cap ⌈rate × 0.1⌉ + 1 leaves room for only one or two invocations per 100 ms above the
//! rate, so what a late wake-up leaves behind is caught up at that pace (a 50 ms hiccup at
//! 1000/s takes about 5 s), and a sender late by more than a period on *every* wake-up cannot
//! keep both promises; no pacer can. The cap is checked under lateness on every wake-up.

use proptest::prelude::*;
use remediator::redrive::pace::{MAX_RATE, MIN_RATE, Pacer, WINDOW};
use std::time::Duration;
use tokio::time::Instant;

/// Rates spread evenly over the decades of [MIN_RATE, MAX_RATE], with both ends.
fn rate() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(MIN_RATE),
        1 => Just(MAX_RATE),
        8 => (MIN_RATE.log10()..=MAX_RATE.log10())
            .prop_map(|e| 10f64.powf(e).clamp(MIN_RATE, MAX_RATE)),
    ]
}

/// Wake-up lateness of a busy machine, 0–50 ms, cycled through by the sender.
fn lateness() -> impl Strategy<Value = Vec<Duration>> {
    prop::collection::vec((0u64..=50_000).prop_map(Duration::from_micros), 1..32)
}

/// Every wake-up late by the next of `lateness`, in turn.
fn cycled(lateness: &[Duration]) -> impl FnMut(Instant) -> Duration + '_ {
    let mut next = lateness.iter().cycle();
    move |_| *next.next().unwrap_or(&Duration::ZERO)
}

/// ⌈rate × 0.1⌉ + 1: the most sends any 100 ms may hold.
fn cap(rate: f64) -> usize {
    Pacer::new(rate, Instant::now()).window_cap()
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// What the simulated sender did.
#[derive(Debug, Default)]
struct Run {
    sends: Vec<Instant>,
    /// When each stall (nothing to send) ended.
    resumes: Vec<Instant>,
}

/// The sender of `drive()` without tokio: sleeps until `due()` and wakes late by
/// `late(due)`; sends at once what is already due; cannot send inside a stall and tells the
/// pacer when it may again; the pacer hears of throttling at the given times. Stops at `end`.
fn simulate(
    pacer: &mut Pacer,
    start: Instant,
    end: Instant,
    mut late: impl FnMut(Instant) -> Duration,
    stalls: &[(Instant, Instant)],
    throttles: &[Instant],
) -> Run {
    let mut run = Run::default();
    let (mut stalls, mut throttles) = (stalls.iter().peekable(), throttles.iter().peekable());
    let mut now = start;
    loop {
        while let Some(&&(from, until)) = stalls.peek() {
            if now < from {
                break;
            }
            stalls.next();
            if now < until {
                now = until;
                pacer.idle_until(now);
                run.resumes.push(now);
            }
        }
        while let Some(&&at) = throttles.peek() {
            if now < at {
                break;
            }
            throttles.next();
            pacer.throttled(at);
        }
        let due = pacer.due();
        if due > now {
            // Asleep until due, woken late; a stall or throttle may come first.
            now = due + late(due);
            let next_event = [stalls.peek().map(|s| s.0), throttles.peek().map(|t| **t)]
                .into_iter()
                .flatten()
                .min();
            if next_event.is_some_and(|at| at <= now) {
                now = now.min(next_event.unwrap_or(now));
                continue;
            }
        }
        if now > end {
            return run;
        }
        pacer.sent(now);
        run.sends.push(now);
    }
}

/// The most sends in any window `[t, t + WINDOW)`.
fn most_in_window(sends: &[Instant]) -> usize {
    let mut most = 0;
    let mut first = 0;
    for (i, t) in sends.iter().enumerate() {
        while sends[first] + WINDOW <= *t {
            first += 1;
        }
        most = most.max(i + 1 - first);
    }
    most
}

/// Sorted, non-overlapping stalls from (start share, length share) pairs of a run of `span`.
fn stalls(start: Instant, span: Duration, shares: &[(f64, f64)]) -> Vec<(Instant, Instant)> {
    let mut out: Vec<(Instant, Instant)> = shares
        .iter()
        .map(|(from, len)| {
            let from = start + span.mul_f64(*from);
            (from, from + span.mul_f64(*len))
        })
        .collect();
    out.sort();
    let mut merged: Vec<(Instant, Instant)> = Vec::new();
    for (from, until) in out {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(until),
            _ => merged.push((from, until)),
        }
    }
    merged
}

/// One operation on the pacer at an offset from the base instant, in ms (times may go back).
#[derive(Debug, Clone)]
enum Op {
    Due,
    Sent(u64),
    Idle(u64),
    Throttled(u64),
    Hold(u64),
    Recover(u64),
}

fn op() -> impl Strategy<Value = Op> {
    // Up to ~30 days: far beyond any period the pacer can hold.
    let t = || 0u64..2_592_000_000;
    prop_oneof![
        Just(Op::Due),
        t().prop_map(Op::Sent),
        t().prop_map(Op::Idle),
        t().prop_map(Op::Throttled),
        t().prop_map(Op::Hold),
        t().prop_map(Op::Recover),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any `f64` at all (NaN, infinities, zero, negative, subnormal, 1e-19) and any sequence
    /// of calls at any times: no panic, and the pace stays within the accepted range.
    #[test]
    fn no_rate_and_no_sequence_of_calls_panics(
        rate in proptest::num::f64::ANY,
        ops in prop::collection::vec(op(), 0..200),
    ) {
        let base = Instant::now();
        let mut pacer = Pacer::new(rate, base);
        let requested = pacer.rate();
        prop_assert!((MIN_RATE..=MAX_RATE).contains(&requested), "{rate} paced at {requested}");
        for op in ops {
            let at = |ms: u64| base + Duration::from_millis(ms);
            match op {
                Op::Due => {
                    let _ = pacer.due();
                }
                Op::Sent(ms) => pacer.sent(at(ms)),
                Op::Idle(ms) => pacer.idle_until(at(ms)),
                Op::Throttled(ms) => pacer.throttled(at(ms)),
                Op::Hold(ms) => pacer.hold(at(ms)),
                Op::Recover(ms) => {
                    let _ = pacer.recover(at(ms));
                }
            }
            let pace = pacer.rate();
            prop_assert!(pace >= requested / 16.0 - 1e-9 && pace <= requested, "pace {pace}");
            prop_assert!(pacer.window_cap() <= cap(MAX_RATE));
        }
    }

    /// A busy machine: wake-ups late by 0–50 ms now and then (up to 40 periods, so the tests
    /// stay fast at 10,000/s), on time otherwise, no stall. At no moment is the sender more than
    /// one window cap behind `start + k / rate` (so over any N seconds it sends within one cap
    /// of rate × N), never ahead of it, and once the machine is quiet for long enough it has
    /// caught everything up: lateness is not lost, as it was when the schedule re-anchored.
    #[test]
    fn late_wake_ups_are_caught_up_not_lost(
        rate in rate(),
        hiccups in prop::collection::vec(0u64..=50_000, 1..=4),
    ) {
        let start = Instant::now();
        let period = 1.0 / rate;
        let lateness: Vec<Duration> = hiccups
            .iter()
            .map(|us| secs((*us as f64 / 1e6).min(40.0 * period)))
            .collect();
        // Each hiccup leaves up to ⌈rate × lateness⌉ behind, caught up at one or more per
        // window (the cap's slack over the rate); the next waits until then.
        let spacing: Vec<Duration> = lateness
            .iter()
            .map(|l| WINDOW * ((rate * l.as_secs_f64()).ceil() as u32 + 5) + secs(2.0 * period))
            .collect();
        let lead = WINDOW + secs(period);
        let end = start + lead + spacing.iter().sum::<Duration>();
        let mut next = 0;
        let mut next_at = start + lead;
        let late = |due: Instant| {
            if next < lateness.len() && due >= next_at {
                next_at = due + spacing[next];
                next += 1;
                lateness[next - 1]
            } else {
                Duration::ZERO
            }
        };
        let mut pacer = Pacer::new(rate, start);
        let run = simulate(&mut pacer, start, end, late, &[], &[]);
        // Invocations due by `t` on the first schedule (invocation 0 at the start); the pacer
        // rounds due times to nanoseconds.
        let due_by = |t: Instant| ((t - start).as_secs_f64() * rate + 1e-3).floor() as usize + 1;
        let cap = cap(rate);
        for (i, t) in run.sends.iter().enumerate() {
            prop_assert!(i < due_by(*t), "send {i} ahead of the schedule at {rate}/s");
            // Sends at the same instant are one wake-up: the lag before it.
            if i == 0 || run.sends[i - 1] < *t {
                let behind = due_by(*t) - i;
                prop_assert!(behind <= cap, "{behind} behind at {rate}/s, cap {cap}");
            }
        }
        let behind = due_by(end) as i64 - run.sends.len() as i64;
        prop_assert!(
            behind <= 1,
            "{behind} still owed after a quiet {:?} at {rate}/s (lateness {lateness:?})",
            *spacing.last().unwrap_or(&Duration::ZERO)
        );
    }

    /// Late wake-ups, stalls with nothing to send, throttling: no 100 ms ever holds more than
    /// ⌈rate × 0.1⌉ + 1 sends at the requested rate.
    #[test]
    fn no_window_holds_more_than_the_cap(
        rate in rate(),
        expected in 10u32..10_000,
        lateness in lateness(),
        stall_shares in prop::collection::vec((0.0..1.0, 0.0..0.2), 0..5),
        throttle_shares in prop::collection::vec(0.0f64..1.0, 0..4),
    ) {
        let start = Instant::now();
        let span = secs(f64::from(expected) / rate);
        let stalls = stalls(start, span, &stall_shares);
        let mut throttles: Vec<Instant> =
            throttle_shares.iter().map(|s| start + span.mul_f64(*s)).collect();
        throttles.sort();
        let mut pacer = Pacer::new(rate, start);
        let run = simulate(&mut pacer, start, start + span, cycled(&lateness), &stalls, &throttles);
        let most = most_in_window(&run.sends);
        prop_assert!(most <= cap(rate), "{most} in 100 ms at {rate}/s, cap {}", cap(rate));
    }

    /// After a stall with nothing to send, sending resumes at the pace, not with the invocations
    /// that fell due meanwhile: the k-th send after the stall is at least k periods after it,
    /// however late the sender wakes.
    #[test]
    fn no_burst_after_a_stall(
        rate in rate(),
        expected in 10u32..5_000,
        lateness in lateness(),
        stall_shares in prop::collection::vec((0.0..1.0, 0.0..0.2), 1..5),
    ) {
        let start = Instant::now();
        let span = secs(f64::from(expected) / rate);
        let stalls = stalls(start, span, &stall_shares);
        let mut pacer = Pacer::new(rate, start);
        let run = simulate(&mut pacer, start, start + span, cycled(&lateness), &stalls, &[]);
        for resumed in &run.resumes {
            // Up to the next stall, which restarts the count.
            let next_stall = stalls.iter().map(|s| s.0).find(|from| from > resumed);
            let after = run
                .sends
                .iter()
                .filter(|t| *t >= resumed && next_stall.is_none_or(|from| **t < from));
            for (k, sent) in after.enumerate() {
                let earliest = *resumed + secs(k as f64 / rate);
                // Nanosecond rounding of the due times aside.
                prop_assert!(
                    *sent + Duration::from_micros(1) >= earliest,
                    "send {k} after the stall came {:?} early at {rate}/s",
                    earliest - *sent
                );
            }
        }
    }
}
