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
use crate::sys::{self, Fd};
use socket2::{Domain, SockRef};
use std::fmt::Write as _;
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
    /// Every IP socket.
    pub const ALL: u8 = STREAM | DATAGRAM;
    /// A connected Unix domain stream socket.
    pub const UNIX_CLIENT: u8 = 8;
    /// A listening Unix domain socket.
    pub const UNIX_LISTENER: u8 = 16;
    /// A Unix domain datagram socket.
    pub const UNIX_DATAGRAM: u8 = 32;
    /// Every kind of socket.
    pub const EVERY: u8 = ALL | UNIX_CLIENT | UNIX_LISTENER | UNIX_DATAGRAM;
}

/// The systems an option exists on: a set of these bits.
pub mod systems {
    /// Linux.
    pub const LINUX: u8 = 1;
    /// macOS.
    pub const MACOS: u8 = 2;
    /// Windows.
    pub const WINDOWS: u8 = 4;
    /// Every system.
    pub const ALL: u8 = LINUX | MACOS | WINDOWS;
    /// Linux and macOS.
    pub const UNIX: u8 = LINUX | MACOS;
    /// The system this library was built for.
    #[cfg(target_os = "linux")]
    pub const THIS: u8 = LINUX;
    /// The system this library was built for.
    #[cfg(target_os = "macos")]
    pub const THIS: u8 = MACOS;
    /// The system this library was built for.
    #[cfg(windows)]
    pub const THIS: u8 = WINDOWS;
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
    /// SO_LINGER: -1 when off, else seconds (at most 65,535, as the JDK clamps; 327 on macOS).
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
    /// the extras of `RustSocketOptions`, which older kernels may lack.
    pub probe: bool,
    /// The systems that have it ([`systems`] bits); elsewhere it is not supported.
    pub systems: u8,
}

impl Spec {
    /// Whether the system this library runs on has the option.
    pub fn available(&self) -> bool {
        self.systems & systems::THIS != 0
    }
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
        systems: systems::ALL,
    }
}

