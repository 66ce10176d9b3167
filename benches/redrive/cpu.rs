//! The machine under the controller: the CPU time its thread spends, the load beside it, and a
//! hog that keeps every CPU busy so its wake-ups come late.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// CPU time (user + system) of the calling thread, and where it was read.
///
/// `/proc/thread-self/schedstat` gives the scheduler's on-CPU time in nanoseconds (the same sum
/// `utime` + `stime` are apportioned from); without it (a kernel without schedstats), fields 14
/// and 15 of `/proc/thread-self/stat` in clock ticks, assumed 100 per second (`getconf CLK_TCK`
/// on Linux; reading it would need libc).
pub fn thread_cpu() -> Option<(Duration, &'static str)> {
    if let Ok(text) = std::fs::read_to_string("/proc/thread-self/schedstat")
        && let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
    {
        return Some((Duration::from_nanos(ns), "/proc/thread-self/schedstat (ns)"));
    }
    const TICKS_PER_S: u64 = 100;
    let text = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name, which may hold spaces, start at field 3 (state).
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((
        Duration::from_millis(ticks * 1000 / TICKS_PER_S),
        "/proc/thread-self/stat fields 14+15 (10 ms ticks)",
    ))
}

/// The 1, 5 and 15-minute load averages from `/proc/loadavg`, or `unknown`: other work on the
/// machine makes wake-ups late, as the hog rows do on purpose.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_string(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

pub fn cpu_now() -> Duration {
    thread_cpu().map_or(Duration::ZERO, |(d, _)| d)
}

/// Busy-loops a thread per CPU at normal priority until dropped: a machine busy with other
/// work, as when the controller shares its host.
#[derive(Debug)]
pub struct CpuHog {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl CpuHog {
    pub fn start(threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|i| {
                let stop = Arc::clone(&stop);
                std::thread::Builder::new()
                    .name(format!("cpu-hog-{i}"))
                    .spawn(move || {
                        let mut spins = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            spins = std::hint::black_box(spins.wrapping_add(1));
                        }
                        spins
                    })
                    .expect("a CPU hog thread")
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
