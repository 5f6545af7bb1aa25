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
//! Imports only the leaf `json` (the reader).

use std::borrow::Cow;

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use crate::json::{self, JsonError, Kind, Reader};

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

impl HttpResponse {
    /// The JSON text the Runtime API posts back: what `serde_json::to_vec` writes (a unit test
    /// compares them), written directly as the one answer of every call.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.body.len() + self.body.len() / 4 + 160);
        out.push_str("{\"statusCode\":");
        json::push_u64(&mut out, self.status_code.into());
        if let Some(line) = &self.status_description {
            out.push_str(",\"statusDescription\":");
            json::push_string(&mut out, line);
        }
        if let Some(h) = &self.headers {
            out.push_str(",\"headers\":{\"content-type\":");
            json::push_string(&mut out, h.value);
            out.push('}');
        }
        if let Some(h) = &self.multi_value_headers {
            out.push_str(",\"multiValueHeaders\":{\"content-type\":[");
            json::push_string(&mut out, h.value[0]);
            out.push_str("]}");
        }
        out.push_str(",\"body\":");
        json::push_string(&mut out, &self.body);
        out.push_str(",\"isBase64Encoded\":");
        out.push_str(if self.is_base64_encoded {
            "true"
        } else {
            "false"
        });
        if let Some(cookies) = &self.cookies {
            out.push_str(",\"cookies\":[");
            for (i, cookie) in cookies.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::push_string(&mut out, cookie);
            }
            out.push(']');
        }
        out.push('}');
        out.into_bytes()
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
// Each field's reader accepts every JSON value: what it expects is kept, anything else is read
// (and checked) and counts as absent.

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

    /// Reads a Lambda payload in one tolerant pass: any bytes give an event. Bytes that are not
    /// one JSON value (not UTF-8, not JSON, a kept string holding a lone surrogate escape) make
    /// the event unreadable, answered 400, never an invocation error.
    pub fn from_slice(payload: &[u8]) -> Self {
        read_event(payload).unwrap_or_else(|e| Self {
            unreadable: Some(e.to_string()),
            ..Self::unknown()
        })
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
        // Single-value headers win; multi-value ones fill in what they lack (REST v1 sends both,
        // usually the same: those are passed over by name, before anything is parsed).
        let multi = self.multi_value_headers.unwrap_or_default();
        let mut headers = HeaderMap::with_capacity(self.headers.len().max(multi.len()));
        let mut kept = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            if insert(&mut headers, name, value) {
                kept.push(name.as_ref());
            }
        }
        for (name, value) in &multi {
            if !kept.iter().any(|known| known.eq_ignore_ascii_case(name)) {
                insert(&mut headers, name, value);
            }
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

/// Adds a header unless its name is taken or it is not a valid header; says whether it is there.
fn insert(headers: &mut HeaderMap, name: &str, value: &str) -> bool {
    let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) else {
        return false;
    };
    headers.entry(name).or_insert(value);
    true
}

/// The event's top level; anything but an object is valid JSON, but not an HTTP event.
fn read_event(payload: &[u8]) -> Result<HttpEvent, JsonError> {
    let mut r = Reader::new(payload)?;
    if r.peek()? != Kind::Object {
        r.skip()?;
        r.finish()?;
        return Ok(HttpEvent::unknown());
    }
    let mut f = Fields::default();
    r.object(MAX_TEXT_BYTES, |r, key| {
        match key.as_deref().unwrap_or("") {
            "version" => f.version = text(r)?,
            "httpMethod" => f.http_method = text(r)?.is_some(),
            "routeKey" | "rawPath" => f.http_v2_shape |= text(r)?.is_some(),
            "headers" => f.headers = header_list(r)?,
            "multiValueHeaders" => f.multi_value_headers = Some(header_list(r)?),
            "body" => f.body = body(r)?,
            "isBase64Encoded" => f.base64 = flag(r)?,
            "requestContext" => f.context = context(r)?,
            _ => r.skip()?,
        }
        Ok(())
    })?;
    r.finish()?;
    Ok(f.into_event())
}

/// A short string (a version, a header), or `None` for anything else or anything longer than
/// 16 KiB (API Gateway's own header limit is 10 KiB). Borrowed from the event unless it holds
/// escapes.
const MAX_TEXT_BYTES: usize = 16 * 1024;

fn text<'a>(r: &mut Reader<'a>) -> Result<Option<Cow<'a, str>>, JsonError> {
    match r.peek()? {
        Kind::String => r.string(MAX_TEXT_BYTES),
        _ => r.skip().map(|()| None),
    }
}

