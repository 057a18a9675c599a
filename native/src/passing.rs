//! Descriptor passing (`SCM_RIGHTS`) over Unix stream sockets: a write that carries
//! descriptors with its first byte, a read that takes the descriptors sent with the bytes it
//! returns, and what a process does with a descriptor it received (duplicate it, adopt it as a
//! Unix socket). The system calls are the system layer's ([`crate::sys::send_with_fds`],
//! [`crate::sys::receive_with_fds`]); this module checks the arguments first, so that a bad
//! one is refused before any system call. Windows has no descriptor passing: every call says so.
//!
//! A stream socket carries descriptors only together with data: a `sendmsg` of zero bytes
//! sends nothing, descriptors included. So a write with descriptors needs at least one byte.

use crate::error::{ExceptionClass, NetError, NetResult};
use crate::sys::Fd;

/// The most descriptors one write carries: Linux's `SCM_MAX_FD`, kept on every system so that
/// what one sends, any other can receive.
pub const MAX_FDS: usize = 253;

/// What [`receive`] got.
#[cfg(unix)]
pub use crate::sys::ReceivedFds;

fn illegal(message: String) -> NetError {
    NetError::new(ExceptionClass::IllegalArgument, message)
}

/// The arguments of a write with descriptors, checked before any system call.
pub fn check_send(len: usize, fds: &[Fd]) -> NetResult<()> {
    if fds.len() > MAX_FDS {
        return Err(illegal(format!(
            "at most {MAX_FDS} descriptors travel with one write, not {}",
            fds.len()
        )));
    }
    if !fds.is_empty() && len == 0 {
        return Err(illegal(
            "descriptors travel with data on a stream socket: write at least one byte with them"
                .into(),
        ));
    }
    if let Some(bad) = fds.iter().find(|&&fd| fd < 0) {
        return Err(illegal(format!("{bad} is not a descriptor")));
    }
    Ok(())
}

#[cfg(unix)]
mod imp {
    use super::*;
    use crate::error::Op;
    use crate::sys;
    use socket2::{Domain, SockRef, Type};

    pub fn send(fd: Fd, buf: &[u8], fds: &[Fd]) -> NetResult<i32> {
        sys::send_with_fds(fd, buf, fds)
    }

    pub fn receive(fd: Fd, buf: &mut [u8], fds: &mut [Fd]) -> NetResult<ReceivedFds> {
        sys::receive_with_fds(fd, buf, fds)
    }

    pub fn duplicate(fd: Fd) -> NetResult<Fd> {
        if fd < 0 {
            return Err(illegal(format!("{fd} is not a descriptor")));
        }
        sys::dup_cloexec(fd).map_err(|code| match code {
            sys::errno::EBADF => illegal(format!("descriptor {fd} is not open")),
            code => NetError::from_errno(Op::Control, code),
        })
    }

    pub fn adopt(fd: Fd) -> NetResult<()> {
        let socket = sys::borrow(fd)?;
        let s = SockRef::from(&socket);
        let kind = s.r#type().map_err(|e| match e.raw_os_error() {
            Some(sys::errno::ENOTSOCK) => illegal(format!("descriptor {fd} is not a socket")),
            Some(sys::errno::EBADF) => illegal(format!("descriptor {fd} is not open")),
            _ => NetError::from_io(Op::Setup, &e),
        })?;
        if kind != Type::STREAM {
            return Err(illegal(format!(
                "descriptor {fd} is not a stream socket ({kind:?})"
            )));
        }
        let domain = sys::domain(&s).map_err(|e| NetError::from_io(Op::Setup, &e))?;
        if domain != Domain::UNIX {
            return Err(NetError::new(
                ExceptionClass::UnsupportedOperation,
                format!("descriptor {fd} is not a Unix domain socket ({domain:?})"),
            ));
        }
        if sys::get_raw(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? != 0 {
            return Err(illegal(format!(
                "descriptor {fd} is a listening socket, not a connected one"
            )));
        }
        if s.peer_addr().is_err() {
            return Err(illegal(format!("descriptor {fd} is not connected")));
        }
        // the mode the Java side assumes for a connected socket (see
        // sys::SHUTDOWN_WAKES_BLOCKED_CALLS); it belongs to the open file, so the sender's
        // copy changes too
        s.set_nonblocking(!sys::SHUTDOWN_WAKES_BLOCKED_CALLS)
            .map_err(|e| NetError::from_io(Op::Setup, &e))?;
        sys::prepare_adopted(fd)?;
        log::debug!("fd {fd}: adopted");
        Ok(())
    }
}

#[cfg(not(unix))]
mod imp {
    use super::*;

    fn unsupported() -> NetError {
        NetError::new(
            ExceptionClass::UnsupportedOperation,
            format!(
                "{} has no descriptor passing over Unix sockets",
                crate::sys::PLATFORM
            ),
        )
    }

