//! The two ways of applying load.
//!
//! - **Closed loop**: `concurrency` workers, each sending its next call when the previous one
//!   answered, spread over `connections` HTTP/2 connections. Measures throughput at a given
//!   number of calls in flight.
//! - **Open loop**: calls are due at a fixed rate whatever the server does, and each latency is
//!   measured from the time the call was *due*, not sent: a server that stalls makes the calls
//!   queued behind the stall late, and the tail shows it (no coordinated omission).
//!
//! Calls made during the warm-up are not counted.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::Mutex;

use crate::{
    cpu::{CpuProbe, CpuUse},
    latency::Latencies,
};

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Measured time.
    pub duration: Duration,
    /// Time before it, not measured.
    pub warmup: Duration,
    /// Calls in flight (closed loop), or the most in flight at once (open loop).
    pub concurrency: usize,
    /// Calls per second for open loop; `None` is closed loop.
    pub rate: Option<u64>,
    /// Processes whose CPU time over the measured phase is reported.
    pub cpu: CpuProbe,
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    /// Successful calls after the warm-up.
    pub ok: u64,
    /// Failed calls after the warm-up, by gRPC code name.
    pub errors: BTreeMap<String, u64>,
    /// Latency of every counted call.
    pub latencies: Latencies,
    /// The measured time.
    pub elapsed: Duration,
    /// CPU the probed processes spent in the measured time.
    pub cpu: CpuUse,
}

impl Measurement {
    /// Successful calls per second.
    pub fn throughput(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.ok as f64 / seconds
        } else {
            0.0
        }
    }

    /// Failed calls.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Per-worker tallies, merged at the end.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latencies: Latencies,
}

impl Tally {
    fn add(&mut self, outcome: Result<(), tonic::Code>, latency: Duration) {
        match outcome {
            Ok(()) => {
                self.ok += 1;
                self.latencies.record(latency);
            }
            Err(code) => *self.errors.entry(format!("{code:?}")).or_insert(0) += 1,
        }
    }
}

/// Runs `call(worker, n)` as the settings say; `progress` is told the elapsed fraction.
pub async fn run<F, Fut>(
    settings: &LoadSettings,
    call: F,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Measurement
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Code>> + Send,
{
    match settings.rate {
        None => closed_loop(settings, call, progress).await,
        Some(rate) => open_loop(settings, rate, call, progress).await,
    }
}

async fn closed_loop<F, Fut>(
    settings: &LoadSettings,
    call: F,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Measurement
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Code>> + Send,
{
    let call = Arc::new(call);
    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let end = measure_from + settings.duration;
    let tallies = Arc::new(Mutex::new(Tally::default()));
    let mut workers = Vec::new();
    for worker in 0..settings.concurrency.max(1) {
        let (call, tallies) = (Arc::clone(&call), Arc::clone(&tallies));
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = 0;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let outcome = call(worker, n).await;
                n += 1;
                if sent >= measure_from {
                    tally.add(outcome, sent.elapsed());
                }
            }
            let mut total = tallies.lock().await;
            total.ok += tally.ok;
            for (code, count) in tally.errors {
                *total.errors.entry(code).or_insert(0) += count;
            }
            total.latencies.merge(&tally.latencies);
        }));
    }
    let ticker = tokio::spawn(tick(start, settings.warmup + settings.duration, progress));
    let cpu = tokio::spawn(cpu_between(settings.cpu.clone(), measure_from, end));
    for worker in workers {
        let _ = worker.await;
    }
    ticker.abort();
    let tally = std::mem::take(&mut *tallies.lock().await);
    Measurement {
        ok: tally.ok,
        errors: tally.errors,
        latencies: tally.latencies,
        elapsed: settings.duration,
        cpu: cpu.await.unwrap_or_default(),
    }
}

