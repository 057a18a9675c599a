//! Fuzzes the parts of the core that interpret bytes: IP addresses as Java hands
//! them over, the wire layout written back to Java, the dual-stack mapping, and
//! the errno-to-exception table. None may panic, and every conversion must
//! round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustsocket::{addr, error};
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    // Java passes 4 or 16 bytes; anything else must be refused, not misread.
    match addr::ip_from_bytes(data) {
        Ok(ip) => {
            assert!(data.len() == 4 || data.len() == 16);
            let port = data.first().map_or(0, |b| u16::from(*b) << 8 | 7);
            for ipv6_socket in [false, true] {
                if let Ok(kernel) = addr::to_kernel(ip, port, 0, ipv6_socket) {
                    let back = addr::from_kernel(&kernel).expect("kernel address converts back");
                    assert_eq!(back.port(), port);
                    let same = match (ip, back.ip()) {
                        (a, b) if a == b => true,
                        // the IPv4 wildcard becomes the IPv6 wildcard on dual-stack sockets
                        (IpAddr::V4(v4), IpAddr::V6(v6)) => v4.is_unspecified() && v6.is_unspecified(),
                        // an IPv4-mapped IPv6 address comes back as IPv4
                        (IpAddr::V6(v6), IpAddr::V4(v4)) => v6.to_ipv4_mapped() == Some(v4),
                        _ => false,
                    };
                    assert!(same, "{ip} -> {back}");
                    let mut wire = [0u8; addr::WIRE_LEN];
                    addr::encode(&back, &mut wire);
                    assert_eq!(addr::decode(&wire), Some(back));
                }
            }
        }
        Err(e) => assert!(data.len() != 4 && data.len() != 16, "{e}"),
    }
    // Any 23 bytes decode to an address or to None, never a panic.
    if let Ok(wire) = <[u8; addr::WIRE_LEN]>::try_from(data.get(..addr::WIRE_LEN).unwrap_or(&[])) {
        if let Some(a) = addr::decode(&wire) {
            let mut again = [0u8; addr::WIRE_LEN];
            addr::encode(&a, &mut again);
            assert_eq!(addr::decode(&again), Some(a));
        }
    }
    // Every errno, for every kind of call, maps to some exception with a message.
    if data.len() >= 4 {
        let errno = i32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        let e = error::NetError::from_errno(error::Op::Connect, errno);
        assert!(!e.message.is_empty());
        assert!(e.class.java_name().contains('/'));
    }
});