const fn on(mut spec: Spec, systems: u8) -> Spec {
    spec.systems = systems;
    spec
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

use sockets::{ALL, CLIENT, DATAGRAM, EVERY, LISTENER, STREAM, UNIX_CLIENT, UNIX_DATAGRAM};
use systems::{LINUX, UNIX};
use Origin::{Java, Jdk, Legacy, Rust};
use ValueType::{Bool, Int, Interface, Str};

const BUFFER_SIZE: Option<&str> = Some("Invalid send/receive buffer size");

/// The smallest TCP_MAXSEG: Linux's `TCP_MIN_MSS`; macOS refuses less than its
/// `net.inet.tcp.minmss` (216 by default) less 40 bytes of headers.
const MIN_MSS: i64 = if cfg!(target_os = "macos") { 176 } else { 88 };

/// The longest SO_LINGER, in seconds: the JDK's clamp; macOS keeps the linger in ticks of
/// 10 ms in a 16-bit field, so it cannot hold more than 327 s.
const MAX_LINGER: i32 = if cfg!(target_os = "macos") {
    327
} else {
    65535
};

/// Every option, in the order of their ids (an id is an index into this table; it is only
/// meaningful within one build of the library, since Java reads the table at start-up).
#[rustfmt::skip]
pub static TABLE: &[Spec] = &[
    // java.net.StandardSocketOptions, with the checks and messages of the JDK's own sockets
    row(Java, "TCP_NODELAY", Opt::TcpNoDelay, Bool, CLIENT),
    row(Java, "SO_KEEPALIVE", Opt::KeepAlive, Bool, CLIENT),
    // the three a Unix domain socket has too, as the JDK's Unix channels
    ranged(row(Java, "SO_RCVBUF", Opt::RcvBuf, Int, EVERY), 0, INT_MAX, BUFFER_SIZE),
    ranged(row(Java, "SO_SNDBUF", Opt::SndBuf, Int, CLIENT | DATAGRAM | UNIX_CLIENT | UNIX_DATAGRAM), 0, INT_MAX, BUFFER_SIZE),
    // any int: negative turns linger off, larger than MAX_LINGER is clamped (see `set`)
    row(Java, "SO_LINGER", Opt::Linger, Int, CLIENT | UNIX_CLIENT),
    row(Java, "SO_REUSEADDR", Opt::ReuseAddr, Bool, ALL),
    on(row(Java, "SO_REUSEPORT", Opt::ReusePort, Bool, ALL), UNIX),
    ranged(row(Java, "IP_TOS", Opt::IpTos, Int, ALL), 0, 255, Some("Invalid IP_TOS value")),
    row(Java, "SO_BROADCAST", Opt::Broadcast, Bool, DATAGRAM),
    row(Java, "IP_MULTICAST_IF", Opt::MulticastIf, Interface, DATAGRAM),
    ranged(row(Java, "IP_MULTICAST_TTL", Opt::MulticastTtl, Int, DATAGRAM), 0, 255, Some("Invalid TTL/hop value")),
    row(Java, "IP_MULTICAST_LOOP", Opt::MulticastLoop, Bool, DATAGRAM),
    // jdk.net.ExtendedSocketOptions: the JDK passes these values to the kernel unchecked, and
    // has them where its own sockets do
    on(row(Jdk, "TCP_KEEPIDLE", Opt::TcpKeepIdle, Int, STREAM), UNIX),
    on(row(Jdk, "TCP_KEEPINTERVAL", Opt::TcpKeepInterval, Int, STREAM), UNIX),
    on(row(Jdk, "TCP_KEEPCOUNT", Opt::TcpKeepCount, Int, STREAM), UNIX),
    on(row(Jdk, "TCP_QUICKACK", Opt::TcpQuickAck, Bool, STREAM), LINUX),
    on(read_only(row(Jdk, "SO_INCOMING_NAPI_ID", Opt::IncomingNapiId, Int, ALL)), LINUX),
    // java.net.SocketOptions ids with no SocketOption constant
    row(Legacy, "SO_OOBINLINE", Opt::OobInline, Bool, CLIENT),
    // io.rustsocket.RustSocketOptions: checked against the kernel's limits (Linux's)
    ranged(row(Rust, "TCP_KEEPIDLE", Opt::TcpKeepIdle, Int, STREAM), 1, 32767, None),
    ranged(row(Rust, "TCP_KEEPINTERVAL", Opt::TcpKeepInterval, Int, STREAM), 1, 32767, None),
    ranged(row(Rust, "TCP_KEEPCOUNT", Opt::TcpKeepCount, Int, STREAM), 1, 127, None),
    on(ranged(row(Rust, "TCP_USER_TIMEOUT", Opt::TcpUserTimeout, Int, STREAM), 0, INT_MAX, None), LINUX),
    on(row(Rust, "TCP_QUICKACK", Opt::TcpQuickAck, Bool, STREAM), LINUX),
    on(row(Rust, "TCP_CORK", Opt::TcpCork, Bool, CLIENT), LINUX),
    on(ranged(row(Rust, "TCP_NOTSENT_LOWAT", Opt::TcpNotSentLowat, Int, STREAM), 0, INT_MAX, None), UNIX),
    // TCP_MIN_MSS .. MAX_TCP_WINDOW in the kernel (see MIN_MSS for macOS)
    on(ranged(row(Rust, "TCP_MAXSEG", Opt::TcpMaxSeg, Int, STREAM), MIN_MSS, 32767, None), UNIX),
    on(row(Rust, "TCP_CONGESTION", Opt::TcpCongestion, Str, STREAM), LINUX),
    on(ranged(row(Rust, "TCP_FASTOPEN", Opt::TcpFastOpen, Int, LISTENER), 0, INT_MAX, None), UNIX),
    on(row(Rust, "TCP_FASTOPEN_CONNECT", Opt::TcpFastOpenConnect, Bool, CLIENT), LINUX),
    on(ranged(row(Rust, "TCP_DEFER_ACCEPT", Opt::TcpDeferAccept, Int, LISTENER), 0, INT_MAX, None), LINUX),
    ranged(row(Rust, "IP_TTL", Opt::IpTtl, Int, STREAM), 1, 255, None),
    row(Rust, "IPV6_V6ONLY", Opt::Ipv6V6Only, Bool, STREAM),
    on(row(Rust, "IP_FREEBIND", Opt::IpFreeBind, Bool, STREAM), LINUX),
    on(row(Rust, "IP_BIND_ADDRESS_NO_PORT", Opt::IpBindAddressNoPort, Bool, CLIENT), LINUX),
    // a mark is a 32-bit pattern: every int is one
    on(row(Rust, "SO_MARK", Opt::SoMark, Int, STREAM), LINUX),
    on(row(Rust, "SO_BINDTODEVICE", Opt::BindToDevice, Str, STREAM), LINUX),
    on(ranged(row(Rust, "SO_INCOMING_CPU", Opt::SoIncomingCpu, Int, STREAM), -1, INT_MAX, None), LINUX),
    on(ranged(row(Rust, "SO_BUSY_POLL", Opt::SoBusyPoll, Int, STREAM), 0, INT_MAX, None), LINUX),
];

/// The row with id `id`; an option this system lacks is unsupported.
pub fn spec(id: i32) -> NetResult<&'static Spec> {
    let spec = usize::try_from(id)
        .ok()
        .and_then(|i| TABLE.get(i))
        .ok_or_else(|| bad_argument(format!("unknown option id {id}")))?;
    if !spec.available() {
        return Err(unsupported(spec.opt));
    }
    Ok(spec)
}

