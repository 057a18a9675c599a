//! Every socket option the library knows, described once.
//!
//! [`TABLE`] is the one source of truth: for each option Java can name (a constant of
//! `java.net.StandardSocketOptions`, `jdk.net.ExtendedSocketOptions`,
//! `io.rustsocket.RustSocketOptions`, or a legacy `java.net.SocketOptions` id) it says
//! which value type it carries, which sockets it applies to, which values are valid and
//! what the JDK says when a value is not. The Java side reads the table once at start-up
//! ([`describe`]), so option ids, supported sets and ranges are never written twice, and
//! every value is validated here, in one place, before the system call.
//!
//! Two Java constants may name one kernel option with different contracts: the JDK's
//! `jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE` leaves the value to the kernel (a bad one
//! is the kernel's `SocketException`), while `RustSocketOptions.TCP_KEEPIDLE` refuses it
//! with an `IllegalArgumentException` naming the range. Each gets its own row, both
//! pointing at the same [`Opt`].

use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::sock::{self, bad_argument, borrow};
use socket2::{Domain, SockRef};
use std::fmt::Write as _;
use std::os::fd::RawFd;
use std::time::Duration;

/// How an option's value travels between Java and native code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `Boolean`, as 0 or 1.
    Bool,
    /// `Integer`.
    Int,
    /// `String`, as printable ASCII.
    Str,
    /// `NetworkInterface`, as its index (0: none chosen).
    Interface,
}

impl ValueType {
    fn java_name(self) -> &'static str {
        match self {
            ValueType::Bool => "Boolean",
            ValueType::Int => "Integer",
            ValueType::Str => "String",
            ValueType::Interface => "NetworkInterface",
        }
    }
}

/// Which sockets an option applies to: a set of these bits.
pub mod sockets {
    /// A client or accepted TCP socket.
    pub const CLIENT: u8 = 1;
    /// A listening TCP socket.
    pub const LISTENER: u8 = 2;
    /// A UDP socket.
    pub const DATAGRAM: u8 = 4;
    /// Both kinds of TCP socket.
    pub const STREAM: u8 = CLIENT | LISTENER;
    /// Every socket.
    pub const ALL: u8 = STREAM | DATAGRAM;
}

/// Where the Java constant of a row lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `java.net.StandardSocketOptions`.
    Java,
    /// `jdk.net.ExtendedSocketOptions`.
    Jdk,
    /// `io.rustsocket.RustSocketOptions`.
    Rust,
    /// A `java.net.SocketOptions` int id with no `SocketOption` constant (SO_OOBINLINE).
    Legacy,
}

impl Origin {
    fn tag(self) -> &'static str {
        match self {
            Origin::Java => "java",
            Origin::Jdk => "jdk",
            Origin::Rust => "rust",
            Origin::Legacy => "legacy",
        }
    }
}

/// The kernel options behind the rows of [`TABLE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    /// TCP_NODELAY.
    TcpNoDelay,
    /// SO_KEEPALIVE.
    KeepAlive,
    /// SO_RCVBUF, in the bytes the user asked for (Linux reports twice that).
    RcvBuf,
    /// SO_SNDBUF, likewise.
    SndBuf,
    /// SO_LINGER: -1 when off, else seconds (at most 65,535, as the JDK clamps).
    Linger,
    /// SO_REUSEADDR.
    ReuseAddr,
    /// SO_REUSEPORT.
    ReusePort,
    /// IP_TOS on IPv4 sockets, IPV6_TCLASS (and IP_TOS for mapped traffic) on IPv6 ones.
    IpTos,
    /// SO_OOBINLINE.
    OobInline,
    /// TCP_KEEPIDLE, seconds.
    TcpKeepIdle,
    /// TCP_KEEPINTVL, seconds.
    TcpKeepInterval,
    /// TCP_KEEPCNT, probes.
    TcpKeepCount,
    /// TCP_QUICKACK.
    TcpQuickAck,
    /// SO_INCOMING_NAPI_ID, read only.
    IncomingNapiId,
    /// TCP_USER_TIMEOUT, milliseconds (0: the kernel's default).
    TcpUserTimeout,
    /// TCP_CORK.
    TcpCork,
    /// TCP_NOTSENT_LOWAT, bytes (0: the sysctl's default).
    TcpNotSentLowat,
    /// TCP_MAXSEG, bytes.
    TcpMaxSeg,
    /// TCP_FASTOPEN on a listener: queue length of pending fast-open requests.
    TcpFastOpen,
    /// TCP_FASTOPEN_CONNECT: the first write rides on the SYN.
    TcpFastOpenConnect,
    /// TCP_DEFER_ACCEPT, seconds (the kernel rounds to its retransmission steps).
    TcpDeferAccept,
    /// IP_TTL (and IPV6_UNICAST_HOPS on IPv6 sockets), hops.
    IpTtl,
    /// IPV6_V6ONLY; IPv6 sockets only, before bind.
    Ipv6V6Only,
    /// IP_FREEBIND.
    IpFreeBind,
    /// IP_BIND_ADDRESS_NO_PORT.
    IpBindAddressNoPort,
    /// SO_MARK (needs CAP_NET_ADMIN or CAP_NET_RAW to set).
    SoMark,
    /// SO_INCOMING_CPU, a CPU number (-1 clears the steering).
    SoIncomingCpu,
    /// SO_BUSY_POLL, microseconds.
    SoBusyPoll,
    /// TCP_CONGESTION: the congestion control algorithm's name.
    TcpCongestion,
    /// SO_BINDTODEVICE: the interface's name; empty when unbound.
    BindToDevice,
    /// SO_BROADCAST.
    Broadcast,
    /// IPV6_MULTICAST_IF (and IP_MULTICAST_IF): an interface index, 0 for the default.
    MulticastIf,
    /// IPV6_MULTICAST_HOPS (and IP_MULTICAST_TTL).
    MulticastTtl,
    /// IPV6_MULTICAST_LOOP (and IP_MULTICAST_LOOP).
    MulticastLoop,
}

