//! Severity normalisation, exactly as spec §4 ("Severity normalisation").
//!
//! PostHog normalises once, at capture, and every query afterwards compares the stored text exactly. quarry does
//! the same in [`normalize_severity`], a pure function of the record's `severity_text`, `severity_number` and
//! `body`, so the rule can be tested as a table and replayed on any input.

use std::fmt;
use std::str::FromStr;

/// The stored severity of a log record: one of the six canonical OpenTelemetry levels, or `unknown` for a
/// `severity_number` outside 1..=24 (spec §4 step 4).
///
/// The discriminants order severities from least to most severe; `Unknown` sorts last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Severity {
    /// `trace`, canonical number 1.
    Trace = 0,
    /// `debug`, canonical number 5.
    Debug = 1,
    /// `info`, canonical number 9.
    Info = 2,
    /// `warn`, canonical number 13.
    Warn = 3,
    /// `error`, canonical number 17.
    Error = 4,
    /// `fatal`, canonical number 21.
    Fatal = 5,
    /// A `severity_number` that is positive but outside 1..=24.
    Unknown = 6,
}

impl Severity {
    /// Every severity, in discriminant order.
    pub const ALL: [Severity; 7] = [
        Severity::Trace,
        Severity::Debug,
        Severity::Info,
        Severity::Warn,
        Severity::Error,
        Severity::Fatal,
        Severity::Unknown,
    ];

