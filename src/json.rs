//! A small validating JSON reader, for the two documents read in full on every call: the Lambda
//! event (about 5 KB, with Okta's request escaped inside its `body`) and that request.
//!
//! Why not serde_json here: it decodes a string escape by escape through several calls, and
//! Okta's body is JSON inside a JSON string, a few hundred `\"` escapes per event; this reader
//! scans and copies plain runs 8 bytes at a time and decodes the common escapes inline.
//! It reads the grammar of RFC 8259 exactly (tests compare it with serde_json on mutated
//! events and bodies), nests less than [`MAX_DEPTH`] deep, checks UTF-8 once up front (stricter
//! than serde_json, which lets bytes that are not UTF-8 pass in strings it skips), and decodes
//! only the strings its caller keeps, up to a cap the caller gives, so a huge string is
//! validated but never copied.
//!
//! A leaf: imports nothing from the crate.

use std::borrow::Cow;

/// Arrays and objects nest less deeply than this, as in the values serde_json builds; the
/// reader recurses, so it is capped.
pub const MAX_DEPTH: usize = 128;

/// Why the bytes are not one JSON value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct JsonError {
    what: &'static str,
    at: usize,
}

/// What the next value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// Whether `b` ends a run of plain characters in a string: `"`, `\\` or a control character.
fn is_stop(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The stops among 8 bytes read little-endian, as the high bit of their bytes. Only the lowest
/// set bit is exact (a borrow can flag a byte above a true stop), which is all a scan needs.
/// Eight bytes per step instead of one: Okta's body is a few KB of string per call.
fn stops_in(word: u64) -> u64 {
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS;
    below(word, 0x20) | below(word ^ (ONES * 0x22), 1) | below(word ^ (ONES * 0x5C), 1)
}

/// How many plain characters start `bytes`.
fn plain_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let stops = stops_in(word);
        if stops != 0 {
            return at + (stops.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| is_stop(b))
        .unwrap_or(bytes.len() - at)
}

/// Appends `n` in decimal (a JSON number), without `fmt`.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// Appends `text` as a JSON string (quoted; `"`, `\\` and control characters escaped as
/// serde_json escapes them), for the few JSON texts the hook writes on every call.
pub fn push_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push('"');
    let mut rest = text;
    loop {
        let plain = plain_len(rest.as_bytes());
        out.push_str(&rest[..plain]);
        let Some(&b) = rest.as_bytes().get(plain) else {
            break;
        };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        // A stop is one ASCII byte, so this is a character boundary.
        rest = &rest[plain + 1..];
    }
    out.push('"');
}

pub struct Reader<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Self, JsonError> {
        let text = std::str::from_utf8(bytes).map_err(|e| JsonError {
            what: "invalid UTF-8",
            at: e.valid_up_to(),
        })?;
        Ok(Self {
            text,
            at: 0,
            depth: 0,
        })
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn error<T>(&self, what: &'static str) -> Result<T, JsonError> {
        Err(JsonError { what, at: self.at })
    }

    fn skip_whitespace(&mut self) {
        // Most tokens follow no whitespace: one comparison for them.
        while let Some(&b) = self.bytes().get(self.at) {
            if b > b' ' || !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.at += 1;
        }
    }

    /// The kind of the next value (after whitespace), without reading it.
    pub fn peek(&mut self) -> Result<Kind, JsonError> {
        self.skip_whitespace();
        Ok(match self.bytes().get(self.at) {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            Some(_) => return self.error("expected a value"),
            None => return self.error("unexpected end"),
        })
    }

