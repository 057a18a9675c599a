//! Unix domain (`AF_UNIX`) sockets: what differs from IP sockets. The calls they share (read,
//! write, accept, listen, shutdown, close, options) are [`crate::sock`]'s; this module opens
//! them, names them (a path, a Linux abstract name, or nothing) and reads their peer's
//! credentials.
//!
//! Names travel between Java and Rust as bytes: a path's bytes as the file system encodes
//! them (UTF-8 on Windows), or, for a Linux abstract name, a leading NUL followed by the name.
//! In the other direction [`name_to_java`] prefixes a kind byte (see [`NameKind`]).

use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::sock::{self, borrow};
use crate::sys::{self, Fd};
use socket2::{Domain, SockAddr, SockRef, Type};

/// The longest path a Unix socket name may have, in bytes: the JDK's limit,
/// `sizeof(sun_path)` less two (106 on Linux and Windows, 102 on macOS), one byte under what
/// the kernel takes, so that a socket file we bind is one the JDK's channels can reach.
pub const MAX_PATH: usize = SUN_PATH - 2;

/// The longest abstract name (Linux), in bytes: all of `sun_path` but its leading NUL.
pub const MAX_ABSTRACT: usize = SUN_PATH - 1;

#[cfg(target_os = "macos")]
const SUN_PATH: usize = 104;
#[cfg(not(target_os = "macos"))]
const SUN_PATH: usize = 108;

/// What a Unix socket's name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// No name: an unbound socket, or a client end that connected without binding.
    Unnamed = 0,
    /// A path in the file system.
    Path = 1,
    /// A name in Linux's abstract namespace (no file).
    Abstract = 2,
}

/// The kind of socket [`open`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Datagram,
}

impl Kind {
    fn socket_type(self) -> Type {
        match self {
            Kind::Stream => Type::STREAM,
            Kind::Datagram => Type::DGRAM,
        }
    }

    /// Windows' `AF_UNIX` has stream sockets only: a datagram one is refused before the system
    /// call, with a message that says so rather than the socket call's error code.
    fn check_supported(self) -> NetResult<()> {
        if cfg!(windows) && self == Kind::Datagram {
            return Err(NetError::new(
                ExceptionClass::UnsupportedOperation,
                format!("{} has no Unix domain datagram sockets", sys::PLATFORM),
            ));
        }
        Ok(())
    }
}

/// Opens a Unix domain socket; close-on-exec (not inherited, on Windows). Stream clients start
/// non-blocking, as TCP clients do; listeners and datagram sockets block where a shutdown wakes
/// a blocked call (Linux), as TCP listeners and UDP sockets do.
pub fn open(kind: Kind, server: bool) -> NetResult<Fd> {
    kind.check_supported()?;
    let nonblocking = !sys::SHUTDOWN_WAKES_BLOCKED_CALLS || (kind == Kind::Stream && !server);
    let socket = sock::open(Domain::UNIX, kind.socket_type(), nonblocking)
        .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    let fd = sys::into_fd(socket);
    log::debug!("fd {fd}: opened (unix {kind:?})");
    Ok(fd)
}

/// Two connected Unix sockets of `kind` (socketpair(2)), both non-blocking where platform
/// threads wait in the poller, blocking where they block in the kernel.
pub fn pair(kind: Kind) -> NetResult<(Fd, Fd)> {
    #[cfg(windows)]
    {
        let _ = kind;
        Err(NetError::new(
            ExceptionClass::UnsupportedOperation,
            "Windows has no socketpair(2) for Unix sockets",
        ))
    }
    #[cfg(unix)]
    pair_unix(kind)
}

#[cfg(unix)]
fn pair_unix(kind: Kind) -> NetResult<(Fd, Fd)> {
    let (a, b) = socket2::Socket::pair(Domain::UNIX, kind.socket_type(), None)
        .map_err(|e| NetError::from_io(Op::Setup, &e))?;
    if !sys::SHUTDOWN_WAKES_BLOCKED_CALLS {
        for s in [&a, &b] {
            s.set_nonblocking(true)
                .map_err(|e| NetError::from_io(Op::Setup, &e))?;
        }
    }
    let (a, b) = (sys::into_fd(a), sys::into_fd(b));
    log::debug!("fd {a}, fd {b}: socket pair (unix {kind:?})");
    Ok((a, b))
}