    /// What [`receive`] got.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ReceivedFds {
        /// Bytes read.
        pub len: i32,
        /// Descriptors received.
        pub count: usize,
        /// Whether some were lost.
        pub truncated: bool,
    }

    pub fn send(_fd: Fd, buf: &[u8], fds: &[Fd]) -> NetResult<i32> {
        check_send(buf.len(), fds)?;
        Err(unsupported())
    }

    pub fn receive(_fd: Fd, _buf: &mut [u8], _fds: &mut [Fd]) -> NetResult<ReceivedFds> {
        Err(unsupported())
    }

    pub fn duplicate(_fd: Fd) -> NetResult<Fd> {
        Err(unsupported())
    }

    pub fn adopt(_fd: Fd) -> NetResult<()> {
        Err(unsupported())
    }
}

#[cfg(not(unix))]
pub use imp::ReceivedFds;

/// Sends `buf` with `fds` attached to its first byte: the bytes sent (the descriptors went
/// with them when more than 0), or `UNAVAILABLE` when a non-blocking socket's send buffer is
/// full and nothing was sent. Refuses, before any system call, more than [`MAX_FDS`]
/// descriptors, a negative one, and descriptors with no byte to carry them.
pub fn send(fd: Fd, buf: &[u8], fds: &[Fd]) -> NetResult<i32> {
    imp::send(fd, buf, fds)
}

/// Reads into `buf`, and the descriptors sent with those bytes into the front of `fds` (its
/// length is how many this read may take): close-on-exec, and when they did not all arrive,
/// none (those that did are closed) and `truncated` set.
pub fn receive(fd: Fd, buf: &mut [u8], fds: &mut [Fd]) -> NetResult<ReceivedFds> {
    imp::receive(fd, buf, fds)
}

/// A close-on-exec duplicate of `fd` that the caller owns; `IllegalArgumentException` when
/// `fd` is not an open descriptor.
pub fn duplicate(fd: Fd) -> NetResult<Fd> {
    imp::duplicate(fd)
}

