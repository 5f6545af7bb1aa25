//! Just enough HTTP/1.1 for the Runtime API: one request at a time on a kept-alive loopback
//! connection; answers framed by `Content-Length`, chunked, or ended by the connection closing.
//!
//! (hyper's client did this with a dispatcher task, channels and header maps: about 45 k
//! instructions for the two exchanges of each invocation, a sixth of a warm call. Here the
//! answer's head is parsed by httparse, hyper's own parser, and the payload is read once into
//! the buffer the handler gets.)

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// An answer's head (status line and headers) is a few hundred bytes.
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;
/// Far above Lambda's 6 MB payload limit; a bound, not a limit the hook relies on.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
const READ_SIZE: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("Runtime API connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the Runtime API closed the connection")]
    Closed,
    #[error("malformed Runtime API answer: {0}")]
    Malformed(&'static str),
}

/// One answer: its status, the header values asked for (in the order asked), and its body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<Option<String>>,
    pub body: Vec<u8>,
    /// The server closes the connection after this answer: the next request needs a new one.
    pub closing: bool,
}

pub struct Wire<S> {
    stream: S,
    /// Bytes read and not yet used.
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes `request` (a whole HTTP/1.1 request) and reads the answer, keeping the values of
    /// the `wanted` headers (names in lower case).
    pub async fn exchange(&mut self, request: &[u8], wanted: &[&str]) -> Result<Answer, WireError> {
        self.stream.write_all(request).await?;
        let (head_len, status, framing, mut closing, headers) = loop {
            if let Some(head) = parse_head(&self.buf, wanted)? {
                break head;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(WireError::Malformed("head too large"));
            }
            self.fill().await?;
        };
        self.buf.drain(..head_len);
        let body = match framing {
            _ if status == 204 || status == 304 || status < 200 => Vec::new(),
            Framing::Chunked => self.chunked().await?,
            Framing::Length(n) => self.exact(n).await?,
            Framing::UntilClose => {
                closing = true;
                self.until_close().await?
            }
        };
        Ok(Answer {
            status,
            headers,
            body,
            closing,
        })
    }

    /// Reads more bytes into the buffer; the connection ending here is an error.
    async fn fill(&mut self) -> Result<(), WireError> {
        self.buf.reserve(READ_SIZE);
        match self.stream.read_buf(&mut self.buf).await? {
            0 => Err(WireError::Closed),
            _ => Ok(()),
        }
    }

    /// `n` body bytes, read into one buffer of that size (a large payload is copied once).
    async fn exact(&mut self, n: usize) -> Result<Vec<u8>, WireError> {
        if self.buf.len() >= n {
            let rest = self.buf.split_off(n);
            return Ok(std::mem::replace(&mut self.buf, rest));
        }
        let mut body = std::mem::take(&mut self.buf);
        body.reserve_exact(n - body.len());
        while body.len() < n {
            let left = (n - body.len()) as u64;
            if (&mut self.stream).take(left).read_buf(&mut body).await? == 0 {
                return Err(WireError::Closed);
            }
        }
        Ok(body)
    }

    async fn chunked(&mut self) -> Result<Vec<u8>, WireError> {
        let mut body = Vec::new();
        loop {
            let line = self.line().await?;
            let size = line.split(|&b| b == b';').next().unwrap_or_default();
            let size = std::str::from_utf8(size)
                .ok()
                .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                .ok_or(WireError::Malformed("chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line().await?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY {
                return Err(WireError::Malformed("body too large"));
            }
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(WireError::Malformed("chunk not followed by CRLF"));
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
    }

    /// One CRLF-ended line, without its CRLF.
    async fn line(&mut self) -> Result<Vec<u8>, WireError> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..at].to_vec();
                self.buf.drain(..at + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(WireError::Malformed("line too long"));
            }
            self.fill().await?;
        }
    }

    async fn until_close(&mut self) -> Result<Vec<u8>, WireError> {
        let mut body = std::mem::take(&mut self.buf);
        loop {
            if body.len() > MAX_BODY {
                return Err(WireError::Malformed("body too large"));
            }
            body.reserve(READ_SIZE);
            if self.stream.read_buf(&mut body).await? == 0 {
                return Ok(body);
            }
        }
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

type Head = (usize, u16, Framing, bool, Vec<Option<String>>);

/// The answer's head when the buffer holds all of it: its length, status, framing, whether the
/// connection closes after it, and the wanted header values.
fn parse_head(buf: &[u8], wanted: &[&str]) -> Result<Option<Head>, WireError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(WireError::Malformed("response head")),
    };
    let status = response.code.unwrap_or(0);
    // HTTP/1.0 closes unless told otherwise; the Runtime API speaks 1.1.
    let mut closing = response.version == Some(0);
    let mut framing = Framing::UntilClose;
    let mut values = vec![None; wanted.len()];
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            if matches!(framing, Framing::Chunked) {
                continue; // chunked wins (RFC 9112 §6.3)
            }
            let n = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n <= MAX_BODY)
                .ok_or(WireError::Malformed("content-length"))?;
            framing = Framing::Length(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if contains_ignoring_case(header.value, b"chunked") {
                framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            closing |= contains_ignoring_case(header.value, b"close");
        } else if let Some(i) = wanted.iter().position(|w| name.eq_ignore_ascii_case(w)) {
            values[i] = std::str::from_utf8(header.value).ok().map(str::to_string);
        }
    }
    Ok(Some((head_len, status, framing, closing, values)))
}

