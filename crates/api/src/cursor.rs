//! The pagination cursor of `query` (spec §3.1): `base64(JSON {"timestamp": ISO, "uuid": str})`.
//!
//! The cursor names the last row of a page. The next page holds the rows strictly after it in the sort order of
//! (`timestamp`, `uuid`), so rows that share the cursor's timestamp are neither skipped (PostHog's bug in `latest`
//! order) nor repeated. quarry writes the timestamp with every nanosecond it stores, so the comparison is exact.

use base64::Engine as _;
use serde_json::Value;

use crate::{ApiError, Result};

/// A decoded cursor: the sort key of the last row of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The row's timestamp (nanoseconds).
    pub timestamp: i64,
    /// The row's UUID bytes.
    pub uuid: [u8; 16],
}

impl Cursor {
    /// Encodes the cursor as the opaque `nextCursor` string.
    pub fn encode(&self) -> String {
        let json = serde_json::json!({
            "timestamp": quarry_core::time::format_iso(self.timestamp),
            "uuid": uuid::Uuid::from_bytes(self.uuid).to_string(),
        });
        base64::engine::general_purpose::STANDARD.encode(json.to_string())
    }

    /// Decodes a cursor; `field` names the parameter in errors.
    pub fn decode(text: &str, field: &str) -> Result<Cursor> {
        let bad = |what: &str| {
            ApiError::new(
                field,
                format!("invalid cursor: {what}; pass back a nextCursor unchanged"),
            )
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text.trim()))
            .map_err(|_| bad("not base64"))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad("not JSON"))?;
        let ts = v
            .get("timestamp")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no timestamp"))?;
        let timestamp =
            quarry_core::time::parse_iso(ts).ok_or_else(|| bad("timestamp is not ISO-8601"))?;
        let uuid = v
            .get("uuid")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no uuid"))?;
        let uuid = uuid::Uuid::try_parse(uuid).map_err(|_| bad("uuid is not a UUID"))?;
        Ok(Cursor {
            timestamp,
            uuid: *uuid.as_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_nanoseconds() {
        let c = Cursor {
            timestamp: 1_793_491_200_123_456_789,
            uuid: [7; 16],
        };
        assert_eq!(Cursor::decode(&c.encode(), "after").unwrap(), c);
    }

    #[test]
    fn forged_cursors_are_errors_naming_the_field() {
        for bad in ["", "!!!", "e30=", "eyJ0aW1lc3RhbXAiOjF9"] {
            let e = Cursor::decode(bad, "after").unwrap_err();
            assert_eq!(e.field, "after");
        }
    }
}