/// Readies a received descriptor to become a connected Unix socket of this library: checks
/// that it is one (`IllegalArgumentException` otherwise, `UnsupportedOperationException` for a
/// socket of another family) and puts it in the blocking mode the library expects.
pub fn adopt(fd: Fd) -> NetResult<()> {
    imp::adopt(fd)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::local::{self, Kind};
    use crate::poller::{poll, POLLIN};
    use crate::sock::{close, read, write, EOF, UNAVAILABLE};
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::fd::{AsRawFd, FromRawFd};

    /// A file holding `content`, already unlinked: only a descriptor reaches it.
    fn anonymous_file(content: &[u8]) -> std::fs::File {
        let path = std::env::temp_dir().join(format!(
            "rustsocket-passing-{}-{}",
            std::process::id(),
            content.len()
        ));
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f.write_all(content).unwrap();
        f
    }

    fn read_all(fd: Fd) -> Vec<u8> {
        // SAFETY: the test owns fd; the File closes it.
        let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut out = Vec::new();
        f.read_to_end(&mut out).unwrap();
        out
    }

    fn is_open(fd: Fd) -> bool {
        // SAFETY: F_GETFD on a plain int.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    /// The file behind a descriptor (device and inode).
    fn identity(fd: Fd) -> Option<(u64, u64)> {
        // SAFETY: fstat fills one stat struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return None;
        }
        Some((st.st_dev as u64, st.st_ino as u64))
    }

    fn is_close_on_exec(fd: Fd) -> bool {
        // SAFETY: as above.
        unsafe { libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
    }

    fn wait_readable(fd: Fd) {
        assert_ne!(poll(fd, POLLIN, 5000).unwrap(), 0, "nothing arrived");
    }

    #[test]
    fn files_travel_with_the_first_byte_and_arrive_close_on_exec() {
        let (a, b) = local::pair(Kind::Stream).unwrap();
        let one = anonymous_file(b"first file");
        let two = anonymous_file(b"second");
        let fds = [one.as_raw_fd(), two.as_raw_fd()];
        assert_eq!(send(a, b"hello", &fds).unwrap(), 5);
        drop((one, two)); // the peer's duplicates keep the files open
        wait_readable(b);
        let mut buf = [0u8; 16];
        let mut got = [-1; MAX_FDS];
        let r = receive(b, &mut buf, &mut got).unwrap();
        assert_eq!((r.len, r.count, r.truncated), (5, 2, false));
        assert_eq!(&buf[..5], b"hello");
        for &fd in &got[..2] {
            assert!(is_close_on_exec(fd));
        }
        assert_eq!(read_all(got[0]), b"first file");
        assert_eq!(read_all(got[1]), b"second");
        close(a);
        close(b);
    }

    #[test]
    fn a_plain_read_discards_the_descriptors_and_a_later_read_gets_none() {
        let (a, b) = local::pair(Kind::Stream).unwrap();
        let f = anonymous_file(b"x");
        assert_eq!(send(a, b"ab", &[f.as_raw_fd()]).unwrap(), 2);
        assert_eq!(send(a, b"cd", &[]).unwrap(), 2);
        wait_readable(b);
        let mut buf = [0u8; 1];
        assert_eq!(read(b, &mut buf).unwrap(), 1);
        let mut got = [-1; 4];
        let mut rest = [0u8; 8];
        let r = receive(b, &mut rest, &mut got).unwrap();
        assert_eq!((r.count, r.truncated), (0, false));
        assert_eq!(&rest[..r.len as usize], b"bcd");
        close(a);
        close(b);
    }

    #[test]
    fn descriptors_that_do_not_fit_are_all_closed_and_reported() {
        let (a, b) = local::pair(Kind::Stream).unwrap();
        let files: Vec<_> = (0..3).map(|_| anonymous_file(b"f")).collect();
        let fds: Vec<Fd> = files.iter().map(|f| f.as_raw_fd()).collect();
        assert_eq!(send(a, b"m", &fds).unwrap(), 1);
        wait_readable(b);
        let mut buf = [0u8; 4];
        let mut got = [-1; 1];
        let r = receive(b, &mut buf, &mut got).unwrap();
        assert_eq!((r.len, r.count, r.truncated), (1, 0, true));
        // the one that fitted was closed (its number may hold another test's file by now)
        let ours: Vec<_> = files.iter().map(|f| identity(f.as_raw_fd())).collect();
        assert!(got[0] < 0 || !is_open(got[0]) || !ours.contains(&identity(got[0])));
        close(a);
        close(b);
    }

    #[test]
    fn bad_arguments_are_refused_before_any_system_call() {
        let e = send(-1, b"x", &vec![0; MAX_FDS + 1]).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
        assert!(e.message.contains("at most 253"), "{e}");
        let e = send(-1, b"", &[0]).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
        assert!(e.message.contains("at least one byte"), "{e}");
        let e = send(-1, b"x", &[3, -1]).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
        assert_eq!(
            duplicate(-1).unwrap_err().class,
            ExceptionClass::IllegalArgument
        );
    }

    #[test]
    fn the_most_descriptors_one_write_carries_arrive() {
        let (a, b) = local::pair(Kind::Stream).unwrap();
        let f = anonymous_file(b"many");
        let fds = vec![f.as_raw_fd(); MAX_FDS];
        assert_eq!(send(a, b"z", &fds).unwrap(), 1);
        wait_readable(b);
        let mut buf = [0u8; 1];
        let mut got = [-1; MAX_FDS];
        let r = receive(b, &mut buf, &mut got).unwrap();
        assert_eq!((r.count, r.truncated), (MAX_FDS, false));
        for fd in got {
            close(fd);
        }
        close(a);
        close(b);
    }

    #[test]
    fn end_of_stream_and_nothing_to_read() {
        let (a, b) = local::pair(Kind::Stream).unwrap();
        crate::sock::set_blocking(b, false).unwrap();
        let mut buf = [0u8; 4];
        let mut got = [-1; 4];
        assert_eq!(receive(b, &mut buf, &mut got).unwrap().len, UNAVAILABLE);
        close(a);
        assert_eq!(receive(b, &mut buf, &mut got).unwrap().len, EOF);
        close(b);
    }

    #[test]
    fn duplicates_are_close_on_exec_and_refuse_closed_descriptors() {
        let f = anonymous_file(b"dup");
        let copy = duplicate(f.as_raw_fd()).unwrap();
        assert!(is_close_on_exec(copy));
        assert_eq!(read_all(copy), b"dup");
        let (a, b) = local::pair(Kind::Stream).unwrap();
        close(b);
        let e = duplicate(b).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
        assert!(e.message.ends_with("is not open"), "{e}");
        close(a);
    }

    #[test]
    fn adoption_takes_connected_stream_sockets_only() {
        let (a, b) = local::pair(Kind::Stream).unwrap();
        adopt(a).unwrap();
        assert_eq!(write(a, b"k").unwrap(), 1);
        let f = anonymous_file(b"n");
        let e = adopt(f.as_raw_fd()).unwrap_err();
        assert_eq!(e.class, ExceptionClass::IllegalArgument);
        assert!(e.message.ends_with("is not a socket"), "{e}");
        let (d1, d2) = local::pair(Kind::Datagram).unwrap();
        assert!(adopt(d1)
            .unwrap_err()
            .message
            .contains("not a stream socket"));
        let l = local::open(Kind::Stream, true).unwrap();
        assert!(adopt(l).unwrap_err().message.contains("not connected"));
        let tcp = crate::sock::open_stream(false).unwrap();
        assert_eq!(
            adopt(tcp).unwrap_err().class,
            ExceptionClass::UnsupportedOperation
        );
        for fd in [a, b, d1, d2, l, tcp] {
            close(fd);
        }
    }
}

#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;

    #[test]
    fn every_call_is_unsupported_before_touching_the_descriptor() {
        let mut buf = [0u8; 4];
        let mut fds = [-1; 4];
        let results = [
            send(0, b"x", &[1]).err(),
            receive(0, &mut buf, &mut fds).err(),
            duplicate(0).err(),
            adopt(0).err(),
        ];
        for e in results {
            let e = e.expect("Windows passes no descriptors");
            assert_eq!(e.class, ExceptionClass::UnsupportedOperation, "{e:?}");
            assert!(e.message.contains("no descriptor passing"), "{e:?}");
        }
    }
}
