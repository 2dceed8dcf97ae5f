//! Flat JSON Lines records (the shape of `testdata/loghub/README.md`).
//!
//! Grammar of one line (any field may be absent or `null`; unknown fields are ignored so that producers can add
//! fields without breaking older engines):
//!
//! ```text
//! {
//!   "timestamp":            RFC 3339 text | integer Unix nanoseconds      (absent: the ingest time)
//!   "observed_timestamp":   RFC 3339 text | integer Unix nanoseconds      (absent: the ingest time)
//!   "severity_text":        text
//!   "severity_number":      integer in i32
//!   "service_name":         text           (absent: resource_attributes["service.name"], else "")
//!   "body":                 any JSON       (text verbatim, other values as compact JSON, null as "")
//!   "trace_id", "span_id":  text, hex or base64 of 16 / 8 bytes; any other text is the all-zero id
//!   "trace_flags":          integer in u32
//!   "attributes",
//!   "resource_attributes":  object of any JSON values (text verbatim, other values compact JSON; null drops the key)
//!   "instrumentation_scope": text
//!   "event_name":           text
//! }
//! ```
//!
//! A line that is not UTF-8, not a JSON object, or has a field of the wrong type is rejected with a
//! [`RecordError`] naming the field; the other lines are kept. Blank lines are skipped.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Decoded, RecordError};
use crate::ids::parse_id;
use crate::record::{Attributes, AttributesBuilder, DecodedLog};
use crate::severity::normalize_severity;
use crate::time::{MinuteCache, parse_rfc3339_utc_cached};

#[derive(Deserialize)]
struct FlatRecord<'a> {
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    observed_timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    severity_text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    severity_number: Option<&'a RawValue>,
    #[serde(borrow, default)]
    service_name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(borrow, default)]
    trace_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    span_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    trace_flags: Option<&'a RawValue>,
    #[serde(borrow = "'a", default)]
    attributes: Option<Entries<'a>>,
    #[serde(borrow = "'a", default)]
    resource_attributes: Option<Entries<'a>>,
    #[serde(borrow, default)]
    instrumentation_scope: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event_name: Option<&'a RawValue>,
}

/// Decodes JSON Lines; [`RecordError::index`] is the 0-based line number.
///
/// Inputs of several megabytes are cut at line ends into one piece per available core (at most eight), decoded on
/// scoped threads and joined in order, so the result is the same as one pass.
pub fn decode(input: &[u8]) -> Decoded {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
        .min(input.len() / PARALLEL_PIECE_BYTES)
        .max(1);
    decode_split(input, threads)
}

/// [`decode`] in (at most) `threads` pieces.
fn decode_split(input: &[u8], threads: usize) -> Decoded {
    if threads <= 1 {
        return decode_piece(input, 0, reservation(newlines(input) + 1, input.len()));
    }
    // Pieces start just after a newline, so each holds whole lines; a piece's first line number is the count of
    // newlines before it.
    let mut starts = vec![0];
    for t in 1..threads {
        let at = input.len() * t / threads;
        let start = memchr::memchr(b'\n', &input[at..]).map_or(input.len(), |i| at + i + 1);
        if start > *starts.last().expect("non-empty") && start < input.len() {
            starts.push(start);
        }
    }
    starts.push(input.len());
    let mut pieces = Vec::with_capacity(starts.len() - 1);
    let mut line_base = 0;
    for w in starts.windows(2) {
        let piece = &input[w[0]..w[1]];
        let lines = newlines(piece);
        pieces.push((piece, line_base, reservation(lines + 1, piece.len())));
        line_base += lines;
    }
    // The first piece's records are the start of the result: it gets room for every line of the input, so the
    // others are moved in without growing it.
    let all_lines = reservation(line_base + 1, input.len());
    let decoded: Vec<Decoded> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces[1..]
            .iter()
            .map(|&(piece, base, lines)| scope.spawn(move || decode_piece(piece, base, lines)))
            .collect();
        let first = decode_piece(pieces[0].0, 0, all_lines);
        std::iter::once(first)
            .chain(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
            )
            .collect()
    });
    let mut decoded = decoded.into_iter();
    let mut out = decoded.next().unwrap_or_default();
    for d in decoded {
        out.logs.extend(d.logs);
        out.errors.extend(d.errors);
    }
    out
}

