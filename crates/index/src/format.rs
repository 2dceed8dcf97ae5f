//! The `.qidx` sidecar format, versions 1 and 2.
//!
//! All integers are little-endian; `varint` is unsigned LEB128 (at most 10 bytes), `zigzag` is a varint of the
//! zigzag encoding of an i64, `str` is `varint length, UTF-8 bytes`.
//!
//! ```text
//! sidecar    := body footer
//! body       := section(META) section(SERVICES) section(SEVERITIES) section(MINUTES) section(ATTRS)
//! section(X) := u32 byte_length, X                         -- MINUTES and ATTRS are zstd frames
//! META       := varint rows, varint n, varint{n} row_group_rows, zigzag min_timestamp, zigzag max_timestamp
//! SERVICES   := varint n, (str service_name, varint len, roaring[len]){n}     -- sorted by name
//! SEVERITIES := varint n, (u8 severity_code, varint len, roaring[len]){n}     -- sorted by code
//! MINUTES    := zstd(varint n, zigzag first_minute,
//!                    (varint minute_delta, varint service, u8 severity_code, varint count, varint bytes){n})
//! ATTRS      := zstd(varint n_strings, str{n_strings},                        -- sorted, unique
//!                    varint n_high, (u8 kind, varint key){n_high},
//!                    varint n, zigzag first_bucket,
//!                    (varint bucket_delta, u8 kind, varint key, varint value_plus_one, varint service,
//!                     u8 severity_code, [u64 resource_fingerprint], varint count){n})
//! footer     := u64 body_length, u16 version, u16 flags, u32 crc32, "QIDX"
//! ```
//!
//! * `roaring` is the portable serialisation of Roaring bitmaps (the format every Roaring implementation reads),
//!   holding row ids of the Parquet file.
//! * `severity_code` is [`quarry_core::Severity::code`] (0 trace … 5 fatal, 6 unknown); `kind` is 0 log,
//!   1 resource; `value_plus_one` is 0 for a high-cardinality key whose values are not counted.
//! * Deltas are from the previous entry (from `first_*` for the first); entries are sorted as [`FileIndex`] says.
//! * `[u64 resource_fingerprint]` is present in every entry in version 1 and only in resource entries (kind 1) in
//!   version 2; a log entry's fingerprint is always 0 (see [`AttrCount::resource_fingerprint`]). Log entries are
//!   most of a sidecar: version 2 halves the bytes the section compresses, and the time that takes at ingest.
//! * `crc32` (IEEE) covers the body and the footer's first 12 bytes. `version` is 1 or 2; this build writes 2
//!   and reads both. `flags` bit 0
//!   ([`FLAG_TIME_ORDERED_RUNS`]) says [`FileIndex::time_ordered_runs`], bit 1 ([`FLAG_TIME_ORDERED`]) says
//!   [`FileIndex::time_ordered`], bit 2 ([`FLAG_ALL_LOG_ATTRIBUTES_COUNTED`]) says
//!   [`FileIndex::all_log_attributes_counted`], bit 3 ([`FLAG_SEVERITY_GROUPED`]) says
//!   [`FileIndex::severity_grouped`]; other bits are 0 (a reader rejects them). Sidecars written before
//!   a flag existed have it clear, so requests read rows that a set flag would have let them locate or skip.
//!
//! A reader checks, in order: length, magic, version, CRC, then every section parses exactly to its length, then
//! [`FileIndex::validate`]. Any failure is [`Error::Corrupt`](crate::Error::Corrupt).

use quarry_core::Severity;
use roaring::RoaringBitmap;

use crate::{AttrCount, AttrKind, Error, FileIndex, MinuteCount, Result};

/// The magic at the end of every sidecar.
pub const MAGIC: &[u8; 4] = b"QIDX";
/// The format version this build writes (it reads this one and every earlier one, from 1).
pub const VERSION: u16 = 2;
/// Footer flag: [`FileIndex::time_ordered_runs`].
pub const FLAG_TIME_ORDERED_RUNS: u16 = 1;
/// Footer flag: [`FileIndex::time_ordered`].
pub const FLAG_TIME_ORDERED: u16 = 2;
/// Footer flag: [`FileIndex::all_log_attributes_counted`].
pub const FLAG_ALL_LOG_ATTRIBUTES_COUNTED: u16 = 4;
/// Footer flag: [`FileIndex::severity_grouped`].
pub const FLAG_SEVERITY_GROUPED: u16 = 8;
/// Every flag this build knows.
const KNOWN_FLAGS: u16 = FLAG_TIME_ORDERED_RUNS
    | FLAG_TIME_ORDERED
    | FLAG_ALL_LOG_ATTRIBUTES_COUNTED
    | FLAG_SEVERITY_GROUPED;
