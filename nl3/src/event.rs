//! The Lambda event edge: whatever JSON Lambda delivers becomes an [`HttpEvent`] (never a
//! deserialization error, never a panic), and every answer goes back in the response shape of
//! the event that asked (API Gateway REST v1, HTTP API v2 and Function URLs, ALB).
//!
//! The shapes are `aws_lambda_events`' types. An event is first read for its kind, tolerantly
//! ([`crate::lenient`]: a field of the wrong type counts as absent), then as that kind's typed
//! request; what a typed shape refuses (no `httpMethod`, an invalid header value, a flag written
//! as a string) is read from its JSON tree instead. Only the headers, the body, its base64
//! flag and the kind are kept; a header whose name or value is not valid HTTP is dropped. A body
//! over [`MAX_BODY_BYTES`] (Okta's are a few KiB) is refused before it is decoded from base64 or
//! read as JSON.
//!
//! (Why not lambda_http's request conversion: it panics on events it cannot turn into an
//! `http::Request` — a Host that is no authority, a body flagged base64 that is not, a REST event
//! without `httpMethod`, a query string with a space — and the runtime reports the panic as an
//! invocation error, which Okta treats as "issue the token unchecked".)
//!
//! Imports only the leaf `lenient`.

use std::borrow::Cow;

use aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupResponse};
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body as LambdaBody;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use crate::lenient::{Obj, Present, Text};

/// The largest body the hook reads. Okta's inline hook requests are a few KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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
    /// Not one JSON value, or JSON the hook cannot read (a lone UTF-16 surrogate escape, a
    /// repeated key, nesting deeper than 128).
    #[error("the event cannot be read: {0}")]
    Unreadable(String),
}

#[derive(Debug, Default)]
enum Body {
    #[default]
    Absent,
    Text(String),
    NotText,
}

impl Body {
    fn text(text: String) -> Self {
        Body::Text(text)
    }
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
    fn unknown() -> Self {
        Self {
            kind: EventKind::Unknown,
            headers: HeaderMap::new(),
            body: Body::Absent,
            base64: false,
            unreadable: None,
        }
    }

    /// Reads a Lambda payload: any bytes give an event. Bytes that are not one JSON value the
    /// hook can read make the event unreadable, answered 400, never an invocation error.
    pub fn from_slice(payload: &[u8]) -> Self {
        let probe: Obj<Probe> = match serde_json::from_slice(payload) {
            Ok(probe) => probe,
            // serde's message names a line and column (or a field), never the input.
            Err(e) => {
                return Self {
                    unreadable: Some(e.to_string()),
                    ..Self::unknown()
                }
            }
        };
        let Some(probe) = probe.get() else {
            return Self::unknown(); // valid JSON, but not an object
        };
        let kind = probe.kind();
        let parts = match typed(kind, payload).map_or_else(|| loose(payload), Ok) {
            Ok(parts) => parts,
            // Nesting too deep for a JSON tree (128 levels) in a field the probe skipped.
            Err(e) => {
                return Self {
                    unreadable: Some(e.to_string()),
                    ..Self::unknown()
                }
            }
        };
        let mut headers = parts.headers;
        // Single-value headers win; multi-value ones fill in what they lack (REST v1 sends both,
        // usually the same).
        for name in parts.multi_value_headers.keys() {
            if !headers.contains_key(name) {
                if let Some(value) = parts.multi_value_headers.get(name) {
                    headers.insert(name.clone(), value.clone());
                }
            }
        }
        Self {
            kind,
            headers,
            body: parts.body,
            base64: parts.base64,
            unreadable: None,
        }
    }