/// The number of newlines in `input` (a SIMD count).
fn newlines(input: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', input).count()
}

/// The records to reserve for `lines` lines in `bytes` bytes of input: one per line, but at most one per 64 bytes,
/// so input of blank or tiny lines does not reserve many times its size (the vector grows past that as needed).
fn reservation(lines: usize, bytes: usize) -> usize {
    lines.min(bytes / 64 + 1)
}

/// At most this many threads decode one input.
const MAX_THREADS: usize = 8;
/// One thread per this many bytes of input, at most.
const PARALLEL_PIECE_BYTES: usize = 2 << 20;

/// Decodes whole lines, the first of which has number `line_base`.
///
/// `capacity` records are reserved up front ([`reservation`]; the caller counts lines anyway): growing by
/// doubling copied the records made so far each time, into fresh memory.
fn decode_piece(input: &[u8], line_base: usize, capacity: usize) -> Decoded {
    let mut out = Decoded::default();
    out.logs.reserve(capacity);
    let mut memo = PieceMemo::default();
    for (index, line) in super::lines(input).enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match decode_line_with(line_base + index, line, &mut memo) {
            Ok(log) => out.logs.push(log),
            Err(e) => out.errors.push(e),
        }
    }
    out
}

/// Decodes one line (without its newline) as record `index`.
///
/// Well-formed lines of the usual shape are read by a single-pass scanner ([`super::scan`]); anything it does not
/// vouch for (nested values, unknown or duplicate keys, escapes in keys, malformed JSON) goes through serde_json
/// ([`decode_line_reference`]), so errors and unusual inputs are handled by one implementation. Both produce the
/// same [`RawFields`] and share the conversion, and tests check that they agree.
pub fn decode_line(index: usize, line: &[u8]) -> Result<DecodedLog, RecordError> {
    decode_line_with(index, line, &mut PieceMemo::default())
}

/// [`decode_line`] with the resource objects of earlier lines of the same input at hand.
fn decode_line_with<'a>(
    index: usize,
    line: &'a [u8],
    memo: &mut PieceMemo<'a>,
) -> Result<DecodedLog, RecordError> {
    decode_line_fast_with(index, line, memo).unwrap_or_else(|| decode_line_reference(index, line))
}

/// [`decode_line`] through the fast scanner only: `None` when the scanner leaves the line to the reference path.
pub fn decode_line_fast(index: usize, line: &[u8]) -> Option<Result<DecodedLog, RecordError>> {
    decode_line_fast_with(index, line, &mut PieceMemo::default())
}

fn decode_line_fast_with<'a>(
    index: usize,
    line: &'a [u8],
    memo: &mut PieceMemo<'a>,
) -> Option<Result<DecodedLog, RecordError>> {
    let text = match utf8_object(index, line) {
        Ok(text) => text,
        Err(e) => return Some(Err(e)),
    };
    super::scan::scan_line(text, memo).map(|fields| convert(index, fields, memo))
}

/// [`decode_line`] through serde_json only: the reference the fast scanner is tested against.
pub fn decode_line_reference(index: usize, line: &[u8]) -> Result<DecodedLog, RecordError> {
    let text = utf8_object(index, line)?;
    reference_fields(index, text).and_then(|f| convert(index, f, &mut PieceMemo::default()))
}

fn utf8_object(index: usize, line: &[u8]) -> Result<&str, RecordError> {
    // simdutf8 checks valid text ~4x faster than `std` (1% of an ingest's instructions, session 11); `std` says
    // where invalid text goes wrong.
    let text = simdutf8::basic::from_utf8(line).or_else(|_| {
        std::str::from_utf8(line).map_err(|e| {
            RecordError::new(
                index,
                "record",
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })
    })?;
    // Serde would also read a JSON array positionally into the struct; only objects are records.
    if !text.starts_with('{') {
        return Err(RecordError::new(index, "record", "expected a JSON object"));
    }
    Ok(text)
}

/// A line's fields as raw JSON text (each value's own text, quotes included), before conversion. Scalars are
/// `None` when absent; `null` is kept as the text `null`.
#[derive(Default)]
pub(crate) struct RawFields<'a> {
    pub(crate) timestamp: Option<&'a str>,
    pub(crate) observed_timestamp: Option<&'a str>,
    pub(crate) severity_text: Option<&'a str>,
    pub(crate) severity_number: Option<&'a str>,
    pub(crate) service_name: Option<&'a str>,
    pub(crate) body: Option<&'a str>,
    pub(crate) trace_id: Option<&'a str>,
    pub(crate) span_id: Option<&'a str>,
    pub(crate) trace_flags: Option<&'a str>,
    pub(crate) attributes: Option<Entries<'a>>,
    pub(crate) resource_attributes: Option<Entries<'a>>,
    /// The raw text of the `resource_attributes` object (fast path only).
    pub(crate) resource_raw: Option<&'a str>,
    pub(crate) instrumentation_scope: Option<&'a str>,
    pub(crate) event_name: Option<&'a str>,
    /// The text fields whose value the fast scanner found to be a string without escapes, as [`plain`] bits: its
    /// text is the raw text without its quotes, and nothing has to look for backslashes again.
    pub(crate) plain: u8,
}

