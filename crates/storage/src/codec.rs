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
//! attrs      := varint n, (str key, str value){n}                                        -- format version 1
//! attrs      := varint n, [varint text_length, text, (varint key_length, varint value_length){n}]
//!                                                           -- format version 2; the bracket only when n > 0
//! ```
//!
//! The format version is the WAL segment's ([`crate::wal`]); this build writes version 2 and reads both. In
//! version 2 `text` is the set's keys and values back to back in key order ([`Attributes::text`]), so a set is
//! one copy and two one-byte varints per pair instead of a length and a copy per key and per value (encoding
//! the sets was 3% of an ingest's instructions). Its lengths must add up to `text_length` and fall on character
//! boundaries; both versions' sets go through [`AttributesBuilder`], so decoded sets are sorted and unique
//! whatever the bytes say.

use quarry_core::record::AttributesBuilder;
use quarry_core::{Attributes, LogRecord, Severity, TeamId};

/// The smallest encoding of one record: 81 bytes of fixed fields and six one-byte varints (empty strings and
/// attribute lists).
const MIN_RECORD_BYTES: usize = 16 + 8 + 8 + 16 + 8 + 4 + 1 + 4 + 8 + 8 + 6;

/// The format version [`encode_batch`] writes.
pub(crate) const VERSION: u16 = 2;

/// Appends the encoding of `(team, records)` to `out`, in format version [`VERSION`].
pub(crate) fn encode_batch(out: &mut Vec<u8>, team: TeamId, records: &[LogRecord]) {
    encode_with(out, team, records, put_attrs);
}

/// How one format version writes an attribute set.
type PutAttrs = fn(&mut Vec<u8>, &Attributes);

