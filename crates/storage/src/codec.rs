//! The binary encoding of a batch of [`LogRecord`]s inside a WAL frame.
//!
//! Integers are little-endian; `varint` is unsigned LEB128; `str` is `varint length, UTF-8 bytes`.
//!
//! ```text
//! batch      := u32 team, varint n, record{n}
//! record     := uuid[16] i64 timestamp i64 observed_timestamp trace_id[16] span_id[8] u32 trace_flags
//!               u8 severity_code i32 severity_number u64 resource_fingerprint u64 bytes_uncompressed
//!               str service_name str body attrs attributes attrs resource_attributes
//!               str instrumentation_scope str event_name
//! attrs      := varint n, (str key, str value){n}
//! ```

use quarry_core::record::AttributesBuilder;
use quarry_core::{Attributes, LogRecord, Severity, TeamId};

/// The smallest encoding of one record: 81 bytes of fixed fields and six one-byte varints (empty strings and
/// attribute lists).
const MIN_RECORD_BYTES: usize = 16 + 8 + 8 + 16 + 8 + 4 + 1 + 4 + 8 + 8 + 6;

/// Appends the encoding of `(team, records)` to `out`.
pub(crate) fn encode_batch(out: &mut Vec<u8>, team: TeamId, records: &[LogRecord]) {
    out.extend_from_slice(&team.0.to_le_bytes());
    put_varint(out, records.len() as u64);
    for r in records {
        out.extend_from_slice(&r.uuid);
        out.extend_from_slice(&r.timestamp.to_le_bytes());
        out.extend_from_slice(&r.observed_timestamp.to_le_bytes());
        out.extend_from_slice(&r.trace_id);
        out.extend_from_slice(&r.span_id);
        out.extend_from_slice(&r.trace_flags.to_le_bytes());
        out.push(r.severity_text.code());
        out.extend_from_slice(&r.severity_number.to_le_bytes());
        out.extend_from_slice(&r.resource_fingerprint.to_le_bytes());
        out.extend_from_slice(&r.bytes_uncompressed.to_le_bytes());
        put_str(out, &r.service_name);
        put_str(out, &r.body);
        put_attrs(out, &r.attributes);
        put_attrs(out, &r.resource_attributes);
        put_str(out, &r.instrumentation_scope);
        put_str(out, &r.event_name);
    }
}

/// Decodes a batch; `Err` carries what is wrong. Never panics on any input.
pub(crate) fn decode_batch(data: &[u8]) -> Result<(TeamId, Vec<LogRecord>), String> {
    let mut r = Cursor { data, pos: 0 };
    let team = TeamId(u32::from_le_bytes(r.array()?));
    let n = r.varint()?;
    // Every record takes at least MIN_RECORD_BYTES, which bounds the allocation by the input.
    if n > (data.len() / MIN_RECORD_BYTES) as u64 {
        return Err(format!(
            "record count {n} exceeds what {} bytes can hold",
            data.len()
        ));
    }
    let mut records = Vec::with_capacity((n as usize).min(1 << 12));
    for _ in 0..n {
        let uuid = r.array()?;
        let timestamp = i64::from_le_bytes(r.array()?);
        let observed_timestamp = i64::from_le_bytes(r.array()?);
        let trace_id = r.array()?;
        let span_id = r.array()?;
        let trace_flags = u32::from_le_bytes(r.array()?);
        let [code] = r.array()?;
        let severity_text =
            Severity::from_code(code).ok_or_else(|| format!("unknown severity code {code}"))?;
        let severity_number = i32::from_le_bytes(r.array()?);
        let resource_fingerprint = u64::from_le_bytes(r.array()?);
        let bytes_uncompressed = u64::from_le_bytes(r.array()?);
        records.push(LogRecord {
            uuid,
            timestamp,
            observed_timestamp,
            trace_id,
            span_id,
            trace_flags,
            severity_text,
            severity_number,
            resource_fingerprint,
            bytes_uncompressed,
            service_name: r.string()?,
            body: r.string()?,
            attributes: r.attrs()?,
            resource_attributes: r.attrs()?,
            instrumentation_scope: r.string()?,
            event_name: r.string()?,
        });
    }
    if r.pos != data.len() {
        return Err(format!("{} trailing bytes", data.len() - r.pos));
    }
    Ok((team, records))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_attrs(out: &mut Vec<u8>, attrs: &Attributes) {
    put_varint(out, attrs.len() as u64);
    for (k, v) in attrs {
        put_str(out, k);
        put_str(out, v);
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or("truncated record")?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let [b] = self.array()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    fn string(&mut self) -> Result<String, String> {
        self.str().map(str::to_owned)
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let n = usize::try_from(self.varint()?).map_err(|_| "string length overflows")?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map_err(|_| "string is not UTF-8".to_owned())
    }

    fn attrs(&mut self) -> Result<Attributes, String> {
        let n = self.varint()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err("attribute count exceeds the remaining bytes".into());
        }
        let mut out = AttributesBuilder::for_stored((n as usize).min(64), 0);
        for _ in 0..n {
            let key = self.str()?;
            let value = self.str()?;
            out.push(key, value);
        }
        out.finish().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(i: u8) -> LogRecord {
        LogRecord {
            uuid: [i; 16],
            timestamp: i64::MIN,
            observed_timestamp: i64::MAX,
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_flags: 0,
            severity_text: Severity::Unknown,
            severity_number: -1,
            service_name: String::new(),
            body: String::new(),
            attributes: Default::default(),
            resource_attributes: Default::default(),
            resource_fingerprint: 0,
            instrumentation_scope: String::new(),
            event_name: String::new(),
            bytes_uncompressed: 0,
        }
    }

    #[test]
    fn minimal_records_round_trip_in_any_number() {
        for n in [0usize, 1, 31, 32, 1000] {
            let records: Vec<_> = (0..n).map(|i| minimal(i as u8)).collect();
            let mut out = Vec::new();
            encode_batch(&mut out, TeamId(3), &records);
            assert_eq!(out.len(), 4 + varint_len(n) + n * MIN_RECORD_BYTES);
            assert_eq!(decode_batch(&out).unwrap(), (TeamId(3), records));
        }
    }

    #[test]
    fn truncated_or_padded_batches_are_errors() {
        let mut out = Vec::new();
        encode_batch(&mut out, TeamId(1), &[minimal(1), minimal(2)]);
        for len in 0..out.len() {
            assert!(decode_batch(&out[..len]).is_err(), "length {len}");
        }
        out.push(0);
        assert!(decode_batch(&out).is_err());
    }

    fn varint_len(mut n: usize) -> usize {
        let mut len = 1;
        while n >= 0x80 {
            n >>= 7;
            len += 1;
        }
        len
    }
}