    /// After the one top-level value: only whitespace may follow.
    pub fn finish(mut self) -> Result<(), JsonError> {
        self.skip_whitespace();
        match self.at == self.bytes().len() {
            true => Ok(()),
            false => self.error("trailing characters"),
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.bytes().get(self.at) == Some(&byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), JsonError> {
        match self.eat(byte) {
            true => Ok(()),
            false => self.error(what),
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        match self.depth >= MAX_DEPTH {
            true => self.error("nested too deeply"),
            false => Ok(()),
        }
    }

    /// Reads an object, calling `field` with each key (decoded; `None` when longer than
    /// `max_key` bytes); `field` must read exactly one value.
    pub fn object(
        &mut self,
        max_key: usize,
        mut field: impl FnMut(&mut Self, Option<Cow<'a, str>>) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        let what = ["expected an object", "expected ',' or '}'"];
        self.members((b'{', b'}'), what, |r| {
            r.skip_whitespace();
            let key = r.string(max_key)?;
            r.expect(b':', "expected ':'")?;
            field(r, key)
        })
    }

    /// Reads an array, calling `item` for each element; `item` must read exactly one value.
    pub fn array(
        &mut self,
        item: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.members(
            (b'[', b']'),
            ["expected an array", "expected ',' or ']'"],
            item,
        )
    }

    /// Reads a container between `brackets`, calling `each` for each comma-separated member.
    fn members(
        &mut self,
        (open, close): (u8, u8),
        [not_open, not_closed]: [&'static str; 2],
        mut each: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.expect(open, not_open)?;
        self.enter()?;
        if !self.eat(close) {
            loop {
                each(self)?;
                if self.eat(b',') {
                    continue;
                }
                self.expect(close, not_closed)?;
                break;
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads any value and returns its text as it stands in the input.
    pub fn raw(&mut self) -> Result<&'a str, JsonError> {
        self.skip_whitespace();
        let start = self.at;
        self.skip()?;
        Ok(&self.text[start..self.at])
    }

    /// Reads `true` or `false`.
    pub fn bool(&mut self) -> Result<bool, JsonError> {
        self.skip_whitespace();
        let rest = &self.bytes()[self.at..];
        let (value, len) = match rest {
            [b't', b'r', b'u', b'e', ..] => (true, 4),
            [b'f', b'a', b'l', b's', b'e', ..] => (false, 5),
            _ => return self.error("expected a boolean"),
        };
        self.at += len;
        Ok(value)
    }

    /// Reads and checks any one value.
    pub fn skip(&mut self) -> Result<(), JsonError> {
        match self.peek()? {
            Kind::Object => self.object(0, |r, _| r.skip()),
            Kind::Array => self.array(|r| r.skip()),
            Kind::String => self.string(0).map(drop),
            Kind::Number => self.number(),
            Kind::Bool => self.bool().map(drop),
            Kind::Null => match self.bytes()[self.at..].starts_with(b"null") {
                true => {
                    self.at += 4;
                    Ok(())
                }
                false => self.error("expected null"),
            },
        }
    }

    fn digits(&mut self) -> Result<(), JsonError> {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.bytes().get(self.at) {
            self.at += 1;
        }
        match self.at > start {
            true => Ok(()),
            false => self.error("expected a digit"),
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        self.at += usize::from(self.bytes().get(self.at) == Some(&b'-'));
        match self.bytes().get(self.at) {
            Some(b'0') => self.at += 1,
            _ => self.digits()?,
        }
        if self.bytes().get(self.at) == Some(&b'.') {
            self.at += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes().get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes().get(self.at) {
                self.at += 1;
            }
            self.digits()?;
        }
        Ok(())
    }

    /// Reads a string: decoded when it is at most `max` bytes long once decoded (borrowed when
    /// it has no escapes), `None` when longer (checked, never copied past `max`). `max` 0 only
    /// checks it.
    pub fn string(&mut self, max: usize) -> Result<Option<Cow<'a, str>>, JsonError> {
        self.skip_whitespace();
        if self.bytes().get(self.at) != Some(&b'"') {
            return self.error("expected a string");
        }
        self.at += 1;
        let start = self.at;
        self.run();
        if self.bytes().get(self.at) == Some(&b'"') {
            let text = &self.text[start..self.at];
            self.at += 1;
            return Ok((text.len() <= max).then_some(Cow::Borrowed(text)));
        }
        if max == 0 {
            return self.rest_of_string(None, 0).map(|_| None);
        }
        // Escapes: decoded while the text stays within `max`, then only checked.
        let mut out = None;
        if self.at - start <= max {
            // At most what is left of the input: the decoded string is never longer.
            let mut text = Vec::with_capacity((self.bytes().len() - start).min(max));
            text.extend_from_slice(&self.bytes()[start..self.at]);
            out = Some(text);
        }
        let Some(text) = self.rest_of_string(out, max)? else {
            return Ok(None);
        };
        // Whole characters in, whole characters out: only a bug could make this fail.
        match String::from_utf8(text) {
            Ok(text) => Ok(Some(Cow::Owned(text))),
            Err(_) => self.error("invalid UTF-8"),
        }
    }

    /// Reads a string from its first escape or control character to its end, appending what it
    /// decodes to `out` while `out` stays within `max` bytes (then drops it). `max` 0 only
    /// checks. Okta's body has a few hundred `\"`: the common escapes are decoded inline and
    /// plain runs copied 8 bytes at a time.
    fn rest_of_string(
        &mut self,
        mut out: Option<Vec<u8>>,
        max: usize,
    ) -> Result<Option<Vec<u8>>, JsonError> {
        let decode = max > 0;
        loop {
            match self.bytes().get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                // `\"`, `\\` and `\/` here as well as in `escape`: decoded inline, Okta's few
                // hundred `\"` per call cost ~12 k instructions less (measured).
                Some(b'\\') => match (self.bytes().get(self.at + 1), &mut out) {
                    (Some(&c @ (b'"' | b'\\' | b'/')), text) => {
                        self.at += 2;
                        if let Some(text) = text {
                            text.push(c);
                        }
                    }
                    (_, text) => {
                        self.at += 1;
                        let c = self.escape(decode)?;
                        if let (Some(text), Some(c)) = (text, c) {
                            text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                    }
                },
                Some(_) => return self.error("control character in a string"),
                None => return self.error("unterminated string"),
            }
            match &mut out {
                None => self.run(),
                Some(text) => {
                    self.copy_run(text);
                    if text.len() > max {
                        out = None;
                    }
                }
            }
        }
    }

    /// Like [`Self::run`], appending the run to `out`: 8 bytes are appended per step and the
    /// bytes past the run's end cut off again, which costs less than copying an exact length.
    fn copy_run(&mut self, out: &mut Vec<u8>) {
        let bytes = self.bytes();
        while let Some(chunk) = bytes.get(self.at..self.at + 8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let stops = stops_in(word);
            let len = out.len();
            out.extend_from_slice(chunk);
            if stops != 0 {
                let plain = (stops.trailing_zeros() / 8) as usize;
                out.truncate(len + plain);
                self.at += plain;
                return;
            }
            self.at += 8;
        }
        let start = self.at;
        self.run();
        out.extend_from_slice(&bytes[start..self.at]);
    }

    /// Moves past the characters that stand for themselves in a string.
    fn run(&mut self) {
        self.at += plain_len(&self.bytes()[self.at..]);
    }

    /// Reads one escape after its backslash. A `\u` surrogate is paired (and a lone one an
    /// error) only in a string read for its value (`decode`), also past the cap, as serde_json
    /// does; a skipped string's escapes are only checked for form.
    fn escape(&mut self, decode: bool) -> Result<Option<char>, JsonError> {
        let Some(&b) = self.bytes().get(self.at) else {
            return self.error("unterminated string");
        };
        self.at += 1;
        Ok(Some(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                if !decode {
                    return Ok(None);
                }
                match unit {
                    0xD800..=0xDBFF => {
                        if !self.bytes()[self.at..].starts_with(b"\\u") {
                            return self.error("lone leading surrogate");
                        }
                        self.at += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return self.error("lone leading surrogate");
                        }
                        let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
                    }
                    0xDC00..=0xDFFF => return self.error("lone trailing surrogate"),
                    _ => char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER),
                }
            }
            _ => return self.error("invalid escape"),
        }))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let Some(digits) = self.bytes().get(self.at..self.at + 4) else {
            return self.error("unterminated string");
        };
        let mut unit = 0;
        for &d in digits {
            let Some(v) = (d as char).to_digit(16) else {
                return self.error("invalid \\u escape");
            };
            unit = unit * 16 + v;
        }
        self.at += 4;
        Ok(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the reader takes `bytes` as one JSON value, skipping it all.
    fn valid(bytes: &[u8]) -> bool {
        Reader::new(bytes).is_ok_and(|mut r| r.skip().is_ok() && r.finish().is_ok())
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut cases: Vec<String> = (0u8..0x80)
            .map(|b| format!("a{}b", char::from(b)))
            .collect();
        cases.extend(
            [
                "",
                "plain",
                "é\u{2028}😀",
                "\"quoted\" \\ back",
                "line\nbreak\r\t",
                "a\u{7f}",
            ]
            .map(String::from),
        );
        cases.push("x\"".repeat(40));
        for case in cases {
            let mut out = String::from("prefix");
            push_string(&mut out, &case);
            assert_eq!(
                out,
                format!("prefix{}", serde_json::to_string(&case).unwrap())
            );
        }
    }

    #[test]
    fn eight_byte_scan_stops_where_a_byte_loop_stops() {
        // Every byte value at every offset of a run, after plain bytes that could hide it
        // (0x7f, 0x80-0xff, 0x20, 0x21, 0x23, 0x5b, 0x5d sit next to the stops' values).
        let fillers = [b'a', 0x7f, 0x80, 0xff, b' ', b'!', b'#', b'[', b']'];
        for filler in fillers {
            for at in 0..20 {
                for b in 0..=255u8 {
                    let mut bytes = vec![filler; 24];
                    bytes[at] = b;
                    let naive = bytes
                        .iter()
                        .position(|&b| is_stop(b))
                        .unwrap_or(bytes.len());
                    assert_eq!(plain_len(&bytes), naive, "{filler:#x} then {b:#x} at {at}");
                }
            }
        }
        // Two stops in one word: the first counts.
        assert_eq!(plain_len(b"ab\\cd\"efgh"), 2);
        assert_eq!(plain_len(b"ab\x01\"\\efgh"), 2);
        assert_eq!(plain_len(b""), 0);
    }

    #[test]
    fn agrees_with_serde_json_on_what_is_json() {
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        let deep_bad = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let cases: Vec<&[u8]> = vec![
            b"{}",
            b"[]",
            b"0",
            b"-0",
            b"-0.5e+10",
            b"1E5",
            b"01",
            b"1.",
            b".5",
            b"-",
            b"1e",
            b"true",
            b"tru",
            b"nul",
            b"null ",
            b" \t\n\r{\"a\" : [1, \"x\", null, {}]}",
            b"{\"a\":1,}",
            b"[1,]",
            b"[,1]",
            b"{\"a\"}",
            b"{1:2}",
            b"\"\\u00e9\\n\"",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"\"\\ud800\"",
            b"\"\\ud83d\\ude00\"",
            b"\"a\nb\"",
            b"\"\xc3\xa9\"",
            b"{} {}",
            b"",
            b"\"unterminated",
            b"[1 2]",
            b"{\"a\":1 \"b\":2}",
            b"\"\\",
            b"\"\\u",
            b"123abc",
            b"[true,false,null]",
        ];
        for case in cases {
            let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(case).is_ok();
            assert_eq!(valid(case), theirs, "{}", String::from_utf8_lossy(case));
        }
        // Nesting is capped as serde_json caps it for values it builds (its skipping has no cap).
        assert!(valid(deep_ok.as_bytes()));
        assert!(serde_json::from_str::<serde_json::Value>(&deep_ok).is_ok());
        assert!(!valid(deep_bad.as_bytes()));
        assert!(serde_json::from_str::<serde_json::Value>(&deep_bad).is_err());
        // Bytes that are not UTF-8 are not JSON, also in a string (serde_json skips those).
        assert!(!valid(b"\"\xff\""));
        assert!(!valid(b"[\"\xc3\"]"));
    }

    #[test]
    fn strings_decode_as_serde_json_does() {
        for case in [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9\u4e2d\ud83d\ude00 é""#,
            r#""\"{\\\"a\\\":1}\"""#,
        ] {
            let mut r = Reader::new(case.as_bytes()).unwrap();
            let ours = r.string(usize::MAX).unwrap().unwrap();
            let theirs: String = serde_json::from_str(case).unwrap();
            assert_eq!(ours, theirs);
        }
        // A lone surrogate is an error when decoded (as serde_json), not when skipped.
        assert!(Reader::new(br#""\ud800x""#).unwrap().string(99).is_err());
        assert!(valid(br#""\ud800x""#));
    }

    #[test]
    fn strings_over_the_cap_are_checked_but_not_kept() {
        let mut r = Reader::new(br#"["abcdef", "ab\ncd\u0041ef", "ab\q"]"#).unwrap();
        let mut got = Vec::new();
        let result = r.array(|r| {
            got.push(r.string(4)?);
            Ok(())
        });
        assert_eq!(got, vec![None, None]);
        assert!(
            result.is_err(),
            "an invalid escape past the cap is still an error"
        );
        let mut r = Reader::new(br#""ab\ncd""#).unwrap();
        assert_eq!(r.string(5).unwrap().as_deref(), Some("ab\ncd"));
    }

    #[test]
    fn objects_give_their_keys_and_values_in_order() {
        let mut r = Reader::new(br#"{"a": true, "b\u0041": [1, 2], "long-key": null}"#).unwrap();
        let mut keys = Vec::new();
        r.object(3, |r, key| {
            keys.push(key);
            r.skip()
        })
        .unwrap();
        r.finish().unwrap();
        assert_eq!(keys, vec![Some("a".into()), Some("bA".into()), None]);
    }
}