/// [`encode_batch`] with the attribute-set encoding of a format version.
fn encode_with(out: &mut Vec<u8>, team: TeamId, records: &[LogRecord], put_attrs: PutAttrs) {
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

/// Decodes a batch written in format `version` (1 or 2); `Err` carries what is wrong. Never panics on any input.
pub(crate) fn decode_batch(data: &[u8], version: u16) -> Result<(TeamId, Vec<LogRecord>), String> {
    if !(1..=VERSION).contains(&version) {
        return Err(format!(
            "format version {version}, this build reads 1 to {VERSION}"
        ));
    }
    let mut r = Cursor {
        data,
        pos: 0,
        version,
    };
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
    if attrs.is_empty() {
        return;
    }
    let text = attrs.text();
    out.reserve(10 + text.len() + 2 * attrs.len());
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
    for (key, value) in attrs.lengths() {
        put_varint(out, key as u64);
        put_varint(out, value as u64);
    }
}

/// Attribute sets in format version 1 (what builds before version 2 wrote), for tests of reading it.
#[cfg(test)]
fn put_attrs_v1(out: &mut Vec<u8>, attrs: &Attributes) {
    put_varint(out, attrs.len() as u64);
    for (k, v) in attrs {
        put_str(out, k);
        put_str(out, v);
    }
}

/// [`encode_batch`] in format version 1, for tests of reading it.
#[cfg(test)]
pub(crate) fn encode_batch_v1(out: &mut Vec<u8>, team: TeamId, records: &[LogRecord]) {
    encode_with(out, team, records, put_attrs_v1);
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// The format version being read.
    version: u16,
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
        if self.version == 1 {
            let mut out = AttributesBuilder::for_stored((n as usize).min(64), 0);
            for _ in 0..n {
                let key = self.str()?;
                let value = self.str()?;
                out.push(key, value);
            }
            return out.finish().map_err(|e| e.to_string());
        }
        if n == 0 {
            return Ok(Attributes::new());
        }
        let text = self.str()?;
        let mut out = AttributesBuilder::for_stored((n as usize).min(64), text.len());
        let mut at = 0usize;
        for _ in 0..n {
            let key_end = self.length_from(at)?;
            let value_end = self.length_from(key_end)?;
            let (Some(key), Some(value)) = (text.get(at..key_end), text.get(key_end..value_end))
            else {
                return Err("attribute lengths pass the text or split a character".into());
            };
            out.push(key, value);
            at = value_end;
        }
        if at != text.len() {
            return Err(format!(
                "attribute lengths cover {at} of {} bytes of text",
                text.len()
            ));
        }
        out.finish().map_err(|e| e.to_string())
    }

    /// Reads a varint length and returns `from` + it.
    fn length_from(&mut self, from: usize) -> Result<usize, String> {
        usize::try_from(self.varint()?)
            .ok()
            .and_then(|n| from.checked_add(n))
            .ok_or_else(|| "attribute length overflows".to_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn minimal(i: u8) -> LogRecord {
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

    /// Records with sets of every shape: empty, empty keys and values, multi-byte characters, long values, many
    /// pairs.
    pub(crate) fn with_attributes() -> Vec<LogRecord> {
        let long = "v".repeat(300);
        let many: Vec<(String, String)> = (0..200)
            .map(|i| (format!("k{i:03}"), format!("{i}")))
            .collect();
        let sets: Vec<Attributes> = vec![
            Attributes::new(),
            [("", "")].into_iter().collect(),
            [("é", "ü"), ("a", ""), ("", "x"), ("🦀", "日本")]
                .into_iter()
                .collect(),
            [("long", long.as_str()), ("service.name", "api")]
                .into_iter()
                .collect(),
            many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        ];
        let mut records = Vec::new();
        for (i, attributes) in sets.iter().enumerate() {
            for resource_attributes in sets.iter().rev().take(3) {
                let mut r = minimal(i as u8);
                r.attributes = attributes.clone();
                r.resource_attributes = resource_attributes.clone();
                r.service_name = "svc".into();
                r.body = "body ✓".into();
                records.push(r);
            }
        }
        records
    }

    #[test]
    fn minimal_records_round_trip_in_any_number() {
        for n in [0usize, 1, 31, 32, 1000] {
            let records: Vec<_> = (0..n).map(|i| minimal(i as u8)).collect();
            let mut out = Vec::new();
            encode_batch(&mut out, TeamId(3), &records);
            assert_eq!(out.len(), 4 + varint_len(n) + n * MIN_RECORD_BYTES);
            assert_eq!(decode_batch(&out, VERSION).unwrap(), (TeamId(3), records));
        }
    }

    #[test]
    fn attribute_sets_round_trip_in_both_versions() {
        let records = with_attributes();
        let mut v2 = Vec::new();
        encode_batch(&mut v2, TeamId(5), &records);
        assert_eq!(decode_batch(&v2, 2).unwrap(), (TeamId(5), records.clone()));
        let mut v1 = Vec::new();
        encode_batch_v1(&mut v1, TeamId(5), &records);
        assert_eq!(decode_batch(&v1, 1).unwrap(), (TeamId(5), records));
        assert_ne!(v1, v2, "the versions encode sets differently");
        for version in [0, 3, u16::MAX] {
            assert!(decode_batch(&v2, version).is_err(), "version {version}");
        }
    }

    #[test]
    fn truncated_or_padded_batches_are_errors() {
        for version in [1, 2] {
            let put = if version == 1 {
                put_attrs_v1
            } else {
                put_attrs
            };
            let mut records = vec![minimal(1), minimal(2)];
            records.extend(with_attributes().into_iter().take(4));
            let mut out = Vec::new();
            encode_with(&mut out, TeamId(1), &records, put);
            for len in 0..out.len() {
                assert!(decode_batch(&out[..len], version).is_err(), "length {len}");
            }
            out.push(0);
            assert!(decode_batch(&out, version).is_err());
        }
    }

    #[test]
    fn version_2_sets_whose_lengths_do_not_match_their_text_are_errors() {
        // One record whose log attributes are given as raw bytes after the fixed fields and two empty strings.
        let batch = |attrs: &[u8]| {
            let mut out = Vec::new();
            encode_batch(&mut out, TeamId(1), &[minimal(1)]);
            // minimal(1) ends with: service_name, body (empty), attributes (empty), resource attributes (empty),
            // scope, event name (empty): six zero bytes. Replace the attributes' zero with `attrs`.
            let at = out.len() - 4;
            assert_eq!(out[at], 0);
            out.splice(at..at + 1, attrs.iter().copied());
            out
        };
        assert!(decode_batch(&batch(&[0]), 2).is_ok());
        let good = [1, 2, b'k', b'v', 1, 1];
        assert_eq!(
            decode_batch(&batch(&good), 2).unwrap().1[0].attributes,
            [("k", "v")].into_iter().collect()
        );
        let bad: &[&[u8]] = &[
            &[1, 2, b'k', b'v', 1, 2],             // past the text
            &[1, 2, b'k', b'v', 1, 0],             // short of the text
            &[1, 2, 0xC3, 0xA9, 1, 1],             // splits "é"
            &[1, 2, b'k', b'v', 0xFF, 0xFF, 0xFF], // truncated length
            &[2, 2, b'k', b'v', 1, 1],             // a second pair missing
            &[1, 2, 0xFF, 0xFE, 1, 1],             // not UTF-8
            &[
                1, 2, b'k', b'v', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0,
            ],
            // A value length of u64::MAX after a one-byte key: the end offset overflows.
            &[
                1, 2, b'k', b'v', 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
            ],
        ];
        for attrs in bad {
            assert!(decode_batch(&batch(attrs), 2).is_err(), "{attrs:?}");
        }
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
