//! Where Wine's Winsock is not Windows': each check below does with plain std/socket2/Winsock
//! calls (no rustsocket code) what a test that is skipped under Wine relies on, and prints what
//! Windows does and what happened here. On Windows every line says "as on Windows"; under Wine
//! the ones docs/windows.md lists say "differs".
//!
//! `wine target/x86_64-pc-windows-gnu/release/examples/wine_probe.exe` (`.ci/windows.sh` runs it).

#[cfg(not(windows))]
fn main() {
    eprintln!("wine_probe checks Winsock: build it for Windows and run it there or under Wine");
}

#[cfg(windows)]
fn main() {
    probe::run();
}

#[cfg(windows)]
mod probe {
    use socket2::{Domain, SockAddr, Socket, Type};
    use std::io::{ErrorKind, Read};
    use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::os::windows::io::AsRawSocket;
    use std::time::Duration;
    use windows_sys::Win32::Networking::WinSock as ws;

    fn report(what: &str, windows: &str, here: String) {
        let verdict = if here == windows {
            "as on Windows"
        } else {
            "differs"
        };
        println!("{verdict}: {what}: Windows: {windows}; here: {here}");
    }

    fn loopback(port: u16) -> SockAddr {
        SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    pub fn run() {
        linger_zero();
        accept_of_a_reset_connection();
        datagram_disconnect();
        port_unreachable();
        keepalive_options();
        multicast_by_index();
        error_texts();
    }

    /// A peer's close with SO_LINGER 0 resets the connection: every later read fails.
    fn linger_zero() {
        for wait_first in [false, true] {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            let reader = std::thread::spawn(move || {
                let mut c = c;
                if wait_first {
                    // wait for readiness first, as every non-blocking reader does
                    let mut set = ws::FD_SET {
                        fd_count: 1,
                        fd_array: [0; 64],
                    };
                    set.fd_array[0] = c.as_raw_socket() as ws::SOCKET;
                    // SAFETY: one valid set, no timeout.
                    unsafe {
                        ws::select(
                            0,
                            &mut set,
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                            std::ptr::null(),
                        )
                    };
                }
                let mut b = [0u8; 8];
                match c.read(&mut b) {
                    Ok(n) => format!("read {n} bytes"),
                    Err(e) => format!("{:?}", e.kind()),
                }
            });
            std::thread::sleep(Duration::from_millis(100));
            let s = Socket::from(s);
            s.set_linger(Some(Duration::ZERO)).unwrap();
            drop(s);
            let how = if wait_first {
                "a read after select() reported the peer's close with SO_LINGER 0"
            } else {
                "a read blocked while the peer closed with SO_LINGER 0"
            };
            report(how, "ConnectionReset", reader.join().unwrap());
        }
    }

    /// Accepting a connection that was reset while queued fails with WSAECONNRESET.
    fn accept_of_a_reset_connection() {
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        l.bind(&loopback(0)).unwrap();
        l.listen(8).unwrap();
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        c.connect(&l.local_addr().unwrap()).unwrap();
        c.set_linger(Some(Duration::ZERO)).unwrap();
        drop(c);
        std::thread::sleep(Duration::from_millis(100));
        let here = match l.accept() {
            Ok(_) => "accepted".to_string(),
            Err(e) => format!("error {}", e.raw_os_error().unwrap_or(0)),
        };
        report(
            "accept of a connection reset while queued",
            &format!("error {}", ws::WSAECONNRESET),
            here,
        );
    }

    /// A datagram socket's disconnect keeps its local port.
    fn datagram_disconnect() {
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        s.bind(&loopback(0)).unwrap();
        let port = s.local_addr().unwrap().as_socket().unwrap().port();
        s.connect(&SockAddr::from(peer.local_addr().unwrap()))
            .unwrap();
        // SAFETY: all-zero is a valid address, the one that dissolves the association.
        let none: ws::SOCKADDR_STORAGE = unsafe { std::mem::zeroed() };
        // SAFETY: a valid address of the given length.
        unsafe {
            ws::connect(
                s.as_raw_socket() as ws::SOCKET,
                (&none as *const ws::SOCKADDR_STORAGE).cast(),
                std::mem::size_of::<ws::SOCKADDR_STORAGE>() as i32,
            )
        };
        let after = s.local_addr().unwrap().as_socket().unwrap().port();
        report(
            "the local port after a datagram disconnect",
            "kept",
            if after == port {
                "kept".into()
            } else {
                format!("now {after}")
            },
        );
    }

    /// A connected datagram socket learns that its peer's port is closed.
    fn port_unreachable() {
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = closed.local_addr().unwrap();
        drop(closed);
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let on: u32 = 1;
        let mut returned = 0u32;
        // SAFETY: a BOOL in, nothing out, no overlapped I/O.
        unsafe {
            ws::WSAIoctl(
                s.as_raw_socket() as ws::SOCKET,
                ws::SIO_UDP_CONNRESET,
                (&on as *const u32).cast(),
                4,
                std::ptr::null_mut(),
                0,
                &mut returned,
                std::ptr::null_mut(),
                None,
            )
        };
        s.connect(target).unwrap();
        s.send(b"anyone?").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut b = [0u8; 8];
        let here = match s.recv(&mut b) {
            Ok(n) => format!("received {n} bytes"),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => "ConnectionReset".into(),
            Err(e) if e.kind() == ErrorKind::TimedOut => "nothing within 1 s".into(),
            Err(e) => format!("{e}"),
        };
        report(
            "a receive after sending to a closed port (connected, SIO_UDP_CONNRESET on)",
            "ConnectionReset",
            here,
        );
    }

    /// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (Windows 10 1709 and later).
    fn keepalive_options() {
        let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
        for (name, opt) in [
            ("TCP_KEEPIDLE", ws::TCP_KEEPIDLE),
            ("TCP_KEEPINTVL", ws::TCP_KEEPINTVL),
            ("TCP_KEEPCNT", ws::TCP_KEEPCNT),
        ] {
            let v: i32 = 5;
            // SAFETY: one int and its length.
            let rc = unsafe {
                ws::setsockopt(
                    s.as_raw_socket() as ws::SOCKET,
                    ws::IPPROTO_TCP,
                    opt,
                    (&v as *const i32).cast(),
                    4,
                )
            };
            // SAFETY: reads this thread's last error.
            let here = if rc == 0 {
                "set".into()
            } else {
                format!("error {}", unsafe { ws::WSAGetLastError() })
            };
            report(&format!("setsockopt {name}"), "set", here);
        }
    }

    /// An IPv4 multicast interface given by index, as the address 0.0.0.index.
    fn multicast_by_index() {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        s.bind(&SockAddr::from(SocketAddr::from((
            Ipv4Addr::UNSPECIFIED,
            0,
        ))))
        .unwrap();
        let outcome = |r: std::io::Result<()>| match r {
            Ok(()) => "accepted".to_string(),
            Err(e) => format!("error {}", e.raw_os_error().unwrap_or(0)),
        };
        report(
            "IP_MULTICAST_IF 0.0.0.1 (interface 1)",
            "accepted",
            outcome(s.set_multicast_if_v4(&Ipv4Addr::from(1))),
        );
        report(
            "IP_ADD_MEMBERSHIP on interface 0.0.0.1",
            "accepted",
            outcome(s.join_multicast_v4_n(
                &Ipv4Addr::new(239, 255, 0, 77),
                &socket2::InterfaceIndexOrAddress::Index(1),
            )),
        );
    }

    /// The system's texts for Winsock errors, which the JDK's read and write exceptions carry.
    fn error_texts() {
        use windows_sys::Win32::System::Diagnostics::Debug::{
            FormatMessageW, FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS,
        };
        for code in [ws::WSAECONNABORTED, ws::WSAESHUTDOWN, ws::WSAEWOULDBLOCK] {
            let mut buf = [0u16; 256];
            // SAFETY: the buffer and its length; no inserts.
            let n = unsafe {
                FormatMessageW(
                    FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                    std::ptr::null(),
                    code as u32,
                    0,
                    buf.as_mut_ptr(),
                    buf.len() as u32,
                    std::ptr::null(),
                )
            };
            report(
                &format!("FormatMessage({code})"),
                "a text",
                if n > 0 {
                    "a text".into()
                } else {
                    "none".into()
                },
            );
        }
    }
}
