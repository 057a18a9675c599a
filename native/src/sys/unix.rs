//! What Linux and macOS share: descriptors, `errno`, `poll(2)` and the few calls socket2
//! does not wrap.

use super::{close_on_exec_after_receipt, RECV_CLOEXEC};
use crate::error::{NetError, NetResult, Op};
use crate::passing::MAX_FDS;
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
    dup_cloexec(fd).or_else(|code| match code {
        libc::EBADF => Ok(FILE_CLOSED),
        code => Err(NetError::from_errno(Op::SendFile, code)),
    })
}

/// A close-on-exec duplicate of any descriptor, which the caller owns; the error number when
/// there is none (`EBADF` for a descriptor that is not open, `EMFILE` at the limit).
pub fn dup_cloexec(fd: Fd) -> Result<Fd, i32> {
    // SAFETY: fcntl on a plain int descriptor; an invalid one gives EBADF.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(last_errno());
    }
    Ok(copy)
}

/// Control-message space for [`MAX_FDS`] descriptors, in 8-byte words (aligned for
/// `cmsghdr` on every system).
const CONTROL_WORDS: usize = {
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    let bytes = unsafe { libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<Fd>()) as u32) };
    (bytes as usize).div_ceil(8)
};

/// What [`receive_with_fds`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedFds {
    /// Bytes read, [`crate::sock::EOF`] or [`crate::sock::UNAVAILABLE`].
    pub len: i32,
    /// Descriptors written to the front of the caller's slice.
    pub count: usize,
    /// The descriptors sent with these bytes did not all arrive (`MSG_CTRUNC`: no room in the
    /// control buffer, or the process was out of descriptors); those that did were closed.
    pub truncated: bool,
}

/// Sends `buf` with `fds` attached as one `SCM_RIGHTS` message, without raising SIGPIPE: the
/// peer's process receives a duplicate of each, with the first byte sent. Returns the bytes
/// sent (the descriptors went with them when it is more than 0), or
/// [`crate::sock::UNAVAILABLE`] when a non-blocking socket's send buffer is full (nothing was
/// sent). Refuses more than [`MAX_FDS`] descriptors and descriptors without a byte (see
/// [`crate::passing::check_send`]).
pub fn send_with_fds(fd: Fd, buf: &[u8], fds: &[Fd]) -> NetResult<i32> {
    // the control buffer's size depends on this check
    crate::passing::check_send(buf.len(), fds)?;
    borrow(fd)?;
    let mut control = [0u64; CONTROL_WORDS];
    let data_len = std::mem::size_of_val(fds);
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: a zeroed msghdr is valid (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: arithmetic only.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(data_len as u32) } as _;
        // SAFETY: the control buffer holds CMSG_SPACE(data_len) bytes (fds.len() was checked
        // to be at most MAX_FDS), so the first header and its data fit; the data may be unaligned
        // for an int, hence the unaligned copy.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(data_len as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(cmsg),
                data_len,
            );
        }
    }
    loop {
        // SAFETY: msg points at live buffers of the lengths it states.
        let n = unsafe { libc::sendmsg(fd, &msg, SEND_FLAGS) };
        if n >= 0 {
            return Ok(n as i32);
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(crate::sock::UNAVAILABLE),
            code => return Err(NetError::from_errno(Op::Write, code)),
        }
    }
}

/// One recvmsg(2) into `buf` with room for `control_len` bytes of control messages (at most
/// [`CONTROL_WORDS`] words), again after a signal. `None` when a non-blocking call found
/// nothing; else the bytes received and the message's flags, after `each` has seen every control
/// message: its level, its type, and its data (a pointer to that many bytes, maybe unaligned).
pub fn recvmsg_one(
    fd: Fd,
    buf: &mut [u8],
    control_len: usize,
    flags: libc::c_int,
    mut each: impl FnMut(libc::c_int, libc::c_int, *const u8, usize),
) -> NetResult<Option<(usize, libc::c_int)>> {
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: a zeroed msghdr is valid (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control_len.min(std::mem::size_of_val(&control)) as _;
    let n = loop {
        // SAFETY: msg points at live buffers of the lengths it states.
        let n = unsafe { libc::recvmsg(fd, &mut msg, flags) };
        if n >= 0 {
            break n as usize;
        }
        match last_errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(None),
            code => return Err(NetError::from_errno(Op::Read, code)),
        }
    };
    // SAFETY: the kernel filled msg_control with msg_controllen bytes of well-formed headers;
    // CMSG_FIRSTHDR/CMSG_NXTHDR stay inside them, and each header's data is cmsg_len less the
    // header's own length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let len = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            each(
                (*cmsg).cmsg_level,
                (*cmsg).cmsg_type,
                libc::CMSG_DATA(cmsg),
                len,
            );
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(Some((n, msg.msg_flags)))
}

/// Receives into `buf`, and the descriptors sent with those bytes into the front of `fds`,
/// whose length is how many this call may take (at most [`MAX_FDS`]). Every descriptor
/// received is close-on-exec. When they did not all arrive (`MSG_CTRUNC`), those that did are
/// closed here and the result says so, so none is ever left open unreported.
pub fn receive_with_fds(fd: Fd, buf: &mut [u8], fds: &mut [Fd]) -> NetResult<ReceivedFds> {
    borrow(fd)?;
    let room = fds.len().min(MAX_FDS);
    let mut count = 0;
    let mut overflow = false;
    // SAFETY: arithmetic only.
    let control_len = unsafe { libc::CMSG_SPACE((room * std::mem::size_of::<Fd>()) as u32) };
    let received = recvmsg_one(
        fd,
        buf,
        control_len as usize,
        RECV_CLOEXEC,
        |level, kind, data, len| {
            if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
                for i in 0..len / std::mem::size_of::<Fd>() {
                    // SAFETY: an SCM_RIGHTS message holds `len` bytes of descriptors, maybe unaligned.
                    let received = unsafe { data.cast::<Fd>().add(i).read_unaligned() };
                    close_on_exec_after_receipt(received);
                    if count < room {
                        fds[count] = received;
                        count += 1;
                    } else {
                        close(received);
                        overflow = true;
                    }
                }
            }
        },
    )?;
    let Some((n, msg_flags)) = received else {
        return Ok(ReceivedFds {
            len: crate::sock::UNAVAILABLE,
            count: 0,
            truncated: false,
        });
    };
    let truncated = overflow || msg_flags & libc::MSG_CTRUNC != 0;
    if truncated {
        for &received in &fds[..count] {
            close(received);
        }
        count = 0;
    }
    let len = if n == 0 && !buf.is_empty() {
        crate::sock::EOF
    } else {
        n as i32
    };
    Ok(ReceivedFds {
        len,
        count,
        truncated,
    })
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