fn contains_ignoring_case(value: &[u8], word: &[u8]) -> bool {
    value
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    /// Sends `request` over a wire whose server answers with `answer`, written in pieces of
    /// `piece` bytes; returns what the server read and the answer.
    async fn exchange(answer: &[u8], piece: usize) -> (Vec<u8>, Result<Answer, WireError>) {
        let (client, mut server) = duplex(1 << 20);
        let mut wire = Wire::new(client);
        let answer = answer.to_vec();
        let server = tokio::spawn(async move {
            let mut request = vec![0; 5];
            server.read_exact(&mut request).await.unwrap();
            for part in answer.chunks(piece.max(1)) {
                server.write_all(part).await.unwrap();
                server.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
            drop(server);
            request
        });
        let answer = wire
            .exchange(b"GET /", &["lambda-runtime-aws-request-id"])
            .await;
        (server.await.unwrap(), answer)
    }

    #[tokio::test]
    async fn answers_framed_every_way_read_the_same_in_any_pieces() {
        let framed: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\nContent-Length: 11\r\n\r\nhello world",
            b"HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: r-1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nLAMBDA-RUNTIME-AWS-REQUEST-ID: r-1\r\nConnection: close\r\n\r\nhello world",
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nb\r\nhello world\r\n0\r\n\r\n",
        ];
        for answer in framed {
            for piece in [1, 2, 7, 64, 4096] {
                let (request, read) = exchange(answer, piece).await;
                assert_eq!(request, b"GET /");
                let read = read.unwrap();
                let shown = String::from_utf8_lossy(answer);
                assert_eq!(read.status, 200, "{shown}");
                assert_eq!(read.body, b"hello world", "{shown} in {piece}-byte pieces");
                assert_eq!(read.headers, vec![Some("r-1".to_string())], "{shown}");
            }
        }
    }

    #[tokio::test]
    async fn no_content_has_no_body_and_the_connection_stays() {
        let (_, read) = exchange(b"HTTP/1.1 204 No Content\r\n\r\n", 3).await;
        let read = read.unwrap();
        assert_eq!(
            (read.status, read.body.len(), read.closing),
            (204, 0, false)
        );
        assert_eq!(read.headers, vec![None]);
    }

    #[tokio::test]
    async fn a_connection_that_ends_early_or_garbage_is_an_error() {
        for answer in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"NOT HTTP\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
        ] {
            let (_, read) = exchange(answer, 4).await;
            assert!(read.is_err(), "{}", String::from_utf8_lossy(answer));
        }
    }

    #[tokio::test]
    async fn answers_follow_one_another_on_one_connection() {
        let (client, mut server) = duplex(1 << 16);
        let mut wire = Wire::new(client);
        let server = tokio::spawn(async move {
            // Both answers in one write: the second must wait in the buffer for its request.
            let mut request = vec![0; 2];
            server.read_exact(&mut request).await.unwrap();
            server
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nbc")
                .await
                .unwrap();
            server.read_exact(&mut request).await.unwrap();
            server
        });
        let first = wire.exchange(b"r1", &[]).await.unwrap();
        let second = wire.exchange(b"r2", &[]).await.unwrap();
        assert_eq!((first.status, &first.body[..]), (200, &b"a"[..]));
        assert_eq!((second.status, &second.body[..]), (202, &b"bc"[..]));
        drop(server.await.unwrap());
    }
}
