//! The one place where operating-system errors become Java exception classes.
//!
//! The mapping follows the JDK's own socket engine on each system (`sun.nio.ch.Net`
//! and `NioSocketImpl`, with their C parts for Unix and for Windows), so callers see
//! the same class and, where the JDK uses the system's text, the same message.

use crate::sys::errno;
use std::fmt;
use std::io;

/// The Java exception class a native failure is reported as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionClass {
    /// `java.net.SocketException`: the default for socket failures.
    Socket,
    /// `java.net.ConnectException`: the peer refused or the attempt timed out in the kernel.
    Connect,
    /// `java.net.BindException`: the local address is in use or not ours.
    Bind,
    /// `java.net.NoRouteToHostException`.
    NoRouteToHost,
    /// `java.net.ProtocolException`.
    Protocol,
    /// `java.net.SocketTimeoutException`.
    SocketTimeout,
    /// `io.rustsocket.internal.ConnectionResetException`: a read saw a reset;
    /// the Java side makes it sticky and reports `SocketException("Connection reset")`.
    ConnectionReset,
    /// `java.io.IOException`: what the JDK throws when accept(2) fails.
    Io,
    /// `java.lang.IllegalArgumentException`: a bad argument that Java did not catch first.
    IllegalArgument,
    /// `java.lang.UnsupportedOperationException`: an option this kernel or family lacks.
    UnsupportedOperation,
    /// `java.net.PortUnreachableException`: a connected datagram socket's peer port
    /// answered with ICMP port unreachable.
    PortUnreachable,
    /// `java.lang.NullPointerException`: a null array or object handed to a native method.
    NullPointer,
    /// `java.lang.ArrayIndexOutOfBoundsException`: a range outside the array handed over.
    ArrayIndexOutOfBounds,
}

impl ExceptionClass {
    /// The JNI class name (slash-separated) of the exception.
    pub fn java_name(self) -> &'static str {
        match self {
            ExceptionClass::Socket => "java/net/SocketException",
            ExceptionClass::Connect => "java/net/ConnectException",
            ExceptionClass::Bind => "java/net/BindException",
            ExceptionClass::NoRouteToHost => "java/net/NoRouteToHostException",
            ExceptionClass::Protocol => "java/net/ProtocolException",
            ExceptionClass::SocketTimeout => "java/net/SocketTimeoutException",
            ExceptionClass::ConnectionReset => "io/rustsocket/internal/ConnectionResetException",
            ExceptionClass::Io => "java/io/IOException",
            ExceptionClass::IllegalArgument => "java/lang/IllegalArgumentException",
            ExceptionClass::UnsupportedOperation => "java/lang/UnsupportedOperationException",
            ExceptionClass::PortUnreachable => "java/net/PortUnreachableException",
            ExceptionClass::NullPointer => "java/lang/NullPointerException",
            ExceptionClass::ArrayIndexOutOfBounds => "java/lang/ArrayIndexOutOfBoundsException",
        }
    }
}

/// What the failing system call was doing; the same errno maps differently
/// for a read than for a connect, as it does in the JDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// socket(2), setsockopt(2) and other set-up calls.
    Setup,
    /// bind(2).
    Bind,
    /// listen(2).
    Listen,
    /// connect(2), or the outcome of one that the JDK would have made a blocking call (its
    /// failure is the connect's own).
    Connect,
    /// The outcome of a connect that was waited for (`SO_ERROR`): classified as a connect's
    /// error, but on Windows the JDK names the call that read it (getsockopt).
    FinishConnect,
    /// accept4(2).
    Accept,
    /// recv(2).
    Read,
    /// send(2).
    Write,
    /// send(2) of urgent data, which the JDK reports as plain IOExceptions.
    Urgent,
    /// sendfile(2) from a file to a socket, and the file-descriptor calls around it.
    SendFile,
    /// getsockopt(2)/setsockopt(2) for a user-visible option.
    Option,
    /// shutdown(2), close(2), poll(2), ioctl(2).
    Control,
    /// recvfrom(2)/recvmmsg(2) on a datagram socket.
    DatagramRead,
    /// sendto(2)/sendmmsg(2) on a datagram socket.
    DatagramWrite,
    /// sendto(2)/recvfrom(2) on a Unix domain datagram socket.
    LocalDatagram,
    /// Joining or leaving a multicast group.
    Membership,
}