    /// The request body, decoded from base64 when the event says so (else not copied), up to
    /// [`MAX_BODY_BYTES`].
    pub fn body(&self) -> Result<Cow<'_, [u8]>, EventError> {
        self.body_up_to(MAX_BODY_BYTES)
    }

    /// [`HttpEvent::body`], up to `max` bytes (a receiver of larger calls than Okta's inline
    /// hooks: an event hook's batch of System Log events).
    pub fn body_up_to(&self, max: usize) -> Result<Cow<'_, [u8]>, EventError> {
        if let Some(why) = &self.unreadable {
            return Err(EventError::Unreadable(why.clone()));
        }
        if self.kind == EventKind::Unknown {
            return Err(EventError::NotHttp);
        }
        let text = match &self.body {
            Body::Absent => return Ok(Cow::Borrowed(&[])),
            Body::NotText => return Err(EventError::NotText),
            Body::Text(text) => text,
        };
        // A base64 body of `max` bytes is 4/3 of it: refused before it is decoded.
        if text.len() > max / 3 * 4 + 4 {
            return Err(EventError::TooLarge);
        }
        if !self.base64 {
            return match text.len() {
                n if n > max => Err(EventError::TooLarge),
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

/// What the hook keeps of an event, however it was read.
struct Parts {
    headers: HeaderMap,
    multi_value_headers: HeaderMap,
    body: Body,
    base64: bool,
}

/// The event as its kind's type in `aws_lambda_events`, or `None` when that type refuses it.
fn typed(kind: EventKind, payload: &[u8]) -> Option<Parts> {
    let body = |body: Option<String>| body.map_or(Body::Absent, Body::text);
    match kind {
        EventKind::RestV1 => {
            let e: ApiGatewayProxyRequest = serde_json::from_slice(payload).ok()?;
            Some(Parts {
                headers: e.headers,
                multi_value_headers: e.multi_value_headers,
                body: body(e.body),
                base64: e.is_base64_encoded,
            })
        }
        EventKind::HttpV2 => {
            let e: ApiGatewayV2httpRequest = serde_json::from_slice(payload).ok()?;
            Some(Parts {
                headers: e.headers,
                multi_value_headers: HeaderMap::new(),
                body: body(e.body),
                base64: e.is_base64_encoded,
            })
        }
        EventKind::Alb { .. } => {
            let e: AlbTargetGroupRequest = serde_json::from_slice(payload).ok()?;
            Some(Parts {
                headers: e.headers,
                multi_value_headers: e.multi_value_headers,
                body: body(e.body),
                base64: e.is_base64_encoded,
            })
        }
        EventKind::Unknown => None,
    }
}

// ---- telling the kind, and the fallback ---------------------------------------------------------

/// The top level of any event, read tolerantly ([`crate::lenient`]): enough to tell its kind.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe<'a> {
    #[serde(borrow, default)]
    version: Text<'a>,
    #[serde(borrow, default)]
    http_method: Text<'a>,
    #[serde(borrow, default)]
    route_key: Text<'a>,
    #[serde(borrow, default)]
    raw_path: Text<'a>,
    #[serde(default)]
    headers: Present,
    #[serde(default)]
    multi_value_headers: Present,
    /// `null` is no body, as API Gateway sends it.
    #[serde(default)]
    body: Option<IgnoredAny>,
    #[serde(default)]
    request_context: Obj<ProbeContext>,
}

/// `requestContext`: only which keys are there.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProbeContext {
    #[serde(default)]
    elb: Present,
    #[serde(default)]
    http_method: Present,
    #[serde(default)]
    http: Present,
}

impl Probe<'_> {
    fn kind(&self) -> EventKind {
        let context = self.request_context.get();
        let has = |f: fn(&ProbeContext) -> Present| context.is_some_and(|c| f(c).0);
        let version = self.version.as_str();
        if has(|c| c.elb) {
            EventKind::Alb {
                multi_value: self.multi_value_headers.0,
            }
        } else if version == Some("2.0")
            || self.route_key.as_str().is_some()
            || self.raw_path.as_str().is_some()
            || has(|c| c.http)
        {
            EventKind::HttpV2
        } else if self.http_method.as_str().is_some()
            || has(|c| c.http_method)
            || version == Some("1.0")
            || self.headers.0
            || self.multi_value_headers.0
            || self.body.is_some()
        {
            EventKind::RestV1
        } else {
            EventKind::Unknown
        }
    }
}