async fn open_loop<F, Fut>(
    settings: &LoadSettings,
    rate: u64,
    call: F,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Measurement
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Code>> + Send,
{
    let call = Arc::new(call);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let total = settings.warmup + settings.duration;
    let calls = (total.as_secs_f64() * rate as f64) as u64;
    let tallies = Arc::new(Mutex::new(Tally::default()));
    let limit = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
    let ticker = tokio::spawn(tick(start, total, progress));
    let cpu = tokio::spawn(cpu_between(
        settings.cpu.clone(),
        measure_from,
        start + total,
    ));
    let mut inflight = Vec::new();
    for n in 0..calls {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let (call, tallies, limit) = (Arc::clone(&call), Arc::clone(&tallies), Arc::clone(&limit));
        inflight.push(tokio::spawn(async move {
            // Waiting for a free slot counts: the call was due at `due`.
            let Ok(_permit) = limit.acquire_owned().await else {
                return;
            };
            let outcome = call(usize::try_from(n).unwrap_or(0), n).await;
            if due >= measure_from {
                tallies.lock().await.add(outcome, due.elapsed());
            }
        }));
    }
    for call in inflight {
        let _ = call.await;
    }
    ticker.abort();
    let tally = std::mem::take(&mut *tallies.lock().await);
    Measurement {
        ok: tally.ok,
        errors: tally.errors,
        latencies: tally.latencies,
        elapsed: settings.duration,
        cpu: cpu.await.unwrap_or_default(),
    }
}

/// CPU the probed processes spend from `from` to `to`.
async fn cpu_between(probe: CpuProbe, from: Instant, to: Instant) -> CpuUse {
    tokio::time::sleep_until(from.into()).await;
    let before = probe.sample();
    tokio::time::sleep_until(to.into()).await;
    before.until(&probe.sample())
}

/// Reports the elapsed fraction ten times a second.
async fn tick(start: Instant, total: Duration, progress: impl Fn(f64)) {
    loop {
        progress((start.elapsed().as_secs_f64() / total.as_secs_f64().max(0.001)).min(1.0));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        time::Duration,
    };

    use super::{LoadSettings, run};
    use crate::cpu::CpuProbe;

    /// A server that answers in 1 ms, except once it stalls for 200 ms.
    fn stalling_call()
    -> impl Fn(usize, u64) -> futures::future::BoxFuture<'static, Result<(), tonic::Code>>
    + Send
    + Sync
    + 'static {
        let stalled = Arc::new(AtomicBool::new(false));
        move |_, n| {
            let stalled = Arc::clone(&stalled);
            Box::pin(async move {
                if n == 100 && !stalled.swap(true, Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                } else {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn open_loop_counts_the_calls_queued_behind_a_stall() {
        let settings = LoadSettings {
            duration: Duration::from_millis(600),
            warmup: Duration::ZERO,
            concurrency: 1,
            rate: Some(500),
            cpu: CpuProbe::default(),
        };
        let measured = run(&settings, stalling_call(), |_| {}).await;
        // At 500/s with one call in flight, the ~100 calls due during the 200 ms stall all
        // wait behind it: far more than 1 % of calls see ≥ 100 ms.
        let p = measured.latencies.percentiles();
        assert!(measured.ok >= 250, "{measured:?}");
        assert!(p.p90_ms >= 20.0, "the stall must show in the tail: {p:?}");
    }

    #[tokio::test]
    async fn closed_loop_hides_the_stall_in_one_sample() {
        let settings = LoadSettings {
            duration: Duration::from_millis(600),
            warmup: Duration::ZERO,
            concurrency: 1,
            rate: None,
            cpu: CpuProbe::default(),
        };
        let measured = run(&settings, stalling_call(), |_| {}).await;
        let p = measured.latencies.percentiles();
        // Only the one stalled call is slow: the very thing open loop exists to expose.
        assert!(p.p90_ms < 20.0, "{p:?}");
        assert!(p.max_ms >= 200.0, "{p:?}");
        assert_eq!(measured.error_count(), 0);
    }
}
