//! Zero-copy file sending: the bytes of a file go from the page cache to a socket without
//! passing through user memory (`sendfile(2)` where the OS has it), and the descriptor
//! handling around it.

use crate::error::{NetError, NetResult, Op};
use crate::sock::bad_argument;
use crate::sys::{self, Fd};

pub use crate::sys::{dup_readable_file, FILE_CLOSED, FILE_NOT_READABLE};

/// Returned by [`send_file`] when the file cannot be sent this way (a pipe, a directory, some
/// special files, or an OS without the call): the caller copies the bytes itself instead.
pub const SENDFILE_UNSUPPORTED: i64 = -3;

/// Sends up to `count` bytes of the file `file`, starting at byte `offset`, on the socket
/// `fd`. The file's own offset is not used or moved. Returns the bytes sent (0 when `offset`
/// is at or past the end of the file), `UNAVAILABLE` when a non-blocking socket's send buffer
/// is full, or [`SENDFILE_UNSUPPORTED`]. A dead peer gives `Broken pipe`, never a signal.
pub fn send_file(fd: Fd, file: Fd, offset: i64, count: i64) -> NetResult<i64> {
    if file < 0 {
        return Err(NetError::from_errno(Op::SendFile, sys::errno::EBADF));
    }
    if offset < 0 || count < 0 {
        return Err(bad_argument(format!(
            "negative file position or count: {offset}, {count}"
        )));
    }
    sys::send_file(fd, file, offset, count)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::error::ExceptionClass;
    use crate::sock::tests::trio;
    use crate::sock::{close, read, shutdown, Shutdown, UNAVAILABLE};
    use crate::sys::Fd as RawFd;

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
