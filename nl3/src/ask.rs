//! One lock check's request from what a caller knows of the sign-in: who, which hook or event,
//! the client's IP as Okta gave it, ipinfo's location when there is one, the user agent when
//! there is one. The hook and the guard build it here, so NL3 gets the same request from both.
//!
//! Layer 2: imports the check and the location.

use std::sync::LazyLock;

use serde_json::value::RawValue;

use crate::check::{CheckRequest, IntegrationType};
use crate::geo::Location;

/// `integrationData` when ipinfo gave nothing.
static EMPTY_OBJECT: LazyLock<Box<RawValue>> =
    LazyLock::new(|| RawValue::from_string("{}".into()).expect("{} is JSON"));

/// At most this many characters of the client IP go to NL3 (`userIP`): Okta's field is any
/// string, and a real address is far shorter.
const SHOWN_IP_CHARS: usize = 100;

/// The request for `username`'s check, `client_ip` as Okta gave it (its first 100 characters;
/// the canonical address in `x-forwarded-for` when it parses), with `location` when ipinfo gave
/// one and `user_device` when the caller knows the user agent.
pub fn check_request<'a>(
    username: &'a str,
    integration_type: IntegrationType,
    client_ip: &'a str,
    location: Option<&'a Location>,
    user_device: Option<&'a str>,
) -> CheckRequest<'a> {
    let shown = client_ip
        .char_indices()
        .nth(SHOWN_IP_CHARS)
        .map_or(client_ip, |(end, _)| &client_ip[..end]);
    CheckRequest {
        username,
        integration_type,
        client_ip: shown,
        parsed_ip: client_ip.trim().parse().ok(),
        user_location: location.map_or("", |l| l.city_region.as_str()),
        lat_long: location.and_then(|l| l.lat_long.as_deref()),
        integration_data: location.map_or(&*EMPTY_OBJECT, |l| &l.raw),
        user_device,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_the_location_or_nothing_and_a_bounded_ip() {
        let location =
            crate::geo::parse_answer(br#"{"city":"Oslo","region":"Oslo","loc":"59.9,10.7"}"#)
                .unwrap();
        let r = check_request(
            "u",
            IntegrationType::OktaOidc,
            " 1.1.1.1 ",
            Some(&location),
            Some("curl/8"),
        );
        assert_eq!(
            (r.user_location, r.lat_long),
            ("Oslo, Oslo", Some("59.9,10.7"))
        );
        assert_eq!(r.parsed_ip, Some("1.1.1.1".parse().unwrap()));
        assert_eq!(r.user_device, Some("curl/8"));
        let long = "é".repeat(150);
        let r = check_request("u", IntegrationType::OktaSaml, &long, None, None);
        assert_eq!(r.client_ip.chars().count(), 100);
        assert_eq!(
            (r.user_location, r.integration_data.get(), r.parsed_ip),
            ("", "{}", None)
        );
    }
}
