//! The policy for every request Caravan sends on someone's behalf (webhook trainers, event
//! hooks, federation peers), so that a URL somebody typed cannot make the server reach what
//! only the server can reach.
//!
//! A host is resolved first and every address it resolves to is checked; the client connects
//! only to checked addresses (the resolver hands it nothing else), literal IP hosts are
//! checked before sending, no proxy is used and no redirect is followed. What a caller learns
//! is "refused by the outgoing-request policy" or "unreachable", never which port answered.
//!
//! Two levels: URLs an ordinary user can set ([`Trust::User`]) reach only public unicast
//! addresses; URLs only admins set ([`Trust::Admin`], which often live on private networks)
//! reach anything but link-local, cloud-metadata, unspecified and multicast addresses. The
//! configured deny list refuses ranges for both; the allow list opens ranges for both (a
//! denied range stays denied).

mod classify;

use std::{net::IpAddr, sync::Arc, time::Duration};

use ipnet::IpNet;

pub use classify::{Class, classify};

/// Who could have set the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    User,
    Admin,
}

/// What a caller is told when a request did not get an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("refused by the outgoing-request policy")]
    Refused,
    #[error("unreachable")]
    Unreachable,
    #[error("not an http:// or https:// URL")]
    BadUrl,
}

/// The allow and deny lists (`[outbound]`).
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    pub allow: Vec<IpNet>,
    pub deny: Vec<IpNet>,
}

impl OutboundPolicy {
    /// Parses CIDR ranges (`10.0.0.0/8`, `fd00::/8`; a bare address is one host).
    pub fn from_lists(allow: &[String], deny: &[String]) -> Result<Self, String> {
        let parse = |list: &[String]| -> Result<Vec<IpNet>, String> {
            list.iter()
                .map(|s| {
                    s.parse::<IpNet>()
                        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| format!("{s:?} is not an IP range (CIDR) or address"))
                })
                .collect()
        };
        Ok(Self {
            allow: parse(allow)?,
            deny: parse(deny)?,
        })
    }

    /// May a request at this trust level go to `ip`?
    pub fn permits(&self, trust: Trust, ip: IpAddr) -> bool {
        let ip = classify::canonical(ip);
        if self.deny.iter().any(|n| n.contains(&ip)) {
            return false;
        }
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return true;
        }
        match (classify(ip), trust) {
            (Class::Public, _) => true,
            (Class::Private | Class::Loopback, Trust::Admin) => true,
            (Class::Private | Class::Loopback, Trust::User) => false,
            (Class::LinkLocal | Class::Metadata | Class::Other, _) => false,
        }
    }

    /// Checks what can be checked before a request is sent: the scheme, and a host that is
    /// an IP address (names are checked when they are resolved).
    pub fn check_url(&self, trust: Trust, url: &str) -> Result<(), OutboundError> {
        let url = url::Url::parse(url).map_err(|_| OutboundError::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::BadUrl);
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(OutboundError::BadUrl),
        };
        if self.permits(trust, ip) {
            Ok(())
        } else {
            Err(OutboundError::Refused)
        }
    }

    /// A client bound to this policy at `trust`: its resolver drops refused addresses (and
    /// fails when none is left), it uses no proxy and follows no redirect.
    pub fn client(&self, trust: Trust, builder: reqwest::ClientBuilder) -> reqwest::Client {
        self.builder(trust, builder)
            .build()
            .expect("an HTTP client builds")
    }

    /// As [`OutboundPolicy::client`], for callers that add their own TLS settings and build.
    pub fn builder(&self, trust: Trust, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder
            .dns_resolver(Arc::new(CheckedResolver {
                policy: self.clone(),
                trust,
            }))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
    }

    /// Sends `request` with `client` (built by [`OutboundPolicy::client`] at `trust`) after
    /// checking its URL; failures come back as the policy's words only.
    pub async fn send(
        &self,
        trust: Trust,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, OutboundError> {
        let (client, request) = request.build_split();
        let request = request.map_err(|_| OutboundError::BadUrl)?;
        self.check_url(trust, request.url().as_str())?;
        client.execute(request).await.map_err(|e| describe(&e))
    }
}

/// The policy's words for a failed request: refused if the resolver refused every address,
/// otherwise unreachable (refused connections, timeouts and TLS failures all read the same).
pub fn describe(error: &reqwest::Error) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.downcast_ref::<RefusedByPolicy>().is_some() {
            return OutboundError::Refused;
        }
        source = e.source();
    }
    OutboundError::Unreachable
}

#[derive(Debug, thiserror::Error)]
#[error("refused by the outgoing-request policy")]
struct RefusedByPolicy;

/// Resolves with the system's resolver, then keeps only the addresses the policy permits.
struct CheckedResolver {
    policy: OutboundPolicy,
    trust: Trust,
}

/// How long a name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (policy, trust) = (self.policy.clone(), self.trust);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0)))
                    .await
                    .map_err(|_| -> Box<dyn std::error::Error + Send + Sync> {
                        "resolving timed out".into()
                    })??;
            let permitted: Vec<_> = resolved.filter(|a| policy.permits(trust, a.ip())).collect();
            if permitted.is_empty() {
                return Err(Box::new(RefusedByPolicy) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests;
