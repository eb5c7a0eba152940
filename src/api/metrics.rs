//! Prometheus text exposition, hand-rolled: request counts by method, route and status, and
//! latency histograms by method and route. Routes are the matched templates
//! (`/v1/codes/{code}`), so label cardinality stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) -> count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// (method, route) -> latency histogram.
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    /// Requests refused at the concurrency limit.
    pub shed: AtomicU64,
    /// Requests abandoned at the timeout.
    pub timed_out: AtomicU64,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let seconds = elapsed.as_secs_f64();
        if let Ok(mut latency) = self.latency.lock() {
            let h = latency
                .entry((method.to_string(), route.to_string()))
                .or_default();
            let slot = BUCKETS
                .iter()
                .position(|&b| seconds <= b)
                .unwrap_or(BUCKETS.len());
            h.buckets[slot] += 1;
            h.sum += seconds;
            h.count += 1;
        }
    }

    /// The exposition text; `in_flight` and `capacity` describe the concurrency limiter.
    pub fn render(&self, in_flight: usize, capacity: usize) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP chartcoder_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE chartcoder_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "chartcoder_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        out.push_str("# HELP chartcoder_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE chartcoder_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), h) in latency.iter() {
                let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
                let mut cumulative = 0;
                for (i, bound) in BUCKETS.iter().enumerate() {
                    cumulative += h.buckets[i];
                    let _ = writeln!(
                        out,
                        "chartcoder_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                    );
                }
                cumulative += h.buckets[BUCKETS.len()];
                let _ = writeln!(
                    out,
                    "chartcoder_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
                );
                let _ = writeln!(
                    out,
                    "chartcoder_http_request_duration_seconds_sum{{{labels}}} {:.6}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "chartcoder_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
        }
        let _ = write!(
            out,
            "# HELP chartcoder_requests_in_flight Requests holding a concurrency permit.\n\
             # TYPE chartcoder_requests_in_flight gauge\n\
             chartcoder_requests_in_flight {in_flight}\n\
             # HELP chartcoder_concurrency_limit Requests allowed to hold a permit at once.\n\
             # TYPE chartcoder_concurrency_limit gauge\n\
             chartcoder_concurrency_limit {capacity}\n\
             # HELP chartcoder_requests_shed_total Requests refused with 503 at the concurrency limit.\n\
             # TYPE chartcoder_requests_shed_total counter\n\
             chartcoder_requests_shed_total {}\n\
             # HELP chartcoder_requests_timed_out_total Requests abandoned at the request timeout.\n\
             # TYPE chartcoder_requests_timed_out_total counter\n\
             chartcoder_requests_timed_out_total {}\n",
            self.shed.load(Ordering::Relaxed),
            self.timed_out.load(Ordering::Relaxed),
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("POST", "/v1/suggest", 200, Duration::from_millis(20));
        m.record("POST", "/v1/suggest", 200, Duration::from_millis(200));
        m.record("POST", "/v1/suggest", 422, Duration::from_millis(1));
        let text = m.render(1, 8);
        assert!(text.contains(
            "chartcoder_http_requests_total{method=\"POST\",route=\"/v1/suggest\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "chartcoder_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/suggest\",le=\"0.025\"} 2"
        ));
        assert!(text.contains(
            "chartcoder_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/suggest\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("chartcoder_requests_in_flight 1"));
    }
}