/// `body`: kept only when it is a string no longer than a base64 body of [`MAX_BODY_BYTES`]
/// (a longer one is checked, not copied); `null` is no body.
fn body(r: &mut Reader<'_>) -> Result<Body, JsonError> {
    Ok(match r.peek()? {
        Kind::String => match r.string(MAX_RAW_BODY_CHARS)? {
            Some(text) => Body::Text(text.into_owned()),
            None => Body::TooLarge,
        },
        Kind::Null => r.skip().map(|()| Body::Absent)?, // as API Gateway sends for no body
        _ => r.skip().map(|()| Body::NotText)?,
    })
}

/// `isBase64Encoded`: a boolean, or the string "true" as some tools write it.
fn flag(r: &mut Reader<'_>) -> Result<bool, JsonError> {
    match r.peek()? {
        Kind::Bool => r.bool(),
        Kind::String => Ok(r
            .string(MAX_TEXT_BYTES)?
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))),
        _ => r.skip().map(|()| false),
    }
}

type Headers<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// `headers` / `multiValueHeaders`: name → string, or name → list of strings (the first is
/// kept). Anything else is skipped.
fn header_list<'a>(r: &mut Reader<'a>) -> Result<Headers<'a>, JsonError> {
    let mut out = Vec::new();
    if r.peek()? != Kind::Object {
        return r.skip().map(|()| out);
    }
    r.object(MAX_TEXT_BYTES, |r, name| {
        let value = match r.peek()? {
            Kind::Array => {
                let mut first = None;
                r.array(|r| {
                    let v = text(r)?;
                    first = first.take().or(v);
                    Ok(())
                })?;
                first
            }
            _ => text(r)?,
        };
        if let (Some(name), Some(value)) = (name, value) {
            out.push((name, value));
        }
        Ok(())
    })?;
    Ok(out)
}

/// `requestContext`: only which keys are there.
fn context(r: &mut Reader<'_>) -> Result<Context, JsonError> {
    let mut c = Context::default();
    if r.peek()? != Kind::Object {
        return r.skip().map(|()| c);
    }
    r.object(MAX_TEXT_BYTES, |r, key| {
        r.skip()?;
        match key.as_deref().unwrap_or("") {
            "elb" => c.elb = true,
            "httpMethod" => c.http_method = true,
            "http" => c.http = true,
            _ => {}
        }
        Ok(())
    })?;
    Ok(c)
}

