//! Unix domain datagram sockets (`AF_UNIX`, `SOCK_DGRAM`): sending to a name and receiving
//! with the sender's name. Opening, binding, names and pairs are [`crate::local`]'s (with
//! [`local::Kind::Datagram`]); waiting, shutdown, close and the buffer options are
//! [`crate::sock`]'s, as for every socket.
//!
//! What differs from UDP ([`crate::udp`]):
//! - A send never waits here: a receiver whose queue is full makes it return [`UNAVAILABLE`]
//!   at once ([`send`]), and the caller waits in its own way. A blocking send would wait in
//!   the kernel for the receiver, where a shutdown of the sending socket does not reach it, so
//!   `close()` could not wake it.
//! - The sender of a datagram is a name (a path, a Linux abstract name) or nothing: a socket
//!   that sends without binding is unnamed. An empty datagram from an unnamed sender and the
//!   return of a receive woken by a shutdown look the same (0 bytes, no name); the caller,
//!   which shut the socket down, tells them apart by whether it is closing.
//! - Nobody bound to the target name any more is `ECONNREFUSED` right away (no ICMP), a
//!   missing socket file `ENOENT`; see [`Op::LocalDatagram`].
//! - Windows has no Unix datagram sockets: [`local::open`] refuses them.

use crate::error::{NetError, NetResult, Op};
use crate::local;
use crate::sock::{borrow, UNAVAILABLE};
use crate::sys::{self, Fd};
use socket2::{MaybeUninitSlice, SockAddr, SockRef};
use std::io::ErrorKind;
use std::mem::MaybeUninit;

/// `MSG_DONTWAIT`: the flag the system layer gives receives that must not wait stops a send
/// from waiting too.
const DONT_WAIT: i32 = sys::RECV_DONTWAIT;

/// `MSG_PEEK`. Windows, which has no Unix datagram sockets, never passes it.
#[cfg(unix)]
const PEEK: i32 = libc::MSG_PEEK;
#[cfg(windows)]
const PEEK: i32 = 2;

/// Connects to the socket bound to `name` (see [`local::to_kernel`]): sends without a target go
/// there, and only that socket may send here. Datagrams queued before the connect are discarded,
/// as for UDP, so that the filter holds from the first receive on.
pub fn connect(fd: Fd, name: &[u8]) -> NetResult<()> {
    let target = local::to_kernel(name)?;
    SockRef::from(&borrow(fd)?)
        .connect(&target)
        .map_err(|e| NetError::from_io(Op::Connect, &e))?;
    let flushed = crate::udp::discard_queued(fd);
    log::debug!(
        "fd {fd}: datagram peer {:?}, {flushed} queued datagrams discarded",
        String::from_utf8_lossy(name)
    );
    Ok(())
}

/// Removes the peer set by [`connect`]; the socket keeps its own name.
pub fn disconnect(fd: Fd) -> NetResult<()> {
    sys::dissolve(fd)?;
    log::debug!("fd {fd}: datagram peer removed");
    Ok(())
}

/// Sends `buf` as one datagram to `target`, or to the connected peer when `None`, without
/// waiting: returns its length, or [`UNAVAILABLE`] when it cannot go now (the receiver's queue
/// or this socket's send buffer is full).
pub fn send(fd: Fd, buf: &[u8], target: Option<&SockAddr>) -> NetResult<i32> {
    let socket = borrow(fd)?;
    let s = SockRef::from(&socket);
    let flags = sys::SEND_FLAGS | DONT_WAIT;
    loop {
        let sent = match target {
            Some(t) => s.send_to_with_flags(buf, t, flags),
            None => s.send_with_flags(buf, flags),
        };
        match sent {
            Ok(n) => return Ok(n as i32),
            Err(e) => match e.kind() {
                ErrorKind::Interrupted => continue,
                ErrorKind::WouldBlock => return Ok(UNAVAILABLE),
                _ => return Err(NetError::from_io(Op::LocalDatagram, &e)),
            },
        }
    }
}

/// One received datagram.
#[derive(Debug)]
pub struct Received {
    /// Bytes stored in the buffer (the datagram cut to the buffer's length), or
    /// [`UNAVAILABLE`] when nothing was queued on a non-blocking descriptor.
    pub len: i32,
    /// Whether the datagram was longer than the buffer (the rest is discarded).
    pub truncated: bool,
    /// The sender's name as the kernel gave it (see [`local::name_to_java`]); an unnamed
    /// sender's is empty. `None` with [`UNAVAILABLE`].
    pub from: Option<SockAddr>,
}