const FOOTER_LEN: usize = 8 + 2 + 2 + 4 + 4;
const ZSTD_LEVEL: i32 = 3;
/// Entry counts come from the input; preallocate at most this many so a forged count cannot exhaust memory.
const PREALLOCATE: usize = 1 << 12;

impl FileIndex {
    /// Serialises the index (see the module docs for the grammar), in format [`VERSION`].
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_version(VERSION)
    }

    /// Serialises the index in format `version` (1 or 2).
    pub(crate) fn to_bytes_version(&self, version: u16) -> Vec<u8> {
        let mut body = Vec::new();

        let mut meta = Vec::new();
        put_varint(&mut meta, self.rows);
        put_varint(&mut meta, self.row_groups.len() as u64);
        for &n in &self.row_groups {
            put_varint(&mut meta, u64::from(n));
        }
        put_zigzag(&mut meta, self.min_timestamp);
        put_zigzag(&mut meta, self.max_timestamp);
        put_section(&mut body, &meta);

        let mut services = Vec::new();
        put_varint(&mut services, self.services.len() as u64);
        for (name, bitmap) in &self.services {
            put_str(&mut services, name);
            put_bitmap(&mut services, bitmap);
        }
        put_section(&mut body, &services);

        let mut severities = Vec::new();
        put_varint(&mut severities, self.severities.len() as u64);
        for (sev, bitmap) in &self.severities {
            severities.push(sev.code());
            put_bitmap(&mut severities, bitmap);
        }
        put_section(&mut body, &severities);

        let mut minutes = Vec::new();
        put_varint(&mut minutes, self.minutes.len() as u64);
        let first = self.minutes.first().map_or(0, |m| m.minute);
        put_zigzag(&mut minutes, first);
        let mut prev = first;
        for m in &self.minutes {
            put_varint(&mut minutes, (m.minute - prev) as u64);
            prev = m.minute;
            put_varint(&mut minutes, u64::from(m.service));
            minutes.push(m.severity.code());
            put_varint(&mut minutes, m.count);
            put_varint(&mut minutes, m.bytes);
        }
        put_section(&mut body, &compress(&minutes));

        let mut attrs = Vec::new();
        put_varint(&mut attrs, self.strings.len() as u64);
        for s in &self.strings {
            put_str(&mut attrs, s);
        }
        put_varint(&mut attrs, self.high_cardinality_keys.len() as u64);
        for &(kind, key) in &self.high_cardinality_keys {
            attrs.push(kind as u8);
            put_varint(&mut attrs, u64::from(key));
        }
        put_varint(&mut attrs, self.attrs.len() as u64);
        let first = self.attrs.first().map_or(0, |a| a.bucket);
        put_zigzag(&mut attrs, first);
        let mut prev = first;
        for a in &self.attrs {
            put_varint(&mut attrs, (a.bucket - prev) as u64);
            prev = a.bucket;
            attrs.push(a.kind as u8);
            put_varint(&mut attrs, u64::from(a.key));
            put_varint(&mut attrs, a.value.map_or(0, |v| u64::from(v) + 1));
            put_varint(&mut attrs, u64::from(a.service));
            attrs.push(a.severity.code());
            if has_fingerprint(version, a.kind) {
                attrs.extend_from_slice(&a.resource_fingerprint.to_le_bytes());
            }
            put_varint(&mut attrs, a.count);
        }
        put_section(&mut body, &compress(&attrs));

        let body_len = body.len() as u64;
        body.extend_from_slice(&body_len.to_le_bytes());
        body.extend_from_slice(&version.to_le_bytes());
        let mut flags = 0;
        if self.time_ordered_runs {
            flags |= FLAG_TIME_ORDERED_RUNS;
        }
        if self.time_ordered {
            flags |= FLAG_TIME_ORDERED;
        }
        if self.all_log_attributes_counted {
            flags |= FLAG_ALL_LOG_ATTRIBUTES_COUNTED;
        }
        if self.severity_grouped {
            flags |= FLAG_SEVERITY_GROUPED;
        }
        body.extend_from_slice(&flags.to_le_bytes());
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body.extend_from_slice(MAGIC);
        body
    }

    /// Parses and validates a sidecar. Never panics on any input.
    pub fn from_bytes(bytes: &[u8]) -> Result<FileIndex> {
        FileIndex::from_bytes_with(bytes, true)
    }

    /// Like [`FileIndex::from_bytes`] but leaves the ATTRS section compressed and unread: `strings`,
    /// `high_cardinality_keys` and `attrs` come back empty. The whole sidecar is still checksummed. Readers that
    /// need only postings and minute counts (most queries) skip the largest section this way.
    pub fn from_bytes_without_attrs(bytes: &[u8]) -> Result<FileIndex> {
        FileIndex::from_bytes_with(bytes, false)
    }

    fn from_bytes_with(bytes: &[u8], with_attrs: bool) -> Result<FileIndex> {
        if bytes.len() < FOOTER_LEN {
            return Err(Error::corrupt(format!(
                "{} bytes is too short for a sidecar (truncated?)",
                bytes.len()
            )));
        }
        let (covered, footer) = bytes.split_at(bytes.len() - 8);
        if &footer[4..] != MAGIC {
            return Err(Error::corrupt(
                "bad magic: not a quarry index sidecar, or truncated",
            ));
        }
        let tail = &bytes[bytes.len() - FOOTER_LEN..];
        let body_len = u64::from_le_bytes(tail[0..8].try_into().expect("8 bytes"));
        let version = u16::from_le_bytes(tail[8..10].try_into().expect("2 bytes"));
        let flags = u16::from_le_bytes(tail[10..12].try_into().expect("2 bytes"));
        let crc = u32::from_le_bytes(footer[0..4].try_into().expect("4 bytes"));
        if !(1..=VERSION).contains(&version) {
            return Err(Error::corrupt(format!(
                "format version {version}, this build reads versions 1 to {VERSION}"
            )));
        }
        if flags & !KNOWN_FLAGS != 0 {
            return Err(Error::corrupt(format!("unknown flags {flags:#x}")));
        }
        if body_len != (bytes.len() - FOOTER_LEN) as u64 {
            return Err(Error::corrupt(format!(
                "body length {body_len} does not match file length {} (truncated?)",
                bytes.len()
            )));
        }
        let actual = crc32fast::hash(covered);
        if actual != crc {
            return Err(Error::corrupt(format!(
                "checksum mismatch: stored {crc:#010x}, computed {actual:#010x}"
            )));
        }
        let body = &bytes[..body_len as usize];
        let mut index = parse_body(body, with_attrs, version)?;
        index.time_ordered_runs = flags & FLAG_TIME_ORDERED_RUNS != 0;
        index.time_ordered = flags & FLAG_TIME_ORDERED != 0;
        index.all_log_attributes_counted = flags & FLAG_ALL_LOG_ATTRIBUTES_COUNTED != 0;
        index.severity_grouped = flags & FLAG_SEVERITY_GROUPED != 0;
        index.validate()?;
        Ok(index)
    }
}

