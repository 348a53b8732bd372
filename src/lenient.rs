//! Lenient readers of server JSON: a [`Read`] takes one value straight from the bytes (no
//! JSON tree), keeps only what its caller uses, and skips any shape it does not expect instead
//! of failing, so one odd part of an answer costs only itself. Only malformed JSON, or an error
//! a reader raises itself, fails the whole answer.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A reader of one JSON value that never fails on an unexpected shape: an object goes to
/// `map`, a list to `seq`, a string to `text`, and what a reader does not take (every other
/// scalar, by default every shape) is skipped and gives `skipped`.
pub trait Read<'de>: Sized {
    type Value;

    fn skipped(self) -> Self::Value;

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(self.skipped())
    }

    fn seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.skipped())
    }

    fn text(self, _: Cow<'de, str>) -> Self::Value {
        self.skipped()
    }
}

/// A [`Read`] as serde's seed and visitor.
pub struct Lenient<R>(pub R);

impl<'de, R: Read<'de>> DeserializeSeed<'de> for Lenient<R> {
    type Value = R::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<R::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de, R: Read<'de>> Visitor<'de> for Lenient<R> {
    type Value = R::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<R::Value, A::Error> {
        self.0.map(map)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<R::Value, S::Error> {
        self.0.seq(seq)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<R::Value, E> {
        Ok(self.0.text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<R::Value, E> {
        Ok(self.0.text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<R::Value, E> {
        Ok(self.0.text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<R::Value, E> {
        Ok(self.0.skipped())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<R::Value, E> {
        Ok(self.0.skipped())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<R::Value, E> {
        Ok(self.0.skipped())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<R::Value, E> {
        Ok(self.0.skipped())
    }

    fn visit_unit<E: de::Error>(self) -> Result<R::Value, E> {
        Ok(self.0.skipped())
    }
}

/// The next key of an object (JSON keys are strings).
pub fn next_key<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    Ok(map
        .next_key_seed(Lenient(TextReader))?
        .map(Option::unwrap_or_default))
}

pub fn next_value<'de, A: MapAccess<'de>, R: Read<'de>>(
    map: &mut A,
    reader: R,
) -> Result<R::Value, A::Error> {
    map.next_value_seed(Lenient(reader))
}

/// A `_links` object: when well-formed (every entry a link or a list of links, as
/// [`Resource`](crate::hal::Resource) requires), the hrefs of the rels asked for, in their
/// order (matched case-insensitively as `Resource::link` does; the first of a list); `None`
/// when malformed.
pub struct LinksReader<const N: usize>(pub [&'static str; N]);

impl<'de, const N: usize> Read<'de> for LinksReader<N> {
    type Value = Option<[Option<Cow<'de, str>>; N]>;

    fn skipped(self) -> Self::Value {
        None
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut hrefs, mut ok) = (std::array::from_fn(|_| None), true);
        while let Some(key) = next_key(&mut map)? {
            let link = next_value(&mut map, LinkReader { in_list: false })?;
            ok &= link.is_some();
            if let Some(i) = self.0.iter().position(|r| r.eq_ignore_ascii_case(&key)) {
                hrefs[i] = link.flatten();
            }
        }
        Ok(ok.then_some(hrefs))
    }
}

/// One `_links` entry: `Some(href)` for a link object with a string `href`, or a list of
/// them (`Some(None)` when empty); `None` when malformed.
pub struct LinkReader {
    in_list: bool,
}

impl<'de> Read<'de> for LinkReader {
    type Value = Option<Option<Cow<'de, str>>>;

    fn skipped(self) -> Self::Value {
        None
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut href, mut ok) = (None, true);
        while let Some(key) = next_key(&mut map)? {
            if key == "href" {
                let value = next_value(&mut map, TextReader)?;
                // Not a string, or a second `href`: not a link.
                ok &= value.is_some() && href.is_none();
                href = value;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((ok && href.is_some()).then_some(href))
    }

    fn seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let (mut first, mut ok) = (None, !self.in_list);
        while let Some(link) = seq.next_element_seed(Lenient(LinkReader { in_list: true }))? {
            ok &= link.is_some();
            first = first.or(Some(link.flatten()));
        }
        Ok(ok.then(|| first.flatten()))
    }
}

/// Whether a value is an object (its content skipped).
pub struct IsMap;

impl<'de> Read<'de> for IsMap {
    type Value = bool;

    fn skipped(self) -> bool {
        false
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(true)
    }
}

/// A string, borrowed from the answer where it has no escapes; any other value is skipped.
pub struct TextReader;

impl<'de> Read<'de> for TextReader {
    type Value = Option<Cow<'de, str>>;

    fn skipped(self) -> Self::Value {
        None
    }

    fn text(self, v: Cow<'de, str>) -> Self::Value {
        Some(v)
    }
}