/// Bits of [`RawFields::plain`].
pub(crate) mod plain {
    pub(crate) const SEVERITY_TEXT: u8 = 1;
    pub(crate) const SERVICE_NAME: u8 = 2;
    pub(crate) const BODY: u8 = 4;
    pub(crate) const TRACE_ID: u8 = 8;
    pub(crate) const SPAN_ID: u8 = 16;
    pub(crate) const INSTRUMENTATION_SCOPE: u8 = 32;
    pub(crate) const EVENT_NAME: u8 = 64;
}

fn reference_fields(index: usize, text: &str) -> Result<RawFields<'_>, RecordError> {
    fn get(r: Option<&RawValue>) -> Option<&str> {
        r.map(RawValue::get)
    }
    let rec: FlatRecord<'_> = serde_json::from_str(text)
        .map_err(|e| RecordError::new(index, "record", format!("invalid JSON: {e}")))?;
    Ok(RawFields {
        timestamp: get(rec.timestamp),
        observed_timestamp: get(rec.observed_timestamp),
        severity_text: get(rec.severity_text),
        severity_number: get(rec.severity_number),
        service_name: get(rec.service_name),
        body: get(rec.body),
        trace_id: get(rec.trace_id),
        span_id: get(rec.span_id),
        trace_flags: get(rec.trace_flags),
        attributes: rec.attributes,
        resource_attributes: rec.resource_attributes,
        resource_raw: None,
        instrumentation_scope: get(rec.instrumentation_scope),
        event_name: get(rec.event_name),
        plain: 0,
    })
}