fn parse_body(body: &[u8], with_attrs: bool, version: u16) -> Result<FileIndex> {
    let mut r = Reader::new(body, "body");
    let meta = r.section("META")?;
    let services = r.section("SERVICES")?;
    let severities = r.section("SEVERITIES")?;
    let minutes = decompress(r.section("MINUTES")?, "MINUTES")?;
    let attrs_section = r.section("ATTRS")?;
    r.finish()?;

    let mut m = Reader::new(meta, "META");
    let rows = m.varint()?;
    let n = m.count()?;
    let mut row_groups = Vec::with_capacity(n.min(PREALLOCATE));
    for _ in 0..n {
        row_groups.push(m.u32_varint()?);
    }
    let min_timestamp = m.zigzag()?;
    let max_timestamp = m.zigzag()?;
    m.finish()?;

    let mut s = Reader::new(services, "SERVICES");
    let n = s.count()?;
    let mut service_list = Vec::with_capacity(n.min(PREALLOCATE));
    for _ in 0..n {
        let name = s.string()?;
        service_list.push((name, s.bitmap()?));
    }
    s.finish()?;

    let mut s = Reader::new(severities, "SEVERITIES");
    let n = s.count()?;
    let mut severity_list = Vec::with_capacity(n.min(PREALLOCATE));
    for _ in 0..n {
        let sev = s.severity()?;
        severity_list.push((sev, s.bitmap()?));
    }
    s.finish()?;

    let mut s = Reader::new(&minutes, "MINUTES");
    let n = s.count()?;
    let mut minute = s.zigzag()?;
    let mut minute_list = Vec::with_capacity(n.min(PREALLOCATE));
    for _ in 0..n {
        minute = minute
            .checked_add_unsigned(s.varint()?)
            .ok_or_else(|| Error::corrupt("MINUTES: minute overflows"))?;
        minute_list.push(MinuteCount {
            minute,
            service: s.u32_varint()?,
            severity: s.severity()?,
            count: s.varint()?,
            bytes: s.varint()?,
        });
    }
    s.finish()?;

    let index = FileIndex {
        rows,
        row_groups,
        min_timestamp,
        max_timestamp,
        services: service_list,
        severities: severity_list,
        minutes: minute_list,
        strings: Vec::new(),
        high_cardinality_keys: Vec::new(),
        attrs: Vec::new(),
        time_ordered_runs: false, // from the footer, set by the caller
        time_ordered: false,      // likewise
        severity_grouped: false,  // likewise
        all_log_attributes_counted: false,
    };
    if !with_attrs {
        return Ok(index);
    }
    let attrs = decompress(attrs_section, "ATTRS")?;
    let mut s = Reader::new(&attrs, "ATTRS");
    let n = s.count()?;
    let mut strings = Vec::with_capacity(n.min(PREALLOCATE));
    for _ in 0..n {
        strings.push(s.string()?);
    }
    let n = s.count()?;
    let mut high_cardinality_keys = Vec::with_capacity(n.min(PREALLOCATE));
    for _ in 0..n {
        high_cardinality_keys.push((s.kind()?, s.u32_varint()?));
    }
    let n = s.count()?;
    let mut bucket = s.zigzag()?;
    let mut attr_list = Vec::with_capacity(n.min(PREALLOCATE));
    for _ in 0..n {
        bucket = bucket
            .checked_add_unsigned(s.varint()?)
            .ok_or_else(|| Error::corrupt("ATTRS: bucket overflows"))?;
        let kind = s.kind()?;
        let key = s.u32_varint()?;
        let value = match s.varint()? {
            0 => None,
            v => Some(
                u32::try_from(v - 1).map_err(|_| Error::corrupt("ATTRS: value index overflows"))?,
            ),
        };
        let service = s.u32_varint()?;
        let severity = s.severity()?;
        let resource_fingerprint = if has_fingerprint(version, kind) {
            s.u64_fixed()?
        } else {
            0
        };
        attr_list.push(AttrCount {
            bucket,
            kind,
            key,
            value,
            service,
            severity,
            resource_fingerprint,
            count: s.varint()?,
        });
    }
    s.finish()?;

    Ok(FileIndex {
        strings,
        high_cardinality_keys,
        attrs: attr_list,
        ..index
    })
}