/// One option as Java sees it.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The class that holds the Java constant.
    pub origin: Origin,
    /// The constant's name, which is also its `SocketOption.name()`.
    pub name: &'static str,
    /// The kernel option.
    pub opt: Opt,
    /// How the value travels.
    pub value: ValueType,
    /// The sockets it applies to ([`sockets`] bits).
    pub sockets: u8,
    /// Smallest valid value (integers; booleans are always 0 or 1).
    pub min: i64,
    /// Largest valid value.
    pub max: i64,
    /// The JDK's message for a value outside `min..=max`; `None` names the option and range.
    pub invalid: Option<&'static str>,
    /// Whether the option can only be read.
    pub read_only: bool,
    /// Whether the kernel must be asked (once per kind of socket) whether it has the option:
    /// the Linux extras of `RustSocketOptions`, which older kernels may lack.
    pub probe: bool,
}

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;

const fn row(origin: Origin, name: &'static str, opt: Opt, value: ValueType, sockets: u8) -> Spec {
    let (min, max) = match value {
        ValueType::Bool => (0, 1),
        ValueType::Int => (INT_MIN, INT_MAX),
        ValueType::Str => (0, 0),
        ValueType::Interface => (0, INT_MAX),
    };
    Spec {
        origin,
        name,
        opt,
        value,
        sockets,
        min,
        max,
        invalid: None,
        read_only: false,
        probe: origin as u8 == Origin::Rust as u8,
    }
}

const fn ranged(mut spec: Spec, min: i64, max: i64, invalid: Option<&'static str>) -> Spec {
    spec.min = min;
    spec.max = max;
    spec.invalid = invalid;
    spec
}

const fn read_only(mut spec: Spec) -> Spec {
    spec.read_only = true;
    spec
}

use sockets::{ALL, CLIENT, DATAGRAM, LISTENER, STREAM};
use Origin::{Java, Jdk, Legacy, Rust};
use ValueType::{Bool, Int, Interface, Str};

const BUFFER_SIZE: Option<&str> = Some("Invalid send/receive buffer size");

