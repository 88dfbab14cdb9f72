//! Whose request this is: the address of the client, as the rate limits,
//! sessions and the audit log see it.
//!
//! By default that is the connection's peer: `X-Forwarded-For` is written by
//! whoever sends the request, so it is ignored. Behind a load balancer or
//! reverse proxy, `AGENTDECK_TRUSTED_PROXIES` names the proxies' networks
//! (CIDRs); a request whose peer is one of them is attributed to the
//! rightmost address in `X-Forwarded-For` that is not a trusted proxy
//! itself. Addresses a client put further left are never believed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The client's address, put on every request by `resolve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// As the service records it (empty when unknown).
    pub fn text(self) -> String {
        self.0.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

/// One network, `address/prefix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR (e.g. 10.0.0.0/8)"))?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("{text:?}: the prefix must be from 0 to {most}"))?,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`) is that IPv4 one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// `AGENTDECK_TRUSTED_PROXIES`: the networks whose `X-Forwarded-For` is
/// believed (none by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[Cidr]>);

impl TrustedProxies {
    /// A comma-separated list of CIDRs or addresses.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(|cidrs| Self(cidrs.into()))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client behind `peer`, given the `X-Forwarded-For` values in the
    /// order they came.
    pub fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let mut client = peer.map(canonical)?;
        if !self.trusts(client) {
            return Some(client);
        }
        let hops = forwarded_for.rev().flat_map(|value| value.rsplit(','));
        for hop in hops {
            let Some(ip) = hop_address(hop) else {
                // Garbage from a client: the last proxy's word stands.
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, or one with a port as some
/// proxies write it (`203.0.113.7:5123`, `[2001:db8::1]:443`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|addr| addr.ip())
}

/// Puts the `ClientAddr` on the request.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>();
    let client = state.proxies.client(peer, forwarded.into_iter());
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::{Cidr, TrustedProxies};
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(net.contains(ip("10.255.1.2")));
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        let v6 = Cidr::parse("2001:db8::/32").expect("cidr");
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("proxy.local").is_err());
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_only_up_to_the_first_stranger() {
        let none = TrustedProxies::default();
        let peer = Some(ip("203.0.113.9"));
        assert_eq!(none.client(peer, ["1.2.3.4"].into_iter()), peer);

        let lb = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").expect("proxies");
        let lb_peer = Some(ip("10.0.0.5"));
        // What the proxy appended is the client.
        assert_eq!(
            lb.client(lb_peer, ["198.51.100.7"].into_iter()),
            Some(ip("198.51.100.7"))
        );
        // A client's own claim further left is not.
        assert_eq!(
            lb.client(lb_peer, ["6.6.6.6, 198.51.100.7"].into_iter()),
            Some(ip("198.51.100.7"))
        );
        // Chained proxies are skipped, across header lines too.
        assert_eq!(
            lb.client(
                lb_peer,
                ["6.6.6.6, 198.51.100.7", "192.168.1.1"].into_iter()
            ),
            Some(ip("198.51.100.7"))
        );
        // Addresses with ports, as some proxies write them.
        assert_eq!(
            lb.client(lb_peer, ["198.51.100.7:5123"].into_iter()),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            lb.client(lb_peer, ["[2001:db8::1]:443"].into_iter()),
            Some(ip("2001:db8::1"))
        );
        // Garbage stops the walk at the last proxy.
        assert_eq!(lb.client(lb_peer, ["nonsense"].into_iter()), lb_peer);
        // A stranger sending the header is not believed.
        assert_eq!(lb.client(peer, ["10.0.0.9"].into_iter()), peer);
        assert_eq!(lb.client(None, ["1.2.3.4"].into_iter()), None);
    }
}
