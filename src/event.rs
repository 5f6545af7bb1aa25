//! The Lambda event edge: whatever JSON Lambda delivers becomes an [`HttpEvent`] (never a
//! deserialization error, never a panic), and every answer goes back in the response shape of
//! the event that asked (API Gateway REST v1, HTTP API v2 and Function URLs, ALB).
//!
//! Decoding is tolerant and takes only what the hook needs: the headers, the body, its base64
//! flag and the event's kind. A field of the wrong type counts as absent; a header whose name or
//! value is not valid HTTP is dropped. A body over [`MAX_BODY_BYTES`] (Okta's are a few KiB) is
//! refused before it is copied, unescaped further or decoded from base64, so a 6 MB event costs
//! the runtime's own buffers and nothing more.
//!
//! (Why not lambda_http: its conversion panics on events it cannot turn into an `http::Request`
//! — a Host that is no authority, a body flagged base64 that is not, a REST event without
//! `httpMethod`, a query string with a space — and the runtime reports the panic as an
//! invocation error, which Okta treats as "issue the token unchecked".)
//!
//! A leaf: imports nothing from the crate.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The largest body the hook reads. Okta's inline hook requests are a few KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The largest raw `body` string kept: a base64 body of [`MAX_BODY_BYTES`] is 4/3 of it.
const MAX_RAW_BODY_CHARS: usize = MAX_BODY_BYTES / 3 * 4 + 4;

/// Which event shape Lambda delivered, so the answer can take the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// API Gateway REST API (payload 1.0).
    RestV1,
    /// API Gateway HTTP API (payload 2.0) and Lambda Function URLs.
    HttpV2,
    /// Application Load Balancer; `multi_value` when the target group sends multi-value headers
    /// (then the answer must use them too).
    Alb { multi_value: bool },
    /// Not an HTTP event at all (a direct invocation, a test event).
    Unknown,
}

/// Why an event cannot be read as an HTTP request: answered 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not an API Gateway, Function URL or load balancer event")]
    NotHttp,
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("request body is flagged base64 but is not base64")]
    NotBase64,
    #[error("request body is not a string")]
    NotText,
    /// Valid JSON whose strings cannot be read as text (a lone UTF-16 surrogate escape).
    #[error("the event cannot be read: {0}")]
    Unreadable(String),
}

#[derive(Debug, Default)]
enum Body {
    #[default]
    Absent,
    Text(String),
    TooLarge,
    NotText,
}

/// What the hook reads from a Lambda event.
#[derive(Debug)]
pub struct HttpEvent {
    pub kind: EventKind,
    pub headers: HeaderMap,
    body: Body,
    base64: bool,
    /// Why the event could not be read at all, if so.
    unreadable: Option<String>,
}

impl HttpEvent {
    /// The request body, decoded from base64 when the event says so (else not copied).
    pub fn body(&self) -> Result<Cow<'_, [u8]>, EventError> {
        if let Some(why) = &self.unreadable {
            return Err(EventError::Unreadable(why.clone()));
        }
        if self.kind == EventKind::Unknown {
            return Err(EventError::NotHttp);
        }
        let text = match &self.body {
            Body::Absent => return Ok(Cow::Borrowed(&[])),
            Body::TooLarge => return Err(EventError::TooLarge),
            Body::NotText => return Err(EventError::NotText),
            Body::Text(text) => text,
        };
        if !self.base64 {
            return match text.len() {
                n if n > MAX_BODY_BYTES => Err(EventError::TooLarge),
                _ => Ok(Cow::Borrowed(text.as_bytes())),
            };
        }
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
        let trimmed = text.trim();
        STANDARD
            .decode(trimmed)
            .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
            .map(Cow::Owned)
            .map_err(|_| EventError::NotBase64)
    }
}

/// The answer in the shape of the event that asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpResponse {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    #[serde(rename = "statusDescription", skip_serializing_if = "Option::is_none")]
    status_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<ContentType<&'static str>>,
    #[serde(rename = "multiValueHeaders", skip_serializing_if = "Option::is_none")]
    multi_value_headers: Option<ContentType<[&'static str; 1]>>,
    pub body: String,
    #[serde(rename = "isBase64Encoded")]
    is_base64_encoded: bool,
    /// Payload 2.0 has `cookies`; cargo-lambda's emulator (`aws_lambda_events`) requires it.
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<Vec<String>>,
}

