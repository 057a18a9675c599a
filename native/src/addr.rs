//! Socket addresses between Java, Rust and the kernel.
//!
//! Like the JDK, the engine opens IPv6 sockets in dual-stack mode when the host
//! has IPv6, so IPv4 peers appear to the kernel as IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`). This module maps them on the way in and back on the way
//! out, so Java always sees the address family the user gave.
//!
//! Addresses travel to Java in a fixed byte layout ([`WIRE_LEN`] bytes) written
//! into a caller-owned array, which costs no object allocation in native code:
//! byte 0 is 4 or 6, bytes 1..17 the address (IPv4 in the first four), bytes
//! 17..19 the port and bytes 19..23 the IPv6 scope id, both big-endian.

use crate::error::{ExceptionClass, NetError, NetResult};
use socket2::SockAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Length of an address in the Java wire layout.
pub const WIRE_LEN: usize = 23;

/// Byte 0 of the wire layout for a Unix domain peer, whose name is read separately
/// ([`crate::local::peer_name`]); 4 and 6 mean IPv4 and IPv6, 0 no address.
pub const UNIX: u8 = 1;

/// Builds an IP address from the raw bytes Java holds (4 or 16 of them).
pub fn ip_from_bytes(bytes: &[u8]) -> NetResult<IpAddr> {
    match bytes.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            Ok(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        n => Err(NetError::new(
            ExceptionClass::IllegalArgument,
            format!("an IP address has 4 or 16 bytes, not {n}"),
        )),
    }
}

/// The address to hand the kernel for a socket of the given family.
///
/// On an IPv6 socket an IPv4 address becomes IPv4-mapped, except the IPv4
/// wildcard, which becomes the IPv6 wildcard so that binding to `0.0.0.0`
/// accepts both families (the JDK does the same). On an IPv4 socket an IPv6
/// address is refused unless it is IPv4-mapped.
pub fn to_kernel(ip: IpAddr, port: u16, scope_id: u32, ipv6_socket: bool) -> NetResult<SockAddr> {
    let addr = match (ip, ipv6_socket) {
        (IpAddr::V4(v4), false) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
        (IpAddr::V4(v4), true) => {
            let v6 = if v4.is_unspecified() {
                Ipv6Addr::UNSPECIFIED
            } else {
                v4.to_ipv6_mapped()
            };
            SocketAddr::V6(SocketAddrV6::new(v6, port, 0, 0))
        }
        (IpAddr::V6(v6), true) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope_id)),
        (IpAddr::V6(v6), false) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
            None => {
                return Err(NetError::new(
                    ExceptionClass::Socket,
                    "Protocol family unavailable",
                ))
            }
        },
    };
    Ok(SockAddr::from(addr))
}

/// The address the kernel reported, with IPv4-mapped addresses turned back into IPv4.
pub fn from_kernel(addr: &SockAddr) -> NetResult<SocketAddr> {
    match addr.as_socket() {
        Some(SocketAddr::V6(v6)) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => Ok(SocketAddr::V4(SocketAddrV4::new(v4, v6.port()))),
            None => Ok(SocketAddr::V6(v6)),
        },
        Some(v4) => Ok(v4),
        None => Err(NetError::new(
            ExceptionClass::Socket,
            "the kernel reported an address that is not IP",
        )),
    }
}

/// The address a system call wrote into `storage` (`len` bytes of it), as [`from_kernel`]
/// shows it: for the calls that fill a `sockaddr_storage` themselves (recvfrom, recvmmsg).
#[cfg(unix)]
pub fn from_storage(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> NetResult<SocketAddr> {
    let mut copy = socket2::SockAddrStorage::zeroed();
    // SAFETY: SockAddrStorage is a sockaddr_storage; the kernel initialised `len` bytes of it.
    let a = unsafe {
        *copy.view_as::<libc::sockaddr_storage>() = *storage;
        SockAddr::new(copy, len)
    };
    from_kernel(&a)
}

/// Writes `addr` in the Java wire layout.
pub fn encode(addr: &SocketAddr, out: &mut [u8; WIRE_LEN]) {
    out.fill(0);
    match addr {
        SocketAddr::V4(v4) => {
            out[0] = 4;
            out[1..5].copy_from_slice(&v4.ip().octets());
        }
        SocketAddr::V6(v6) => {
            out[0] = 6;
            out[1..17].copy_from_slice(&v6.ip().octets());
            out[19..23].copy_from_slice(&v6.scope_id().to_be_bytes());
        }
    }
    out[17..19].copy_from_slice(&addr.port().to_be_bytes());
}

/// Reads an address written by [`encode`]; used by tests and by the Java side's twin.
pub fn decode(bytes: &[u8; WIRE_LEN]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes([bytes[17], bytes[18]]);
    match bytes[0] {
        4 => Some(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(bytes[1], bytes[2], bytes[3], bytes[4]),
            port,
        ))),
        6 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&bytes[1..17]);
            let scope = u32::from_be_bytes([bytes[19], bytes[20], bytes[21], bytes[22]]);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(octets),
                port,
                0,
                scope,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_from_bytes_accepts_only_4_or_16() {
        assert_eq!(
            ip_from_bytes(&[127, 0, 0, 1]).unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_from_bytes(&v6).unwrap(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        let err = ip_from_bytes(&[1, 2, 3]).unwrap_err();
        assert_eq!(err.class, ExceptionClass::IllegalArgument);
    }

    #[test]
    fn ipv4_on_dual_stack_socket_is_mapped() {
        let a = to_kernel(IpAddr::V4(Ipv4Addr::LOCALHOST), 80, 0, true).unwrap();
        let v6 = a.as_socket_ipv6().unwrap();
        assert_eq!(v6.ip().to_ipv4_mapped(), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(v6.port(), 80);
    }

    #[test]
    fn ipv4_wildcard_becomes_ipv6_wildcard() {
        let a = to_kernel(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, 0, true).unwrap();
        assert_eq!(*a.as_socket_ipv6().unwrap().ip(), Ipv6Addr::UNSPECIFIED);
    }

    #[test]
    fn ipv6_on_ipv4_socket_is_refused_unless_mapped() {
        assert!(to_kernel(IpAddr::V6(Ipv6Addr::LOCALHOST), 1, 0, false).is_err());
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        let a = to_kernel(mapped, 1, 0, false).unwrap();
        assert_eq!(
            *a.as_socket_ipv4().unwrap().ip(),
            Ipv4Addr::new(10, 0, 0, 1)
        );
    }

    #[test]
    fn kernel_mapped_address_comes_back_as_ipv4() {
        let k = SockAddr::from(SocketAddr::V6(SocketAddrV6::new(
            Ipv4Addr::LOCALHOST.to_ipv6_mapped(),
            9,
            0,
            0,
        )));
        assert_eq!(
            from_kernel(&k).unwrap(),
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9))
        );
    }

    #[test]
    fn wire_layout_round_trips() {
        let cases = [
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 7), 65535)),
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 1, 0, 0)),
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 0, 3)),
        ];
        for a in cases {
            let mut buf = [0u8; WIRE_LEN];
            encode(&a, &mut buf);
            assert_eq!(decode(&buf), Some(a));
        }
        let mut buf = [0u8; WIRE_LEN];
        encode(&cases[0], &mut buf);
        assert_eq!(&buf[..5], &[4, 192, 0, 2, 7]);
        assert_eq!(&buf[17..19], &[0xff, 0xff]);
    }
}