/// The former serde_json reading, kept as the tests' oracle.
#[cfg(test)]
mod oracle;

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
    fn answers_are_written_as_serde_json_writes_them() {
        let kinds = [
            EventKind::RestV1,
            EventKind::HttpV2,
            EventKind::Alb { multi_value: true },
            EventKind::Alb { multi_value: false },
            EventKind::Unknown,
        ];
        let bodies = [
            "",
            "{}",
            r#"{"commands":[{"type":"com.okta.action.update","value":[{"op":"add"}]}]}"#,
            "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7f} é 😀 \u{2028}",
        ];
        for kind in kinds {
            for status in [200, 400, 500, 0, 999, 65535] {
                for body in bodies {
                    let r = HttpResponse::json(kind, status, body.into());
                    assert_eq!(
                        String::from_utf8(r.to_json()).unwrap(),
                        serde_json::to_string(&r).unwrap(),
                        "{kind:?} {status} {body:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn multi_value_headers_fill_in_only_what_single_ones_lack() {
        let e = event(json!({
            "httpMethod": "POST",
            "headers": {"Authorization": "single", "X-Bad": "a\u{1}b", "x-dup": "first"},
            "multiValueHeaders": {
                "authorization": ["multi"],
                "x-bad": ["fixed"],
                "X-Only-Multi": ["m1", "m2"],
                "X-DUP": ["second"]
            }
        }));
        let get = |name: &str| e.headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(get("authorization").as_deref(), Some("single"));
        // A single value that is no valid header leaves the name to the multi-value one.
        assert_eq!(get("x-bad").as_deref(), Some("fixed"));
        assert_eq!(get("x-only-multi").as_deref(), Some("m1"));
        assert_eq!(get("x-dup").as_deref(), Some("first"));
        assert_eq!(e.headers.len(), 4);
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

    // ---- the JSON reader reads what serde_json's reading read ---------------------------------

    use proptest::prelude::*;

    /// What an event gives the hook, comparable across the two readings (an unreadable event's
    /// message differs between them; that it is unreadable must not).
    type Seen = (EventKind, Vec<(String, String)>, Result<Vec<u8>, String>);

    fn seen(e: &HttpEvent) -> Seen {
        let mut headers: Vec<_> = e
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        headers.sort();
        let body = match e.body() {
            Ok(b) => Ok(b.into_owned()),
            Err(EventError::Unreadable(_)) => Err("unreadable".into()),
            Err(other) => Err(other.to_string()),
        };
        (e.kind, headers, body)
    }

    /// Every sample event, read once for all the cases.
    fn samples() -> &'static [Vec<u8>] {
        static SAMPLES: std::sync::LazyLock<Vec<Vec<u8>>> = std::sync::LazyLock::new(|| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
            let mut out = Vec::new();
            for sub in ["rest", "http", "odd", "apps"] {
                for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
                    out.push(std::fs::read(entry.unwrap().path()).unwrap());
                }
            }
            out.sort();
            out
        });
        &SAMPLES
    }

    /// JSON text with every string written as `\u` escapes (keys too).
    fn escaped(v: &serde_json::Value) -> String {
        let mut out = String::new();
        fn text(s: &str, out: &mut String) {
            out.push('"');
            for c in s.encode_utf16() {
                out.push_str(&format!("\\u{c:04x}"));
            }
            out.push('"');
        }
        fn walk(v: &serde_json::Value, out: &mut String) {
            match v {
                serde_json::Value::Object(m) => {
                    out.push('{');
                    for (n, (k, v)) in m.iter().enumerate() {
                        out.push_str(if n > 0 { "," } else { "" });
                        text(k, out);
                        out.push(':');
                        walk(v, out);
                    }
                    out.push('}');
                }
                serde_json::Value::Array(a) => {
                    out.push('[');
                    for (n, v) in a.iter().enumerate() {
                        out.push_str(if n > 0 { "," } else { "" });
                        walk(v, out);
                    }
                    out.push(']');
                }
                serde_json::Value::String(s) => text(s, out),
                other => out.push_str(&other.to_string()),
            }
        }
        walk(v, &mut out);
        out
    }

    fn any_value() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            Just(json!(null)),
            Just(json!(true)),
            Just(json!("true")),
            Just(json!(-1.5e3)),
            Just(json!("")),
            Just(json!("a\"b\\c\n\u{1F600}é")),
            Just(json!(["k", "l"])),
            Just(json!([])),
            Just(json!([7, "m"])),
            Just(json!({"Authorization": "x", "X-List": ["a", "b"], "bad name": "v"})),
            Just(json!({"elb": {}})),
            Just(json!({"http": {"method": "POST"}})),
            Just(json!("x".repeat(MAX_TEXT_BYTES + 1))),
        ]
    }

    const TOP: [&str; 10] = [
        "version",
        "httpMethod",
        "routeKey",
        "rawPath",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
        "requestContext",
        "other",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        /// Sample events with fields removed or retyped, written plain or all `\u` escapes.
        #[test]
        fn edited_events_read_as_serde_json_read_them(
            sample in any::<prop::sample::Index>(),
            edits in prop::collection::vec((0..TOP.len(), prop::option::of(any_value())), 0..5),
            header in prop::option::of(any_value()),
            all_escaped in any::<bool>(),
        ) {
            let samples = samples();
            let mut v: serde_json::Value =
                serde_json::from_slice(&samples[sample.index(samples.len())]).unwrap_or(json!({}));
            if let Some(object) = v.as_object_mut() {
                for (key, value) in &edits {
                    match value {
                        Some(value) => object.insert(TOP[*key].into(), value.clone()),
                        None => object.remove(TOP[*key]),
                    };
                }
                if let (Some(value), Some(headers)) =
                    (&header, object.get_mut("headers").and_then(|h| h.as_object_mut()))
                {
                    headers.insert("X-Edited".into(), value.clone());
                }
            }
            let text = if all_escaped { escaped(&v) } else { v.to_string() };
            prop_assert_eq!(
                seen(&HttpEvent::from_slice(text.as_bytes())),
                seen(&oracle::from_slice(text.as_bytes())),
                "{}", text
            );
        }

        /// Sample events with one byte changed, inserted or removed: mostly not JSON any more,
        /// and the two readings must agree on which are.
        #[test]
        fn damaged_events_read_as_serde_json_read_them(
            sample in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b','), Just(b':'),
                Just(b'u'), Just(b'0'), Just(b'\n'), Just(0x01u8), Just(0xC3u8), any::<u8>()
            ],
            how in 0..3u8,
        ) {
            let samples = samples();
            let mut bytes = samples[sample.index(samples.len())].clone();
            let at = at.index(bytes.len());
            match how {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => { bytes.remove(at); }
            }
            let ours = seen(&HttpEvent::from_slice(&bytes));
            if std::str::from_utf8(&bytes).is_err() {
                // Stricter than serde_json, which does not check skipped strings: a document
                // that is not UTF-8 is not JSON (RFC 8259 §8.1).
                prop_assert_eq!(ours.2, Err("unreadable".to_string()));
            } else {
                prop_assert_eq!(ours, seen(&oracle::from_slice(&bytes)));
            }
        }
    }
}
