//! [`Attributes`]: the key/value pairs of a record or its resource, packed into one text buffer.
//!
//! A record carries a dozen attributes on average. Held as `Vec<(String, String)>` they cost two heap blocks per
//! pair (and 48 bytes of string headers): most of a record's allocations, frees and memory. Here a set is two
//! blocks whatever its size: the keys and values back to back in one `String`, and the end offset of each key and
//! value in one `Vec<u32>`:
//!
//! ```text
//! text = key₀ value₀ key₁ value₁ … key₍ₙ₋₁₎ value₍ₙ₋₁₎      (no separators)
//! ends = [end(key₀), end(value₀), end(key₁), end(value₁), …]   (byte offsets into text, non-decreasing)
//! ```
//!
//! The two live behind one reference-counted pointer, so a clone shares them: a decoder converts a resource's
//! set once and every record of that resource holds the same set (session 9: ~130 bytes and two allocations
//! less per record; peak memory for 1M generated rows 0.85 → 0.69 GB). The empty set allocates nothing.
//!
//! Entries are sorted by key (byte order) and keys are unique: [`AttributesBuilder::finish`] establishes that for
//! any input, so two sets with the same pairs have the same representation and compare equal. The text of one set
//! is at most [`Attributes::MAX_TEXT`] bytes, so offsets fit a `u32` with room for the few pairs ingest adds later
//! (`service.name`, `$originalTimestamp`).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Attributes of a record or its resource: `(key, value)` pairs sorted by key, keys unique (see the module docs).
///
/// A set is shared, not copied, when cloned: records of one resource (whose set a decoder converts once and
/// clones) hold one set between them. `None` is the empty set (no allocation); a non-empty set is never `None`.
#[derive(Clone, Default)]
pub struct Attributes(Option<Arc<Packed>>);

/// The representation of a non-empty set (see the module docs).
#[derive(PartialEq, Eq)]
struct Packed {
    text: String,
    ends: Vec<u32>,
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }
}

impl Eq for Attributes {}

impl Hash for Attributes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text().hash(state);
        self.ends().hash(state);
    }
}

/// A set of attributes would exceed [`Attributes::MAX_TEXT`] bytes of keys and values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "attribute keys and values exceed {} bytes in all",
    Attributes::MAX_TEXT
)]
pub struct AttributesTooLarge;

impl Attributes {
    /// The most bytes of keys and values one set may hold when built (1 GiB; a set can grow past it only by
    /// [`Attributes::insert`]).
    pub const MAX_TEXT: usize = 1 << 30;

    /// An empty set.
    pub const fn new() -> Self {
        Attributes(None)
    }

    /// The set of a text and its end offsets (already sorted, unique and in range).
    fn from_parts(text: String, ends: Vec<u32>) -> Self {
        if ends.is_empty() {
            Attributes(None)
        } else {
            Attributes(Some(Arc::new(Packed { text, ends })))
        }
    }

    #[inline]
    fn ends(&self) -> &[u32] {
        self.0.as_deref().map_or(&[], |p| &p.ends)
    }

