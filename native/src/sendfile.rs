//! Zero-copy file sending: sendfile(2) from a file descriptor to a socket, and the
//! descriptor handling around it.

use crate::error::{NetError, NetResult, Op};
use crate::sock::{bad_argument, borrow, last_errno, UNAVAILABLE};
use std::os::fd::RawFd;

/// Returned by [`send_file`] when the file cannot be read by sendfile(2) (a pipe, a
/// directory, some special files): the caller copies the bytes itself instead.
pub const SENDFILE_UNSUPPORTED: i64 = -3;

/// Returned by [`dup_readable_file`] for a descriptor that is closed or absent.
pub const FILE_CLOSED: i32 = -1;
/// Returned by [`dup_readable_file`] for a descriptor opened write-only.
pub const FILE_NOT_READABLE: i32 = -3;

/// Sends up to `count` bytes of the file `file`, starting at byte `offset`, on the
/// socket `fd` with sendfile(2): the kernel moves the bytes from the page cache to
/// the socket, with no copy through user memory. The file's own offset is not used
/// or moved. Returns the bytes sent (0 when `offset` is at or past the end of the
/// file), [`UNAVAILABLE`] when a non-blocking socket's send buffer is full, or
/// [`SENDFILE_UNSUPPORTED`] when the file cannot be spliced.
///
/// sendfile(2) has no `MSG_NOSIGNAL`: a send to a dead peer would raise SIGPIPE,
/// so SIGPIPE is blocked in this thread for the call and a SIGPIPE it raised is
/// consumed before the mask is restored. The caller gets `Broken pipe`, never a signal.
pub fn send_file(fd: RawFd, file: RawFd, offset: i64, count: i64) -> NetResult<i64> {
    borrow(fd)?;
    if file < 0 {
        return Err(NetError::from_errno(Op::SendFile, libc::EBADF));
    }
    if offset < 0 || count < 0 {
        return Err(bad_argument(format!(
            "negative file position or count: {offset}, {count}"
        )));
    }
    // The kernel moves at most 0x7fff_f000 bytes in one call anyway (MAX_RW_COUNT), and
    // rejects with EINVAL a range whose end overflows a file offset.
    let len = count.min(0x7fff_f000).min(i64::MAX - offset) as usize;
    let guard = SigpipeBlocked::new();
    let outcome = loop {
        let mut off: libc::off_t = offset;
        // SAFETY: two descriptors the caller keeps open and a valid offset pointer.
        let n = unsafe { libc::sendfile(fd, file, &mut off, len) };
        if n >= 0 {
            break Ok(n as i64);
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => break Ok(i64::from(UNAVAILABLE)),
            // the file has no splice support: not an error, the caller copies instead
            libc::EINVAL | libc::ENOSYS => break Ok(SENDFILE_UNSUPPORTED),
            // only raised when `offset` is past the largest offset the file system allows,
            // so necessarily past the end of the file: nothing to send
            libc::EOVERFLOW => break Ok(0),
            errno => break Err(errno),
        }
    };
    guard.restore(outcome == Err(libc::EPIPE));
    outcome.map_err(|errno| NetError::from_errno(Op::SendFile, errno))
}

/// SIGPIPE blocked in the calling thread for the life of one system call.
struct SigpipeBlocked {
    previous_mask: libc::sigset_t,
    was_pending: bool,
}

impl SigpipeBlocked {
    fn sigpipe_set() -> libc::sigset_t {
        // SAFETY: sigemptyset initialises the set before sigaddset reads it.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            set
        }
    }

    fn new() -> Self {
        let set = Self::sigpipe_set();
        // SAFETY: valid sets; pthread_sigmask and sigpending only touch this thread's state.
        unsafe {
            let mut previous_mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous_mask);
            let mut pending: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut pending);
            SigpipeBlocked {
                previous_mask,
                was_pending: libc::sigismember(&pending, libc::SIGPIPE) == 1,
            }
        }
    }

    /// Consumes the SIGPIPE the call raised (if it failed with EPIPE and none was pending
    /// before), then restores the thread's mask.
    fn restore(self, raised: bool) {
        let set = Self::sigpipe_set();
        // SAFETY: valid set and timespec; a zero timeout makes sigtimedwait return at once.
        unsafe {
            if raised && !self.was_pending {
                let zero = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                while libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) < 0
                    && last_errno() == libc::EINTR
                {}
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous_mask, std::ptr::null_mut());
        }
    }
}