/// What the typed shape refused, read from the event's JSON tree (a path the events AWS sends do
/// not take): `headers` / `multiValueHeaders` as name → string or list of strings (the first
/// kept; invalid names and values dropped), `body` a string or `null`, `isBase64Encoded` a
/// boolean or the string `"true"` as some tools write it.
fn loose(payload: &[u8]) -> Result<Parts, serde_json::Error> {
    let event: Value = serde_json::from_slice(payload)?;
    let headers = |key: &str| {
        let mut map = HeaderMap::new();
        for (name, value) in event[key].as_object().into_iter().flatten() {
            let value = match value {
                Value::Array(list) => list.iter().find_map(Value::as_str),
                other => other.as_str(),
            };
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.map(HeaderValue::from_str),
            ) {
                map.entry(name).or_insert(value);
            }
        }
        map
    };
    Ok(Parts {
        headers: headers("headers"),
        multi_value_headers: headers("multiValueHeaders"),
        body: match &event["body"] {
            Value::Null => Body::Absent,
            Value::String(text) => Body::text(text.clone()),
            _ => Body::NotText,
        },
        base64: match &event["isBase64Encoded"] {
            Value::Bool(flag) => *flag,
            Value::String(flag) => flag.trim().eq_ignore_ascii_case("true"),
            _ => false,
        },
    })
}

/// The answer in the shape of the event that asked: `aws_lambda_events`' response types.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum HttpResponse {
    Rest(ApiGatewayProxyResponse),
    Http(ApiGatewayV2httpResponse),
    Alb(AlbTargetGroupResponse),
}