    /// How many pairs the set holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.ends().len() / 2
    }

    /// Whether the set holds no pair.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ends().is_empty()
    }

    /// The bytes of all keys and values together.
    #[inline]
    pub fn text_len(&self) -> usize {
        self.text().len()
    }

    /// All keys and values back to back in key order, without separators (`key₀ value₀ key₁ value₁ …`; see the
    /// module docs): what a serialiser can copy at once, with the pairs' lengths beside it.
    #[inline]
    pub fn text(&self) -> &str {
        self.0.as_deref().map_or("", |p| &p.text)
    }

    /// The byte lengths of each pair's key and value, in key order: with [`Attributes::text`], the whole set.
    pub fn lengths(&self) -> impl ExactSizeIterator<Item = (usize, usize)> + '_ {
        let mut start = 0u32;
        self.ends().chunks_exact(2).map(move |pair| {
            let (key_end, value_end) = (pair[0], pair[1]);
            let lengths = ((key_end - start) as usize, (value_end - key_end) as usize);
            start = value_end;
            lengths
        })
    }

    /// Pair `i` in key order.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    #[inline]
    pub fn entry(&self, i: usize) -> (&str, &str) {
        pair_at(self.text(), self.ends(), i)
    }

    /// The pairs in key order.
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            text: self.text(),
            ends: self.ends(),
            start: 0,
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (k, v) = self.entry(mid);
            match k.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(v),
            }
        }
        None
    }

    /// Sets `key` to `value`, replacing a value it had.
    ///
    /// Unlike a build, an insert may take the text past [`Attributes::MAX_TEXT`] (ingest adds `service.name` and
    /// `$originalTimestamp` to decoded sets).
    ///
    /// # Panics
    /// When the text would exceed `u32::MAX` bytes, which takes a pair of at least 3 GiB.
    pub fn insert(&mut self, key: &str, value: &str) {
        let mut b = AttributesBuilder::for_stored(
            self.len() + 1,
            self.text().len() + key.len() + value.len(),
        );
        let mut pending = Some((key, value));
        for (k, v) in self.iter() {
            if let Some((key, value)) = pending.filter(|(key, _)| *key <= k) {
                b.push(key, value);
                pending = None;
                if key == k {
                    continue;
                }
            }
            b.push(k, v);
        }
        if let Some((key, value)) = pending {
            b.push(key, value);
        }
        debug_assert!(b.in_order);
        *self = b.into_sorted().expect("under u32::MAX bytes");
    }

    /// The address of the storage this set shares with its clones (`None` for an empty set). Two sets with the
    /// same address are equal; while one of them is alive no other set has that address. Sets of equal contents
    /// made apart have different addresses. For caches that would otherwise hash or compare the whole set.
    pub fn share_id(&self) -> Option<usize> {
        self.0.as_ref().map(|p| Arc::as_ptr(p) as usize)
    }

    /// The bytes a set occupies in memory, headers included (for memtable accounting). A shared set is counted
    /// whole by each holder.
    pub fn memory_size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.0.as_deref().map_or(0, |p| {
                2 * std::mem::size_of::<usize>()
                    + std::mem::size_of::<Packed>()
                    + p.text.capacity()
                    + 4 * p.ends.capacity()
            })
    }
}

