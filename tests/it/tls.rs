//! NL3 over HTTPS, as in production: a TLS front (tokio-rustls, a test CA's certificate for
//! `localhost`) before the NL3 stand-in, which still checks every request. The hook must verify
//! the certificate against the platform's roots (here `SSL_CERT_FILE`, which the platform
//! verifier reads on Linux), offer h2 and http/1.1, and treat an untrusted certificate as a
//! failed check that never reaches NL3; and reach it through an egress proxy (`HTTPS_PROXY`)
//! unless `NO_PROXY` names its host.

use std::sync::{Arc, Mutex};

use crate::helpers::*;
use nl3_okta_hook::decision::Outcome;
use nl3_testkit::standins::{self, Expect};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

/// A TLS front on a free port forwarding to `backend`; records the ALPN protocol each
/// handshake settled on (`None` when the handshake failed).
struct TlsFront {
    url: String,
    handshakes: Arc<Mutex<Vec<Option<Vec<u8>>>>>,
}

impl TlsFront {
    async fn start(cert: &str, key: &str, backend: String) -> Self {
        let certs = vec![CertificateDer::from_pem_file(format!("{FIXTURES}/{cert}")).unwrap()];
        let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}/{key}")).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let seen = handshakes.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, seen, backend) = (acceptor.clone(), seen.clone(), backend.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        seen.lock().unwrap().push(None);
                        return;
                    };
                    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                    seen.lock().unwrap().push(Some(alpn.unwrap_or_default()));
                    let mut plain = TcpStream::connect(&backend).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Self {
            url: format!("https://localhost:{port}"),
            handshakes,
        }
    }

    fn handshakes(&self) -> Vec<Option<Vec<u8>>> {
        self.handshakes.lock().unwrap().clone()
    }
}

fn trust_the_test_ca() {
    // Read when the hook's client is built; nextest runs each test in its own process.
    std::env::set_var("SSL_CERT_FILE", format!("{FIXTURES}/ca.pem"));
}

#[tokio::test]
async fn nl3_over_https_is_verified_and_answers() {
    trust_the_test_ca();
    let up = Upstreams::start_empty().await;
    let backend = up.nl3.address().to_string();
    let front = TlsFront::start("localhost.pem", "localhost.key", backend).await;
    // The token's audience is the URL the hook calls: the TLS front's.
    let expect = Expect {
        audience: front.url.clone(),
        ..up.expect()
    };
    standins::mount_nl3(&up.nl3, &expect).await;
    standins::mount_ipinfo(&up.ipinfo, &expect).await;
    let hook = up
        .hook(&[("API_URI", &front.url), ("FAIL_OPEN", "false")])
        .await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    // The stand-in checked the token and body it received through TLS.
    assert_eq!(up.nl3_requests().await.len(), 1);
    // One connection, h2 chosen by ALPN (the front offers both, the hook prefers h2).
    assert_eq!(front.handshakes(), vec![Some(b"h2".to_vec())]);

    // A second call reuses the connection: no new handshake.
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(up.nl3_requests().await.len(), 2);
    assert_eq!(front.handshakes().len(), 1);
}

#[tokio::test]
async fn nl3_with_an_untrusted_certificate_is_a_failed_check() {
    trust_the_test_ca();
    let up = Upstreams::start().await;
    let backend = up.nl3.address().to_string();
    // Valid for localhost, but signed by no CA the hook trusts.
    let front = TlsFront::start("self-signed.pem", "self-signed.key", backend).await;
    let hook = up
        .hook(&[("API_URI", &front.url), ("FAIL_OPEN", "false")])
        .await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailClosed, "{}", d.reason);
    assert!(
        d.reason.contains("certificate") || d.reason.contains("UnknownIssuer"),
        "{}",
        d.reason
    );
    assert!(
        up.nl3_requests().await.is_empty(),
        "the token went to an unverified host"
    );
    assert!(front.handshakes().iter().all(Option::is_none));
}

/// A CONNECT proxy on loopback (what an egress proxy in a VPC is to the hook): records the
/// `host:port` of each tunnel it opens.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let seen = tunnels.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let Some(target) = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split(' ').next())
                else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                seen.lock().unwrap().push(target.to_string());
                let Ok(mut upstream) = TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, tunnels)
}

#[tokio::test]
async fn nl3_goes_through_https_proxy_unless_no_proxy_names_it() {
    trust_the_test_ca();
    let up = Upstreams::start_empty().await;
    let front = TlsFront::start(
        "localhost.pem",
        "localhost.key",
        up.nl3.address().to_string(),
    )
    .await;
    let expect = Expect {
        audience: front.url.clone(),
        ..up.expect()
    };
    standins::mount_nl3(&up.nl3, &expect).await;
    standins::mount_ipinfo(&up.ipinfo, &expect).await;
    let (proxy, tunnels) = connect_proxy().await;
    // Read when the hook's client is built; nextest runs each test in its own process.
    std::env::set_var("HTTPS_PROXY", &proxy);
    std::env::remove_var("NO_PROXY");
    let settings = [("API_URI", front.url.as_str()), ("FAIL_OPEN", "false")];

    let hook = up.hook(&settings).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    let port = front.url.rsplit(':').next().unwrap();
    assert_eq!(*tunnels.lock().unwrap(), [format!("localhost:{port}")]);
    assert_eq!(up.nl3_requests().await.len(), 1);

    // NO_PROXY names NL3's host: straight there, the proxy sees nothing new.
    std::env::set_var("NO_PROXY", "localhost");
    let hook = up.hook(&settings).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(tunnels.lock().unwrap().len(), 1);
    assert_eq!(up.nl3_requests().await.len(), 2);
}
