//! A single-pass scanner for the common shape of a flat JSON Lines record: the fast path of [`super::jsonl`].
//!
//! It accepts a strict subset of JSON and returns `None` for everything else, so the caller falls back to the
//! serde_json reference decoder, which owns all error reporting. Accepted (anything outside: `None`):
//!
//! ```text
//! line     = ws "{" ws [ member *( ws "," ws member ) ] ws "}" ws
//! member   = key ws ":" ws value             ; key one of the 13 known fields, each at most once
//! key      = '"' *plain-char '"'             ; no escapes in keys
//! value    = string | "null" | number | "true" | "false"      ; for the scalar fields
//!          | attrs                                             ; for attributes / resource_attributes
//! attrs    = "{" ws [ entry *( ws "," ws entry ) ] ws "}"
//! entry    = string ws ":" ws ( string | "null" | number | "true" | "false" )
//! string   = '"' *( plain-char | escape ) '"'
//! escape   = "\" ( '"' | "\" | "/" | "b" | "f" | "n" | "r" | "t" | "u" 4hex )
//! number   = [ "-" ] ( "0" | digit1-9 *digit ) [ "." 1*digit ] [ ( "e" | "E" ) [ "+" | "-" ] 1*digit ]
//! ws       = *( " " | "\t" | "\n" | "\r" )
//! ```
//!
//! `plain-char` is any character but `"`, `\` and the control characters U+0000–U+001F, as in JSON. Values are
//! returned as their raw text (quotes included), exactly the slices serde_json's `RawValue` would give, so the
//! conversion after scanning is shared with the reference path. Escapes are only checked for shape here; what they
//! mean (including a lone surrogate, which is not text) is decided by the conversion, as on the reference path.

use std::borrow::Cow;

use super::jsonl::{Entries, PieceMemo, RawFields, plain};

/// Scans one line; `None` when the line is outside the accepted subset (not necessarily invalid).
///
/// `memo` holds the raw texts and conversions of earlier lines' `resource_attributes` objects: when this line's
/// object is byte for byte one of them, it is not scanned again but taken as converted. The text looked up is the
/// text up to the first `}`, which is sound: a line that begins, at the object, with the complete text of an
/// object the full scan accepted parses to that object and ends where it does. (An object with a `}` inside a
/// string is never found so, and is scanned each time. Following its strings to find its real end, as until
/// session 11, took 2.3% of an ingest's instructions for the usual objects, which have none.)
pub(crate) fn scan_line<'a>(line: &'a str, memo: &PieceMemo<'_>) -> Option<RawFields<'a>> {
    let mut s = Scanner {
        b: line.as_bytes(),
        text: line,
        at: 0,
    };
    let mut out = RawFields::default();
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if !s.eat_if(b'}') {
        loop {
            let field = match s.field_name() {
                Some(field) => field,
                None => Field::of(s.key()?)?,
            };
            s.ws();
            s.eat(b':')?;
            s.ws();
            // serde rejects a repeated field, so a second value goes to the reference path.
            match field {
                Field::Attributes => set_once(&mut out.attributes, s.attrs()?)?,
                Field::ResourceAttributes => {
                    let start = s.at;
                    let known = memchr::memchr(b'}', &s.b[start..])
                        .map(|close| &s.text[start..=start + close])
                        .and_then(|raw| Some((raw, memo.get(raw)?)));
                    let entries = match known {
                        Some((raw, (attrs, has_service_name))) => {
                            s.at += raw.len();
                            Entries::Converted(attrs.clone(), has_service_name)
                        }
                        None => s.attrs()?,
                    };
                    out.resource_raw = Some(&s.text[start..s.at]);
                    set_once(&mut out.resource_attributes, entries)?
                }
                scalar => {
                    let (raw, plain) = s.scalar()?;
                    set_once(scalar_slot(&mut out, scalar)?, raw)?;
                    if plain {
                        out.plain |= scalar.plain_bit();
                    }
                }
            }
            if !s.next_member()? {
                break;
            }
        }
    }
    s.ws();
    (s.at == s.b.len()).then_some(out)
}

/// A record field the scanner reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Attributes,
    ResourceAttributes,
    Timestamp,
    ObservedTimestamp,
    SeverityText,
    SeverityNumber,
    ServiceName,
    Body,
    TraceId,
    SpanId,
    TraceFlags,
    InstrumentationScope,
    EventName,
}