/// Every option, in the order of their ids (an id is an index into this table; it is only
/// meaningful within one build of the library, since Java reads the table at start-up).
pub static TABLE: &[Spec] = &[
    // java.net.StandardSocketOptions, with the checks and messages of the JDK's own sockets
    row(Java, "TCP_NODELAY", Opt::TcpNoDelay, Bool, CLIENT),
    row(Java, "SO_KEEPALIVE", Opt::KeepAlive, Bool, CLIENT),
    ranged(
        row(Java, "SO_RCVBUF", Opt::RcvBuf, Int, ALL),
        0,
        INT_MAX,
        BUFFER_SIZE,
    ),
    ranged(
        row(Java, "SO_SNDBUF", Opt::SndBuf, Int, CLIENT | DATAGRAM),
        0,
        INT_MAX,
        BUFFER_SIZE,
    ),
    // any int: negative turns linger off, larger than 65,535 is clamped (see `set`)
    row(Java, "SO_LINGER", Opt::Linger, Int, CLIENT),
    row(Java, "SO_REUSEADDR", Opt::ReuseAddr, Bool, ALL),
    row(Java, "SO_REUSEPORT", Opt::ReusePort, Bool, ALL),
    ranged(
        row(Java, "IP_TOS", Opt::IpTos, Int, ALL),
        0,
        255,
        Some("Invalid IP_TOS value"),
    ),
    row(Java, "SO_BROADCAST", Opt::Broadcast, Bool, DATAGRAM),
    row(
        Java,
        "IP_MULTICAST_IF",
        Opt::MulticastIf,
        Interface,
        DATAGRAM,
    ),
    ranged(
        row(Java, "IP_MULTICAST_TTL", Opt::MulticastTtl, Int, DATAGRAM),
        0,
        255,
        Some("Invalid TTL/hop value"),
    ),
    row(
        Java,
        "IP_MULTICAST_LOOP",
        Opt::MulticastLoop,
        Bool,
        DATAGRAM,
    ),
    // jdk.net.ExtendedSocketOptions: the JDK passes these values to the kernel unchecked
    row(Jdk, "TCP_KEEPIDLE", Opt::TcpKeepIdle, Int, STREAM),
    row(Jdk, "TCP_KEEPINTERVAL", Opt::TcpKeepInterval, Int, STREAM),
    row(Jdk, "TCP_KEEPCOUNT", Opt::TcpKeepCount, Int, STREAM),
    row(Jdk, "TCP_QUICKACK", Opt::TcpQuickAck, Bool, STREAM),
    read_only(row(
        Jdk,
        "SO_INCOMING_NAPI_ID",
        Opt::IncomingNapiId,
        Int,
        ALL,
    )),
    // java.net.SocketOptions ids with no SocketOption constant
    row(Legacy, "SO_OOBINLINE", Opt::OobInline, Bool, CLIENT),
    // io.rustsocket.RustSocketOptions: Linux extras, checked against the kernel's limits
    ranged(
        row(Rust, "TCP_KEEPIDLE", Opt::TcpKeepIdle, Int, STREAM),
        1,
        32767,
        None,
    ),
    ranged(
        row(Rust, "TCP_KEEPINTERVAL", Opt::TcpKeepInterval, Int, STREAM),
        1,
        32767,
        None,
    ),
    ranged(
        row(Rust, "TCP_KEEPCOUNT", Opt::TcpKeepCount, Int, STREAM),
        1,
        127,
        None,
    ),
    ranged(
        row(Rust, "TCP_USER_TIMEOUT", Opt::TcpUserTimeout, Int, STREAM),
        0,
        INT_MAX,
        None,
    ),
    row(Rust, "TCP_QUICKACK", Opt::TcpQuickAck, Bool, STREAM),
    row(Rust, "TCP_CORK", Opt::TcpCork, Bool, CLIENT),
    ranged(
        row(Rust, "TCP_NOTSENT_LOWAT", Opt::TcpNotSentLowat, Int, STREAM),
        0,
        INT_MAX,
        None,
    ),
    // TCP_MIN_MSS .. MAX_TCP_WINDOW in the kernel
    ranged(
        row(Rust, "TCP_MAXSEG", Opt::TcpMaxSeg, Int, STREAM),
        88,
        32767,
        None,
    ),
    row(Rust, "TCP_CONGESTION", Opt::TcpCongestion, Str, STREAM),
    ranged(
        row(Rust, "TCP_FASTOPEN", Opt::TcpFastOpen, Int, LISTENER),
        0,
        INT_MAX,
        None,
    ),
    row(
        Rust,
        "TCP_FASTOPEN_CONNECT",
        Opt::TcpFastOpenConnect,
        Bool,
        CLIENT,
    ),
    ranged(
        row(Rust, "TCP_DEFER_ACCEPT", Opt::TcpDeferAccept, Int, LISTENER),
        0,
        INT_MAX,
        None,
    ),
    ranged(row(Rust, "IP_TTL", Opt::IpTtl, Int, STREAM), 1, 255, None),
    row(Rust, "IPV6_V6ONLY", Opt::Ipv6V6Only, Bool, STREAM),
    row(Rust, "IP_FREEBIND", Opt::IpFreeBind, Bool, STREAM),
    row(
        Rust,
        "IP_BIND_ADDRESS_NO_PORT",
        Opt::IpBindAddressNoPort,
        Bool,
        CLIENT,
    ),
    // a mark is a 32-bit pattern: every int is one
    row(Rust, "SO_MARK", Opt::SoMark, Int, STREAM),
    row(Rust, "SO_BINDTODEVICE", Opt::BindToDevice, Str, STREAM),
    ranged(
        row(Rust, "SO_INCOMING_CPU", Opt::SoIncomingCpu, Int, STREAM),
        -1,
        INT_MAX,
        None,
    ),
    ranged(
        row(Rust, "SO_BUSY_POLL", Opt::SoBusyPoll, Int, STREAM),
        0,
        INT_MAX,
        None,
    ),
];

/// The row with id `id`.
pub fn spec(id: i32) -> NetResult<&'static Spec> {
    usize::try_from(id)
        .ok()
        .and_then(|i| TABLE.get(i))
        .ok_or_else(|| bad_argument(format!("unknown option id {id}")))
}

/// The row of `origin`'s constant `name`.
pub fn find(origin: Origin, name: &str) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.origin == origin && s.name == name)
}

