//! The client's location from ipinfo (docs/contract.md §4). Enrichment only: every failure gives
//! no location and the lock check goes on. Layer 1: imports only the leaves.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use serde_json::Value;

use crate::http_client::{describe, read_capped, redirect, BodyError};
use crate::settings::IpinfoSettings;

/// ipinfo's answer is under 1 KiB; cap what we read.
const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// Bound on cached addresses, so a flood of distinct IPs cannot grow memory without limit.
const MAX_CACHED_IPS: usize = 10_000;
/// After a 429 (quota exhausted), ipinfo is not asked again for this long.
const QUOTA_BACKOFF: Duration = Duration::from_secs(60);

/// What NL3 gets from an ipinfo answer.
#[derive(Debug, Clone)]
pub struct Location {
    /// `"City, Region"` (or just the city), `""` when ipinfo has neither.
    pub city_region: String,
    /// ipinfo's `loc` (`"lat,long"`), only when it is plain numbers: it goes into a header.
    pub lat_long: Option<String>,
    /// The whole ipinfo answer, sent to NL3 as `integrationData`: kept as its JSON text
    /// (re-written compactly once, when it arrives), as every call from the address sends it.
    pub raw: Box<RawValue>,
}

impl PartialEq for Location {
    fn eq(&self, other: &Self) -> bool {
        (&self.city_region, &self.lat_long, self.raw.get())
            == (&other.city_region, &other.lat_long, other.raw.get())
    }
}

/// Why there is no location. Logged, never fatal.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GeoError {
    #[error("ipinfo quota exhausted (HTTP 429)")]
    Quota,
    #[error("ipinfo lookups paused after a 429")]
    Paused,
    #[error("ipinfo answered HTTP {0}")]
    Status(u16),
    #[error("ipinfo answered {0}")]
    Redirect(String),
    #[error("ipinfo request failed: {0}")]
    Request(String),
    #[error("ipinfo answer is not a JSON object")]
    NotJson,
    #[error("ipinfo did not answer in time")]
    Timeout,
}

/// The address to look up, if any: only a syntactically valid, publicly routable address.
pub fn lookup_address(client_ip: &str) -> Option<IpAddr> {
    let ip: IpAddr = client_ip.trim().parse().ok()?;
    (!is_bogon(ip)).then_some(ip)
}

/// Private, loopback, link-local, documentation and other reserved ranges: ipinfo has no
/// location for them, so they are not looked up.
pub fn is_bogon(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_bogon_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_bogon_v4(v4);
            }
            let s = v6.segments();
            v6.is_unspecified()
                || v6.is_loopback()
                || (s[0] & 0xe000) != 0x2000 // only 2000::/3 is global unicast
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo, ORCHID …)
                || s[0] == 0x2002 // 6to4
                || s[0] == 0x3fff // documentation (RFC 9637)
        }
    }
}

fn is_bogon_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Reads an ipinfo answer into what NL3 gets.
pub fn parse_answer(body: &[u8]) -> Result<Location, GeoError> {
    let raw: Value = serde_json::from_slice(body).map_err(|_| GeoError::NotJson)?;
    if !raw.is_object() {
        return Err(GeoError::NotJson);
    }
    let text = |key: &str| {
        raw.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let city_region = match (text("city"), text("region")) {
        (Some(city), Some(region)) => format!("{city}, {region}"),
        (Some(city), None) => city.to_string(),
        _ => String::new(),
    };
    let lat_long = text("loc")
        .filter(|loc| {
            loc.len() <= 40
                && loc.contains(',')
                && loc
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'-'))
        })
        .map(str::to_string);
    let raw = serde_json::value::to_raw_value(&raw).map_err(|_| GeoError::NotJson)?;
    Ok(Location {
        city_region,
        lat_long,
        raw,
    })
}

/// Where a location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Ipinfo,
}

/// ipinfo client with a per-IP cache: a user signs in many times from one address.
pub struct IpinfoClient {
    http: reqwest::Client,
    base_url: String,
    cache_ttl: Duration,
    timeout: Duration,
    cache: Mutex<HashMap<IpAddr, (Instant, Arc<Location>)>>,
    paused_until: Mutex<Option<Instant>>,
    lookups: AtomicU64,
}

impl IpinfoClient {
    pub fn new(http: reqwest::Client, settings: IpinfoSettings) -> Self {
        Self {
            http,
            base_url: settings.base_url,
            cache_ttl: settings.cache_ttl,
            timeout: settings.timeout,
            cache: Mutex::new(HashMap::new()),
            paused_until: Mutex::new(None),
            lookups: AtomicU64::new(0),
        }
    }

    /// Opens the connection to ipinfo ahead of the first lookup (as `Nl3Client::warm_up` does).
    pub async fn warm_up(&self, timeout: Duration) {
        let _ = self.http.head(&self.base_url).timeout(timeout).send().await;
    }