impl Field {
    /// Every field with its name: [`Field::of`] and [`Scanner::field_name`] read the same names.
    const ALL: [(&'static str, Field); 13] = [
        ("attributes", Field::Attributes),
        ("resource_attributes", Field::ResourceAttributes),
        ("timestamp", Field::Timestamp),
        ("observed_timestamp", Field::ObservedTimestamp),
        ("severity_text", Field::SeverityText),
        ("severity_number", Field::SeverityNumber),
        ("service_name", Field::ServiceName),
        ("body", Field::Body),
        ("trace_id", Field::TraceId),
        ("span_id", Field::SpanId),
        ("trace_flags", Field::TraceFlags),
        ("instrumentation_scope", Field::InstrumentationScope),
        ("event_name", Field::EventName),
    ];

    /// The field's bit in [`RawFields::plain`] (0 for fields that are not text).
    fn plain_bit(self) -> u8 {
        match self {
            Field::SeverityText => plain::SEVERITY_TEXT,
            Field::ServiceName => plain::SERVICE_NAME,
            Field::Body => plain::BODY,
            Field::TraceId => plain::TRACE_ID,
            Field::SpanId => plain::SPAN_ID,
            Field::InstrumentationScope => plain::INSTRUMENTATION_SCOPE,
            Field::EventName => plain::EVENT_NAME,
            _ => 0,
        }
    }

    /// The field named `name`; `None` for any other name (unknown fields go to the reference path).
    fn of(name: &[u8]) -> Option<Field> {
        Field::ALL
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|&(_, f)| f)
    }
}

/// The slot of a scalar field; `None` for the attribute objects.
fn scalar_slot<'o, 'a>(
    out: &'o mut RawFields<'a>,
    field: Field,
) -> Option<&'o mut Option<&'a str>> {
    Some(match field {
        Field::Timestamp => &mut out.timestamp,
        Field::ObservedTimestamp => &mut out.observed_timestamp,
        Field::SeverityText => &mut out.severity_text,
        Field::SeverityNumber => &mut out.severity_number,
        Field::ServiceName => &mut out.service_name,
        Field::Body => &mut out.body,
        Field::TraceId => &mut out.trace_id,
        Field::SpanId => &mut out.span_id,
        Field::TraceFlags => &mut out.trace_flags,
        Field::InstrumentationScope => &mut out.instrumentation_scope,
        Field::EventName => &mut out.event_name,
        Field::Attributes | Field::ResourceAttributes => return None,
    })
}

