//! The services overview kernel (spec §3.5): per service, rows, errors, error rate, severity breakdown and share
//! of volume, plus the summary of the top five.
//!
//! * `error_count` = error + fatal; `error_rate` = error_count / log_count rounded to 4 decimals (0 without rows).
//! * `severity_breakdown`: `debug` = trace + debug, `info`, `warn`, `error` = error_count (unknown counts only in
//!   `log_count`).
//! * `volume_share_pct` = 100 × log_count / Σ log_count of the returned services, rounded to 2 decimals.
//! * Services ordered by log_count descending, then name; at most `cap`. `total_services` counts all of them.
//! * An empty service name is reported as `(no service)`.
//! * Rounding is Python's `round(x, n)`: the exact binary value rounded half to even, as PostHog computes it.

use std::collections::BTreeMap;

use quarry_core::Severity;

/// The label of rows without a service name.
pub const NO_SERVICE: &str = "(no service)";

/// `severity_breakdown` of one service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeverityBreakdown {
    /// trace + debug.
    pub debug: u64,
    /// info.
    pub info: u64,
    /// warn.
    pub warn: u64,
    /// error + fatal.
    pub error: u64,
}

/// One service of the overview.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRow {
    /// The name, or [`NO_SERVICE`].
    pub service_name: String,
    /// Rows.
    pub log_count: u64,
    /// error + fatal rows.
    pub error_count: u64,
    /// error_count / log_count, 4 decimals.
    pub error_rate: f64,
    /// Rows per severity group.
    pub severity_breakdown: SeverityBreakdown,
    /// Share of the returned services' rows, percent, 2 decimals.
    pub volume_share_pct: f64,
}

/// `summary`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServicesSummary {
    /// min(5, services).
    pub top_services_count: usize,
    /// Σ of the first `top_services_count` (rounded) shares, rounded to 2 decimals.
    pub top_services_volume_share_pct: f64,
}

/// The overview.
#[derive(Clone, Debug, PartialEq)]
pub struct ServicesOverview {
    /// Services, largest first, at most the cap.
    pub services: Vec<ServiceRow>,
    /// The summary.
    pub summary: ServicesSummary,
    /// All services with rows in the window (before the cap).
    pub total_services: usize,
}

/// Python's `round(x, digits)` for the magnitudes used here: decimal rounding of the exact binary value, ties
/// to even (Rust's float formatting rounds the same way).
pub fn round_to(x: f64, digits: usize) -> f64 {
    format!("{x:.digits$}").parse().unwrap_or(x)
}

/// Builds the overview from `(service, severity, rows)` partial counts (any order, repeats allowed).
pub fn services<'a>(
    parts: impl IntoIterator<Item = (&'a str, Severity, u64)>,
    cap: usize,
) -> ServicesOverview {
    let mut per: BTreeMap<&'a str, (u64, SeverityBreakdown)> = BTreeMap::new();
    for (s, sev, n) in parts {
        let e = per.entry(s).or_default();
        e.0 += n;
        match sev {
            Severity::Trace | Severity::Debug => e.1.debug += n,
            Severity::Info => e.1.info += n,
            Severity::Warn => e.1.warn += n,
            Severity::Error | Severity::Fatal => e.1.error += n,
            Severity::Unknown => {}
        }
    }
    let mut rows: Vec<(String, u64, SeverityBreakdown)> = Vec::with_capacity(per.len());
    let mut merged: BTreeMap<String, (u64, SeverityBreakdown)> = BTreeMap::new();
    for (s, (n, b)) in per {
        let name = if s.is_empty() {
            NO_SERVICE.to_owned()
        } else {
            s.to_owned()
        };
        let e = merged.entry(name).or_default();
        e.0 += n;
        e.1.debug += b.debug;
        e.1.info += b.info;
        e.1.warn += b.warn;
        e.1.error += b.error;
    }
    rows.extend(
        merged
            .into_iter()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(s, (n, b))| (s, n, b)),
    );
    let total_services = rows.len();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.truncate(cap);
    let sum: u64 = rows.iter().map(|r| r.1).sum();
    let services: Vec<ServiceRow> = rows
        .into_iter()
        .map(|(service_name, log_count, b)| ServiceRow {
            service_name,
            log_count,
            error_count: b.error,
            error_rate: if log_count == 0 {
                0.0
            } else {
                round_to(b.error as f64 / log_count as f64, 4)
            },
            severity_breakdown: b,
            volume_share_pct: if sum == 0 {
                0.0
            } else {
                round_to(100.0 * log_count as f64 / sum as f64, 2)
            },
        })
        .collect();
    let top = services.len().min(5);
    let share: f64 = services[..top].iter().map(|s| s.volume_share_pct).sum();
    ServicesOverview {
        summary: ServicesSummary {
            top_services_count: top,
            top_services_volume_share_pct: if top == 0 { 0.0 } else { round_to(share, 2) },
        },
        services,
        total_services,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overview_counts_rates_shares_and_summary() {
        let parts = vec![
            ("api", Severity::Info, 6),
            ("api", Severity::Error, 2),
            ("api", Severity::Fatal, 1),
            ("api", Severity::Trace, 1),
            ("", Severity::Warn, 3),
            ("web", Severity::Unknown, 3),
        ];
        let o = services(parts, 10);
        assert_eq!(o.total_services, 3);
        let api = &o.services[0];
        assert_eq!(
            (api.service_name.as_str(), api.log_count, api.error_count),
            ("api", 10, 3)
        );
        assert_eq!(api.error_rate, 0.3);
        assert_eq!(
            api.severity_breakdown,
            SeverityBreakdown {
                debug: 1,
                info: 6,
                warn: 0,
                error: 3
            }
        );
        assert_eq!(api.volume_share_pct, 62.5);
        // Ties on log_count go by name: "(no service)" < "web".
        assert_eq!(o.services[1].service_name, NO_SERVICE);
        assert_eq!(o.services[1].volume_share_pct, 18.75);
        assert_eq!(o.services[2].error_rate, 0.0);
        assert_eq!(o.summary.top_services_count, 3);
        assert_eq!(o.summary.top_services_volume_share_pct, 100.0);
        let capped = services(vec![("a", Severity::Info, 1), ("b", Severity::Info, 3)], 1);
        assert_eq!(capped.total_services, 2);
        assert_eq!(capped.services.len(), 1);
        assert_eq!(
            capped.services[0].volume_share_pct, 100.0,
            "shares are of the returned services"
        );
        let empty = services(Vec::new(), 10);
        assert!(empty.services.is_empty());
        assert_eq!(empty.summary.top_services_volume_share_pct, 0.0);
    }

    #[test]
    fn rounding_is_pythons() {
        assert_eq!(round_to(1.0 / 3.0, 4), 0.3333);
        assert_eq!(round_to(2.0 / 3.0, 2), 0.67);
        assert_eq!(round_to(0.125, 2), 0.12, "exact tie: half to even");
        assert_eq!(round_to(0.375, 2), 0.38);
        assert_eq!(round_to(100.0, 2), 100.0);
    }
}