/// Pair `i` of a text and its end offsets (see the module docs).
#[inline]
fn pair_at<'a>(text: &'a str, ends: &[u32], i: usize) -> (&'a str, &'a str) {
    let start = if i == 0 { 0 } else { ends[2 * i - 1] as usize };
    let key_end = ends[2 * i] as usize;
    let value_end = ends[2 * i + 1] as usize;
    (&text[start..key_end], &text[key_end..value_end])
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Builds a set from pairs in any order, keeping the last value of a repeated key (a sender's later duplicate
/// wins, as with JSON objects and OTLP key/value lists).
impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Attributes {
    /// # Panics
    /// When the pairs hold more than [`Attributes::MAX_TEXT`] bytes; decoders use [`AttributesBuilder`], which
    /// reports that as an error instead.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut b = AttributesBuilder::new();
        for (k, v) in pairs {
            b.push(k.as_ref(), v.as_ref());
        }
        b.finish()
            .expect("attributes under Attributes::MAX_TEXT bytes")
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The pairs of an [`Attributes`] in key order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    text: &'a str,
    /// The end offsets of the pairs not yet returned, two per pair.
    ends: &'a [u32],
    /// Where the first of them starts.
    start: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (&[key_end, value_end], rest) = self.ends.split_first_chunk::<2>()?;
        let (key_end, value_end) = (key_end as usize, value_end as usize);
        let pair = (
            &self.text[self.start..key_end],
            &self.text[key_end..value_end],
        );
        self.ends = rest;
        self.start = value_end;
        Some(pair)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ends.len() / 2, Some(self.ends.len() / 2))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        let (rest, &[key_end, value_end]) = self.ends.split_last_chunk::<2>()?;
        let start = rest.last().map_or(self.start, |&e| e as usize);
        let (key_end, value_end) = (key_end as usize, value_end as usize);
        self.ends = rest;
        Some((&self.text[start..key_end], &self.text[key_end..value_end]))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Collects pairs in the order a sender gave them; [`AttributesBuilder::finish`] sorts them by key and resolves
/// repeated keys (the last one wins, and a key [removed](AttributesBuilder::remove) after its last value is absent).
///
/// Values can be written straight into the set's text ([`AttributesBuilder::push_with`]), so a decoder copies
/// each value once, from the input to its place.
#[derive(Debug)]
pub struct AttributesBuilder {
    text: String,
    ends: Vec<u32>,
    /// Indices of entries that remove their key (values ignored).
    removals: Vec<usize>,
    /// Keys strictly increasing so far and no removal: `finish` has nothing to reorder.
    in_order: bool,
    /// The most bytes of text accepted: [`Attributes::MAX_TEXT`], or `u32::MAX` for an insert.
    limit: usize,
    too_large: bool,
}

impl Default for AttributesBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl AttributesBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::with_capacity(0, 0)
    }

    /// An empty builder with room for `pairs` pairs of `bytes` bytes of keys and values in all.
    pub fn with_capacity(pairs: usize, bytes: usize) -> Self {
        AttributesBuilder {
            text: String::with_capacity(bytes.min(Attributes::MAX_TEXT + 1)),
            ends: Vec::with_capacity(2 * pairs),
            removals: Vec::new(),
            in_order: true,
            limit: Attributes::MAX_TEXT,
            too_large: false,
        }
    }

    /// A builder for a set read back from storage: such a set was built under [`Attributes::MAX_TEXT`] but may
    /// have grown past it by [`Attributes::insert`], so it is refused only beyond what offsets can address.
    pub fn for_stored(pairs: usize, bytes: usize) -> Self {
        let mut b = Self::with_capacity(pairs, bytes.min(u32::MAX as usize));
        b.limit = u32::MAX as usize;
        b
    }

    /// Adds a pair.
    pub fn push(&mut self, key: &str, value: &str) {
        self.push_with(key, |text| {
            text.push_str(value);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
    }

    /// Adds a pair whose value `write` appends to the text it is given (and nothing else). When `write` fails,
    /// the pair is not added and its error is returned.
    pub fn push_with<E>(
        &mut self,
        key: &str,
        write: impl FnOnce(&mut String) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.text.len();
        if self.in_order && self.len() > 0 && self.key(self.len() - 1) >= key {
            self.in_order = false;
        }
        self.text.push_str(key);
        let key_end = self.text.len();
        if let Err(e) = write(&mut self.text) {
            self.text.truncate(start);
            return Err(e);
        }
        // `write` may only append; anything else leaves offsets that do not match the text (later reads panic).
        debug_assert!(
            self.text.len() >= key_end && self.text.as_bytes()[start..key_end] == *key.as_bytes(),
            "AttributesBuilder::push_with: the value writer changed text before the value"
        );
        self.end_entry(key_end);
        Ok(())
    }

    /// Removes `key`: absent from the set unless pushed again later (a JSON `null` value).
    pub fn remove(&mut self, key: &str) {
        self.removals.push(self.len());
        self.in_order = false;
        self.text.push_str(key);
        let key_end = self.text.len();
        self.end_entry(key_end);
    }

    fn end_entry(&mut self, key_end: usize) {
        if self.too_large || self.text.len() > self.limit {
            self.too_large = true;
            // Nothing more is kept: the set is refused at `finish`, and the builder's memory stays bounded.
            self.text.clear();
            self.ends.clear();
            self.removals.clear();
            return;
        }
        self.ends.push(key_end as u32);
        self.ends.push(self.text.len() as u32);
    }

    fn len(&self) -> usize {
        self.ends.len() / 2
    }

    fn key(&self, i: usize) -> &str {
        pair_at(&self.text, &self.ends, i).0
    }

    /// The set: pairs sorted by key, one per key.
    pub fn finish(self) -> Result<Attributes, AttributesTooLarge> {
        if self.too_large {
            return Err(AttributesTooLarge);
        }
        if self.in_order {
            return self.into_sorted();
        }
        // A stable sort keeps a key's entries in arrival order, so the last of each run is the one that counts.
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| self.key(a).cmp(self.key(b)));
        let mut out = AttributesBuilder::with_capacity(order.len(), self.text.len());
        out.limit = self.limit;
        let mut removed = vec![false; order.len()];
        for &i in &self.removals {
            removed[i] = true;
        }
        for (n, &i) in order.iter().enumerate() {
            let (k, v) = pair_at(&self.text, &self.ends, i);
            let last_of_key = order.get(n + 1).is_none_or(|&j| self.key(j) != k);
            if last_of_key && !removed[i] {
                out.push(k, v);
            }
        }
        out.into_sorted()
    }

    /// The set as collected, which must be sorted with unique keys and no removal.
    fn into_sorted(mut self) -> Result<Attributes, AttributesTooLarge> {
        if self.too_large {
            return Err(AttributesTooLarge);
        }
        // Sets live as long as their records (the memtable counts their capacity): a builder that grew by doubling
        // (no size known up front) or reserved for entries a later duplicate replaced gives back a large excess.
        // The decoders' usual reservation (the raw texts, quotes included) stays under this and costs no copy.
        if self.text.capacity() > self.text.len() + self.text.len() / 4 + 64 {
            self.text.shrink_to_fit();
        }
        if self.ends.capacity() > self.ends.len() + 16 {
            self.ends.shrink_to_fit();
        }
        Ok(Attributes::from_parts(self.text, self.ends))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(a: &Attributes) -> Vec<(String, String)> {
        a.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// The reference: a sorted map fed in order, where a removal deletes.
    fn naive(ops: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
        let mut m = std::collections::BTreeMap::new();
        for (k, v) in ops {
            match v {
                Some(v) => m.insert(k.to_string(), v.to_string()),
                None => m.remove(*k),
            };
        }
        m.into_iter().collect()
    }

    #[test]
    fn text_and_lengths_describe_the_pairs() {
        let set: Attributes = [("b", "ü2"), ("", ""), ("a", ""), ("日本", "x")]
            .into_iter()
            .collect();
        let pairs: Vec<(&str, &str)> = set.iter().collect();
        let concatenated: String = pairs.iter().flat_map(|(k, v)| [*k, *v]).collect();
        assert_eq!(set.text(), concatenated);
        let lengths: Vec<(usize, usize)> = set.lengths().collect();
        let expected: Vec<(usize, usize)> = pairs.iter().map(|(k, v)| (k.len(), v.len())).collect();
        assert_eq!(lengths, expected);
        assert_eq!(set.lengths().len(), 4);
        assert_eq!(Attributes::new().lengths().count(), 0);
        assert_eq!(Attributes::new().text(), "");
    }

    #[test]
    fn builds_sorted_unique_sets_whatever_the_input_order() {
        let cases: &[&[(&str, Option<&str>)]] = &[
            &[],
            &[("a", Some("1"))],
            &[("a", Some("1")), ("b", Some(""))],
            &[("b", Some("2")), ("a", Some("1"))],
            &[("a", Some("1")), ("a", Some("2"))],
            &[("a", Some("1")), ("a", None)],
            &[("a", None), ("a", Some("3"))],
            &[("a", Some("1")), ("a", None), ("a", Some("2")), ("b", None)],
            &[
                ("", Some("empty key")),
                ("z", Some("")),
                ("é", Some("x")),
                ("e", Some("y")),
            ],
            &[
                ("k", Some("v")),
                ("j", Some("w")),
                ("k", Some("last")),
                ("i", None),
            ],
        ];
        for ops in cases {
            let mut b = AttributesBuilder::new();
            for (k, v) in *ops {
                match v {
                    Some(v) => b.push(k, v),
                    None => b.remove(k),
                }
            }
            let a = b.finish().expect("small");
            assert_eq!(pairs(&a), naive(ops), "{ops:?}");
            assert_eq!(a.len(), naive(ops).len());
            assert_eq!(
                a.text_len(),
                naive(ops)
                    .iter()
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>()
            );
            for (k, v) in naive(ops) {
                assert_eq!(a.get(&k), Some(v.as_str()));
            }
            assert_eq!(a.get("absent"), None);
            let reversed: Vec<_> = a.iter().rev().collect();
            assert_eq!(reversed.len(), a.len());
            assert!(reversed.into_iter().rev().eq(a.iter()));
        }
    }

    #[test]
    fn equal_pairs_are_equal_sets() {
        let a: Attributes = [("b", "2"), ("a", "1")].into_iter().collect();
        let b: Attributes = [("a", "0"), ("a", "1"), ("b", "2")].into_iter().collect();
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), r#"{"a": "1", "b": "2"}"#);
    }

    #[test]
    fn insert_adds_or_replaces_in_key_order() {
        let mut a: Attributes = [("b", "2"), ("d", "4")].into_iter().collect();
        for (k, v) in [
            ("c", "3"),
            ("a", "1"),
            ("e", "5"),
            ("c", "33"),
            ("a", ""),
            ("e", "55"),
        ] {
            a.insert(k, v);
        }
        let expected: Attributes = [("a", ""), ("b", "2"), ("c", "33"), ("d", "4"), ("e", "55")]
            .into_iter()
            .collect();
        assert_eq!(a, expected);
        let mut empty = Attributes::new();
        empty.insert("k", "v");
        assert_eq!(pairs(&empty), [("k".to_owned(), "v".to_owned())]);
    }

    #[test]
    fn a_failed_value_leaves_nothing_behind() {
        let mut b = AttributesBuilder::new();
        b.push("a", "1");
        assert_eq!(
            b.push_with("b", |t| {
                t.push_str("partial");
                Err("bad")
            }),
            Err("bad")
        );
        b.push("c", "3");
        let a = b.finish().expect("small");
        assert_eq!(
            pairs(&a),
            [("a".into(), "1".into()), ("c".into(), "3".into())]
        );
    }

    #[test]
    fn a_default_builder_is_an_empty_one() {
        let mut b = AttributesBuilder::default();
        b.push("k", "v");
        assert_eq!(
            pairs(&b.finish().expect("small")),
            [("k".into(), "v".into())]
        );
    }

    #[test]
    fn finished_sets_do_not_keep_a_large_excess() {
        // Grown by doubling (no size known up front), or reserved for duplicates that a later entry replaced.
        let mut grown = AttributesBuilder::for_stored(0, 0);
        let mut reserved = AttributesBuilder::with_capacity(2, 10_000);
        for i in 0..100 {
            grown.push(&format!("key{i:03}"), "a value of some length");
            reserved.push("k", &"x".repeat(i));
        }
        for (a, len) in [(grown.finish(), 100 * 28), (reserved.finish(), 1 + 99)] {
            let a = a.expect("small");
            assert_eq!(a.text_len(), len);
            let shared_block = 2 * std::mem::size_of::<usize>() + std::mem::size_of::<Packed>();
            assert!(
                a.memory_size()
                    <= std::mem::size_of::<Attributes>()
                        + shared_block
                        + len
                        + len / 4
                        + 64
                        + 4 * (a.ends().len() + 16)
            );
        }
    }

    #[test]
    fn clones_share_and_equality_is_by_content() {
        let a: Attributes = [("host.name", "h-1"), ("service.name", "api")]
            .into_iter()
            .collect();
        let shared = a.clone();
        let rebuilt: Attributes = [("service.name", "api"), ("host.name", "h-1")]
            .into_iter()
            .collect();
        assert!(Arc::ptr_eq(
            a.0.as_ref().expect("non-empty"),
            shared.0.as_ref().expect("non-empty")
        ));
        assert_eq!(a, shared);
        assert_eq!(a, rebuilt, "equal content, separate allocations");
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        assert_eq!(state.hash_one(&a), state.hash_one(&rebuilt));
        // Changing a clone leaves the original alone.
        let mut changed = shared.clone();
        changed.insert("region", "eu");
        assert_eq!(changed.get("region"), Some("eu"));
        assert_eq!(a.get("region"), None);
        assert_eq!(shared, a);
        assert_ne!(changed, a);
        // Empty sets: however made, equal, and no allocation.
        let empty_built = AttributesBuilder::new().finish().expect("empty");
        let mut removed = AttributesBuilder::new();
        removed.push("k", "v");
        removed.remove("k");
        let empty_removed = removed.finish().expect("empty");
        for e in [&empty_built, &empty_removed, &Attributes::default()] {
            assert!(e.0.is_none());
            assert_eq!(*e, Attributes::new());
            assert_eq!(state.hash_one(e), state.hash_one(Attributes::new()));
        }
        assert_ne!(Attributes::new(), a);
    }

    #[test]
    fn sets_over_the_limit_are_refused() {
        let mut b = AttributesBuilder::new();
        b.limit = 10;
        b.push("a", "1234");
        b.push("b", "1234");
        assert_eq!(b.text.len(), 10);
        b.push("c", "x");
        b.push("d", "");
        assert_eq!(b.text.len(), 0, "nothing more is kept once over");
        assert_eq!(b.finish(), Err(AttributesTooLarge));
        // The limit is the real one otherwise.
        assert_eq!(AttributesBuilder::new().limit, Attributes::MAX_TEXT);
    }
}