/// The kernel address for a name from Java: a path's bytes, or a NUL and an abstract name.
/// A name too long for the kernel is refused here, before any system call, with the JDK's
/// message and the limit.
pub fn to_kernel(name: &[u8]) -> NetResult<SockAddr> {
    let (abstract_name, len) = match name.first() {
        Some(0) => (true, name.len() - 1),
        _ => (false, name.len()),
    };
    if abstract_name && !cfg!(target_os = "linux") {
        return Err(NetError::new(
            ExceptionClass::UnsupportedOperation,
            format!(
                "{} has no abstract namespace for Unix sockets",
                sys::PLATFORM
            ),
        ));
    }
    let limit = if abstract_name {
        MAX_ABSTRACT
    } else {
        MAX_PATH
    };
    if len > limit {
        return Err(NetError::new(
            ExceptionClass::Socket,
            format!("Unix domain path too long: {len} bytes, at most {limit}"),
        ));
    }
    if !abstract_name && name.contains(&0) {
        return Err(NetError::new(
            ExceptionClass::IllegalArgument,
            "a Unix socket path cannot contain a NUL byte",
        ));
    }
    let path = bytes_to_path(name)?;
    SockAddr::unix(path).map_err(|e| NetError::new(ExceptionClass::Socket, e.to_string()))
}

#[cfg(unix)]
fn bytes_to_path(name: &[u8]) -> NetResult<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::ffi::OsStr::from_bytes(name).into())
}

#[cfg(windows)]
fn bytes_to_path(name: &[u8]) -> NetResult<std::path::PathBuf> {
    std::str::from_utf8(name)
        .map(std::path::PathBuf::from)
        .map_err(|_| {
            NetError::new(
                ExceptionClass::IllegalArgument,
                "a Unix socket path must be UTF-8 on Windows",
            )
        })
}

/// A kernel address as Java reads it: a [`NameKind`] byte, then the path or abstract name.
pub fn name_to_java(a: &SockAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + SUN_PATH);
    #[cfg(target_os = "linux")]
    if let Some(name) = a.as_abstract_namespace() {
        out.push(NameKind::Abstract as u8);
        out.extend_from_slice(name);
        return out;
    }
    match path_bytes(a) {
        Some(p) if !p.is_empty() => {
            out.push(NameKind::Path as u8);
            out.extend_from_slice(&p);
        }
        _ => out.push(NameKind::Unnamed as u8),
    }
    out
}

#[cfg(unix)]
fn path_bytes(a: &SockAddr) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    a.as_pathname().map(|p| p.as_os_str().as_bytes().to_vec())
}

#[cfg(windows)]
fn path_bytes(a: &SockAddr) -> Option<Vec<u8>> {
    // socket2 reads Unix names on Unix only: the path follows the 2-byte family, up to a NUL
    let len = a.len() as usize;
    if a.family() != windows_sys::Win32::Networking::WinSock::AF_UNIX || len <= 2 {
        return None;
    }
    // SAFETY: the address's storage holds at least `len` initialised bytes.
    let raw = unsafe { std::slice::from_raw_parts(a.as_ptr().cast::<u8>(), len) };
    let path = &raw[2..];
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    Some(path[..end].to_vec())
}

/// Binds to a name (see [`to_kernel`]).
pub fn bind(fd: Fd, name: &[u8]) -> NetResult<()> {
    let target = to_kernel(name)?;
    SockRef::from(&borrow(fd)?)
        .bind(&target)
        .map_err(|e| NetError::from_io(Op::Bind, &e))?;
    log::debug!("fd {fd}: bound to {:?}", String::from_utf8_lossy(name));
    Ok(())
}

/// Returned by [`connect`] when the listener's backlog is full: the caller waits a little and
/// tries again (a Unix socket's connect does not wait for room the way a TCP handshake does).
pub const CONNECT_BUSY: i32 = 2;