/// Turns raw field texts into a record, or the error naming the first bad field. A resource object converted
/// from text (not taken from `memo`) becomes the memo.
fn convert<'a>(
    index: usize,
    rec: RawFields<'a>,
    memo: &mut PieceMemo<'a>,
) -> Result<DecodedLog, RecordError> {
    let err = |field: &str, reason: &str| RecordError::new(index, field, reason);

    let timestamp = opt(rec.timestamp)
        .map(|t| parse_timestamp(t, &mut memo.minute))
        .transpose()
        .map_err(|r| err("timestamp", r))?;
    let observed_timestamp = opt(rec.observed_timestamp)
        .map(|t| parse_timestamp(t, &mut memo.minute))
        .transpose()
        .map_err(|r| err("observed_timestamp", r))?;
    let is_plain = |bit: u8| rec.plain & bit != 0;
    let severity_text = opt_text(rec.severity_text, is_plain(plain::SEVERITY_TEXT))
        .map_err(|r| err("severity_text", r))?;
    let severity_number = opt(rec.severity_number)
        .map(parse_int::<i32>)
        .transpose()
        .map_err(|_| {
            err(
                "severity_number",
                "expected an integer between -2147483648 and 2147483647",
            )
        })?
        .unwrap_or(0);
    let service_name = opt_text(rec.service_name, is_plain(plain::SERVICE_NAME))
        .map_err(|r| err("service_name", r))?;
    let body = match opt(rec.body) {
        None => String::new(),
        Some(raw) => {
            let mut body = String::new();
            raw_to_text_into(raw, is_plain(plain::BODY), &mut body).map_err(|r| err("body", &r))?;
            body
        }
    };
    let trace_id = opt_text(rec.trace_id, is_plain(plain::TRACE_ID))
        .map_err(|_| err("trace_id", "expected hex or base64 text"))?
        .map(|s| parse_id::<16>(&s))
        .unwrap_or([0; 16]);
    let span_id = opt_text(rec.span_id, is_plain(plain::SPAN_ID))
        .map_err(|_| err("span_id", "expected hex or base64 text"))?
        .map(|s| parse_id::<8>(&s))
        .unwrap_or([0; 8]);
    let trace_flags = opt(rec.trace_flags)
        .map(parse_int::<u32>)
        .transpose()
        .map_err(|_| {
            err(
                "trace_flags",
                "expected an integer between 0 and 4294967295",
            )
        })?
        .unwrap_or(0);
    let attributes =
        attributes_of(rec.attributes).map_err(|(f, r)| err(&format!("attributes{f}"), &r))?;
    let from_text = matches!(rec.resource_attributes, Some(Entries::Object(_)));
    // A remembered set known to hold `service.name` needs no look for it (~230 instructions a row).
    let has_service_name = matches!(rec.resource_attributes, Some(Entries::Converted(_, true)));
    let mut resource_attributes = attributes_of(rec.resource_attributes)
        .map_err(|(f, r)| err(&format!("resource_attributes{f}"), &r))?;
    if let (true, Some(raw)) = (from_text, rec.resource_raw) {
        memo.insert(raw, resource_attributes.clone());
    }
    let instrumentation_scope = opt_text(
        rec.instrumentation_scope,
        is_plain(plain::INSTRUMENTATION_SCOPE),
    )
    .map_err(|r| err("instrumentation_scope", r))?
    .unwrap_or_default();
    let event_name = opt_text(rec.event_name, is_plain(plain::EVENT_NAME))
        .map_err(|r| err("event_name", r))?
        .unwrap_or_default();

    let service_name = match service_name {
        Some(s) => s.into_owned(),
        None => crate::record::attribute(&resource_attributes, "service.name")
            .unwrap_or("")
            .to_owned(),
    };
    if !has_service_name {
        ensure_service_name(&mut resource_attributes, &service_name);
    }

    let (severity_text, severity_number) = normalize_severity(
        severity_text.as_deref().unwrap_or(""),
        severity_number,
        &body,
    );
    let mut log = DecodedLog {
        timestamp,
        observed_timestamp,
        trace_id,
        span_id,
        trace_flags,
        severity_text,
        severity_number,
        service_name,
        body,
        attributes,
        resource_attributes,
        instrumentation_scope: instrumentation_scope.into_owned(),
        event_name: event_name.into_owned(),
        bytes_uncompressed: 0,
    };
    log.bytes_uncompressed = log.compute_bytes_uncompressed();
    Ok(log)
}

/// An integer field: plain decimal digits are read directly, anything else (exponents, fractions, text) as JSON.
fn parse_int<T: std::str::FromStr + serde::de::DeserializeOwned>(raw: &str) -> Result<T, ()> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    // serde_json reads `-0` as the float -0.0, which no integer type accepts; keep that answer.
    if raw != "-0"
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
    {
        return raw.parse::<T>().map_err(|_| ());
    }
    serde_json::from_str::<T>(raw).map_err(|_| ())
}

/// Adds `service.name` to resource attributes when absent (spec §1.2: every resource carries it).
pub(crate) fn ensure_service_name(resource: &mut Attributes, service_name: &str) {
    if resource.get("service.name").is_none() {
        resource.insert("service.name", service_name);
    }
}

/// `None` for an absent field and for JSON `null`.
fn opt(raw: Option<&str>) -> Option<&str> {
    raw.filter(|r| *r != "null")
}

/// The text of a field that must be a string (or absent); `plain`: the scanner found it a string without escapes.
fn opt_text(raw: Option<&str>, plain: bool) -> Result<Option<Cow<'_, str>>, &'static str> {
    match opt(raw) {
        None => Ok(None),
        Some(r) if plain => Ok(Some(Cow::Borrowed(unquote(r)))),
        Some(r) => json_string(r).map(Some).ok_or("expected text"),
    }
}

/// The text between the quotes of a string literal the scanner found without escapes.
fn unquote(raw: &str) -> &str {
    &raw[1..raw.len() - 1]
}