/// A close-on-exec duplicate of a file descriptor that is open for reading, so that a
/// transfer keeps its own reference to the file even if the owner closes its copy (and
/// the number is reused) meanwhile. Returns [`FILE_CLOSED`] for a negative or closed
/// descriptor and [`FILE_NOT_READABLE`] for one opened write-only.
pub fn dup_readable_file(fd: RawFd) -> NetResult<RawFd> {
    if fd < 0 {
        return Ok(FILE_CLOSED);
    }
    // SAFETY: fcntl on a plain int descriptor; an invalid one gives EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return match last_errno() {
            libc::EBADF => Ok(FILE_CLOSED),
            errno => Err(NetError::from_errno(Op::SendFile, errno)),
        };
    }
    if flags & libc::O_ACCMODE == libc::O_WRONLY {
        return Ok(FILE_NOT_READABLE);
    }
    // SAFETY: as above; the new descriptor belongs to the caller.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return match last_errno() {
            libc::EBADF => Ok(FILE_CLOSED),
            errno => Err(NetError::from_errno(Op::SendFile, errno)),
        };
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExceptionClass;
    use crate::sock::tests::trio;
    use crate::sock::{close, read, shutdown, Shutdown};

    /// A file in the temporary directory holding `content`, removed on drop.
    struct TempFile {
        path: std::path::PathBuf,
        file: std::fs::File,
    }

    impl TempFile {
        fn new(name: &str, content: &[u8]) -> TempFile {
            let path = std::env::temp_dir().join(format!(
                "rustsocket-sock-test-{}-{name}",
                std::process::id()
            ));
            std::fs::write(&path, content).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            TempFile { path, file }
        }

        fn fd(&self) -> RawFd {
            use std::os::fd::AsRawFd;
            self.file.as_raw_fd()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Reads from `fd` until `n` bytes arrived.
    fn read_n(fd: RawFd, n: usize) -> Vec<u8> {
        let mut got = Vec::with_capacity(n);
        let mut buf = [0u8; 65536];
        while got.len() < n {
            let k = read(fd, &mut buf[..(n - got.len()).min(65536)]).unwrap();
            assert!(k > 0, "EOF after {} of {n} bytes", got.len());
            got.extend_from_slice(&buf[..k as usize]);
        }
        got
    }

    #[test]
    fn send_file_sends_the_range_and_leaves_the_file_offset_alone() {
        let t = trio();
        let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let f = TempFile::new("range", &content);
        let fd = t.server;
        let reader = std::thread::spawn(move || read_n(fd, 150_000));
        let mut sent = 0i64;
        while sent < 150_000 {
            let n = send_file(t.client, f.fd(), 1_000 + sent, 150_000 - sent).unwrap();
            assert!(n > 0, "{n}");
            sent += n;
        }
        assert_eq!(reader.join().unwrap(), &content[1_000..151_000]);
        // SAFETY: lseek on an open file.
        assert_eq!(unsafe { libc::lseek(f.fd(), 0, libc::SEEK_CUR) }, 0);
    }

    #[test]
    fn send_file_stops_at_the_end_of_the_file() {
        let t = trio();
        let f = TempFile::new("eof", b"0123456789");
        assert_eq!(send_file(t.client, f.fd(), 4, 1_000_000).unwrap(), 6);
        assert_eq!(read_n(t.server, 6), b"456789");
        assert_eq!(send_file(t.client, f.fd(), 10, 5).unwrap(), 0);
        assert_eq!(send_file(t.client, f.fd(), 1 << 40, 5).unwrap(), 0);
        assert_eq!(send_file(t.client, f.fd(), i64::MAX - 1, 5).unwrap(), 0);
        assert_eq!(
            send_file(t.client, f.fd(), -1, 5).unwrap_err().class,
            ExceptionClass::IllegalArgument
        );
    }

    #[test]
    fn send_file_reports_a_full_send_buffer_as_unavailable() {
        let t = trio();
        crate::options::set(t.client, crate::options::Opt::SndBuf, 4096).unwrap();
        crate::sock::set_blocking(t.client, false).unwrap();
        let f = TempFile::new("full", &vec![3u8; 8 << 20]);
        let mut offset = 0;
        let outcome = loop {
            let n = send_file(t.client, f.fd(), offset, (8 << 20) - offset).unwrap();
            if n <= 0 {
                break n;
            }
            offset += n;
        };
        assert_eq!(outcome, i64::from(UNAVAILABLE));
        assert!(offset < 8 << 20);
    }

    #[test]
    fn send_file_from_a_directory_is_unsupported_not_an_error() {
        let t = trio();
        let dir = std::fs::File::open(std::env::temp_dir()).unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(
            send_file(t.client, dir.as_raw_fd(), 0, 10).unwrap(),
            SENDFILE_UNSUPPORTED
        );
    }

    #[test]
    fn send_file_after_shutdown_is_broken_pipe_without_a_signal() {
        let t = trio();
        let f = TempFile::new("pipe", b"data");
        shutdown(t.client, Shutdown::Write).unwrap();
        // The test harness ignores SIGPIPE; restore the default action (kill the process)
        // so that a SIGPIPE escaping the mask would fail this test loudly.
        // SAFETY: changing a signal disposition; restored below.
        let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let err = send_file(t.client, f.fd(), 0, 4).unwrap_err();
        // SAFETY: valid sets; only this thread's state is read.
        let (pending, blocked) = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut set);
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask);
            (
                libc::sigismember(&set, libc::SIGPIPE),
                libc::sigismember(&mask, libc::SIGPIPE),
            )
        };
        // SAFETY: restores the disposition saved above.
        unsafe { libc::signal(libc::SIGPIPE, previous) };
        assert_eq!(
            (err.class, err.message.as_str()),
            (ExceptionClass::Socket, "Broken pipe")
        );
        assert_eq!(
            (pending, blocked),
            (0, 0),
            "SIGPIPE consumed, mask restored"
        );
    }

    #[test]
    fn dup_readable_file_copies_readable_descriptors_only() {
        let f = TempFile::new("dup", b"x");
        let copy = dup_readable_file(f.fd()).unwrap();
        assert!(copy >= 0 && copy != f.fd());
        // SAFETY: fstat into zeroed storage on two open descriptors.
        let (a, b) = unsafe {
            let mut a: libc::stat = std::mem::zeroed();
            let mut b: libc::stat = std::mem::zeroed();
            libc::fstat(f.fd(), &mut a);
            libc::fstat(copy, &mut b);
            (a.st_ino, b.st_ino)
        };
        assert_eq!(a, b);
        close(copy);
        let write_only = std::fs::OpenOptions::new()
            .write(true)
            .open(&f.path)
            .unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(
            dup_readable_file(write_only.as_raw_fd()).unwrap(),
            FILE_NOT_READABLE
        );
        assert_eq!(dup_readable_file(-1).unwrap(), FILE_CLOSED);
        assert_eq!(dup_readable_file(1 << 20).unwrap(), FILE_CLOSED);
    }
}