impl HttpResponse {
    /// A JSON answer for an event of `kind` (REST v1's shape for an event of no known kind:
    /// every caller understands it).
    pub fn json(kind: EventKind, status: u16, body: String) -> Self {
        let json = HeaderValue::from_static("application/json");
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, json);
        let body = Some(LambdaBody::Text(body));
        let status_code = i64::from(status);
        match kind {
            EventKind::Alb { multi_value } => {
                let mut r = AlbTargetGroupResponse::default();
                r.status_code = status_code;
                r.status_description = Some(status_line(status));
                if multi_value {
                    r.multi_value_headers = headers;
                } else {
                    r.headers = headers;
                }
                r.body = body;
                Self::Alb(r)
            }
            EventKind::HttpV2 => {
                let mut r = ApiGatewayV2httpResponse::default();
                r.status_code = status_code;
                r.headers = headers;
                r.body = body;
                Self::Http(r)
            }
            EventKind::RestV1 | EventKind::Unknown => {
                let mut r = ApiGatewayProxyResponse::default();
                r.status_code = status_code;
                r.headers = headers;
                r.body = body;
                Self::Rest(r)
            }
        }
    }

    /// The JSON text the Runtime API posts back (what `lambda_runtime` writes for it).
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, numbers and valid header values only: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// ALB wants `statusDescription` as "200 OK".
fn status_line(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_string()
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
        // Valid JSON that cannot be read as text (the fuzzer's find): still an event.
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
    fn bodies_are_capped_before_any_decoding() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"{\"a\":1}");
        let e = event(json!({"httpMethod": "POST", "body": b64, "isBase64Encoded": true}));
        assert_eq!(&*e.body().unwrap(), b"{\"a\":1}");
        let e = event(json!({"httpMethod": "POST", "body": "%%%", "isBase64Encoded": true}));
        assert_eq!(e.body(), Err(EventError::NotBase64));
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let e = event(json!({"httpMethod": "POST", "body": big}));
        assert_eq!(e.body(), Err(EventError::TooLarge));
        // A base64 body too large is refused before it is decoded (it would not decode).
        let huge = "x".repeat(6 * 1024 * 1024);
        let e = event(json!({"httpMethod": "POST", "body": huge, "isBase64Encoded": true}));
        assert_eq!(e.body(), Err(EventError::TooLarge));
        // A receiver of larger calls sets its own bound.
        let batch = "y".repeat(MAX_BODY_BYTES * 3);
        let e = event(json!({"httpMethod": "POST", "body": batch}));
        assert_eq!(e.body(), Err(EventError::TooLarge));
        assert_eq!(
            e.body_up_to(MAX_BODY_BYTES * 4).unwrap().len(),
            MAX_BODY_BYTES * 3
        );
        // The crate's typed REST event takes the same path.
        let typed = json!({"httpMethod": "POST", "requestContext": {}, "body": "x".repeat(MAX_BODY_BYTES * 2)});
        assert_eq!(event(typed).body(), Err(EventError::TooLarge));
        let e = event(json!({"httpMethod": "POST", "body": 42}));
        assert_eq!(e.body(), Err(EventError::NotText));
        let e = event(json!({"httpMethod": "POST", "body": null}));
        assert_eq!(&*e.body().unwrap(), b"");
    }

    #[test]
    fn every_answer_is_json_with_its_body_unchanged() {
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
            "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7f} é 😀 \u{2028}",
        ];
        for kind in kinds {
            for status in [200, 400, 500] {
                for body in bodies {
                    let r = HttpResponse::json(kind, status, body.into());
                    let v: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
                    assert_eq!(v["statusCode"], status, "{kind:?}");
                    assert_eq!(v["body"], body, "{kind:?}");
                    assert_eq!(v["isBase64Encoded"], false, "{kind:?}");
                    assert_eq!(v.get("cookies").is_some(), kind == EventKind::HttpV2);
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
        let value = |kind, status| -> serde_json::Value {
            serde_json::from_slice(&HttpResponse::json(kind, status, "{}".into()).to_json())
                .unwrap()
        };
        assert_eq!(
            value(EventKind::RestV1, 200),
            json!({"statusCode": 200, "headers": {"content-type": "application/json"},
                   "multiValueHeaders": {}, "body": "{}", "isBase64Encoded": false})
        );
        let r = value(EventKind::Alb { multi_value: true }, 400);
        assert_eq!(r["statusDescription"], "400 Bad Request");
        assert_eq!(
            r["multiValueHeaders"]["content-type"],
            json!(["application/json"])
        );
        assert_eq!(r["headers"], json!({}));
        let r = value(EventKind::Alb { multi_value: false }, 200);
        assert_eq!(r["statusDescription"], "200 OK");
        assert_eq!(r["headers"]["content-type"], "application/json");
        let r = value(EventKind::HttpV2, 200);
        assert_eq!(r["cookies"], json!([]));
        assert!(r.get("statusDescription").is_none());
    }

    #[test]
    fn published_events_are_read_through_the_crate_types() {
        // The sample events, shaped as API Gateway sends them: each reads as the crate's type.
        for (file, kind) in [
            ("rest/saml-locked.json", EventKind::RestV1),
            ("http/token-unlocked.json", EventKind::HttpV2),
            (
                "odd/alb-multivalue-token-locked.json",
                EventKind::Alb { multi_value: true },
            ),
        ] {
            let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(&path).unwrap();
            let probe: Obj<Probe> = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(probe.get().unwrap().kind(), kind, "{file}");
            assert!(
                typed(kind, &bytes).is_some(),
                "{file} reads as the crate's type"
            );
            assert!(HttpEvent::from_slice(&bytes).body().is_ok(), "{file}");
        }
    }

    #[test]
    fn what_the_typed_shapes_refuse_the_fallback_reads() {
        // No httpMethod, an invalid header value, a string flag: the crate's type refuses
        // each; the hook still reads the headers and the body.
        let e = event(json!({
            "requestContext": {"resourceId": "x"},
            "headers": {"Authorization": "k1", "X-Bad": "a\u{1}b"},
            "body": "eyJ9",
            "isBase64Encoded": "true"
        }));
        assert_eq!(e.kind, EventKind::RestV1);
        assert_eq!(e.headers["authorization"], "k1");
        assert_eq!(&*e.body().unwrap(), b"{\"}");
        // A repeated key of the event's top level is no event at all.
        let e = HttpEvent::from_slice(br#"{"httpMethod":"POST","body":"a","body":"b"}"#);
        assert!(matches!(e.body(), Err(EventError::Unreadable(_))), "{e:?}");
        // Nesting deeper than serde_json's limit (128): the runtime takes the payload (as
        // `RawValue`), and the hook answers it with a 400 that says why.
        for deep in [
            format!(
                r#"{{"httpMethod":"POST","x":{}{}}}"#,
                "[".repeat(5000),
                "]".repeat(5000)
            ),
            format!(
                r#"{{"headers":{{"a":{}{}}},"body":"{{}}"}}"#,
                "[".repeat(5000),
                "]".repeat(5000)
            ),
        ] {
            assert!(serde_json::from_str::<Box<serde_json::value::RawValue>>(&deep).is_ok());
            let e = HttpEvent::from_slice(deep.as_bytes());
            assert!(
                matches!(e.body(), Err(EventError::Unreadable(ref m)) if m.contains("recursion")),
                "{e:?}"
            );
        }
    }
}
