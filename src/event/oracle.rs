//! The event reading as it was before `crate::json` (serde_json with tolerant visitors), kept
//! as an oracle: the tests compare the two on mutated events.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{Body, Context, Fields, HttpEvent, MAX_RAW_BODY_CHARS};

macro_rules! tolerate {
    (@ bool $default:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($default)
        }
    };
    (@ unit $default:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($default)
        }
    };
    (@ str $default:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($default)
        }
    };
    (@ seq $default:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($default)
        }
    };
    (@ map $default:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($default)
        }
    };
    ($default:expr) => {
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($default)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($default)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($default)
        }
    };
    ($default:expr, $($kind:ident),+) => {
        tolerate!($default);
        $(tolerate!(@ $kind $default);)+
    };
}

/// The former `HttpEvent::from_slice`.
/// Reads a Lambda payload in one tolerant pass: any bytes give an event. Whatever the
/// deserialiser cannot read (text that is not JSON, a string that is not UTF-8 or holds a
/// lone surrogate escape) makes the event unreadable, answered 400, never an invocation
/// error.
pub fn from_slice(payload: &[u8]) -> HttpEvent {
    serde_json::from_slice::<Tolerant>(payload).map_or_else(
        |e| HttpEvent {
            unreadable: Some(e.to_string()),
            ..HttpEvent::unknown()
        },
        |event| event.0,
    )
}

/// The tolerant reading of an event's JSON.
struct Tolerant(HttpEvent);

impl<'de> Deserialize<'de> for Tolerant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HttpEvent;
            // Anything but an object is valid JSON, but not an HTTP event.
            tolerate!(HttpEvent::unknown(), bool, unit, str, seq);

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HttpEvent, A::Error> {
                let mut f = Fields::default();
                while let Some(key) = map.next_key::<Text>()? {
                    match key.0.as_deref().unwrap_or("") {
                        "version" => f.version = map.next_value::<Text>()?.0,
                        "httpMethod" => f.http_method = map.next_value::<Text>()?.0.is_some(),
                        "routeKey" | "rawPath" => {
                            f.http_v2_shape |= map.next_value::<Text>()?.0.is_some()
                        }
                        "headers" => f.headers = map.next_value::<HeaderList>()?.0,
                        "multiValueHeaders" => {
                            f.multi_value_headers = Some(map.next_value::<HeaderList>()?.0)
                        }
                        "body" => f.body = map.next_value::<Body>()?,
                        "isBase64Encoded" => f.base64 = map.next_value::<Flag>()?.0,
                        "requestContext" => f.context = map.next_value::<Context>()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(f.into_event())
            }
        }
        deserializer.deserialize_any(V).map(Tolerant)
    }
}

/// A short string (a key, a version, a header), or `None` for anything else or anything longer
/// than 16 KiB (API Gateway's own header limit is 10 KiB). Borrowed from the event unless it
/// holds escapes.
struct Text<'de>(Option<Cow<'de, str>>);

const MAX_TEXT_BYTES: usize = 16 * 1024;

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Cow<'de, str>>;
            tolerate!(None, bool, unit, seq, map);
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok((v.len() <= MAX_TEXT_BYTES).then_some(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok((v.len() <= MAX_TEXT_BYTES).then(|| Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V).map(Text)
    }
}

/// `body`: kept only when it is a string no longer than a base64 body of [`MAX_BODY_BYTES`].
impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Body;
            tolerate!(Body::NotText, bool, seq, map);
            fn visit_unit<E: de::Error>(self) -> Result<Body, E> {
                Ok(Body::Absent) // "body": null, as API Gateway sends for no body
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Body, E> {
                Ok(match v.len() {
                    n if n > MAX_RAW_BODY_CHARS => Body::TooLarge,
                    _ => Body::Text(v.to_string()),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `isBase64Encoded`: a boolean, or the string "true" as some tools write it.
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = bool;
            tolerate!(false, unit, seq, map);
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
                Ok(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
                Ok(v.trim().eq_ignore_ascii_case("true"))
            }
        }
        d.deserialize_any(V).map(Flag)
    }
}

/// `headers` / `multiValueHeaders`: name → string, or name → list of strings (the first is
/// kept). Anything else is skipped.
struct HeaderList<'de>(Vec<(Cow<'de, str>, Cow<'de, str>)>);

impl<'de> Deserialize<'de> for HeaderList<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(Cow<'de, str>, Cow<'de, str>)>;
            tolerate!(Vec::new(), bool, unit, str, seq);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<Text>()? {
                    let value = map.next_value::<FirstText>()?.0;
                    if let (Some(name), Some(value)) = (name.0, value) {
                        out.push((name, value));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V).map(HeaderList)
    }
}

/// One header's value: a string, or the first string of a list.
struct FirstText<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for FirstText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Cow<'de, str>>;
            tolerate!(None, bool, unit, map);
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok((v.len() <= MAX_TEXT_BYTES).then_some(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok((v.len() <= MAX_TEXT_BYTES).then(|| Cow::Owned(v.to_string())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut first = None;
                while let Some(v) = seq.next_element::<Text>()? {
                    first = first.or(v.0);
                }
                Ok(first)
            }
        }
        d.deserialize_any(V).map(FirstText)
    }
}

/// `requestContext`: only which keys are there.
impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Context;
            tolerate!(Context::default(), bool, unit, str, seq);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
                let mut c = Context::default();
                while let Some(key) = map.next_key::<Text>()? {
                    map.next_value::<IgnoredAny>()?;
                    match key.0.as_deref().unwrap_or("") {
                        "elb" => c.elb = true,
                        "httpMethod" => c.http_method = true,
                        "http" => c.http = true,
                        _ => {}
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_any(V)
    }
}