    /// How many requests went to ipinfo (for metrics and benchmarks).
    pub fn lookup_count(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// The location of the client IP Okta gave, within ipinfo's slice of the budget and what is
    /// left before `deadline`; `None` when the address is not one to look up (none, private,
    /// loopback …).
    pub async fn locate_client(
        &self,
        client_ip: &str,
        token: Option<&str>,
        deadline: Instant,
    ) -> Option<Result<(Arc<Location>, Origin), GeoError>> {
        let ip = lookup_address(client_ip)?;
        let slice = self
            .timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        Some(self.locate(ip, token, slice).await)
    }

    /// The location of `ip`, from the cache or ipinfo, within `timeout`, and which it came from.
    pub async fn locate(
        &self,
        ip: IpAddr,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<(Arc<Location>, Origin), GeoError> {
        if let Some(hit) = self.cached(ip) {
            return Ok((hit, Origin::Cache));
        }
        if self
            .paused_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| Instant::now() < until)
        {
            return Err(GeoError::Paused);
        }
        let location = tokio::time::timeout(timeout, self.fetch(ip, token))
            .await
            .map_err(|_| GeoError::Timeout)??;
        let location = Arc::new(location);
        self.remember(ip, location.clone());
        Ok((location, Origin::Ipinfo))
    }

    fn cached(&self, ip: IpAddr) -> Option<Arc<Location>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(&ip)
            .filter(|(at, _)| at.elapsed() < self.cache_ttl)
            .map(|(_, location)| location.clone())
    }

    fn remember(&self, ip: IpAddr, location: Arc<Location>) {
        if self.cache_ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_IPS {
            cache.retain(|_, (at, _)| at.elapsed() < self.cache_ttl);
            if cache.len() >= MAX_CACHED_IPS {
                cache.clear();
            }
        }
        cache.insert(ip, (Instant::now(), location));
    }

    async fn fetch(&self, ip: IpAddr, token: Option<&str>) -> Result<Location, GeoError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        // Only a parsed address reaches the URL; its Display form has no '/', '?' or '#'.
        let mut call = self
            .http
            .get(format!("{}/{ip}", self.base_url))
            .header("accept", "application/json");
        if let Some(token) = token {
            call = call.bearer_auth(token);
        }
        let mut response = call
            .send()
            .await
            .map_err(|e| GeoError::Request(describe(&e)))?;
        if let Some(redirect) = redirect(&response) {
            return Err(GeoError::Redirect(redirect));
        }
        match response.status().as_u16() {
            200..=299 => {}
            429 => {
                *self.paused_until.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now() + QUOTA_BACKOFF);
                return Err(GeoError::Quota);
            }
            other => return Err(GeoError::Status(other)),
        }
        let body = read_capped(&mut response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge(_) => GeoError::NotJson,
                BodyError::Read(why) => GeoError::Request(why),
            })?;
        parse_answer(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_parsed_addresses_are_looked_up() {
        for public in [
            "1.1.1.1",
            " 8.8.8.8 ",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(lookup_address(public).is_some(), "{public}");
        }
        for not_looked_up in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "1.1.1.1/../../admin",
            "1.1.1.1?token=x",
            "01.1.1.1",
            "fe80::1%eth0",
            "localhost",
            "",
            "1.1.1.1, 2.2.2.2",
        ] {
            assert_eq!(lookup_address(not_looked_up), None, "{not_looked_up}");
        }
    }

    #[test]
    fn ipinfo_sample_gives_city_region_and_loc() {
        // ipinfo's published sample, shared with the hook's tests and benchmarks.
        let body = include_bytes!("../../tests/fixtures/ipinfo-1.1.1.1.json");
        let l = parse_answer(body).unwrap();
        assert_eq!(l.city_region, "Miami, Florida");
        assert_eq!(l.lat_long.as_deref(), Some("25.7867,-80.1800"));
        let raw: Value = serde_json::from_str(l.raw.get()).unwrap();
        assert_eq!(raw["org"], "AS13335 Cloudflare, Inc.");
    }

    #[test]
    fn partial_or_odd_answers_degrade_gracefully() {
        let l = parse_answer(br#"{"ip":"1.2.3.4","bogon":true}"#).unwrap();
        assert_eq!(l.city_region, "");
        assert_eq!(l.lat_long, None);
        let l = parse_answer(br#"{"city":"Paris","loc":"1,2\r\nX-Evil: 1"}"#).unwrap();
        assert_eq!(l.city_region, "Paris");
        assert_eq!(l.lat_long, None);
        assert_eq!(parse_answer(b"[]"), Err(GeoError::NotJson));
        assert_eq!(parse_answer(b"rate limited"), Err(GeoError::NotJson));
    }
}