/// The error for an option this system does not have.
pub(crate) fn unsupported(opt: Opt) -> NetError {
    NetError::new(
        ExceptionClass::UnsupportedOperation,
        format!("{opt:?} is not available on {}", crate::sys::PLATFORM),
    )
}

/// The row of `origin`'s constant `name`.
pub fn find(origin: Origin, name: &str) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.origin == origin && s.name == name)
}

/// The table as Java reads it: one line per option in id order, fields separated by tabs:
/// origin, name, value type, socket bits, min, max, read-only (0/1), probe (0/1), available on
/// this system (0/1), and the message for an invalid value (empty for the default one).
pub fn describe() -> String {
    let mut out = String::new();
    for s in TABLE {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            s.origin.tag(),
            s.name,
            s.value.java_name(),
            s.sockets,
            s.min,
            s.max,
            u8::from(s.read_only),
            u8::from(s.probe),
            u8::from(s.available()),
            s.invalid.unwrap_or("")
        );
    }
    out
}

pub(crate) fn opt_err(e: std::io::Error) -> NetError {
    NetError::from_io(Op::Option, &e)
}

pub(crate) fn clamp_i32(v: u64) -> i32 {
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
pub fn get_by_id(fd: Fd, id: i32) -> NetResult<i32> {
    let s = spec(id)?;
    if s.value == ValueType::Str {
        return Err(bad_argument(format!("{} is a string option", s.name)));
    }
    get(fd, s.opt)
}

/// Checks a value against row `id` and sets it.
pub fn set_by_id(fd: Fd, id: i32, value: i32) -> NetResult<()> {
    let s = spec(id)?;
    if s.value == ValueType::Str {
        return Err(bad_argument(format!("{} is a string option", s.name)));
    }
    check(s, value)?;
    set(fd, s.opt, value)
}

/// Reads string option `id`.
pub fn get_string_by_id(fd: Fd, id: i32) -> NetResult<String> {
    let s = spec(id)?;
    get_string(fd, s.opt)
}

/// Sets string option `id`.
pub fn set_string_by_id(fd: Fd, id: i32, value: &str) -> NetResult<()> {
    let s = spec(id)?;
    if s.read_only {
        return check(s, 0);
    }
    set_string(fd, s.opt, value)
}

fn is_ipv6(s: &SockRef<'_>) -> NetResult<bool> {
    Ok(sys::domain(s).map_err(opt_err)? == Domain::IPV6)
}

/// Whether the IP_TTL of this socket is the system layer's business: an IPv6 socket where
/// IPv4 options do not reach the IPv4 traffic (macOS), so that one hop limit governs both.
fn ttl_by_system(s: &SockRef<'_>) -> NetResult<bool> {
    Ok(!sys::IPV4_OPTIONS_ON_IPV6_SOCKETS && is_ipv6(s)?)
}

/// Whether the socket's traffic is IPv4 (an IPv4 socket, or an IPv6 one bound or connected
/// to an IPv4-mapped address): that traffic takes IP_TTL, the rest IPV6_UNICAST_HOPS.
fn speaks_ipv4(fd: Fd, s: &SockRef<'_>) -> NetResult<bool> {
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

/// A buffer size as the user set it: Linux doubles the size it is given (for bookkeeping) and
/// reports the doubled value; the JDK halves it so that users read back what they set, and so
/// do we. Other systems report what was set.
fn buffer_size(reported: usize) -> i32 {
    let set = if cfg!(target_os = "linux") {
        reported / 2
    } else {
        reported
    };
    clamp_i32(set as u64)
}

/// Reads an option as an int: the options every system has here, through socket2, and the
/// rest through the system layer. Not for the string options.
pub fn get(fd: Fd, opt: Opt) -> NetResult<i32> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let flag = |b: bool| i32::from(b);
    let v6 = sock::ipv6_available();
    Ok(match opt {
        Opt::TcpNoDelay => flag(s.tcp_nodelay().map_err(opt_err)?),
        Opt::KeepAlive => flag(s.keepalive().map_err(opt_err)?),
        Opt::RcvBuf => buffer_size(s.recv_buffer_size().map_err(opt_err)?),
        Opt::SndBuf => buffer_size(s.send_buffer_size().map_err(opt_err)?),
        Opt::Linger => match s.linger().map_err(opt_err)? {
            None => -1,
            Some(d) => clamp_i32(d.as_secs()),
        },
        #[cfg(windows)]
        Opt::ReuseAddr => flag(sys::reuse_address(fd, &s)?),
        #[cfg(unix)]
        Opt::ReuseAddr => flag(s.reuse_address().map_err(opt_err)?),
        Opt::OobInline => flag(s.out_of_band_inline().map_err(opt_err)?),
        Opt::IpTtl if ttl_by_system(&s)? => sys::get_option(fd, &s, opt)?,
        Opt::IpTtl if speaks_ipv4(fd, &s)? => clamp_i32(u64::from(s.ttl_v4().map_err(opt_err)?)),
        Opt::IpTtl => clamp_i32(u64::from(s.unicast_hops_v6().map_err(opt_err)?)),
        Opt::Ipv6V6Only => {
            require_ipv6(&s)?;
            flag(s.only_v6().map_err(opt_err)?)
        }
        Opt::Broadcast => flag(s.broadcast().map_err(opt_err)?),
        Opt::MulticastTtl if v6 => clamp_i32(u64::from(s.multicast_hops_v6().map_err(opt_err)?)),
        Opt::MulticastTtl => clamp_i32(u64::from(s.multicast_ttl_v4().map_err(opt_err)?)),
        Opt::MulticastLoop if v6 => flag(s.multicast_loop_v6().map_err(opt_err)?),
        Opt::MulticastLoop => flag(s.multicast_loop_v4().map_err(opt_err)?),
        Opt::TcpCongestion | Opt::BindToDevice => {
            return Err(bad_argument(format!("{opt:?} is a string option")))
        }
        other => sys::get_option(fd, &s, other)?,
    })
}

/// Sets an option from an int, unchecked: [`set_by_id`] checks the value against its row
/// first. The kernel has the last word on what the table does not cover.
pub fn set(fd: Fd, opt: Opt, value: i32) -> NetResult<()> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let on = value != 0;
    // non-negative where the table says so
    let unsigned = value as u32;
    let v6 = sock::ipv6_available();
    match opt {
        Opt::TcpNoDelay => s.set_tcp_nodelay(on).map_err(opt_err),
        Opt::KeepAlive => s.set_keepalive(on).map_err(opt_err),
        Opt::RcvBuf => s.set_recv_buffer_size(unsigned as usize).map_err(opt_err),
        Opt::SndBuf => s.set_send_buffer_size(unsigned as usize).map_err(opt_err),
        Opt::Linger => {
            // as the JDK: negative turns it off, and more than the most is the most
            let linger = (value >= 0).then(|| Duration::from_secs(value.min(MAX_LINGER) as u64));
            s.set_linger(linger).map_err(opt_err)
        }
        // the JDK on Windows only remembers it where it binds exclusively
        #[cfg(windows)]
        Opt::ReuseAddr => sys::set_reuse_address(fd, &s, on),
        #[cfg(unix)]
        Opt::ReuseAddr => s.set_reuse_address(on).map_err(opt_err),
        Opt::OobInline => s.set_out_of_band_inline(on).map_err(opt_err),
        Opt::IpTtl if ttl_by_system(&s)? => sys::set_option(fd, &s, opt, value),
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
        Opt::Broadcast => s.set_broadcast(on).map_err(opt_err),
        // On a dual-stack socket the IPv6 option is set and the IPv4 one too, best effort,
        // since IPv4 traffic on the socket follows the IPv4 option.
        Opt::MulticastTtl => {
            let r4 = s.set_multicast_ttl_v4(unsigned).map_err(opt_err);
            if v6 {
                s.set_multicast_hops_v6(unsigned).map_err(opt_err)
            } else {
                r4
            }
        }
        Opt::MulticastLoop => {
            let r4 = s.set_multicast_loop_v4(on).map_err(opt_err);
            if v6 {
                s.set_multicast_loop_v6(on).map_err(opt_err)
            } else {
                r4
            }
        }
        Opt::TcpCongestion | Opt::BindToDevice => {
            Err(bad_argument(format!("{opt:?} is a string option")))
        }
        other => sys::set_option(fd, &s, other, value),
    }
}