/// The table as Java reads it: one line per option in id order, fields separated by tabs:
/// origin, name, value type, socket bits, min, max, read-only (0/1), probe (0/1), and the
/// message for an invalid value (empty for the default one).
pub fn describe() -> String {
    let mut out = String::new();
    for s in TABLE {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            s.origin.tag(),
            s.name,
            s.value.java_name(),
            s.sockets,
            s.min,
            s.max,
            u8::from(s.read_only),
            u8::from(s.probe),
            s.invalid.unwrap_or("")
        );
    }
    out
}

fn opt_err(e: std::io::Error) -> NetError {
    NetError::from_io(Op::Option, &e)
}

fn clamp_i32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Checks a value against its row: read-only options and values out of range are refused
/// with the JDK's exception and message.
pub fn check(spec: &Spec, value: i32) -> NetResult<()> {
    if spec.read_only {
        return Err(NetError::new(
            ExceptionClass::Socket,
            format!("Attempt to set read only option {}", spec.name),
        ));
    }
    if !(spec.min..=spec.max).contains(&i64::from(value)) {
        let message = match spec.invalid {
            Some(m) => m.to_string(),
            None => format!(
                "Invalid value for {}: {value} (must be {} to {})",
                spec.name, spec.min, spec.max
            ),
        };
        return Err(NetError::new(ExceptionClass::IllegalArgument, message));
    }
    Ok(())
}

/// Reads option `id` as an int (flags as 0 or 1, an interface as its index).
pub fn get_by_id(fd: RawFd, id: i32) -> NetResult<i32> {
    let s = spec(id)?;
    if s.value == ValueType::Str {
        return Err(bad_argument(format!("{} is a string option", s.name)));
    }
    get(fd, s.opt)
}

/// Checks a value against row `id` and sets it.
pub fn set_by_id(fd: RawFd, id: i32, value: i32) -> NetResult<()> {
    let s = spec(id)?;
    if s.value == ValueType::Str {
        return Err(bad_argument(format!("{} is a string option", s.name)));
    }
    check(s, value)?;
    set(fd, s.opt, value)
}

/// Reads string option `id`.
pub fn get_string_by_id(fd: RawFd, id: i32) -> NetResult<String> {
    let s = spec(id)?;
    get_string(fd, s.opt)
}

/// Sets string option `id`.
pub fn set_string_by_id(fd: RawFd, id: i32, value: &str) -> NetResult<()> {
    let s = spec(id)?;
    if s.read_only {
        return check(s, 0);
    }
    set_string(fd, s.opt, value)
}