/// Whether an ATTRS entry of `kind` stores its resource fingerprint in format `version` (see the module docs).
fn has_fingerprint(version: u16, kind: AttrKind) -> bool {
    version == 1 || kind == AttrKind::Resource
}

fn compress(data: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(data, ZSTD_LEVEL)
        .expect("zstd compression of an in-memory buffer cannot fail")
}

/// Decompresses a section, refusing to inflate past 1 GiB (a forged length must not exhaust memory).
fn decompress(data: &[u8], section: &str) -> Result<Vec<u8>> {
    const LIMIT: usize = 1 << 30;
    let mut out = Vec::new();
    let mut decoder = zstd::stream::read::Decoder::new(data)
        .map_err(|e| Error::corrupt(format!("{section}: bad zstd frame: {e}")))?;
    use std::io::Read as _;
    (&mut decoder)
        .take(LIMIT as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::corrupt(format!("{section}: bad zstd frame: {e}")))?;
    if out.len() > LIMIT {
        return Err(Error::corrupt(format!("{section}: inflates past 1 GiB")));
    }
    Ok(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_bitmap(out: &mut Vec<u8>, b: &RoaringBitmap) {
    put_varint(out, b.serialized_size() as u64);
    b.serialize_into(&mut *out)
        .expect("writing to a Vec cannot fail");
}

fn put_section(out: &mut Vec<u8>, section: &[u8]) {
    out.extend_from_slice(&(section.len() as u32).to_le_bytes());
    out.extend_from_slice(section);
}

/// A bounds-checked cursor over a section; every read failure names the section.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    section: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], section: &'static str) -> Self {
        Reader {
            data,
            pos: 0,
            section,
        }
    }

    fn err(&self, what: &str) -> Error {
        Error::corrupt(format!("{}: {what} at byte {}", self.section, self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err("truncated"))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(self.err("varint overflows u64"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn u32_varint(&mut self) -> Result<u32> {
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| self.err("value overflows u32"))
    }

    /// A count of entries; each entry takes at least one byte, which bounds allocation by the input size.
    fn count(&mut self) -> Result<usize> {
        let n = self.varint()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err(self.err("count larger than the remaining bytes"));
        }
        Ok(n as usize)
    }

    fn zigzag(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn u64_fixed(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| self.err("string length overflows"))?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.err("string is not UTF-8"))
    }

    fn bitmap(&mut self) -> Result<RoaringBitmap> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| self.err("bitmap length overflows"))?;
        let bytes = self.take(n)?;
        RoaringBitmap::deserialize_from(bytes)
            .map_err(|e| self.err(&format!("bad roaring bitmap ({e})")))
    }

    fn severity(&mut self) -> Result<Severity> {
        let code = self.u8()?;
        Severity::from_code(code).ok_or_else(|| self.err(&format!("unknown severity code {code}")))
    }

    fn kind(&mut self) -> Result<AttrKind> {
        match self.u8()? {
            0 => Ok(AttrKind::Log),
            1 => Ok(AttrKind::Resource),
            k => Err(self.err(&format!("unknown attribute kind {k}"))),
        }
    }

    fn section(&mut self, name: &'static str) -> Result<&'a [u8]> {
        let len = u32::from_le_bytes(
            self.take(4)
                .map_err(|_| Error::corrupt(format!("section {name}: missing")))?
                .try_into()
                .expect("4"),
        );
        self.take(len as usize)
            .map_err(|_| Error::corrupt(format!("section {name}: truncated")))
    }

    fn finish(&self) -> Result<()> {
        if self.pos != self.data.len() {
            return Err(self.err("trailing bytes"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use quarry_core::{Attributes, LogRecord, Severity};

    use super::*;
    use crate::IndexOptions;

    fn record(
        service: &str,
        severity: Severity,
        minute: i64,
        host: &str,
        status: &str,
    ) -> LogRecord {
        let resource: Attributes = [("host.name", host), ("service.name", service)]
            .into_iter()
            .collect();
        LogRecord {
            uuid: [0; 16],
            timestamp: 1_793_491_200_000_000_000 + minute * 60_000_000_000,
            observed_timestamp: 0,
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_flags: 0,
            severity_text: severity,
            severity_number: 0,
            service_name: service.into(),
            body: String::new(),
            attributes: [("http.status_code", status)].into_iter().collect(),
            resource_fingerprint: quarry_core::ingest::resource_fingerprint(&resource),
            resource_attributes: resource,
            instrumentation_scope: String::new(),
            event_name: String::new(),
            bytes_uncompressed: 10,
        }
    }

    #[test]
    fn both_versions_read_back_and_version_2_is_smaller() {
        let records = [
            record("api", Severity::Info, 0, "h-1", "200"),
            record("api", Severity::Error, 3, "h-2", "503"),
            record("web", Severity::Info, 14, "h-3", "200"),
            record("web", Severity::Warn, 25, "h-3", "404"),
        ];
        let index = FileIndex::build(&records, &[2, 2], &IndexOptions::default());
        assert!(
            index
                .attrs
                .iter()
                .any(|a| a.kind == AttrKind::Resource && a.resource_fingerprint != 0),
            "resource entries carry their fingerprints"
        );
        let v1 = index.to_bytes_version(1);
        let v2 = index.to_bytes();
        assert_eq!(
            u16::from_le_bytes([v2[v2.len() - 12], v2[v2.len() - 11]]),
            2
        );
        assert_eq!(FileIndex::from_bytes(&v1).unwrap(), index);
        assert_eq!(FileIndex::from_bytes(&v2).unwrap(), index);
        assert_eq!(
            FileIndex::from_bytes_without_attrs(&v1).unwrap().services,
            index.services
        );
        // Decompressed, version 2's ATTRS section is 8 bytes shorter per log entry.
        let attrs_section = |bytes: &[u8]| {
            let body = &bytes[..bytes.len() - FOOTER_LEN];
            let mut r = Reader::new(body, "body");
            for name in ["META", "SERVICES", "SEVERITIES", "MINUTES"] {
                r.section(name).unwrap();
            }
            decompress(r.section("ATTRS").unwrap(), "ATTRS")
                .unwrap()
                .len()
        };
        let log_entries = index
            .attrs
            .iter()
            .filter(|a| a.kind == AttrKind::Log)
            .count();
        assert!(log_entries > 0);
        assert_eq!(attrs_section(&v1) - attrs_section(&v2), 8 * log_entries);
    }
}
