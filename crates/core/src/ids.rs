//! Identifiers: trace and span ids on input (hex or base64) and output (uppercase hex), and UUIDv7 generation.

use base64::Engine as _;

/// Parses a trace or span id given as text: exactly `2 * N` hex digits, or base64 (standard or URL-safe, with or
/// without padding) of exactly `N` bytes. Anything else, the empty string included, is the all-zero id, as PostHog
/// stores ids that are not exactly 16/8 bytes (spec §1.5).
pub fn parse_id<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let bytes = text.as_bytes();
    if bytes.len() == 2 * N {
        // One table lookup per digit both checks and converts it (`NOT_HEX` has bits above the low four).
        let mut bad = 0;
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let (hi, lo) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
            bad |= hi | lo;
            *o = (hi << 4) | (lo & 0x0f);
        }
        if bad & !0x0f == 0 {
            return out;
        }
    }
    base64_id(bytes)
}

/// The base64 reading of [`parse_id`]: `N` bytes in any of the four alphabets/paddings, else zero.
fn base64_id<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        if let Ok(decoded) = engine.decode(bytes)
            && decoded.len() == N
        {
            out.copy_from_slice(&decoded);
            return out;
        }
    }
    [0u8; N]
}

/// An id of exactly `N` raw bytes (OTLP protobuf and OTLP JSON after hex decoding); any other length is zero.
pub fn id_from_bytes<const N: usize>(bytes: &[u8]) -> [u8; N] {
    <[u8; N]>::try_from(bytes).unwrap_or([0u8; N])
}

const NOT_HEX: u8 = 0xff;

/// The value of each hex digit (either case); [`NOT_HEX`] for every other byte.
const HEX: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        t[b"0123456789abcdef"[i] as usize] = i as u8;
        t[b"0123456789ABCDEF"[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Uppercase hex, the rendering of trace and span ids in every response (spec §3.1).
pub fn to_upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Generates UUIDv7 values (RFC 9562) that increase strictly in generation order.
///
/// Layout: 48-bit Unix milliseconds, version `7`, then 74 bits that hold a counter. On a new millisecond the
/// counter restarts from a value derived from `(seed, millisecond)` with its top bits clear, so ids stay hard to
/// guess yet there is room for billions of increments; within a millisecond it increments. A clock that goes
/// backwards does not make ids go backwards: the last millisecond is kept. Given the same seed and the same
/// sequence of clock readings the ids are identical, which keeps tests deterministic.
#[derive(Debug, Clone)]
pub struct UuidV7Generator {
    seed: u64,
    last_ms: u64,
    counter: u128,
}

const COUNTER_BITS: u32 = 74;

impl UuidV7Generator {
    /// A generator whose random part derives from `seed`.
    pub fn new(seed: u64) -> Self {
        UuidV7Generator {
            seed,
            last_ms: 0,
            counter: 0,
        }
    }

    /// The next id for a clock reading of `now_ms` milliseconds since the epoch.
    pub fn next(&mut self, now_ms: u64) -> [u8; 16] {
        let now_ms = now_ms & ((1 << 48) - 1);
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            let h = xxhash_rust::xxh3::xxh3_128_with_seed(&now_ms.to_le_bytes(), self.seed);
            // Keep 64 of the 74 bits random and 10 bits of headroom for increments.
            self.counter = h & ((1u128 << (COUNTER_BITS - 10)) - 1);
        } else {
            self.counter += 1;
            if self.counter >> COUNTER_BITS != 0 {
                // 2^74 ids in one millisecond cannot happen; borrow the next millisecond to stay monotonic.
                self.last_ms += 1;
                self.counter = 0;
            }
        }
        let rand_a = ((self.counter >> 62) & 0xFFF) as u64;
        let rand_b = (self.counter & ((1u128 << 62) - 1)) as u64;
        let hi = (self.last_ms << 16) | (0x7 << 12) | rand_a;
        let lo = (0b10u64 << 62) | rand_b;
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&hi.to_be_bytes());
        out[8..].copy_from_slice(&lo.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_hex_and_base64() {
        let hex = "49f27147a67ffb2a60b1f1c9cd2bd1d3";
        let t: [u8; 16] = parse_id(hex);
        assert_eq!(to_upper_hex(&t), hex.to_uppercase());
        let upper: [u8; 16] = parse_id(&hex.to_uppercase());
        assert_eq!(upper, t);
        let b64 = base64::engine::general_purpose::STANDARD.encode(t);
        assert_eq!(parse_id::<16>(&b64), t);
        assert_eq!(parse_id::<16>(b64.trim_end_matches('=')), t);
        let s: [u8; 8] = parse_id("49f27147a67ffb2a");
        assert_eq!(to_upper_hex(&s), "49F27147A67FFB2A");
        // Wrong lengths and garbage are the zero id.
        assert_eq!(parse_id::<16>(""), [0; 16]);
        assert_eq!(parse_id::<16>("49f27147a67ffb2a"), [0; 16]);
        assert_eq!(parse_id::<8>("zz"), [0; 8]);
        assert_eq!(parse_id::<8>("49f27147a67ffb2g"), [0; 8]);
        assert_eq!(id_from_bytes::<8>(&[1, 2, 3]), [0; 8]);
        assert_eq!(id_from_bytes::<2>(&[1, 2]), [1, 2]);
    }

    #[test]
    fn every_byte_in_every_digit_position_reads_as_the_naive_parser_does() {
        let naive = |s: &[u8]| -> [u8; 8] {
            if !s.iter().all(u8::is_ascii_hexdigit) {
                return base64_id(s);
            }
            let digit = |c: u8| (c as char).to_digit(16).expect("hex") as u8;
            let mut out = [0; 8];
            for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
                *o = digit(pair[0]) << 4 | digit(pair[1]);
            }
            out
        };
        let base = *b"0123456789abcDEF";
        for position in 0..base.len() {
            for byte in 0..=255u8 {
                let mut s = base;
                s[position] = byte;
                // Only valid UTF-8 reaches the parser.
                let Ok(text) = std::str::from_utf8(&s) else {
                    continue;
                };
                assert_eq!(parse_id::<8>(text), naive(&s), "{s:?}");
            }
        }
    }

    #[test]
    fn uuid_v7_is_valid_and_monotonic() {
        let mut g = UuidV7Generator::new(42);
        let mut prev = [0u8; 16];
        for (i, ms) in [1000u64, 1000, 1000, 999, 1001, 1001, 5000]
            .into_iter()
            .enumerate()
        {
            let id = g.next(ms);
            let u = uuid::Uuid::from_bytes(id);
            assert_eq!(u.get_version_num(), 7, "{u}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
            assert!(id > prev, "id {i} not increasing");
            prev = id;
        }
        // Deterministic for a seed, different across seeds.
        let a: Vec<_> = (0..3).map(|_| UuidV7Generator::new(1).next(7)).collect();
        assert_eq!(a[0], a[1]);
        assert_ne!(
            UuidV7Generator::new(1).next(7),
            UuidV7Generator::new(2).next(7)
        );
    }
}