// socket2 has no single getter/setter for a few options: plain ints through libc.
pub(crate) fn get_raw(fd: RawFd, level: libc::c_int, name: libc::c_int) -> NetResult<i32> {
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

pub(crate) fn set_raw(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: i32,
) -> NetResult<()> {
    set_struct(fd, level, name, &value)
}

/// setsockopt(2) with a C value (an int, or a struct such as a membership request).
pub(crate) fn set_struct<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> NetResult<()> {
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

fn is_ipv6(s: &SockRef<'_>) -> NetResult<bool> {
    Ok(s.domain().map_err(opt_err)? == Domain::IPV6)
}

/// Whether the socket's traffic is IPv4 (an IPv4 socket, or an IPv6 one bound or connected
/// to an IPv4-mapped address): that traffic takes IP_TTL, the rest IPV6_UNICAST_HOPS.
fn speaks_ipv4(fd: RawFd, s: &SockRef<'_>) -> NetResult<bool> {
    Ok(!is_ipv6(s)? || sock::local_addr(fd)?.is_ipv4())
}

fn require_ipv6(s: &SockRef<'_>) -> NetResult<()> {
    if is_ipv6(s)? {
        Ok(())
    } else {
        Err(NetError::new(
            ExceptionClass::UnsupportedOperation,
            "IPV6_V6ONLY needs an IPv6 socket",
        ))
    }
}

/// Reads an option as an int. Not for the string options.
pub fn get(fd: RawFd, opt: Opt) -> NetResult<i32> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let flag = |b: bool| i32::from(b);
    let v6 = sock::ipv6_available();
    Ok(match opt {
        Opt::TcpNoDelay => flag(s.tcp_nodelay().map_err(opt_err)?),
        Opt::KeepAlive => flag(s.keepalive().map_err(opt_err)?),
        // Linux doubles the size it is given (for bookkeeping) and reports the doubled value;
        // the JDK halves it so that users read back what they set, and so do we.
        Opt::RcvBuf => clamp_i32(s.recv_buffer_size().map_err(opt_err)? as u64 / 2),
        Opt::SndBuf => clamp_i32(s.send_buffer_size().map_err(opt_err)? as u64 / 2),
        Opt::Linger => match s.linger().map_err(opt_err)? {
            None => -1,
            Some(d) => clamp_i32(d.as_secs()),
        },
        Opt::ReuseAddr => flag(s.reuse_address().map_err(opt_err)?),
        Opt::ReusePort => flag(s.reuse_port().map_err(opt_err)?),
        Opt::IpTos if is_ipv6(&s)? => s.tclass_v6().map_err(opt_err)? as i32,
        Opt::IpTos => s.tos_v4().map_err(opt_err)? as i32,
        Opt::OobInline => flag(s.out_of_band_inline().map_err(opt_err)?),
        Opt::TcpKeepIdle => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)?,
        Opt::TcpKeepInterval => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)?,
        Opt::TcpKeepCount => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?,
        Opt::TcpQuickAck => flag(get_raw(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK)? != 0),
        Opt::IncomingNapiId => get_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_NAPI_ID)?,
        Opt::TcpUserTimeout => match s.tcp_user_timeout().map_err(opt_err)? {
            None => 0,
            Some(d) => clamp_i32(d.as_millis() as u64),
        },
        Opt::TcpCork => flag(s.tcp_cork().map_err(opt_err)?),
        Opt::TcpNotSentLowat => clamp_i32(u64::from(s.tcp_notsent_lowat().map_err(opt_err)?)),
        Opt::TcpMaxSeg => clamp_i32(u64::from(s.tcp_mss().map_err(opt_err)?)),
        Opt::TcpFastOpen => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN)?,
        Opt::TcpFastOpenConnect => {
            flag(get_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN_CONNECT)? != 0)
        }
        Opt::TcpDeferAccept => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT)?,
        Opt::IpTtl if speaks_ipv4(fd, &s)? => clamp_i32(u64::from(s.ttl_v4().map_err(opt_err)?)),
        Opt::IpTtl => clamp_i32(u64::from(s.unicast_hops_v6().map_err(opt_err)?)),
        Opt::Ipv6V6Only => {
            require_ipv6(&s)?;
            flag(s.only_v6().map_err(opt_err)?)
        }
        Opt::IpFreeBind => flag(s.freebind_v4().map_err(opt_err)?),
        Opt::IpBindAddressNoPort => {
            flag(get_raw(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT)? != 0)
        }
        Opt::SoMark => s.mark().map_err(opt_err)? as i32,
        // socket2's getter is unsigned, but -1 ("no CPU yet") is a real answer.
        Opt::SoIncomingCpu => get_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_CPU)?,
        Opt::SoBusyPoll => clamp_i32(u64::from(s.busy_poll().map_err(opt_err)?)),
        Opt::Broadcast => flag(s.broadcast().map_err(opt_err)?),
        Opt::MulticastIf if v6 => get_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF)?,
        // IPv4-only sockets: the kernel reports an address, not an index; Java keeps what it set.
        Opt::MulticastIf => -1,
        Opt::MulticastTtl if v6 => get_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS)?,
        Opt::MulticastTtl => get_raw(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)?,
        Opt::MulticastLoop if v6 => {
            flag(get_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP)? != 0)
        }
        Opt::MulticastLoop => flag(get_raw(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)? != 0),
        Opt::TcpCongestion | Opt::BindToDevice => {
            return Err(bad_argument(format!("{opt:?} is a string option")))
        }
    })
}