/// A failure of the socket core, already classified for Java.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetError {
    /// The exception class to throw.
    pub class: ExceptionClass,
    /// The exception's message.
    pub message: String,
    /// The OS error number, when the failure came from the OS.
    pub errno: Option<i32>,
}

impl NetError {
    /// An error with a fixed class and message that did not come from the OS.
    pub fn new(class: ExceptionClass, message: impl Into<String>) -> Self {
        NetError {
            class,
            message: message.into(),
            errno: None,
        }
    }

    /// Classifies an OS error number raised by `op`.
    pub fn from_errno(op: Op, errno: i32) -> Self {
        let (class, message) = classify(op, errno);
        NetError {
            class,
            message,
            errno: Some(errno),
        }
    }

    /// Classifies an `io::Error` raised by `op`.
    pub fn from_io(op: Op, err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(errno) => Self::from_errno(op, errno),
            None => NetError::new(ExceptionClass::Socket, err.to_string()),
        }
    }

    /// Classifies the calling thread's current `errno`, raised by `op`.
    pub fn last_os_error(op: Op) -> Self {
        Self::from_io(op, &io::Error::last_os_error())
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.java_name(), self.message)
    }
}

impl std::error::Error for NetError {}

/// The result type of the socket core.
pub type NetResult<T> = Result<T, NetError>;

/// The OS's text for an error number, as the JDK's messages carry it.
pub fn strerror(errno: i32) -> String {
    crate::sys::error_text(errno)
}

/// The message of [`ExceptionClass::PortUnreachable`], the JDK's.
const PORT_UNREACHABLE: &str = "ICMP Port Unreachable";

/// The error a datagram socket's receive or send reports for an ICMP port unreachable.
#[cfg(unix)]
const PORT_UNREACHABLE_ERRNO: i32 = errno::ECONNREFUSED;
/// The error a datagram socket's receive or send reports for an ICMP port unreachable.
#[cfg(windows)]
const PORT_UNREACHABLE_ERRNO: i32 = errno::ECONNRESET;

/// The message for an OS error raised by `op`, worded as the JDK's on this system: the C
/// library's text on Unix.
#[cfg(unix)]
fn message(_op: Op, errno: i32) -> String {
    strerror(errno)
}

/// The message for an OS error raised by `op`, worded as the JDK's on Windows. Its reads,
/// writes and accepts (`SocketDispatcher.c`, `Net.c`) carry the system's text (`FormatMessage`
/// in `getLastErrorString`, which leaves the message empty where the system has no text); its
/// other socket calls go through `NET_ThrowNew`, which gives the text of its own Winsock table
/// and the name of the failing call ("Connection refused: connect"). Where one operation of
/// the core stands for several calls of the JDK (the options, the control calls), the call is
/// left out.
#[cfg(windows)]
fn message(op: Op, errno: i32) -> String {
    let call = match op {
        Op::Read | Op::Write | Op::Accept | Op::Urgent => {
            return crate::sys::system_text(errno).unwrap_or_default()
        }
        Op::SendFile => return strerror(errno),
        Op::Setup => Some("socket"),
        Op::Bind => Some("bind"),
        Op::Listen => Some("listen"),
        Op::Connect => Some("connect"),
        Op::FinishConnect => Some("getsockopt"),
        Op::DatagramRead => Some("recvfrom"),
        Op::DatagramWrite => Some("sendto"),
        Op::Option | Op::Control | Op::Membership | Op::LocalDatagram => None,
    };
    crate::sys::winsock_message(errno, call)
}