impl HttpResponse {
    /// A JSON answer for an event of `kind`.
    pub fn json(kind: EventKind, status: u16, body: String) -> Self {
        const JSON: &str = "application/json";
        let (headers, multi_value_headers, status_description) = match kind {
            EventKind::Alb { multi_value: true } => (
                None,
                Some(ContentType { value: [JSON] }),
                Some(status_line(status)),
            ),
            EventKind::Alb { multi_value: false } => (
                Some(ContentType { value: JSON }),
                None,
                Some(status_line(status)),
            ),
            _ => (Some(ContentType { value: JSON }), None, None),
        };
        Self {
            status_code: status,
            status_description,
            headers,
            multi_value_headers,
            body,
            is_base64_encoded: false,
            cookies: (kind == EventKind::HttpV2).then(Vec::new),
        }
    }
}

/// The answer's one header, as a value or (multi-value headers) a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ContentType<T> {
    #[serde(rename = "content-type")]
    value: T,
}

/// ALB wants `statusDescription` as "200 OK".
fn status_line(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_string()
}

// ---- tolerant decoding -------------------------------------------------------------------
//
// Each field has a visitor that accepts every JSON type: what it expects is read, anything else
// is skipped and counts as absent. `tolerate!` writes the "anything else" methods.

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

/// What the top level of an event told us (its strings borrowed from the event where they can
/// be).
#[derive(Default)]
struct Fields<'de> {
    version: Option<Cow<'de, str>>,
    http_method: bool,
    http_v2_shape: bool,
    headers: Vec<(Cow<'de, str>, Cow<'de, str>)>,
    multi_value_headers: Option<Vec<(Cow<'de, str>, Cow<'de, str>)>>,
    body: Body,
    base64: bool,
    context: Context,
}

#[derive(Default)]
struct Context {
    elb: bool,
    http_method: bool,
    http: bool,
}

impl HttpEvent {
    fn unknown() -> Self {
        Self {
            kind: EventKind::Unknown,
            headers: HeaderMap::new(),
            body: Body::Absent,
            base64: false,
            unreadable: None,
        }
    }