/// Reads a string option (through the system layer: only Linux has them).
pub fn get_string(fd: Fd, opt: Opt) -> NetResult<String> {
    let bfd = borrow(fd)?;
    sys::get_string_option(&SockRef::from(&bfd), opt)
}

/// Sets a string option. An empty SO_BINDTODEVICE unbinds the socket from its device.
pub fn set_string(fd: Fd, opt: Opt, value: &str) -> NetResult<()> {
    let bfd = borrow(fd)?;
    sys::set_string_option(&SockRef::from(&bfd), opt, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_os = "linux")]
    use crate::emulator;
    use crate::sock::tests::{trio, wine_differs};
    use crate::sock::{close, open_stream};
    #[cfg(target_os = "linux")]
    use crate::sys::errno::{EINVAL, ENOPROTOOPT};

    /// Wine 8 has no TCP_KEEPIDLE, TCP_KEEPINTVL or TCP_KEEPCNT (Windows 10 1709 has).
    const NO_KEEPALIVE_TRIO: &str = "no TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT";

    fn rust(name: &str) -> &'static Spec {
        find(Origin::Rust, name).unwrap()
    }

    fn set_checked(fd: Fd, spec: &Spec, value: i32) -> NetResult<()> {
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
            assert!(a.sockets != 0 && a.sockets <= sockets::EVERY, "{}", a.name);
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
        let mut flags = vec![
            Opt::TcpNoDelay,
            Opt::KeepAlive,
            Opt::ReuseAddr,
            Opt::OobInline,
        ];
        if cfg!(unix) {
            flags.push(Opt::ReusePort);
        }
        for opt in flags {
            set(fd, opt, 1).unwrap();
            assert_eq!(get(fd, opt).unwrap(), 1, "{opt:?}");
            set(fd, opt, 0).unwrap();
            assert_eq!(get(fd, opt).unwrap(), 0, "{opt:?}");
        }
        assert_eq!(get(fd, Opt::Linger).unwrap(), -1);
        set(fd, Opt::Linger, 7).unwrap();
        assert_eq!(get(fd, Opt::Linger).unwrap(), 7);
        set(fd, Opt::Linger, 70_000).unwrap();
        assert_eq!(get(fd, Opt::Linger).unwrap(), MAX_LINGER);
        set(fd, Opt::Linger, -5).unwrap();
        assert_eq!(get(fd, Opt::Linger).unwrap(), -1);
        set(fd, Opt::IpTos, 0x10).unwrap();
        // the JDK on Windows leaves an IPv6 socket's traffic class alone and reports 0
        let tos = if cfg!(windows) && sock::ipv6_available() {
            0
        } else {
            0x10
        };
        assert_eq!(get(fd, Opt::IpTos).unwrap(), tos);
        set(fd, Opt::RcvBuf, 65536).unwrap();
        assert_eq!(get(fd, Opt::RcvBuf).unwrap(), 65536);
        set(fd, Opt::SndBuf, 32768).unwrap();
        assert_eq!(get(fd, Opt::SndBuf).unwrap(), 32768);
        for (opt, v) in [
            (Opt::TcpKeepIdle, 30),
            (Opt::TcpKeepInterval, 5),
            (Opt::TcpKeepCount, 4),
        ] {
            if wine_differs(NO_KEEPALIVE_TRIO) {
                break;
            }
            set(fd, opt, v).unwrap();
            assert_eq!(get(fd, opt).unwrap(), v, "{opt:?}");
        }
        #[cfg(target_os = "linux")]
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
        if !wine_differs(NO_KEEPALIVE_TRIO) {
            let e = set_checked(t.client, jdk_idle, -1).unwrap_err();
            assert_eq!(
                (e.class, e.message.as_str()),
                (ExceptionClass::Socket, "Invalid argument")
            );
        }
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
    #[cfg(target_os = "linux")]
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
            match set_checked(fd, rust(name), v) {
                // qemu-user does not translate IP_BIND_ADDRESS_NO_PORT, SO_MARK, SO_BUSY_POLL
                // and SO_INCOMING_CPU
                Err(e) if emulator::refused(&format!("set {name}"), &e, &[ENOPROTOOPT]) => continue,
                set => set.unwrap(),
            }
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
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn bad_string_values_are_illegal_arguments() {
        let t = trio();
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
        #[cfg(unix)]
        {
            set(l, Opt::TcpMaxSeg, 1000).unwrap();
            assert_eq!(get(l, Opt::TcpMaxSeg).unwrap(), 1000);
        }
        #[cfg(target_os = "linux")]
        {
            set(l, Opt::TcpDeferAccept, 5).unwrap();
            // Rounded up to the kernel's retransmission schedule (1, 3, 7, ... s).
            let applied = get(l, Opt::TcpDeferAccept).unwrap();
            assert!(applied >= 5, "{applied}");
            set(l, Opt::TcpFastOpen, 16).unwrap();
            assert_eq!(get(l, Opt::TcpFastOpen).unwrap(), 16);
        }
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
    #[cfg(target_os = "linux")]
    fn string_options_read_back() {
        let t = trio();
        let fd = t.client;
        set_string(fd, Opt::TcpCongestion, "reno").unwrap();
        assert_eq!(get_string(fd, Opt::TcpCongestion).unwrap(), "reno");
        assert_eq!(get_string(fd, Opt::BindToDevice).unwrap(), "");
        set_string(fd, Opt::BindToDevice, "lo").unwrap();
        match get_string(fd, Opt::BindToDevice) {
            // qemu-user cannot read back a device name (setting one works)
            Err(e) if emulator::refused("get SO_BINDTODEVICE", &e, &[EINVAL]) => {}
            bound => assert_eq!(bound.unwrap(), "lo"),
        }
        set_string(fd, Opt::BindToDevice, "").unwrap();
        assert_eq!(get_string(fd, Opt::BindToDevice).unwrap(), "");
        assert!(get(fd, Opt::TcpCongestion).is_err());
        assert!(get_string(fd, Opt::TcpNoDelay).is_err());
    }
}