/// Receives one datagram into `buf`; with `peek` it stays queued. Waits only on a blocking
/// descriptor. A return of 0 bytes from an unnamed sender may be a shutdown's wake-up (see the
/// module comment).
pub fn receive(fd: Fd, buf: &mut [u8], peek: bool) -> NetResult<Received> {
    let socket = borrow(fd)?;
    let flags = if peek { PEEK } else { 0 };
    // SAFETY: recvmsg only writes initialised bytes; u8 and MaybeUninit<u8> share a layout.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    let mut bufs = [MaybeUninitSlice::new(uninit)];
    loop {
        match SockRef::from(&socket).recv_from_vectored_with_flags(&mut bufs, flags) {
            Ok((n, got, from)) => {
                return Ok(Received {
                    len: n as i32,
                    truncated: got.is_truncated(),
                    from: Some(from),
                })
            }
            Err(e) => match e.kind() {
                ErrorKind::Interrupted => continue,
                ErrorKind::WouldBlock => {
                    return Ok(Received {
                        len: UNAVAILABLE,
                        truncated: false,
                        from: None,
                    })
                }
                _ => return Err(NetError::from_io(Op::LocalDatagram, &e)),
            },
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::error::ExceptionClass;
    use crate::local::{bind, name_to_java, open, pair, Kind, NameKind};
    use crate::sock::{close, set_blocking, shutdown, Shutdown};

    /// A datagram socket bound to a fresh path in the temporary directory, closed (and its
    /// file removed) on drop.
    struct Named {
        fd: Fd,
        name: Vec<u8>,
    }

    impl Drop for Named {
        fn drop(&mut self) {
            close(self.fd);
            let _ = std::fs::remove_file(std::str::from_utf8(&self.name).unwrap());
        }
    }

    fn path(tag: &str) -> Vec<u8> {
        let p = std::env::temp_dir().join(format!("rsdg-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p.to_str().unwrap().as_bytes().to_vec()
    }

    fn named(tag: &str) -> Named {
        let fd = open(Kind::Datagram, false).unwrap();
        set_blocking(fd, true).unwrap();
        let name = path(tag);
        bind(fd, &name).unwrap();
        Named { fd, name }
    }

    fn java_name(kind: NameKind, name: &[u8]) -> Vec<u8> {
        let mut v = vec![kind as u8];
        v.extend_from_slice(name);
        v
    }

    #[test]
    fn a_datagram_crosses_whole_with_its_senders_name_and_is_cut_to_the_buffer() {
        let (a, b) = (named("a"), named("b"));
        let to = local::to_kernel(&b.name).unwrap();
        assert_eq!(send(a.fd, b"hello world", Some(&to)).unwrap(), 11);
        let mut buf = [0u8; 5];
        let r = receive(b.fd, &mut buf, false).unwrap();
        assert_eq!((r.len, r.truncated, &buf), (5, true, b"hello"));
        assert_eq!(
            name_to_java(r.from.as_ref().unwrap()),
            java_name(NameKind::Path, &a.name)
        );
        // the rest of the cut datagram is gone; an unnamed sender has no name
        let c = open(Kind::Datagram, false).unwrap();
        assert_eq!(send(c, b"", Some(&to)).unwrap(), 0);
        let r = receive(b.fd, &mut buf, false).unwrap();
        assert_eq!((r.len, r.truncated), (0, false));
        assert_eq!(name_to_java(r.from.as_ref().unwrap()), vec![0]);
        // peek leaves it queued
        send(c, b"xyz", Some(&to)).unwrap();
        assert_eq!(receive(b.fd, &mut buf, true).unwrap().len, 3);
        assert_eq!(receive(b.fd, &mut buf, false).unwrap().len, 3);
        set_blocking(b.fd, false).unwrap();
        assert_eq!(receive(b.fd, &mut buf, false).unwrap().len, UNAVAILABLE);
        close(c);
    }

    #[test]
    fn datagrams_larger_than_a_udp_one_cross_whole() {
        let (a, b) = (named("big-a"), named("big-b"));
        let big: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let to = local::to_kernel(&b.name).unwrap();
        assert_eq!(send(a.fd, &big, Some(&to)).unwrap(), big.len() as i32);
        let mut buf = vec![0u8; 200_000];
        let r = receive(b.fd, &mut buf, false).unwrap();
        assert_eq!(r.len as usize, big.len());
        assert_eq!(&buf[..big.len()], &big[..]);
    }

    #[test]
    fn a_full_receiver_makes_a_send_unavailable_not_blocking() {
        let (a, b) = (named("full-a"), named("full-b"));
        let to = local::to_kernel(&b.name).unwrap();
        let mut sent = 0;
        loop {
            match send(a.fd, &[7u8; 512], Some(&to)).unwrap() {
                UNAVAILABLE => break,
                n => {
                    assert_eq!(n, 512);
                    sent += 1;
                    assert!(sent < 100_000, "the receiver never filled");
                }
            }
        }
        let mut buf = [0u8; 512];
        assert_eq!(receive(b.fd, &mut buf, false).unwrap().len, 512);
        assert_eq!(send(a.fd, &[7u8; 512], Some(&to)).unwrap(), 512);
    }

    #[test]
    fn errors_name_what_is_missing() {
        let a = named("errors");
        let missing = local::to_kernel(&path("missing")).unwrap();
        let e = send(a.fd, b"x", Some(&missing)).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::Socket, "No such file or directory")
        );
        // a socket file whose socket has gone
        let stale = named("stale");
        let stale_name = stale.name.clone();
        close(stale.fd);
        std::mem::forget(stale);
        let e = send(a.fd, b"x", Some(&local::to_kernel(&stale_name).unwrap())).unwrap_err();
        assert_eq!(e.class, ExceptionClass::PortUnreachable);
        assert_eq!(e.errno, Some(libc::ECONNREFUSED));
        let e = connect(a.fd, &stale_name).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::Connect, "Connection refused")
        );
        let _ = std::fs::remove_file(std::str::from_utf8(&stale_name).unwrap());
    }

    #[test]
    fn connect_filters_and_discards_what_was_queued() {
        let (a, b, other) = (named("c-a"), named("c-b"), named("c-other"));
        let to_b = local::to_kernel(&b.name).unwrap();
        send(other.fd, b"early", Some(&to_b)).unwrap();
        connect(b.fd, &a.name).unwrap();
        send(a.fd, b"peer", Some(&to_b)).unwrap();
        let mut buf = [0u8; 8];
        let r = receive(b.fd, &mut buf, false).unwrap();
        assert_eq!(&buf[..r.len as usize], b"peer");
        assert_eq!(send(b.fd, b"back", None).unwrap(), 4);
        assert_eq!(receive(a.fd, &mut buf, false).unwrap().len, 4);
        #[cfg(target_os = "linux")]
        {
            // Linux lets only the peer send to a connected datagram socket
            let e = send(other.fd, b"late", Some(&to_b)).unwrap_err();
            assert_eq!(e.errno, Some(libc::EPERM));
        }
        disconnect(b.fd).unwrap();
        send(other.fd, b"after", Some(&to_b)).unwrap();
        let r = receive(b.fd, &mut buf, false).unwrap();
        assert_eq!(&buf[..r.len as usize], b"after");
        assert_eq!(
            name_to_java(r.from.as_ref().unwrap()),
            java_name(NameKind::Path, &other.name)
        );
        assert_eq!(
            local::local_name(b.fd).unwrap(),
            java_name(NameKind::Path, &b.name),
            "the name stays"
        );
    }

    #[test]
    fn a_shutdown_wakes_a_blocked_receive_with_nothing() {
        let b = named("wake");
        let fd = b.fd;
        let waker = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            shutdown(fd, Shutdown::Both).unwrap();
        });
        let mut buf = [0u8; 8];
        if sys::SHUTDOWN_WAKES_BLOCKED_CALLS {
            let r = receive(b.fd, &mut buf, false).unwrap();
            assert_eq!(r.len, 0);
            assert_eq!(name_to_java(r.from.as_ref().unwrap()), vec![0]);
        }
        waker.join().unwrap();
    }

    #[test]
    fn a_pair_sends_both_ways_and_a_closed_end_refuses() {
        let (a, b) = pair(Kind::Datagram).unwrap();
        set_blocking(b, true).unwrap();
        assert_eq!(send(a, b"one", None).unwrap(), 3);
        let mut buf = [0u8; 8];
        let r = receive(b, &mut buf, false).unwrap();
        assert_eq!(
            (&buf[..3], name_to_java(r.from.as_ref().unwrap())),
            (&b"one"[..], vec![0])
        );
        close(a);
        let e = send(b, b"x", None).unwrap_err();
        assert_eq!(e.class, ExceptionClass::PortUnreachable);
        close(b);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_names_send_and_show_as_such() {
        let name = format!("\0rsdg-{}", std::process::id()).into_bytes();
        let b = open(Kind::Datagram, false).unwrap();
        set_blocking(b, true).unwrap();
        bind(b, &name).unwrap();
        let a_name = format!("\0rsdg-a-{}", std::process::id()).into_bytes();
        let a = open(Kind::Datagram, false).unwrap();
        bind(a, &a_name).unwrap();
        send(a, b"hi", Some(&local::to_kernel(&name).unwrap())).unwrap();
        let mut buf = [0u8; 4];
        let r = receive(b, &mut buf, false).unwrap();
        assert_eq!(
            name_to_java(r.from.as_ref().unwrap()),
            java_name(NameKind::Abstract, &a_name[1..])
        );
        close(a);
        close(b);
    }
}