    /// Reads a Lambda payload in one tolerant pass: any bytes give an event. Whatever the
    /// deserialiser cannot read (text that is not JSON, a string that is not UTF-8 or holds a
    /// lone surrogate escape) makes the event unreadable, answered 400, never an invocation
    /// error.
    pub fn from_slice(payload: &[u8]) -> Self {
        serde_json::from_slice::<Tolerant>(payload).map_or_else(
            |e| Self {
                unreadable: Some(e.to_string()),
                ..Self::unknown()
            },
            |event| event.0,
        )
    }
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

impl Fields<'_> {
    fn into_event(self) -> HttpEvent {
        let kind = if self.context.elb {
            EventKind::Alb {
                multi_value: self.multi_value_headers.is_some(),
            }
        } else if self.version.as_deref() == Some("2.0") || self.http_v2_shape || self.context.http
        {
            EventKind::HttpV2
        } else if self.http_method
            || self.context.http_method
            || self.version.as_deref() == Some("1.0")
            || !self.headers.is_empty()
            || self.multi_value_headers.is_some()
            || !matches!(self.body, Body::Absent)
        {
            EventKind::RestV1
        } else {
            EventKind::Unknown
        };
        // Single-value headers win; multi-value ones fill in what they lack (REST v1 sends both).
        let mut headers = HeaderMap::new();
        for (name, value) in self
            .headers
            .into_iter()
            .chain(self.multi_value_headers.unwrap_or_default())
        {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) else {
                continue;
            };
            headers.entry(name).or_insert(value);
        }
        HttpEvent {
            kind,
            headers,
            body: self.body,
            base64: self.base64,
            unreadable: None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: serde_json::Value) -> HttpEvent {
        HttpEvent::from_slice(&serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn every_json_value_is_an_event() {
        for v in [
            json!(null),
            json!(1),
            json!("x"),
            json!([1, 2]),
            json!({}),
            json!({"headers": 5, "body": {"a": 1}, "isBase64Encoded": "yes", "requestContext": []}),
        ] {
            let e = event(v.clone());
            assert!(e.body().is_err() || e.kind != EventKind::Unknown, "{v}");
        }
        assert_eq!(event(json!([])).body(), Err(EventError::NotHttp));
        // Valid JSON that serde cannot read as text (the fuzzer's find): still an event.
        let lone_surrogate = br#"{"httpMethod": "POST", "body": "\ud800"}"#;
        let e = HttpEvent::from_slice(lone_surrogate);
        assert!(matches!(e.body(), Err(EventError::Unreadable(_))), "{e:?}");
        // Bytes that are not UTF-8, not JSON at all, or JSON with more after it.
        for bytes in [
            &b"{\"httpMethod\": \"POST\", \"body\": \"\xb6\"}"[..],
            b"{\"httpMethod\": \"POST\", \"body\": ",
            b"{\"httpMethod\": \"POST\"} {}",
            b"",
        ] {
            let e = HttpEvent::from_slice(bytes);
            assert!(matches!(e.body(), Err(EventError::Unreadable(_))), "{e:?}");
        }
    }

    #[test]
    fn kinds_come_from_the_event_shape() {
        let rest =
            json!({"httpMethod": "POST", "headers": {}, "requestContext": {"httpMethod": "POST"}});
        assert_eq!(event(rest).kind, EventKind::RestV1);
        let http = json!({"version": "2.0", "routeKey": "POST /okta/hook", "requestContext": {"http": {}}});
        assert_eq!(event(http).kind, EventKind::HttpV2);
        let alb = json!({"requestContext": {"elb": {}}, "multiValueHeaders": {"a": ["1", "2"]}});
        assert_eq!(event(alb).kind, EventKind::Alb { multi_value: true });
        // A REST event without httpMethod anywhere still reads as one.
        assert_eq!(event(json!({"body": "{}"})).kind, EventKind::RestV1);
    }

    #[test]
    fn headers_are_read_tolerantly() {
        let e = event(json!({
            "httpMethod": "POST",
            "headers": {"Authorization": "k1", "bad name": "x", "X-Num": 5, "X-Nl": "a\nb"},
            "multiValueHeaders": {"Authorization": ["k2"], "X-Multi": ["m1", "m2"], "X-Empty": []},
        }));
        assert_eq!(e.headers["authorization"], "k1");
        assert_eq!(e.headers["x-multi"], "m1");
        assert!(e.headers.get("x-num").is_none());
        assert!(e.headers.get("x-nl").is_none());
        assert!(e.headers.get("x-empty").is_none());
    }

    #[test]
    fn bodies_are_capped_before_any_copy_or_decoding() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"{\"a\":1}");
        let e = event(json!({"httpMethod": "POST", "body": b64, "isBase64Encoded": true}));
        assert_eq!(&*e.body().unwrap(), b"{\"a\":1}");
        let e = event(json!({"httpMethod": "POST", "body": "%%%", "isBase64Encoded": true}));
        assert_eq!(e.body(), Err(EventError::NotBase64));
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let e = event(json!({"httpMethod": "POST", "body": big}));
        assert_eq!(e.body(), Err(EventError::TooLarge));
        let huge = "x".repeat(6 * 1024 * 1024);
        let e = event(json!({"httpMethod": "POST", "body": huge, "isBase64Encoded": true}));
        assert!(matches!(e.body, Body::TooLarge));
        let e = event(json!({"httpMethod": "POST", "body": 42}));
        assert_eq!(e.body(), Err(EventError::NotText));
        let e = event(json!({"httpMethod": "POST", "body": null}));
        assert_eq!(&*e.body().unwrap(), b"");
    }

    #[test]
    fn answers_take_the_event_shape() {
        let r =
            serde_json::to_value(HttpResponse::json(EventKind::RestV1, 200, "{}".into())).unwrap();
        assert_eq!(
            r,
            json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}", "isBase64Encoded": false})
        );
        let r = serde_json::to_value(HttpResponse::json(
            EventKind::Alb { multi_value: true },
            400,
            "{}".into(),
        ))
        .unwrap();
        assert_eq!(r["statusDescription"], "400 Bad Request");
        assert_eq!(
            r["multiValueHeaders"]["content-type"],
            json!(["application/json"])
        );
        assert!(r.get("headers").is_none());
    }
}
