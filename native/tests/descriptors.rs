//! Descriptor accounting needs a process of its own: unit tests run in
//! parallel threads that open and close descriptors of their own.

use rustsocket::sock;
use std::net::{IpAddr, Ipv4Addr};

/// Descriptors open in this process: entries of /proc/self/fd on Linux.
#[cfg(unix)]
fn open_fd_count() -> usize {
    let dir = if cfg!(target_os = "linux") {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    std::fs::read_dir(dir).unwrap().count()
}

/// Handles open in this process, sockets among them, on Windows.
#[cfg(windows)]
fn open_fd_count() -> usize {
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessHandleCount};
    let mut count = 0u32;
    // SAFETY: the pseudo-handle of this process and one u32 to write.
    let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut count) };
    assert_ne!(ok, 0, "GetProcessHandleCount failed");
    count as usize
}

#[test]
fn thousands_of_connections_leave_no_descriptor_behind() {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let listener = sock::open_stream(true).unwrap();
    sock::bind(listener, loopback, 0, 0).unwrap();
    sock::listen(listener, 64).unwrap();
    let port = sock::local_addr(listener).unwrap().port();
    let before = open_fd_count();
    for i in 0..2_000u32 {
        let client = sock::open_stream(false).unwrap();
        if !sock::connect(client, loopback, 0, port).unwrap() {
            assert_ne!(
                rustsocket::poller::poll(client, rustsocket::poller::POLLOUT, 5000).unwrap(),
                0
            );
            sock::connect_result(client, false).unwrap();
        }
        sock::set_blocking(client, true).unwrap();
        // the listener does not block where a shutdown does not wake a blocked accept
        assert_ne!(
            rustsocket::poller::poll(listener, rustsocket::poller::POLLIN, 5000).unwrap(),
            0
        );
        let (server, _) = sock::accept(listener).unwrap().unwrap();
        // accepted sockets are non-blocking where every socket is (Windows)
        sock::set_blocking(server, true).unwrap();
        let msg = i.to_be_bytes();
        assert_eq!(sock::write(client, &msg).unwrap(), 4);
        let mut got = [0u8; 4];
        assert_eq!(sock::read(server, &mut got).unwrap(), 4);
        assert_eq!(got, msg);
        sock::close(client);
        sock::close(server);
    }
    assert_eq!(open_fd_count(), before);
    sock::close(listener);
}