    /// The stored text (`trace`, `debug`, `info`, `warn`, `error`, `fatal`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Trace => "trace",
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
            Severity::Unknown => "unknown",
        }
    }

    /// The canonical OpenTelemetry number of the level (trace 1, debug 5, info 9, warn 13, error 17, fatal 21).
    /// `Unknown` has none and returns 0.
    pub fn canonical_number(self) -> i32 {
        match self {
            Severity::Trace => 1,
            Severity::Debug => 5,
            Severity::Info => 9,
            Severity::Warn => 13,
            Severity::Error => 17,
            Severity::Fatal => 21,
            Severity::Unknown => 0,
        }
    }

    /// The level of a positive OTLP `severity_number`: 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error,
    /// 21–24 fatal, anything else `unknown`.
    pub fn from_number(number: i32) -> Severity {
        match number {
            1..=4 => Severity::Trace,
            5..=8 => Severity::Debug,
            9..=12 => Severity::Info,
            13..=16 => Severity::Warn,
            17..=20 => Severity::Error,
            21..=24 => Severity::Fatal,
            _ => Severity::Unknown,
        }
    }

    /// The level a free-form `severity_text` names, case-insensitively, by the alias table of spec §4 step 1.
    /// `None` when the text is no known alias (the caller decides: at ingest that means `info`).
    pub fn from_alias(text: &str) -> Option<Severity> {
        // Longest alias is "informational" (13 bytes); anything longer cannot match.
        if text.len() > 13 {
            return None;
        }
        let mut buf = [0u8; 13];
        let lower = &mut buf[..text.len()];
        lower.copy_from_slice(text.as_bytes());
        lower.make_ascii_lowercase();
        Some(match &*lower {
            b"critical" | b"fatal" | b"crit" | b"alert" | b"emerg" => Severity::Fatal,
            b"error" | b"err" | b"eror" => Severity::Error,
            b"warn" | b"warning" => Severity::Warn,
            b"info" | b"information" | b"informational" => Severity::Info,
            b"debug" | b"dbug" => Severity::Debug,
            b"trace" => Severity::Trace,
            _ => return None,
        })
    }

    /// The level whose stored text is exactly `text` after ASCII lowercasing, for the six canonical names only
    /// (the JSON-body rule of spec §4 step 3 accepts no aliases).
    pub fn from_canonical(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "trace" => Some(Severity::Trace),
            "debug" => Some(Severity::Debug),
            "info" => Some(Severity::Info),
            "warn" => Some(Severity::Warn),
            "error" => Some(Severity::Error),
            "fatal" => Some(Severity::Fatal),
            _ => None,
        }
    }

    /// Decodes the stable one-byte code used by the WAL and the index sidecar (the discriminant).
    pub fn from_code(code: u8) -> Option<Severity> {
        Severity::ALL.get(code as usize).copied()
    }

    /// The stable one-byte code (the discriminant).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// True for the levels PostHog counts as errors everywhere (`error` and `fatal`, spec §4).
    pub fn is_error(self) -> bool {
        matches!(self, Severity::Error | Severity::Fatal)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Severity::from_str`]: the text is not one of the seven stored names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}; expected one of trace, debug, info, warn, error, fatal, unknown")]
pub struct ParseSeverityError(pub String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Parses a *stored* severity name exactly (lowercase), not an alias.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str() == s)
            .ok_or_else(|| ParseSeverityError(s.to_owned()))
    }
}

/// The keys of a JSON-object body that may carry a level, in the order PostHog checks them (spec §4 step 3).
/// They are literal top-level keys: `log.level` is a key containing a dot, not a path.
#[derive(serde::Deserialize)]
struct BodyLevelKeys {
    level: Option<serde_json::Value>,
    severity: Option<serde_json::Value>,
    #[serde(rename = "log.level")]
    log_level: Option<serde_json::Value>,
    #[serde(rename = "config.log_level")]
    config_log_level: Option<serde_json::Value>,
}

/// The level named by a JSON-object body, if the body is one and carries a canonical level (spec §4 step 3).
fn body_level(body: &str) -> Option<Severity> {
    // Cheap pre-check: only bodies that look like a JSON object are parsed at all.
    if !body.trim_start().starts_with('{') {
        return None;
    }
    let keys: BodyLevelKeys = serde_json::from_str(body).ok()?;
    [
        keys.level,
        keys.severity,
        keys.log_level,
        keys.config_log_level,
    ]
    .into_iter()
    .flatten()
    .find_map(|value| match value {
        serde_json::Value::String(s) => Severity::from_canonical(&s),
        _ => None,
    })
}

/// Normalises a record's severity exactly as PostHog's capture does (spec §4), returning the stored
/// `(severity_text, severity_number)`.
///
/// 1. The text goes through the alias table ([`Severity::from_alias`]); anything unknown, empty included, is `info`.
/// 2. The number starts as the record's `severity_number`.
/// 3. A JSON-object body whose `level`, `severity`, `log.level` or `config.log_level` key (first present and
///    canonical wins) holds one of the six canonical names overrides the text, and the number becomes that level's
///    canonical number.
/// 4. If the record's `severity_number` is positive, the text becomes the bucket of that number
///    ([`Severity::from_number`], `unknown` past 24) and the number stays as set so far (so a body level can give the
///    number while the OTLP number gives the text: the **[QUIRK]** the spec notes, kept for compatibility).
///    Otherwise the number becomes the canonical number of the text.
pub fn normalize_severity(
    severity_text: &str,
    severity_number: i32,
    body: &str,
) -> (Severity, i32) {
    let mut text = Severity::from_alias(severity_text).unwrap_or(Severity::Info);
    let mut number = severity_number;
    if let Some(level) = body_level(body) {
        text = level;
        number = level.canonical_number();
    }
    if severity_number > 0 {
        text = Severity::from_number(severity_number);
    } else {
        number = text.canonical_number();
    }
    (text, number)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per rule of spec §4: (text, number, body) → (stored text, stored number).
    #[test]
    fn normalisation_table() {
        let cases: &[(&str, i32, &str, &str, i32)] = &[
            // Step 1 aliases, case-insensitive, number 0 → canonical number of the text.
            ("critical", 0, "", "fatal", 21),
            ("FATAL", 0, "", "fatal", 21),
            ("crit", 0, "", "fatal", 21),
            ("Alert", 0, "", "fatal", 21),
            ("emerg", 0, "", "fatal", 21),
            ("error", 0, "", "error", 17),
            ("ERR", 0, "", "error", 17),
            ("eror", 0, "", "error", 17),
            ("warn", 0, "", "warn", 13),
            ("Warning", 0, "", "warn", 13),
            ("info", 0, "", "info", 9),
            ("information", 0, "", "info", 9),
            ("INFORMATIONAL", 0, "", "info", 9),
            ("debug", 0, "", "debug", 5),
            ("dbug", 0, "", "debug", 5),
            ("trace", 0, "", "trace", 1),
            ("TRACE", 0, "", "trace", 1),
            // Anything else, including empty and near-misses, is info.
            ("", 0, "", "info", 9),
            ("verbose", 0, "", "info", 9),
            ("warnings", 0, "", "info", 9),
            ("informationalx", 0, "", "info", 9),
            (" error", 0, "", "info", 9),
            // Negative numbers are not "> 0": the text rules.
            ("error", -3, "", "error", 17),
            // Step 4 buckets: a positive number gives the text, and is kept as is.
            ("", 1, "", "trace", 1),
            ("", 4, "", "trace", 4),
            ("", 5, "", "debug", 5),
            ("", 8, "", "debug", 8),
            ("", 9, "", "info", 9),
            ("info", 10, "", "info", 10),
            ("", 12, "", "info", 12),
            ("", 13, "", "warn", 13),
            ("", 16, "", "warn", 16),
            ("", 17, "", "error", 17),
            ("", 20, "", "error", 20),
            ("", 21, "", "fatal", 21),
            ("", 24, "", "fatal", 24),
            ("error", 25, "", "unknown", 25),
            ("", 1000, "", "unknown", 1000),
            // The number beats the text.
            ("error", 9, "", "info", 9),
            // Step 3: JSON-body keys, in order level, severity, log.level, config.log_level.
            ("", 0, r#"{"level":"error"}"#, "error", 17),
            ("info", 0, r#"{"level":"WARN","msg":"x"}"#, "warn", 13),
            ("", 0, r#"{"severity":"debug"}"#, "debug", 5),
            ("", 0, r#"{"log.level":"fatal"}"#, "fatal", 21),
            ("", 0, r#"{"config.log_level":"trace"}"#, "trace", 1),
            (
                "",
                0,
                r#"{"severity":"debug","level":"error"}"#,
                "error",
                17,
            ),
            // A non-canonical first key falls through to the next canonical one.
            (
                "",
                0,
                r#"{"level":"warning","severity":"error"}"#,
                "error",
                17,
            ),
            ("", 0, r#"{"level":5,"severity":"fatal"}"#, "fatal", 21),
            // Aliases are not accepted in the body; the text rule stands.
            ("error", 0, r#"{"level":"warning"}"#, "error", 17),
            ("", 0, r#"{"level":"err"}"#, "info", 9),
            // Not an object, nested keys, invalid JSON: no body rule.
            ("warn", 0, r#"["level","error"]"#, "warn", 13),
            ("warn", 0, r#"{"log":{"level":"error"}}"#, "warn", 13),
            ("warn", 0, r#"{"level":"error""#, "warn", 13),
            ("warn", 0, r#"level=error"#, "warn", 13),
            // QUIRK: with both, the text comes from the number and the number from the body.
            ("", 17, r#"{"level":"debug"}"#, "error", 5),
            ("", 30, r#"{"level":"debug"}"#, "unknown", 5),
        ];
        for &(text, number, body, want_text, want_number) in cases {
            let (sev, num) = normalize_severity(text, number, body);
            assert_eq!(
                (sev.as_str(), num),
                (want_text, want_number),
                "normalize_severity({text:?}, {number}, {body:?})"
            );
        }
    }

    #[test]
    fn codes_and_names_round_trip() {
        for sev in Severity::ALL {
            assert_eq!(Severity::from_code(sev.code()), Some(sev));
            assert_eq!(sev.as_str().parse::<Severity>(), Ok(sev));
        }
        assert_eq!(Severity::from_code(7), None);
        assert!("WARN".parse::<Severity>().is_err());
        assert!(
            Severity::Error.is_error() && Severity::Fatal.is_error() && !Severity::Warn.is_error()
        );
    }
}