/// The text of a JSON string literal, borrowed when it has no escapes; `None` if `raw` is not a valid string.
fn json_string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        // The line was validated as JSON, so a quote-delimited value without backslashes is the string itself.
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// Parses a timestamp: RFC 3339 text or integer Unix nanoseconds.
fn parse_timestamp(text: &str, minute: &mut MinuteCache) -> Result<i64, &'static str> {
    const EXPECTED: &str =
        "expected RFC 3339 text (2026-11-01T00:00:00Z) or integer Unix nanoseconds";
    if text.starts_with('"') {
        if let Some(nanos) = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| parse_rfc3339_utc_cached(t, minute))
        {
            return Ok(nanos);
        }
        let s: Cow<'_, str> = serde_json::from_str(text).map_err(|_| EXPECTED)?;
        let dt = chrono::DateTime::parse_from_rfc3339(&s).map_err(|_| EXPECTED)?;
        dt.timestamp_nanos_opt()
            .ok_or("outside the representable range (years 1677 to 2262)")
    } else {
        parse_int::<i64>(text).map_err(|_| EXPECTED)
    }
}

/// Renders any JSON value as text, appended to `out`: strings verbatim, others compact JSON, `null` as "".
/// `plain`: the scanner found `text` a string without escapes.
fn raw_to_text_into(text: &str, plain: bool, out: &mut String) -> Result<(), String> {
    if plain {
        out.push_str(unquote(text));
        return Ok(());
    }
    match text.as_bytes().first() {
        Some(b'"') => match json_string(text) {
            Some(s) => out.push_str(&s),
            None => out.push_str(
                &serde_json::from_str::<String>(text)
                    .map_err(|e| format!("invalid string: {e}"))?,
            ),
        },
        // Numbers, booleans and null are already compact; containers lose their insignificant whitespace but
        // keep their text otherwise (key order, number spelling: `1.0e5` stays `1.0e5`). A full parse first
        // rejects what the raw scan lets through (a lone surrogate escape is not text).
        Some(b'{') | Some(b'[') => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(_) => out.push_str(&minify(text)),
            Err(e) => return Err(format!("invalid JSON: {e}")),
        },
        _ if text == "null" => {}
        _ => out.push_str(text),
    }
    Ok(())
}

/// An attribute field as first parsed: the entries of a JSON object in document order, borrowed from the input
/// (parsed in the same pass as the rest of the line), or the note that the field was not an object.
pub(crate) enum Entries<'a> {
    /// (key, raw value, whether the scanner found the value a string without escapes).
    Object(Vec<(Cow<'a, str>, &'a str, bool)>),
    NotAnObject,
    /// Already converted: the same text as the [`PieceMemo`]'s, and whether the set holds `service.name`.
    Converted(Attributes, bool),
}

/// What the fast path of one piece of input remembers from line to line.
///
/// The `resource_attributes` objects it has converted, by their raw text (conversions before `service.name` is
/// added from a line's own `service_name`): lines repeat their resource's object verbatim, and finding an
/// object's end and hashing it costs a fifth of scanning and converting it again. And the minute of the last
/// timestamp ([`MinuteCache`]).
#[derive(Default)]
pub(crate) struct PieceMemo<'a> {
    /// By the hash of the raw text: (raw text, conversion, whether it holds `service.name`).
    by_hash: FxHashMap<u64, (&'a str, Attributes, bool)>,
    minute: MinuteCache,
}

impl<'a> PieceMemo<'a> {
    /// Objects kept at most; a piece with more distinct resources starts over (memory stays bounded).
    const MAX_ENTRIES: usize = 4096;

    /// The conversion of an object whose raw text is `raw`, and whether it holds `service.name`.
    pub(crate) fn get(&self, raw: &str) -> Option<(&Attributes, bool)> {
        self.by_hash
            .get(&xxhash_rust::xxh3::xxh3_64(raw.as_bytes()))
            .filter(|(text, ..)| *text == raw)
            .map(|(_, attrs, has_service_name)| (attrs, *has_service_name))
    }

