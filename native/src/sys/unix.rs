//! What Linux and macOS share: descriptors, `errno`, `poll(2)` and the few calls socket2
//! does not wrap.

use crate::error::{NetError, NetResult, Op};
use std::ffi::CStr;
use std::os::fd::BorrowedFd;

/// A socket as Java holds it: the file descriptor.
pub type Fd = std::os::fd::RawFd;

/// A socket borrowed for one call; socket2's `SockRef::from(&borrowed)` wraps it.
pub type Borrowed = BorrowedFd<'static>;

/// Borrows a descriptor without taking ownership of it.
pub fn borrow(fd: Fd) -> NetResult<Borrowed> {
    if fd < 0 {
        return Err(NetError::from_errno(Op::Control, libc::EBADF));
    }
    // SAFETY: the Java side owns the descriptor and keeps it open for as long as a call on
    // it is in flight (close is deferred until the last one leaves).
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// The OS error numbers the core tells apart, under their POSIX names.
pub mod errno {
    pub use libc::{
        EACCES, EADDRINUSE, EADDRNOTAVAIL, EAGAIN, EALREADY, EBADF, ECONNABORTED, ECONNREFUSED,
        ECONNRESET, EHOSTUNREACH, EINPROGRESS, EINTR, EINVAL, EIO, EISCONN, EMFILE, EMSGSIZE,
        ENETDOWN, ENETUNREACH, ENODEV, ENOENT, ENOPROTOOPT, ENOTCONN, ENOTSOCK, EOPNOTSUPP, EPERM,
        EPIPE, EPROTO, ETIMEDOUT,
    };
}

/// Takes ownership of a socket2 socket as the descriptor Java will hold.
pub fn into_fd(socket: socket2::Socket) -> Fd {
    use std::os::fd::IntoRawFd;
    socket.into_raw_fd()
}

/// Switches `O_NONBLOCK` in one system call (`ioctl(FIONBIO)`), where `fcntl` takes two (get the
/// flags, set them).
pub fn set_nonblocking(socket: &Borrowed, nonblocking: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut on = libc::c_int::from(nonblocking);
    // SAFETY: FIONBIO reads one int.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::FIONBIO, &mut on) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Whether a failed non-blocking connect is under way rather than failed.
pub fn connect_in_progress(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINPROGRESS) | Some(libc::EINTR)
    )
}

/// A receive flag that does not wait, whatever the descriptor's mode.
pub const RECV_DONTWAIT: libc::c_int = libc::MSG_DONTWAIT;

/// Whether a receive failed only because the datagram was longer than the buffer (Windows
/// reports that as an error; here the datagram is simply cut).
pub fn is_truncation(_e: &std::io::Error) -> bool {
    false
}

/// The flag that sends urgent (out-of-band) data.
pub const MSG_OOB: libc::c_int = libc::MSG_OOB;

/// The calling thread's last OS error number.
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The C library's text for an error number, without Rust's " (os error N)" suffix, because
/// that text is what the JDK's messages carry on Unix.
pub fn error_text(code: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the XSI strerror_r that the libc crate binds fills `buf` (NUL-terminated).
    let rc = unsafe { libc::strerror_r(code, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {code}");
    }
    // SAFETY: strerror_r wrote a NUL-terminated string into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Readable (the Java side's value, which is `POLLIN` here).
pub const POLL_READ: i16 = libc::POLLIN;
/// Writable, or a connect finished (`POLLOUT`).
pub const POLL_WRITE: i16 = libc::POLLOUT;

/// poll(2) on `fds` (at most 64) for `events`; each one's events go to `revents`. Returns
/// how many are ready, 0 on timeout or when a signal cut the wait short.
pub fn poll_fds(fds: &[Fd], events: i16, revents: &mut [i16], timeout_ms: i32) -> NetResult<usize> {
    const MAX: usize = 64;
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; MAX];
    for (p, &fd) in pfds.iter_mut().zip(fds) {
        borrow(fd)?;
        p.fd = fd;
        p.events = events;
    }
    let count = fds.len().min(MAX);
    // SAFETY: `count` initialised pollfds.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), count as libc::nfds_t, timeout_ms) };
    if n < 0 {
        return match last_errno() {
            libc::EINTR => Ok(0),
            code => Err(NetError::from_errno(Op::Control, code)),
        };
    }
    for (r, p) in revents.iter_mut().zip(&pfds[..count]) {
        *r = p.revents;
    }
    Ok(n as usize)
}

/// Bytes that can be read without blocking (`FIONREAD`).
pub fn available(fd: Fd) -> NetResult<i32> {
    borrow(fd)?;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Control));
    }
    Ok(n)
}

