//! Latency histograms with HDR precision, and the figures a report shows.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies in microseconds, 1 µs to 60 s at 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

/// The figures of one histogram.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile, milliseconds.
    pub p90_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// 99.9th percentile, milliseconds.
    pub p999_ms: f64,
    /// Largest, milliseconds.
    pub max_ms: f64,
}

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, 60_000_000, 3)
            .expect("1 µs to 60 s at 3 significant figures is a valid histogram");
        Self { histogram }
    }

    /// Records one latency (clamped to the histogram's range).
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, 60_000_000);
        self.histogram.saturating_record(micros);
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The report figures.
    pub fn percentiles(&self) -> Percentiles {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Percentiles {
            p50_ms: ms(self.histogram.value_at_quantile(0.50)),
            p90_ms: ms(self.histogram.value_at_quantile(0.90)),
            p99_ms: ms(self.histogram.value_at_quantile(0.99)),
            p999_ms: ms(self.histogram.value_at_quantile(0.999)),
            max_ms: ms(self.histogram.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Latencies;

    #[test]
    fn a_known_distribution_gives_its_percentiles() {
        let mut latencies = Latencies::new();
        // 1..=1000 ms, once each: p50 ≈ 500 ms, p99 ≈ 990 ms, max 1000 ms.
        for ms in 1..=1000 {
            latencies.record(Duration::from_millis(ms));
        }
        let p = latencies.percentiles();
        assert_eq!(latencies.count(), 1000);
        assert!((p.p50_ms - 500.0).abs() <= 1.0, "{p:?}");
        assert!((p.p90_ms - 900.0).abs() <= 1.0, "{p:?}");
        assert!((p.p99_ms - 990.0).abs() <= 1.0, "{p:?}");
        assert!((p.max_ms - 1000.0).abs() <= 1.0, "{p:?}");
    }

    #[test]
    fn merged_histograms_count_both() {
        let (mut a, mut b) = (Latencies::new(), Latencies::new());
        a.record(Duration::from_micros(100));
        b.record(Duration::from_millis(3));
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert!((a.percentiles().max_ms - 3.0).abs() < 0.01);
    }
}