    fn insert(&mut self, raw: &'a str, attrs: Attributes) {
        if self.by_hash.len() >= Self::MAX_ENTRIES {
            self.by_hash.clear();
        }
        let has_service_name = attrs.get("service.name").is_some();
        self.by_hash.insert(
            xxhash_rust::xxh3::xxh3_64(raw.as_bytes()),
            (raw, attrs, has_service_name),
        );
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Entries<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries<'a>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(key) = map.next_key::<Cow<'a, str>>()? {
                    out.push((key, map.next_value::<&'a RawValue>()?.get(), false));
                }
                Ok(Entries::Object(out))
            }

            // Every other JSON type is accepted here and reported as a field error by `attributes_of`.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entries<'a>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Entries::NotAnObject)
            }

            fn visit_bool<E>(self, _: bool) -> Result<Entries<'a>, E> {
                Ok(Entries::NotAnObject)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Entries<'a>, E> {
                Ok(Entries::NotAnObject)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Entries<'a>, E> {
                Ok(Entries::NotAnObject)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Entries<'a>, E> {
                Ok(Entries::NotAnObject)
            }

            fn visit_str<E>(self, _: &str) -> Result<Entries<'a>, E> {
                Ok(Entries::NotAnObject)
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

/// Turns a parsed attribute field into attributes; errors carry the `.key` suffix of the failing entry. Keys come
/// out sorted and unique, the last duplicate winning (a later `null` removes the key).
fn attributes_of(field: Option<Entries<'_>>) -> Result<Attributes, (String, String)> {
    let entries = match field {
        None => return Ok(Attributes::new()),
        Some(Entries::NotAnObject) => {
            return Err((
                String::new(),
                "expected an object of key/value pairs".to_owned(),
            ));
        }
        Some(Entries::Object(entries)) => entries,
        Some(Entries::Converted(attrs, _)) => return Ok(attrs),
    };
    // The raw texts bound the converted ones (quotes and escapes only shrink), so the text is one allocation.
    let bytes = entries.iter().map(|(k, v, _)| k.len() + v.len()).sum();
    let mut out = AttributesBuilder::with_capacity(entries.len(), bytes);
    for (k, v, plain) in entries {
        if v == "null" {
            out.remove(&k);
            continue;
        }
        out.push_with(&k, |text| raw_to_text_into(v, plain, text))
            .map_err(|r| (format!(".{k}"), r))?;
    }
    out.finish().map_err(|e| (String::new(), e.to_string()))
}

/// Removes whitespace outside strings from valid JSON text.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn pieces_join_to_one_pass_whatever_the_cuts() {
        let good = r#"{"body":"ok","service_name":"s"}"#;
        let lines = [good, "", "  ", "not json", good, "\r", good, "[1]", good];
        // CRLF and LF endings, with and without a final newline, cut into every number of pieces.
        for ending in ["\n", "\r\n"] {
            for final_newline in [false, true] {
                for n in 1..=lines.len() {
                    let mut input = lines[..n].join(ending);
                    if final_newline {
                        input.push_str(ending);
                    }
                    let one = super::decode_split(input.as_bytes(), 1);
                    for threads in 2..=12 {
                        assert_eq!(
                            super::decode_split(input.as_bytes(), threads),
                            one,
                            "{input:?} in {threads}"
                        );
                    }
                }
            }
        }
    }

    /// What serde_json says an integer field holds, the behaviour `parse_int` keeps.
    fn serde<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, ()> {
        serde_json::from_str::<T>(raw).map_err(|_| ())
    }

    #[test]
    fn integers_read_as_serde_json_reads_them() {
        for raw in [
            "0",
            "-0",
            "00",
            "-00",
            "01",
            "-",
            "",
            "1e3",
            "1.0",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "123456789012345678901",
            " 1",
            "+1",
            "--1",
        ] {
            assert_eq!(
                super::parse_int::<i32>(raw),
                serde::<i32>(raw),
                "i32 {raw:?}"
            );
            assert_eq!(
                super::parse_int::<u32>(raw),
                serde::<u32>(raw),
                "u32 {raw:?}"
            );
            assert_eq!(
                super::parse_int::<i64>(raw),
                serde::<i64>(raw),
                "i64 {raw:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn integers_agree_with_serde_json(raw in "-?[0-9]{0,22}") {
            prop_assert_eq!(super::parse_int::<i32>(&raw), serde::<i32>(&raw), "i32 {}", raw);
            prop_assert_eq!(super::parse_int::<u32>(&raw), serde::<u32>(&raw), "u32 {}", raw);
            prop_assert_eq!(super::parse_int::<i64>(&raw), serde::<i64>(&raw), "i64 {}", raw);
        }
    }
}