/// Sets an option from an int, unchecked: [`set_by_id`] checks the value against its row
/// first. The kernel has the last word on what the table does not cover.
pub fn set(fd: RawFd, opt: Opt, value: i32) -> NetResult<()> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let on = value != 0;
    // non-negative where the table says so, except SO_MARK's bit pattern
    let unsigned = value as u32;
    let v6 = sock::ipv6_available();
    match opt {
        Opt::TcpNoDelay => s.set_tcp_nodelay(on).map_err(opt_err),
        Opt::KeepAlive => s.set_keepalive(on).map_err(opt_err),
        Opt::RcvBuf => s.set_recv_buffer_size(unsigned as usize).map_err(opt_err),
        Opt::SndBuf => s.set_send_buffer_size(unsigned as usize).map_err(opt_err),
        Opt::Linger => {
            // as the JDK: negative turns it off, and more than 65,535 s is 65,535 s
            let linger = (value >= 0).then(|| Duration::from_secs(value.min(65535) as u64));
            s.set_linger(linger).map_err(opt_err)
        }
        Opt::ReuseAddr => s.set_reuse_address(on).map_err(opt_err),
        Opt::ReusePort => s.set_reuse_port(on).map_err(opt_err),
        Opt::IpTos => {
            if is_ipv6(&s)? {
                s.set_tclass_v6(unsigned).map_err(opt_err)?;
                // IPv4 traffic on a dual-stack socket takes its TOS from IP_TOS;
                // best effort, as in the JDK.
                let _ = s.set_tos_v4(unsigned);
                Ok(())
            } else {
                s.set_tos_v4(unsigned).map_err(opt_err)
            }
        }
        Opt::OobInline => s.set_out_of_band_inline(on).map_err(opt_err),
        Opt::TcpKeepIdle => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, value),
        Opt::TcpKeepInterval => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, value),
        Opt::TcpKeepCount => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, value),
        Opt::TcpQuickAck => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK, value),
        Opt::IncomingNapiId => set_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_NAPI_ID, value),
        Opt::TcpUserTimeout => {
            let timeout = (value > 0).then(|| Duration::from_millis(u64::from(unsigned)));
            s.set_tcp_user_timeout(timeout).map_err(opt_err)
        }
        Opt::TcpCork => s.set_tcp_cork(on).map_err(opt_err),
        Opt::TcpNotSentLowat => s.set_tcp_notsent_lowat(unsigned).map_err(opt_err),
        Opt::TcpMaxSeg => s.set_tcp_mss(unsigned).map_err(opt_err),
        Opt::TcpFastOpen => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN, value),
        Opt::TcpFastOpenConnect => {
            set_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN_CONNECT, value).map_err(|e| {
                // The value is valid, so EINVAL means the socket already left TCP_CLOSE.
                if e.errno == Some(libc::EINVAL) {
                    NetError::new(
                        ExceptionClass::Socket,
                        "TCP_FASTOPEN_CONNECT can only be changed before connect",
                    )
                } else {
                    e
                }
            })
        }
        Opt::TcpDeferAccept => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, value),
        Opt::IpTtl => {
            // A dual-stack socket may end up speaking either family: set both.
            s.set_ttl_v4(unsigned).map_err(opt_err)?;
            if is_ipv6(&s)? {
                s.set_unicast_hops_v6(unsigned).map_err(opt_err)?;
            }
            Ok(())
        }
        Opt::Ipv6V6Only => {
            require_ipv6(&s)?;
            // The kernel refuses with a bare EINVAL once the socket has a port.
            if sock::local_addr(fd)?.port() != 0 {
                return Err(NetError::new(
                    ExceptionClass::Socket,
                    "IPV6_V6ONLY can only be changed before the socket is bound",
                ));
            }
            s.set_only_v6(on).map_err(opt_err)
        }
        Opt::IpFreeBind => s.set_freebind_v4(on).map_err(opt_err),
        Opt::IpBindAddressNoPort => {
            set_raw(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, value)
        }
        Opt::SoMark => s.set_mark(unsigned).map_err(opt_err),
        Opt::SoIncomingCpu => set_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_CPU, value),
        Opt::SoBusyPoll => s.set_busy_poll(unsigned).map_err(opt_err),
        Opt::Broadcast => s.set_broadcast(on).map_err(opt_err),
        // On a dual-stack socket the IPv6 option is set and the IPv4 one too, best effort,
        // since IPv4 traffic on the socket follows the IPv4 option.
        Opt::MulticastIf => {
            let req = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr { s_addr: 0 },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: value,
            };
            let r4 = set_struct(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &req);
            if v6 {
                set_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, value)
            } else {
                r4
            }
        }
        Opt::MulticastTtl => {
            let r4 = set_raw(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, value);
            if v6 {
                set_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, value)
            } else {
                r4
            }
        }
        Opt::MulticastLoop => {
            let on = i32::from(on);
            let r4 = set_raw(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, on);
            if v6 {
                set_raw(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, on)
            } else {
                r4
            }
        }
        Opt::TcpCongestion | Opt::BindToDevice => {
            Err(bad_argument(format!("{opt:?} is a string option")))
        }
    }
}

/// Longest interface name the kernel accepts (IFNAMSIZ less the terminating NUL).
const MAX_DEVICE_NAME: usize = 15;
/// Longest congestion control name the kernel accepts (TCP_CA_NAME_MAX less the NUL).
const MAX_CONGESTION_NAME: usize = 15;