/// Closes a descriptor. Errors are logged, not returned: after close(2) the descriptor is
/// gone whatever it says (retrying on EINTR could close a reused number).
pub fn close(fd: Fd) {
    if fd < 0 {
        return;
    }
    // SAFETY: the caller owns fd and no other call on it is in flight.
    let rc = unsafe { libc::close(fd) };
    if rc < 0 {
        log::warn!("fd {fd}: close failed: {}", error_text(last_errno()));
    } else {
        log::debug!("fd {fd}: closed");
    }
}

/// Flags for every stream send: Linux has `MSG_NOSIGNAL`; macOS sockets carry `SO_NOSIGPIPE`
/// instead (socket2 sets it on every socket it makes, and accepted ones inherit it).
#[cfg(target_os = "linux")]
pub const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(target_os = "linux"))]
pub const SEND_FLAGS: libc::c_int = 0;

/// Returned by [`dup_readable_file`] for a descriptor that is closed or absent.
pub const FILE_CLOSED: i32 = -1;
/// Returned by [`dup_readable_file`] for a descriptor opened write-only.
pub const FILE_NOT_READABLE: i32 = -3;

/// A close-on-exec duplicate of a file descriptor that is open for reading, so that a
/// transfer keeps its own reference to the file even if the owner closes its copy (and
/// the number is reused) meanwhile. Returns [`FILE_CLOSED`] for a negative or closed
/// descriptor and [`FILE_NOT_READABLE`] for one opened write-only.
pub fn dup_readable_file(fd: Fd) -> NetResult<Fd> {
    if fd < 0 {
        return Ok(FILE_CLOSED);
    }
    // SAFETY: fcntl on a plain int descriptor; an invalid one gives EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return match last_errno() {
            libc::EBADF => Ok(FILE_CLOSED),
            code => Err(NetError::from_errno(Op::SendFile, code)),
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
            code => Err(NetError::from_errno(Op::SendFile, code)),
        };
    }
    Ok(copy)
}

/// getsockopt(2) of a plain int, for the options socket2 has no getter for.
pub fn get_raw(fd: Fd, level: libc::c_int, name: libc::c_int) -> NetResult<i32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: one int of storage and its length.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok(value)
}

/// A C struct that the kernel may fill with any bytes: plain old data, every bit pattern a
/// valid value, no pointers or references.
///
/// # Safety
/// Implement it only for `#[repr(C)]` structs of integers (and arrays of them).
pub unsafe trait PlainOldData: Default {}

/// getsockopt(2) of a C struct, and how many of its bytes the kernel filled.
pub fn get_struct<T: PlainOldData>(
    fd: Fd,
    level: libc::c_int,
    name: libc::c_int,
) -> NetResult<(T, usize)> {
    borrow(fd)?;
    let mut value = T::default();
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `T` is plain old data of `len` bytes (its trait's contract); the kernel writes at
    // most `len` of them.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut T).cast(), &mut len) };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok((value, len as usize))
}

/// setsockopt(2) of a plain int.
pub fn set_raw(fd: Fd, level: libc::c_int, name: libc::c_int, value: i32) -> NetResult<()> {
    set_struct(fd, level, name, &value)
}

/// setsockopt(2) with a C value (an int, or a struct such as a membership request).
pub fn set_struct<T>(fd: Fd, level: libc::c_int, name: libc::c_int, value: &T) -> NetResult<()> {
    // SAFETY: `value` is a live C value of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok(())
}

/// The name of user (or, with `group`, group) `id` in the system's databases (getpwuid_r(3),
/// getgrgid_r(3)), or None when it has none: what the JDK names a peer's principals after.
pub fn account_name(id: u32, group: bool) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        let mut found: *mut libc::c_void = std::ptr::null_mut();
        let name_ptr;
        let rc;
        if group {
            // SAFETY: an out struct, a buffer and its length, and an out pointer, as the call asks.
            let mut gr: libc::group = unsafe { std::mem::zeroed() };
            rc = unsafe {
                libc::getgrgid_r(
                    id,
                    &mut gr,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    (&mut found as *mut *mut libc::c_void).cast(),
                )
            };
            name_ptr = gr.gr_name;
        } else {
            // SAFETY: as above, for the user database.
            let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
            rc = unsafe {
                libc::getpwuid_r(
                    id,
                    &mut pw,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    (&mut found as *mut *mut libc::c_void).cast(),
                )
            };
            name_ptr = pw.pw_name;
        }
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || name_ptr.is_null() {
            return None;
        }
        // SAFETY: on success the name points into `buf`, NUL-terminated.
        let name = unsafe { std::ffi::CStr::from_ptr(name_ptr) };
        return Some(name.to_string_lossy().into_owned());
    }
}