/// Fills an empty slot; `None` if it already holds a value.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// The position of the first byte at or after `from` that ends a plain run inside a string: `"`, `\\` or a
/// control character; `None` at the end of input. Eight bytes at a time: in each word, a byte's high bit is set
/// when it is one of those (the usual "has zero byte" tricks; borrows can only mark bytes *after* a true hit, so
/// the lowest marked byte is exact).
fn special(b: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = b.get(from..from + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = x ^ (ONES * b'"' as u64);
        let backslash = x ^ (ONES * b'\\' as u64);
        let hits = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        if hits != 0 {
            return Some(from + (hits.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    // `from` may be past the end (a backslash ending the input): nothing is found there.
    b.get(from..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| from + p)
}

struct Scanner<'a> {
    b: &'a [u8],
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.eat_if(c).then_some(())
    }

    fn eat_if(&mut self, c: u8) -> bool {
        if self.b.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// After a member: `true` at `,` (another member follows), `false` at the closing `}`.
    fn next_member(&mut self) -> Option<bool> {
        self.ws();
        match self.b.get(self.at)? {
            b',' => {
                self.at += 1;
                self.ws();
                Some(true)
            }
            b'}' => {
                self.at += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// One of the record's field names at the cursor, recognised by its first letter and compared whole, without
    /// scanning it as a string (~80 instructions a name; nine names a line). `None` for any other text, which
    /// [`Scanner::key`] then reads.
    fn field_name(&mut self) -> Option<Field> {
        let rest = self.b.get(self.at..)?.strip_prefix(b"\"")?;
        // Each name is compared with its closing quote as a constant, which the compiler turns into a few loads
        // and compares (a loop over the names called `memcmp` for each).
        macro_rules! names {
            ($($name:literal => $field:ident),* $(,)?) => {{
                $(if rest.starts_with(concat!($name, "\"").as_bytes()) {
                    Some(($name.len(), Field::$field))
                } else)* {
                    None
                }
            }};
        }
        let (len, field) = match rest.first()? {
            b'a' => names!("attributes" => Attributes),
            b'b' => names!("body" => Body),
            b'e' => names!("event_name" => EventName),
            b'i' => names!("instrumentation_scope" => InstrumentationScope),
            b'o' => names!("observed_timestamp" => ObservedTimestamp),
            b'r' => names!("resource_attributes" => ResourceAttributes),
            b's' => names!(
                "service_name" => ServiceName,
                "severity_text" => SeverityText,
                "severity_number" => SeverityNumber,
                "span_id" => SpanId,
            ),
            b't' => names!(
                "timestamp" => Timestamp,
                "trace_id" => TraceId,
                "trace_flags" => TraceFlags,
            ),
            _ => None,
        }?;
        self.at += len + 2;
        Some(field)
    }

    /// A key without escapes, as bytes between the quotes.
    fn key(&mut self) -> Option<&'a [u8]> {
        let (start, end, escaped) = self.string()?;
        if escaped {
            return None;
        }
        Some(&self.b[start + 1..end - 1])
    }

    /// A string starting at the cursor: its span `[start, end)` including quotes, and whether it has escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.at;
        if self.b.get(start) != Some(&b'"') {
            return None;
        }
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            i = special(self.b, i)?;
            if self.b[i] < 0x20 {
                return None;
            }
            if self.b[i] == b'"' {
                self.at = i + 1;
                return Some((start, i + 1, escaped));
            }
            escaped = true;
            match self.b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = self.b.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            }
        }
    }

    /// A scalar value's raw text, and whether it is a string without escapes.
    fn scalar(&mut self) -> Option<(&'a str, bool)> {
        let start = self.at;
        let word = |raw: Option<&'a str>| raw.map(|r| (r, false));
        match self.b.get(start)? {
            b'"' => {
                let (s, e, escaped) = self.string()?;
                Some((&self.text[s..e], !escaped))
            }
            b'n' => word(self.word("null")),
            b't' => word(self.word("true")),
            b'f' => word(self.word("false")),
            b'-' | b'0'..=b'9' => word(self.number()),
            _ => None,
        }
    }

    fn word(&mut self, w: &'static str) -> Option<&'a str> {
        let start = self.at;
        if self.b.get(start..start + w.len())? == w.as_bytes() {
            self.at += w.len();
            Some(&self.text[start..self.at])
        } else {
            None
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.at;
        while self.b.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - from
    }

    fn number(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.eat_if(b'-');
        match self.b.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat_if(b'.') && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.b.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.b.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        // A number runs into the next token only through a delimiter; `01` or `1x` is not a number.
        match self.b.get(self.at) {
            None | Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r') => {
                Some(&self.text[start..self.at])
            }
            _ => None,
        }
    }

    /// An attribute object (flat); `null` and other non-objects are left to the reference path.
    fn attrs(&mut self) -> Option<Entries<'a>> {
        self.eat(b'{')?;
        self.ws();
        let mut out = Vec::with_capacity(8);
        if self.eat_if(b'}') {
            return Some(Entries::Object(out));
        }
        loop {
            let (s, e, escaped) = self.string()?;
            let key = if escaped {
                Cow::Owned(serde_json::from_str::<String>(&self.text[s..e]).ok()?)
            } else {
                Cow::Borrowed(&self.text[s + 1..e - 1])
            };
            self.ws();
            self.eat(b':')?;
            self.ws();
            let (raw, plain) = self.scalar()?;
            out.push((key, raw, plain));
            if !self.next_member()? {
                return Some(Entries::Object(out));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Field, Scanner, scan_line};

    /// The quick recognition of field names agrees with [`Field::of`] on every name, and takes nothing that is
    /// not exactly a name (longer, shorter, escaped, unquoted).
    #[test]
    fn field_names_are_recognised_exactly() {
        let read = |text: &str| {
            let mut s = Scanner {
                b: text.as_bytes(),
                text,
                at: 0,
            };
            let field = s.field_name();
            (field, s.at)
        };
        for (name, field) in Field::ALL {
            assert_eq!(Field::of(name.as_bytes()), Some(field));
            let quoted = format!("\"{name}\":1");
            assert_eq!(read(&quoted), (Some(field), name.len() + 2), "{name}");
            for other in [
                format!("\"{name}x\":1"),
                format!("\"{}\":1", &name[..name.len() - 1]),
                format!("\"\\u00{:x}{}\":1", name.as_bytes()[0], &name[1..]),
                format!("{name}:1"),
                format!("\"{name}"),
            ] {
                assert_eq!(read(&other), (None, 0), "{other}");
                assert_eq!(Field::of(other.as_bytes()), None, "{other}");
            }
        }
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_byte() {
        let naive = |b: &[u8], from: usize| {
            b[from..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|p| from + p)
        };
        // Every position of each special byte, after runs that include bytes just around the thresholds and UTF-8.
        let filler = "a!#[]\x7f\u{e9}\u{1f600} ~".as_bytes();
        for special_byte in [b'"', b'\\', 0x00, 0x01, 0x1f] {
            for len in 0..40 {
                let mut b: Vec<u8> = filler.iter().cycle().take(len).copied().collect();
                assert_eq!(super::special(&b, 0), naive(&b, 0));
                b.push(special_byte);
                b.extend_from_slice(b"\"\x01tail");
                // Past the end (a backslash ending the input moves the search there): nothing.
                assert_eq!(super::special(&b, b.len() + 1), None);
                for from in 0..b.len() {
                    assert_eq!(
                        super::special(&b, from),
                        naive(&b, from),
                        "{b:?} from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn accepts_the_usual_shape_and_returns_raw_texts() {
        let f = scan_line(
            r#" {"timestamp":"2026-11-01T00:00:00Z", "severity_number": -17 ,"body":"a\"b","attributes":{"k":"v","n":1.5e3,"z":null}} "#,
            &Default::default(),
        )
        .expect("accepted");
        assert_eq!(f.timestamp, Some(r#""2026-11-01T00:00:00Z""#));
        assert_eq!(f.severity_number, Some("-17"));
        assert_eq!(f.body, Some(r#""a\"b""#));
        // The body has an escape, so it is not plain; the timestamp is not a text field (it has no bit).
        assert_eq!(f.plain, 0, "no text field is plain here");
        let Some(super::Entries::Object(entries)) = f.attributes else {
            panic!("attributes are an object")
        };
        let entries: Vec<(&str, &str, bool)> =
            entries.iter().map(|(k, v, p)| (&**k, *v, *p)).collect();
        assert_eq!(
            entries,
            [
                ("k", r#""v""#, true),
                ("n", "1.5e3", false),
                ("z", "null", false)
            ]
        );
        let f = scan_line(
            r#"{"service_name":"s","severity_text":"e\u0072ror","body":"b","trace_id":"ab","span_id":12}"#,
            &Default::default(),
        )
        .expect("accepted");
        use super::plain;
        assert_eq!(
            f.plain,
            plain::SERVICE_NAME | plain::BODY | plain::TRACE_ID,
            "plain strings only: not an escaped one, not a number"
        );
    }

    #[test]
    fn leaves_everything_unusual_to_the_reference_path() {
        for line in [
            r#"{"body":"a","body":"b"}"#,  // duplicate field
            r#"{"other":1}"#,              // unknown field
            r#"{"body":{"nested":1}}"#,    // nested body
            r#"{"body":"a",}"#,            // trailing comma
            r#"{"body":"a"} x"#,           // trailing characters
            r#"{"body" "a"}"#,             // missing colon
            r#"{"trace_flags":01}"#,       // leading zero
            r#"{"trace_flags":1.}"#,       // bare fraction
            r#"{"body":"tab	in string"}"#, // control character
            r#"{"body":"\x"}"#,            // bad escape
            r#"{"body":"\u12"}"#,          // short unicode escape
            r#"{"b\u006fdy":"a"}"#,        // escaped key
            r#"{"attributes":{"k":[1]}}"#, // nested attribute value
            r#"{"attributes":null}"#,      // not an object
            r#"{"body":"a""#,              // unterminated
            r#"{"body":nul}"#,             // bad literal
        ] {
            assert!(scan_line(line, &Default::default()).is_none(), "{line}");
        }
    }
}