/// Reads a string option; SO_BINDTODEVICE is empty when the socket is not bound to a device.
pub fn get_string(fd: RawFd, opt: Opt) -> NetResult<String> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let bytes = match opt {
        Opt::TcpCongestion => s.tcp_congestion().map_err(opt_err)?,
        Opt::BindToDevice => s.device().map_err(opt_err)?.unwrap_or_default(),
        other => return Err(bad_argument(format!("{other:?} is not a string option"))),
    };
    // The kernel pads names with NULs.
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// Sets a string option. An empty SO_BINDTODEVICE unbinds the socket from its device.
pub fn set_string(fd: RawFd, opt: Opt, value: &str) -> NetResult<()> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let (what, max) = match opt {
        Opt::TcpCongestion => ("TCP_CONGESTION", MAX_CONGESTION_NAME),
        Opt::BindToDevice => ("SO_BINDTODEVICE", MAX_DEVICE_NAME),
        other => return Err(bad_argument(format!("{other:?} is not a string option"))),
    };
    let printable = value.bytes().all(|b| b.is_ascii_graphic());
    if value.len() > max || !printable || (value.is_empty() && opt == Opt::TcpCongestion) {
        return Err(NetError::new(
            ExceptionClass::IllegalArgument,
            format!("Invalid value for {what}: '{value}'"),
        ));
    }
    match opt {
        Opt::TcpCongestion => s.set_tcp_congestion(value.as_bytes()).map_err(opt_err),
        _ => {
            let device = (!value.is_empty()).then_some(value.as_bytes());
            s.bind_device(device).map_err(opt_err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::tests::trio;
    use crate::sock::{close, open_stream};

    fn rust(name: &str) -> &'static Spec {
        find(Origin::Rust, name).unwrap()
    }

    fn set_checked(fd: RawFd, spec: &Spec, value: i32) -> NetResult<()> {
        check(spec, value)?;
        set(fd, spec.opt, value)
    }

    #[test]
    fn the_table_names_each_java_constant_once() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert!(
                    a.origin != b.origin || a.name != b.name,
                    "{:?} {} twice",
                    a.origin,
                    a.name
                );
            }
            assert!(a.sockets != 0 && a.sockets <= sockets::ALL, "{}", a.name);
            assert!(a.min <= a.max, "{}", a.name);
            assert_eq!(a.probe, a.origin == Origin::Rust, "{}", a.name);
            assert_eq!(
                matches!(a.opt, Opt::TcpCongestion | Opt::BindToDevice),
                a.value == ValueType::Str,
                "{}",
                a.name
            );
        }
        assert_eq!(describe().lines().count(), TABLE.len());
        assert!(spec(-1).is_err() && spec(TABLE.len() as i32).is_err());
    }

    #[test]
    fn standard_options_read_back() {
        let t = trio();
        let fd = t.client;
        for opt in [
            Opt::TcpNoDelay,
            Opt::KeepAlive,
            Opt::ReuseAddr,
            Opt::ReusePort,
            Opt::OobInline,
        ] {
            set(fd, opt, 1).unwrap();
            assert_eq!(get(fd, opt).unwrap(), 1, "{opt:?}");
            set(fd, opt, 0).unwrap();
            assert_eq!(get(fd, opt).unwrap(), 0, "{opt:?}");
        }
        assert_eq!(get(fd, Opt::Linger).unwrap(), -1);
        set(fd, Opt::Linger, 7).unwrap();
        assert_eq!(get(fd, Opt::Linger).unwrap(), 7);
        set(fd, Opt::Linger, 70_000).unwrap();
        assert_eq!(get(fd, Opt::Linger).unwrap(), 65535);
        set(fd, Opt::Linger, -5).unwrap();
        assert_eq!(get(fd, Opt::Linger).unwrap(), -1);
        set(fd, Opt::IpTos, 0x10).unwrap();
        assert_eq!(get(fd, Opt::IpTos).unwrap(), 0x10);
        set(fd, Opt::RcvBuf, 65536).unwrap();
        assert_eq!(get(fd, Opt::RcvBuf).unwrap(), 65536);
        set(fd, Opt::SndBuf, 32768).unwrap();
        assert_eq!(get(fd, Opt::SndBuf).unwrap(), 32768);
        for (opt, v) in [
            (Opt::TcpKeepIdle, 30),
            (Opt::TcpKeepInterval, 5),
            (Opt::TcpKeepCount, 4),
        ] {
            set(fd, opt, v).unwrap();
            assert_eq!(get(fd, opt).unwrap(), v, "{opt:?}");
        }
        assert!(get(fd, Opt::IncomingNapiId).unwrap() >= 0);
    }

    #[test]
    fn values_are_checked_with_the_jdks_messages() {
        let t = trio();
        let java = |name| find(Origin::Java, name).unwrap();
        let e = set_checked(t.client, java("IP_TOS"), 256).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::IllegalArgument, "Invalid IP_TOS value")
        );
        let e = set_checked(t.client, java("SO_SNDBUF"), -1).unwrap_err();
        assert_eq!(e.message, "Invalid send/receive buffer size");
        let napi = find(Origin::Jdk, "SO_INCOMING_NAPI_ID").unwrap();
        let e = set_checked(t.client, napi, 0).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (
                ExceptionClass::Socket,
                "Attempt to set read only option SO_INCOMING_NAPI_ID"
            )
        );
        // the JDK's own keepalive constant leaves the value to the kernel, ours checks it
        let jdk_idle = find(Origin::Jdk, "TCP_KEEPIDLE").unwrap();
        let e = set_checked(t.client, jdk_idle, -1).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (ExceptionClass::Socket, "Invalid argument")
        );
        let e = set_checked(t.client, rust("TCP_KEEPIDLE"), -1).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_str()),
            (
                ExceptionClass::IllegalArgument,
                "Invalid value for TCP_KEEPIDLE: -1 (must be 1 to 32767)"
            )
        );
    }

    #[test]
    fn linux_extras_read_back_what_the_kernel_applied() {
        let t = trio();
        let fd = t.client;
        for (name, v) in [
            ("TCP_USER_TIMEOUT", 1500),
            ("TCP_USER_TIMEOUT", 0),
            ("TCP_CORK", 1),
            ("TCP_CORK", 0),
            ("TCP_NOTSENT_LOWAT", 16384),
            ("IP_TTL", 7),
            ("IP_FREEBIND", 1),
            ("IP_BIND_ADDRESS_NO_PORT", 1),
            ("SO_MARK", 42),
            ("SO_BUSY_POLL", 50),
            ("SO_INCOMING_CPU", 1),
        ] {
            // SAFETY: plain system call. SO_MARK needs CAP_NET_ADMIN or CAP_NET_RAW.
            if name == "SO_MARK" && unsafe { libc::geteuid() } != 0 {
                continue;
            }
            set_checked(fd, rust(name), v).unwrap();
            assert_eq!(get(fd, rust(name).opt).unwrap(), v, "{name}");
        }
        // Connected over IPv4 on a dual-stack socket: both hop limits were set.
        let bfd = borrow(fd).unwrap();
        let s = SockRef::from(&bfd);
        if is_ipv6(&s).unwrap() {
            assert_eq!(s.unicast_hops_v6().unwrap(), 7);
        }
        let e = set(fd, Opt::TcpFastOpenConnect, 1).unwrap_err();
        assert_eq!(e.class, ExceptionClass::Socket, "{e}");
        let fresh = open_stream(false).unwrap();
        set(fresh, Opt::TcpFastOpenConnect, 1).unwrap();
        assert_eq!(get(fresh, Opt::TcpFastOpenConnect).unwrap(), 1);
        close(fresh);
    }

    #[test]
    fn bad_values_are_illegal_arguments() {
        let t = trio();
        for (name, v) in [
            ("TCP_USER_TIMEOUT", -1),
            ("TCP_MAXSEG", 87),
            ("TCP_MAXSEG", 32768),
            ("IP_TTL", 0),
            ("IP_TTL", 256),
            ("TCP_CORK", 2),
            ("SO_INCOMING_CPU", -2),
        ] {
            let e = set_checked(t.client, rust(name), v).unwrap_err();
            assert_eq!(e.class, ExceptionClass::IllegalArgument, "{name} {v}");
        }
        for (opt, v) in [
            (Opt::TcpCongestion, "no-such-algorithm"),
            (Opt::TcpCongestion, ""),
            (Opt::BindToDevice, "nosuchdev0"),
            (Opt::BindToDevice, "a name that is far too long"),
            (Opt::BindToDevice, "lo\0"),
        ] {
            let e = set_string(t.client, opt, v).unwrap_err();
            assert_eq!(e.class, ExceptionClass::IllegalArgument, "{opt:?} {v:?}");
        }
    }

    #[test]
    fn listener_options_read_back() {
        let l = open_stream(true).unwrap();
        set(l, Opt::TcpMaxSeg, 1000).unwrap();
        assert_eq!(get(l, Opt::TcpMaxSeg).unwrap(), 1000);
        set(l, Opt::TcpDeferAccept, 5).unwrap();
        // Rounded up to the kernel's retransmission schedule (1, 3, 7, ... s).
        let applied = get(l, Opt::TcpDeferAccept).unwrap();
        assert!(applied >= 5, "{applied}");
        set(l, Opt::TcpFastOpen, 16).unwrap();
        assert_eq!(get(l, Opt::TcpFastOpen).unwrap(), 16);
        if sock::ipv6_available() {
            set(l, Opt::Ipv6V6Only, 1).unwrap();
            assert_eq!(get(l, Opt::Ipv6V6Only).unwrap(), 1);
            set(l, Opt::Ipv6V6Only, 0).unwrap();
            sock::bind(l, "127.0.0.1".parse().unwrap(), 0, 0).unwrap();
            let e = set(l, Opt::Ipv6V6Only, 1).unwrap_err();
            assert_eq!(e.class, ExceptionClass::Socket);
        }
        close(l);
    }

    #[test]
    fn string_options_read_back() {
        let t = trio();
        let fd = t.client;
        set_string(fd, Opt::TcpCongestion, "reno").unwrap();
        assert_eq!(get_string(fd, Opt::TcpCongestion).unwrap(), "reno");
        assert_eq!(get_string(fd, Opt::BindToDevice).unwrap(), "");
        set_string(fd, Opt::BindToDevice, "lo").unwrap();
        assert_eq!(get_string(fd, Opt::BindToDevice).unwrap(), "lo");
        set_string(fd, Opt::BindToDevice, "").unwrap();
        assert_eq!(get_string(fd, Opt::BindToDevice).unwrap(), "");
        assert!(get(fd, Opt::TcpCongestion).is_err());
        assert!(get_string(fd, Opt::TcpNoDelay).is_err());
    }
}
