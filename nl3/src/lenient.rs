//! Field types for reading JSON that others write (Lambda events, Okta's body): each takes any
//! JSON value and keeps it only when it has the expected kind, so a field of the wrong type counts
//! as absent instead of failing the whole document. What is kept is decoded strictly: a string
//! that cannot be text (a lone surrogate escape) or a field repeated in one object fails the
//! document, never reads as absent.
//!
//! A leaf: imports nothing from the crate.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What a lenient field makes of each kind of JSON value. A kind it does not take is still read
/// (so still checked to be JSON) and becomes [`other`](Lenient::other).
pub trait Lenient<'de>: Sized {
    /// A value of a kind this field does not take.
    fn other() -> Self;

    fn from_str(_: Cow<'de, str>) -> Self {
        Self::other()
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::other())
    }

    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::other())
    }
}

/// Deserializes any JSON value as the lenient field `T` (for its `Deserialize` impl).
pub fn deserialize<'de, T: Lenient<'de>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(AnyValue(PhantomData))
}

struct AnyValue<T>(PhantomData<T>);

impl<'de, T: Lenient<'de>> Visitor<'de> for AnyValue<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_unit<E: Error>(self) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<T, E> {
        Ok(T::from_str(Cow::Borrowed(v)))
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: Error>(self, v: String) -> Result<T, E> {
        Ok(T::from_str(Cow::Owned(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::from_seq(seq)
    }
}

/// Declares structs that read only some paths of a JSON document, a line or two a struct: each
/// field lenient ([`Text`], [`Obj`]), absent by default, borrowed where it can be, read from its
/// own name or the JSON name after `as`. (The caller depends on `serde` with `derive`.)
#[macro_export]
macro_rules! paths {
    ($($name:ident { $($field:ident $(as $json:literal)?: $ty:ty),* })*) => {$(
        #[derive(serde::Deserialize)]
        struct $name<'a> {
            $(#[serde(borrow, default $(, rename = $json)?)] $field: $ty,)*
        }
    )*};
}

/// A JSON string at a path the hook reads.
#[derive(Debug, Default)]
pub enum Text<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    /// Present, but not a string.
    Other,
}

impl Text<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Text::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A non-blank string, trimmed; anything else counts as absent.
    pub fn text(&self) -> Option<String> {
        let text = self.as_str()?.trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

impl<'de: 'a, 'a> Lenient<'de> for Text<'a> {
    fn other() -> Self {
        Text::Other
    }

    fn from_str(s: Cow<'de, str>) -> Self {
        Text::Str(s)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize(d)
    }
}

/// A JSON object read as `T`; anything else counts as absent.
#[derive(Debug)]
pub struct Obj<T>(Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T> Obj<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de, T: Deserialize<'de>> Lenient<'de> for Obj<T> {
    fn other() -> Self {
        Obj(None)
    }

    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize(d)
    }
}

/// Whether a field is there at all, whatever its value (`null` included).
#[derive(Debug, Default, Clone, Copy)]
pub struct Present(pub bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}