/// Connects to a name: 1 when connected (a Unix connect to a listener with room completes at
/// once), 0 when it is in progress, [`CONNECT_BUSY`] when the listener's backlog is full.
pub fn connect(fd: Fd, name: &[u8]) -> NetResult<i32> {
    let target = to_kernel(name)?;
    match SockRef::from(&borrow(fd)?).connect(&target) {
        Ok(()) => {
            log::debug!("fd {fd}: connected to {:?}", String::from_utf8_lossy(name));
            Ok(1)
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(CONNECT_BUSY),
        Err(e) if sys::connect_in_progress(&e) => Ok(0),
        Err(e) => Err(NetError::from_io(Op::Connect, &e)),
    }
}

/// The socket's own name.
pub fn local_name(fd: Fd) -> NetResult<Vec<u8>> {
    let a = SockRef::from(&borrow(fd)?)
        .local_addr()
        .map_err(|e| NetError::from_io(Op::Control, &e))?;
    Ok(name_to_java(&a))
}

/// The peer's name (usually unnamed for a client end).
pub fn peer_name(fd: Fd) -> NetResult<Vec<u8>> {
    let a = SockRef::from(&borrow(fd)?)
        .peer_addr()
        .map_err(|e| NetError::from_io(Op::Control, &e))?;
    Ok(name_to_java(&a))
}

/// The credentials of the process at the other end of a connected Unix socket: its pid
/// (-1 where the system does not tell it), uid and gid, as the kernel recorded them when the
/// connection was made.
pub fn peer_credentials(fd: Fd) -> NetResult<[i64; 3]> {
    #[cfg(unix)]
    {
        sys::peer_credentials(fd)
    }
    #[cfg(windows)]
    {
        let _ = fd;
        Err(NetError::new(
            ExceptionClass::UnsupportedOperation,
            "Windows does not tell a Unix socket's peer",
        ))
    }
}

/// The name of user (or, with `group`, group) `id`, for the JDK's principals of a peer; None
/// when the system has no name for it (the JDK then names it by its number).
pub fn account_name(id: i64, group: bool) -> Option<String> {
    #[cfg(unix)]
    {
        u32::try_from(id)
            .ok()
            .and_then(|id| sys::account_name(id, group))
    }
    #[cfg(not(unix))]
    {
        let _ = (id, group);
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::poller::{poll, POLLIN};
    use crate::sock::{accept, close, listen, read, write};

    fn temp_path(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("rustsocket-local-{}-{tag}", std::process::id()))
    }

    #[test]
    fn a_path_socket_echoes_and_names_both_ends() {
        let path = temp_path("echo");
        let _ = std::fs::remove_file(&path);
        let name = path.to_str().unwrap().as_bytes().to_vec();
        let l = open(Kind::Stream, true).unwrap();
        bind(l, &name).unwrap();
        listen(l, 4).unwrap();
        let c = open(Kind::Stream, false).unwrap();
        assert_eq!(connect(c, &name).unwrap(), 1);
        let (s, _) = accept(l).unwrap().unwrap();
        assert_eq!(write(c, b"ping").unwrap(), 4);
        assert_ne!(poll(s, POLLIN, 2000).unwrap(), 0);
        let mut buf = [0u8; 8];
        assert_eq!(read(s, &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");
        let mut expected = vec![NameKind::Path as u8];
        expected.extend_from_slice(&name);
        assert_eq!(local_name(l).unwrap(), expected);
        assert_eq!(peer_name(c).unwrap(), expected);
        assert_eq!(peer_name(s).unwrap(), vec![NameKind::Unnamed as u8]);
        let creds = peer_credentials(s).unwrap();
        // SAFETY: plain system calls.
        assert_eq!(creds[1], i64::from(unsafe { libc::getuid() }));
        #[cfg(target_os = "linux")]
        assert_eq!(creds[0], i64::from(std::process::id()));
        for fd in [c, s, l] {
            close(fd);
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn names_are_checked_before_any_system_call() {
        let long = vec![b'x'; MAX_PATH + 1];
        let e = to_kernel(&long).unwrap_err();
        assert_eq!(e.class, ExceptionClass::Socket);
        assert!(e.message.starts_with("Unix domain path too long"), "{e}");
        assert!(to_kernel(&[b'x'; MAX_PATH]).is_ok());
        assert_eq!(
            to_kernel(b"a\0b").unwrap_err().class,
            ExceptionClass::IllegalArgument
        );
    }

    #[test]
    fn a_missing_file_and_a_plain_file_fail_as_the_jdk_says() {
        let c = open(Kind::Stream, false).unwrap();
        let missing = temp_path("missing");
        let e = connect(c, missing.to_str().unwrap().as_bytes()).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::Socket, "No such file or directory")
        );
        let plain = temp_path("plain");
        std::fs::write(&plain, b"").unwrap();
        let e = connect(c, plain.to_str().unwrap().as_bytes()).unwrap_err();
        assert_eq!(e.class, ExceptionClass::Connect);
        let l = open(Kind::Stream, true).unwrap();
        let e = bind(l, plain.to_str().unwrap().as_bytes()).unwrap_err();
        assert_eq!(e.class, ExceptionClass::Bind);
        close(l);
        close(c);
        let _ = std::fs::remove_file(&plain);
    }

    #[test]
    fn a_pair_is_connected_both_ways() {
        let (a, b) = pair(Kind::Stream).unwrap();
        assert_eq!(write(a, b"x").unwrap(), 1);
        let mut buf = [0u8; 1];
        assert_ne!(poll(b, POLLIN, 2000).unwrap(), 0);
        assert_eq!(read(b, &mut buf).unwrap(), 1);
        assert_eq!(peer_name(a).unwrap(), vec![NameKind::Unnamed as u8]);
        close(a);
        close(b);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_names_have_no_file() {
        let name = format!("\0rustsocket-test-{}", std::process::id()).into_bytes();
        let l = open(Kind::Stream, true).unwrap();
        bind(l, &name).unwrap();
        listen(l, 4).unwrap();
        let mut expected = vec![NameKind::Abstract as u8];
        expected.extend_from_slice(&name[1..]);
        assert_eq!(local_name(l).unwrap(), expected);
        let c = open(Kind::Stream, false).unwrap();
        assert_eq!(connect(c, &name).unwrap(), 1);
        close(c);
        close(l);
    }
}
