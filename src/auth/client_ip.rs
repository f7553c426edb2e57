//! Who is asking, for throttling by address: the peer, or, when the peer is one of
//! `TRUSTED_PROXIES`, the client that proxy says it forwarded for. Without that setting
//! `X-Forwarded-For` is ignored, so nobody can dodge throttling by writing the header.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use ipnet::IpNet;

use crate::{AppState, error::AppError};

pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(addr)| addr.ip());
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        Ok(ClientIp(client_ip(peer, &forwarded, &state.config.trusted_proxies)))
    }
}

/// The address to throttle: walking `X-Forwarded-For` from the right (the hops our own
/// proxies added), the first address that is not a trusted proxy; the peer itself if
/// it is not trusted, or if the header says nothing usable.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for.iter().flat_map(|h| h.split(',')).map(str::trim).collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// `TRUSTED_PROXIES`: addresses or networks, comma separated (`10.0.0.1, 172.16.0.0/12`).
pub fn parse_trusted(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an address or network"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy() {
        let trusted = parse_trusted("10.0.0.1, 172.16.0.0/12").unwrap();
        let direct = client_ip(ip("203.0.113.9"), &["198.51.100.7"], &trusted);
        assert_eq!(direct, ip("203.0.113.9"), "a client cannot choose its own address");
        assert_eq!(client_ip(ip("10.0.0.1"), &["198.51.100.7"], &trusted), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.0.0.1"), &[], &[]), ip("10.0.0.1"), "nothing trusted by default");
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client_whatever_it_wrote_itself() {
        let trusted = parse_trusted("10.0.0.1, 172.16.0.0/12").unwrap();
        let spoofed = ["1.2.3.4, 198.51.100.7", "172.17.0.5"];
        assert_eq!(client_ip(ip("10.0.0.1"), &spoofed, &trusted), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.0.0.1"), &["junk, 198.51.100.7"], &trusted), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.0.0.1"), &["198.51.100.7, junk"], &trusted), ip("10.0.0.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), &["172.17.0.2"], &trusted), ip("172.17.0.2"), "all trusted");
    }

    #[test]
    fn the_setting_names_addresses_or_networks() {
        assert_eq!(parse_trusted(" ").unwrap(), Vec::<IpNet>::new());
        assert_eq!(parse_trusted("::1").unwrap().len(), 1);
        assert!(parse_trusted("10.0.0.1, proxy.local").unwrap_err().contains("proxy.local"));
    }
}