fn classify(op: Op, errno: i32) -> (ExceptionClass, String) {
    use ExceptionClass as C;
    match (op, errno) {
        // A read that meets a reset: the JDK says "Connection reset" and keeps
        // saying it on every later read.
        (Op::Read, errno::ECONNRESET) => (C::ConnectionReset, "Connection reset".into()),
        // A write that meets one: "Connection reset by peer", the C library's text on Unix and
        // the JDK's own words on Windows.
        (Op::Write, errno::ECONNRESET) => (C::Socket, "Connection reset by peer".into()),
        // Reads and writes: everything else is a SocketException with the OS text
        // ("Broken pipe", ...), as in the JDK.
        (Op::Read | Op::Write | Op::Control, _) => (C::Socket, message(op, errno)),
        // A connected datagram socket whose peer port is closed: the JDK reports the ICMP
        // error as PortUnreachableException; everything else (EMSGSIZE "Message too long",
        // ENOBUFS, ...) is a SocketException with the OS text.
        (Op::DatagramRead | Op::DatagramWrite, PORT_UNREACHABLE_ERRNO) => {
            (C::PortUnreachable, PORT_UNREACHABLE.into())
        }
        (Op::DatagramRead | Op::DatagramWrite | Op::Membership, _) => {
            (C::Socket, message(op, errno))
        }
        // A Unix datagram sent to a name nobody holds any more (or to a connected peer that
        // closed): no ICMP is involved, so the class is the datagram socket's "unreachable
        // destination" with the OS text ("Connection refused"); everything else ("No such file
        // or directory", "Message too long", "Operation not permitted") a SocketException.
        (Op::LocalDatagram, errno::ECONNREFUSED) => (C::PortUnreachable, strerror(errno)),
        (Op::LocalDatagram, _) => (C::Socket, strerror(errno)),
        // The JDK's accept and sendUrgentData throw a plain IOException with the OS text
        // ("Too many open files", "Broken pipe").
        (Op::Accept | Op::Urgent, _) => (C::Io, message(op, errno)),
        // sendfile: a failure on the socket side reads as a write's would ("Broken pipe",
        // "Connection reset by peer"); one on the file side ("Input/output error") as a file
        // read's, a plain IOException, as FileChannel.transferTo reports it.
        (
            Op::SendFile,
            errno::EPIPE
            | errno::ECONNRESET
            | errno::ENOTCONN
            | errno::ETIMEDOUT
            | errno::EHOSTUNREACH
            | errno::ENETUNREACH
            | errno::ENETDOWN
            | errno::ENOTSOCK,
        ) => (C::Socket, message(op, errno)),
        (Op::SendFile, _) => (C::Io, message(op, errno)),
        (Op::Option, errno::ENOPROTOOPT | errno::EOPNOTSUPP) => {
            (C::UnsupportedOperation, message(op, errno))
        }
        // A name the kernel does not know: TCP_CONGESTION's algorithm, SO_BINDTODEVICE's device.
        (Op::Option, errno::ENOENT | errno::ENODEV) => (C::IllegalArgument, message(op, errno)),
        // Missing privilege (SO_MARK, a congestion control not in
        // tcp_allowed_congestion_control) and everything else: the OS's reason as a SocketException.
        (Op::Option, _) => (C::Socket, message(op, errno)),
        // Windows refuses a bind to an address another socket holds exclusively with
        // WSAEACCES, which the JDK reports as the address in use (`NET_Bind`).
        #[cfg(windows)]
        (Op::Bind, errno::EACCES) => (C::Bind, message(op, errno::EADDRINUSE)),
        // The JDK's table for connect, bind and set-up: handleSocketError on Unix, the Winsock
        // table of NET_ThrowNew on Windows (which has no class of its own for EACCES and
        // ENOTCONN, and no EPROTO).
        (_, errno::EPROTO) => (C::Protocol, message(op, errno)),
        #[cfg(unix)]
        (_, errno::ECONNREFUSED | errno::ETIMEDOUT | errno::ENOTCONN) => {
            (C::Connect, message(op, errno))
        }
        #[cfg(windows)]
        (_, errno::ECONNREFUSED | errno::ETIMEDOUT) => (C::Connect, message(op, errno)),
        (_, errno::EHOSTUNREACH) => (C::NoRouteToHost, message(op, errno)),
        #[cfg(unix)]
        (_, errno::EADDRINUSE | errno::EADDRNOTAVAIL | errno::EACCES) => {
            (C::Bind, message(op, errno))
        }
        #[cfg(windows)]
        (_, errno::EADDRINUSE | errno::EADDRNOTAVAIL) => (C::Bind, message(op, errno)),
        _ => (C::Socket, message(op, errno)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::tests::jdk_text as jdk;

    #[test]
    #[cfg(unix)]
    fn strerror_has_no_rust_suffix() {
        assert_eq!(strerror(errno::ECONNREFUSED), "Connection refused");
        assert_eq!(strerror(errno::EPIPE), "Broken pipe");
    }

    #[test]
    fn connect_errors_follow_the_jdk_table() {
        let e = NetError::from_errno(Op::Connect, errno::ECONNREFUSED);
        assert_eq!(e.class, ExceptionClass::Connect);
        assert_eq!(
            e.message,
            jdk("Connection refused", "Connection refused: connect")
        );
        assert_eq!(e.errno, Some(errno::ECONNREFUSED));
        assert_eq!(
            NetError::from_errno(Op::Connect, errno::EHOSTUNREACH).class,
            ExceptionClass::NoRouteToHost
        );
        assert_eq!(
            NetError::from_errno(Op::Connect, errno::ENETUNREACH).class,
            ExceptionClass::Socket
        );
    }

    #[test]
    fn bind_errors_are_bind_exceptions() {
        for errno in [errno::EADDRINUSE, errno::EADDRNOTAVAIL, errno::EACCES] {
            assert_eq!(
                NetError::from_errno(Op::Bind, errno).class,
                ExceptionClass::Bind
            );
        }
        assert_eq!(
            NetError::from_errno(Op::Bind, errno::EADDRINUSE).message,
            jdk("Address already in use", "Address already in use: bind")
        );
    }

    #[test]
    fn read_reset_is_special_but_write_reset_is_not() {
        let r = NetError::from_errno(Op::Read, errno::ECONNRESET);
        assert_eq!(r.class, ExceptionClass::ConnectionReset);
        assert_eq!(r.message, "Connection reset");
        let w = NetError::from_errno(Op::Write, errno::ECONNRESET);
        assert_eq!(w.class, ExceptionClass::Socket);
        assert_eq!(w.message, "Connection reset by peer");
        let p = NetError::from_errno(Op::Write, errno::EPIPE);
        assert_eq!(p.class, ExceptionClass::Socket);
        #[cfg(unix)]
        assert_eq!(p.message, "Broken pipe");
    }

    #[test]
    fn accept_errors_are_plain_io_exceptions() {
        let e = NetError::from_errno(Op::Accept, errno::EMFILE);
        assert_eq!(e.class, ExceptionClass::Io);
        #[cfg(unix)]
        assert_eq!(e.message, "Too many open files");
        // creating a socket is set-up, which the JDK reports as a SocketException
        assert_eq!(
            NetError::from_errno(Op::Setup, errno::EMFILE).class,
            ExceptionClass::Socket
        );
    }

    #[test]
    #[cfg(unix)]
    fn sendfile_errors_split_between_socket_and_file() {
        let pipe = NetError::from_errno(Op::SendFile, errno::EPIPE);
        assert_eq!(
            (pipe.class, pipe.message.as_str()),
            (ExceptionClass::Socket, "Broken pipe")
        );
        let reset = NetError::from_errno(Op::SendFile, errno::ECONNRESET);
        assert_eq!(reset.class, ExceptionClass::Socket);
        let io = NetError::from_errno(Op::SendFile, errno::EIO);
        assert_eq!(
            (io.class, io.message.as_str()),
            (ExceptionClass::Io, "Input/output error")
        );
    }

    #[test]
    fn datagram_errors() {
        let e = NetError::from_errno(Op::DatagramRead, PORT_UNREACHABLE_ERRNO);
        assert_eq!(e.class, ExceptionClass::PortUnreachable);
        let e = NetError::from_errno(Op::DatagramWrite, errno::EMSGSIZE);
        let too_long = jdk(
            "Message too long",
            "The message is larger than the maximum supported by the underlying transport: sendto",
        );
        assert_eq!((e.class, e.message), (ExceptionClass::Socket, too_long));
        let e = NetError::from_errno(Op::LocalDatagram, errno::ECONNREFUSED);
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::PortUnreachable, "Connection refused")
        );
        assert_eq!(
            NetError::from_errno(Op::LocalDatagram, errno::EADDRINUSE).class,
            ExceptionClass::Socket
        );
        // "already a member" must not look like a bind failure
        assert_eq!(
            NetError::from_errno(Op::Membership, errno::EADDRINUSE).class,
            ExceptionClass::Socket
        );
    }

    #[test]
    fn unknown_option_is_unsupported() {
        assert_eq!(
            NetError::from_errno(Op::Option, errno::ENOPROTOOPT).class,
            ExceptionClass::UnsupportedOperation
        );
    }

    #[test]
    fn option_errors_say_what_went_wrong() {
        let perm = NetError::from_errno(Op::Option, errno::EPERM);
        assert_eq!(perm.class, ExceptionClass::Socket);
        #[cfg(unix)]
        assert_eq!(perm.message, "Operation not permitted");
        assert_eq!(
            NetError::from_errno(Op::Option, errno::EACCES).class,
            ExceptionClass::Socket
        );
        for errno in [errno::ENOENT, errno::ENODEV] {
            assert_eq!(
                NetError::from_errno(Op::Option, errno).class,
                ExceptionClass::IllegalArgument
            );
        }
        assert_eq!(
            NetError::from_errno(Op::Option, errno::EOPNOTSUPP).class,
            ExceptionClass::UnsupportedOperation
        );
    }

    #[test]
    #[cfg(windows)]
    fn windows_messages_are_worded_as_the_jdks() {
        // NET_Bind: a port held exclusively reads as in use
        let e = NetError::from_errno(Op::Bind, errno::EACCES);
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::Bind, "Address already in use: bind")
        );
        // no class of their own in the Winsock table
        assert_eq!(
            NetError::from_errno(Op::Connect, errno::EACCES).class,
            ExceptionClass::Socket
        );
        assert_eq!(
            NetError::from_errno(Op::Connect, errno::ENOTCONN).class,
            ExceptionClass::Socket
        );
        let e = NetError::from_errno(Op::Connect, errno::ETIMEDOUT);
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::Connect, "Connection timed out: connect")
        );
        // reads and writes carry the system's text, empty where it has none
        let text = |op, errno| {
            crate::sys::system_text(errno).unwrap_or_default()
                == NetError::from_errno(op, errno).message
        };
        assert!(text(Op::Read, errno::ECONNABORTED));
        assert!(text(Op::Write, errno::ECONNABORTED));
        assert!(text(Op::Accept, errno::EMFILE));
        assert_eq!(
            NetError::from_errno(Op::Option, errno::EINVAL).message,
            "Invalid argument"
        );
    }

    #[test]
    fn every_class_has_a_jni_name() {
        for c in [
            ExceptionClass::Socket,
            ExceptionClass::Connect,
            ExceptionClass::Bind,
            ExceptionClass::NoRouteToHost,
            ExceptionClass::Protocol,
            ExceptionClass::SocketTimeout,
            ExceptionClass::ConnectionReset,
            ExceptionClass::Io,
            ExceptionClass::IllegalArgument,
            ExceptionClass::UnsupportedOperation,
            ExceptionClass::PortUnreachable,
            ExceptionClass::NullPointer,
            ExceptionClass::ArrayIndexOutOfBounds,
        ] {
            let name = c.java_name();
            assert!(!name.contains('.') && name.contains('/'), "{name}");
        }
    }
}
