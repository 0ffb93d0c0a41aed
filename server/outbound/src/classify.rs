//! What kind of address an IP is, for the outgoing-request policy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kinds of destination the policy tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Globally routable unicast.
    Public,
    /// RFC 1918, carrier-grade NAT, benchmarking, IPv6 unique-local.
    Private,
    Loopback,
    /// 169.254.0.0/16 and fe80::/10 (where most cloud metadata services also live).
    LinkLocal,
    /// Cloud metadata services outside link-local space.
    Metadata,
    /// Unspecified, broadcast, multicast, documentation and reserved ranges: nothing a
    /// request should go to.
    Other,
}

/// IPv4 addresses written as IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) are
/// judged as the IPv4 address they reach.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        v4 => v4,
    }
}

pub fn classify(ip: IpAddr) -> Class {
    match canonical(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_link_local() {
        Class::LinkLocal
    } else if ip == Ipv4Addr::new(100, 100, 100, 200) || ip == Ipv4Addr::new(192, 0, 0, 192) {
        // Alibaba Cloud's and Oracle Cloud's metadata services.
        Class::Metadata
    } else if ip.is_private()
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
    {
        Class::Private
    } else if a == 0 || a >= 224 || ip.is_documentation() || (a == 192 && b == 0 && c == 0) {
        Class::Other
    } else {
        Class::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Class::Loopback
    } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        // AWS's metadata service over IPv6.
        Class::Metadata
    } else if first & 0xffc0 == 0xfe80 {
        Class::LinkLocal
    } else if first & 0xfe00 == 0xfc00 {
        Class::Private
    } else if first & 0xe000 == 0x2000 && first != 0x2001 || is_global_2001(ip) {
        Class::Public
    } else {
        Class::Other
    }
}

/// In 2001::/16 only 2001:db8::/32 (documentation) and 2001::/23 (IETF protocol
/// assignments, Teredo among them) are not ordinary global unicast.
fn is_global_2001(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    s[0] == 0x2001 && s[1] != 0x0db8 && s[1] >= 0x0200
}
