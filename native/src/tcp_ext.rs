//! The Linux TCP/IP options that `java.net` does not expose (ids 15..99 of
//! [`IntOption`], and the [`StringOption`]s), and the `TCP_INFO` snapshot.
//!
//! Values are in the kernel's units. Values the kernel would refuse with EINVAL
//! are refused here first as `IllegalArgumentException`, so that a bad value and
//! a socket in the wrong state stay distinguishable for the caller; everything
//! else (missing privilege, unknown algorithm or device, option unknown to this
//! kernel) is the kernel's answer, classified in `error.rs`.

use crate::error::{ExceptionClass, NetError, NetResult, Op};
use crate::sock::{borrow, get_raw, set_raw, IntOption, StringOption};
use socket2::{Domain, SockRef};
use std::ops::RangeInclusive;
use std::os::fd::RawFd;
use std::time::Duration;

/// Longest interface name the kernel accepts (IFNAMSIZ less the terminating NUL).
const MAX_DEVICE_NAME: usize = 15;
/// Longest congestion control name the kernel accepts (TCP_CA_NAME_MAX less the NUL).
const MAX_CONGESTION_NAME: usize = 15;

fn opt_err(e: std::io::Error) -> NetError {
    NetError::from_io(Op::Option, &e)
}

fn bad_value(what: &str, value: impl std::fmt::Display) -> NetError {
    NetError::new(
        ExceptionClass::IllegalArgument,
        format!("Invalid value for {what}: {value}"),
    )
}

fn clamp_i32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// The values the kernel accepts for an integer option (booleans are 0 or 1).
pub fn valid_values(opt: IntOption) -> RangeInclusive<i64> {
    match opt {
        IntOption::TcpCork
        | IntOption::TcpFastOpenConnect
        | IntOption::Ipv6V6Only
        | IntOption::IpFreeBind
        | IntOption::IpBindAddressNoPort => 0..=1,
        // TCP_MIN_MSS .. MAX_TCP_WINDOW in the kernel.
        IntOption::TcpMaxSeg => 88..=32767,
        IntOption::IpTtl => 1..=255,
        // -1 clears the steering, as it does in the kernel.
        IntOption::SoIncomingCpu => -1..=i64::from(i32::MAX),
        // A mark is a 32-bit pattern: every int is one.
        IntOption::SoMark => i64::from(i32::MIN)..=i64::from(i32::MAX),
        _ => 0..=i64::from(i32::MAX),
    }
}

fn is_ipv6(s: &SockRef<'_>) -> NetResult<bool> {
    Ok(s.domain().map_err(opt_err)? == Domain::IPV6)
}

/// Whether the socket's traffic is IPv4 (an IPv4 socket, or an IPv6 one bound
/// or connected to an IPv4-mapped address): that traffic takes IP_TTL, the rest
/// IPV6_UNICAST_HOPS.
fn speaks_ipv4(fd: RawFd, s: &SockRef<'_>) -> NetResult<bool> {
    Ok(!is_ipv6(s)? || crate::sock::local_addr(fd)?.is_ipv4())
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

/// Reads one of the options of this module as an int (flags as 0 or 1).
pub fn get_option(fd: RawFd, opt: IntOption) -> NetResult<i32> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let flag = |b: bool| i32::from(b);
    Ok(match opt {
        IntOption::TcpUserTimeout => match s.tcp_user_timeout().map_err(opt_err)? {
            None => 0,
            Some(d) => clamp_i32(d.as_millis() as u64),
        },
        IntOption::TcpCork => flag(s.tcp_cork().map_err(opt_err)?),
        IntOption::TcpNotSentLowat => clamp_i32(u64::from(s.tcp_notsent_lowat().map_err(opt_err)?)),
        IntOption::TcpMaxSeg => clamp_i32(u64::from(s.tcp_mss().map_err(opt_err)?)),
        IntOption::TcpFastOpen => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN)?,
        IntOption::TcpFastOpenConnect => {
            flag(get_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN_CONNECT)? != 0)
        }
        IntOption::TcpDeferAccept => get_raw(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT)?,
        IntOption::IpTtl => {
            if speaks_ipv4(fd, &s)? {
                clamp_i32(u64::from(s.ttl_v4().map_err(opt_err)?))
            } else {
                clamp_i32(u64::from(s.unicast_hops_v6().map_err(opt_err)?))
            }
        }
        IntOption::Ipv6V6Only => {
            require_ipv6(&s)?;
            flag(s.only_v6().map_err(opt_err)?)
        }
        IntOption::IpFreeBind => flag(s.freebind_v4().map_err(opt_err)?),
        IntOption::IpBindAddressNoPort => {
            flag(get_raw(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT)? != 0)
        }
        IntOption::SoMark => s.mark().map_err(opt_err)? as i32,
        // socket2's getter is unsigned, but -1 ("no CPU yet") is a real answer.
        IntOption::SoIncomingCpu => get_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_CPU)?,
        IntOption::SoBusyPoll => clamp_i32(u64::from(s.busy_poll().map_err(opt_err)?)),
        other => return Err(bad_value("option", format!("{other:?}"))),
    })
}

/// Sets one of the options of this module from an int (flags as 0 or 1).
pub fn set_option(fd: RawFd, opt: IntOption, value: i32) -> NetResult<()> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    if !valid_values(opt).contains(&i64::from(value)) {
        return Err(bad_value(&format!("{opt:?}"), value));
    }
    let on = value != 0;
    let unsigned = value as u32; // checked non-negative above, except SO_MARK's bit pattern
    match opt {
        IntOption::TcpUserTimeout => {
            let timeout = (value > 0).then(|| Duration::from_millis(u64::from(unsigned)));
            s.set_tcp_user_timeout(timeout).map_err(opt_err)
        }
        IntOption::TcpCork => s.set_tcp_cork(on).map_err(opt_err),
        IntOption::TcpNotSentLowat => s.set_tcp_notsent_lowat(unsigned).map_err(opt_err),
        IntOption::TcpMaxSeg => s.set_tcp_mss(unsigned).map_err(opt_err),
        IntOption::TcpFastOpen => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN, value),
        IntOption::TcpFastOpenConnect => {
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
        IntOption::TcpDeferAccept => set_raw(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, value),
        IntOption::IpTtl => {
            // A dual-stack socket may end up speaking either family: set both.
            s.set_ttl_v4(unsigned).map_err(opt_err)?;
            if is_ipv6(&s)? {
                s.set_unicast_hops_v6(unsigned).map_err(opt_err)?;
            }
            Ok(())
        }
        IntOption::Ipv6V6Only => {
            require_ipv6(&s)?;
            // The kernel refuses with a bare EINVAL once the socket has a port.
            if crate::sock::local_addr(fd)?.port() != 0 {
                return Err(NetError::new(
                    ExceptionClass::Socket,
                    "IPV6_V6ONLY can only be changed before the socket is bound",
                ));
            }
            s.set_only_v6(on).map_err(opt_err)
        }
        IntOption::IpFreeBind => s.set_freebind_v4(on).map_err(opt_err),
        IntOption::IpBindAddressNoPort => {
            set_raw(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, value)
        }
        IntOption::SoMark => s.set_mark(unsigned).map_err(opt_err),
        IntOption::SoIncomingCpu => set_raw(fd, libc::SOL_SOCKET, libc::SO_INCOMING_CPU, value),
        IntOption::SoBusyPoll => s.set_busy_poll(unsigned).map_err(opt_err),
        other => Err(bad_value("option", format!("{other:?}"))),
    }
}

/// Reads a string option; SO_BINDTODEVICE is empty when the socket is not bound to a device.
pub fn get_string_option(fd: RawFd, opt: StringOption) -> NetResult<String> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let bytes = match opt {
        StringOption::TcpCongestion => s.tcp_congestion().map_err(opt_err)?,
        StringOption::BindToDevice => s.device().map_err(opt_err)?.unwrap_or_default(),
    };
    // The kernel pads names with NULs.
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// Sets a string option. An empty SO_BINDTODEVICE unbinds the socket from its device.
pub fn set_string_option(fd: RawFd, opt: StringOption, value: &str) -> NetResult<()> {
    let bfd = borrow(fd)?;
    let s = SockRef::from(&bfd);
    let (what, max) = match opt {
        StringOption::TcpCongestion => ("TCP_CONGESTION", MAX_CONGESTION_NAME),
        StringOption::BindToDevice => ("SO_BINDTODEVICE", MAX_DEVICE_NAME),
    };
    let printable = value.bytes().all(|b| b.is_ascii_graphic());
    if value.len() > max || !printable || (value.is_empty() && opt == StringOption::TcpCongestion) {
        return Err(bad_value(what, format!("\"{}\"", value.escape_default())));
    }
    match opt {
        StringOption::TcpCongestion => s.set_tcp_congestion(value.as_bytes()).map_err(opt_err),
        StringOption::BindToDevice => {
            let device = (!value.is_empty()).then_some(value.as_bytes());
            s.bind_device(device).map_err(opt_err)
        }
    }
}

/// `struct tcp_info` of `linux/tcp.h` as of Linux 6.7 (248 bytes). An older
/// kernel fills a prefix and leaves the rest zero; a newer one fills more than
/// we ask for and the rest is not copied.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelTcpInfo {
    pub state: u8,
    pub ca_state: u8,
    pub retransmits: u8,
    pub probes: u8,
    pub backoff: u8,
    pub options: u8,
    /// snd_wscale in the low 4 bits, rcv_wscale in the high 4.
    pub wscale: u8,
    /// delivery_rate_app_limited in bit 0, fastopen_client_fail in bits 1-2.
    pub app_limited_and_tfo_fail: u8,
    pub rto: u32,
    pub ato: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub fackets: u32,
    pub last_data_sent: u32,
    pub last_ack_sent: u32,
    pub last_data_recv: u32,
    pub last_ack_recv: u32,
    pub pmtu: u32,
    pub rcv_ssthresh: u32,
    pub rtt: u32,
    pub rttvar: u32,
    pub snd_ssthresh: u32,
    pub snd_cwnd: u32,
    pub advmss: u32,
    pub reordering: u32,
    pub rcv_rtt: u32,
    pub rcv_space: u32,
    pub total_retrans: u32,
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub notsent_bytes: u32,
    pub min_rtt: u32,
    pub data_segs_in: u32,
    pub data_segs_out: u32,
    pub delivery_rate: u64,
    pub busy_time: u64,
    pub rwnd_limited: u64,
    pub sndbuf_limited: u64,
    pub delivered: u32,
    pub delivered_ce: u32,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub dsack_dups: u32,
    pub reord_seen: u32,
    pub rcv_ooopack: u32,
    pub snd_wnd: u32,
    pub rcv_wnd: u32,
    pub rehash: u32,
    pub total_rto: u16,
    pub total_rto_recoveries: u16,
    pub total_rto_time: u32,
}

/// How many values [`KernelTcpInfo::to_java`] produces; `io.rustsocket.TcpInfo` reads them in order.
pub const TCP_INFO_FIELDS: usize = 60;

impl KernelTcpInfo {
    /// The values in the order of `io.rustsocket.TcpInfo`'s canonical constructor
    /// (after its state), unsigned kernel values widened to i64. The last one is
    /// how many bytes of the structure the kernel filled.
    pub fn to_java(&self, filled: usize) -> [i64; TCP_INFO_FIELDS] {
        let u = |v: u32| i64::from(v);
        let w = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        [
            i64::from(self.state),
            i64::from(self.ca_state),
            i64::from(self.retransmits),
            i64::from(self.probes),
            i64::from(self.backoff),
            i64::from(self.options),
            i64::from(self.wscale & 0x0f),
            i64::from(self.wscale >> 4),
            i64::from(self.app_limited_and_tfo_fail & 1),
            i64::from((self.app_limited_and_tfo_fail >> 1) & 3),
            u(self.rto),
            u(self.ato),
            u(self.snd_mss),
            u(self.rcv_mss),
            u(self.unacked),
            u(self.sacked),
            u(self.lost),
            u(self.retrans),
            u(self.last_data_sent),
            u(self.last_data_recv),
            u(self.last_ack_recv),
            u(self.pmtu),
            u(self.rcv_ssthresh),
            u(self.rtt),
            u(self.rttvar),
            u(self.snd_ssthresh),
            u(self.snd_cwnd),
            u(self.advmss),
            u(self.reordering),
            u(self.rcv_rtt),
            u(self.rcv_space),
            u(self.total_retrans),
            w(self.pacing_rate),
            w(self.max_pacing_rate),
            w(self.bytes_acked),
            w(self.bytes_received),
            u(self.segs_out),
            u(self.segs_in),
            u(self.notsent_bytes),
            u(self.min_rtt),
            u(self.data_segs_in),
            u(self.data_segs_out),
            w(self.delivery_rate),
            w(self.busy_time),
            w(self.rwnd_limited),
            w(self.sndbuf_limited),
            u(self.delivered),
            u(self.delivered_ce),
            w(self.bytes_sent),
            w(self.bytes_retrans),
            u(self.dsack_dups),
            u(self.reord_seen),
            u(self.rcv_ooopack),
            u(self.snd_wnd),
            u(self.rcv_wnd),
            u(self.rehash),
            i64::from(self.total_rto),
            i64::from(self.total_rto_recoveries),
            u(self.total_rto_time),
            filled as i64,
        ]
    }
}

/// getsockopt(TCP_INFO): the kernel's view of the connection now. Returns the
/// snapshot and how many of its bytes the kernel filled.
pub fn tcp_info(fd: RawFd) -> NetResult<(KernelTcpInfo, usize)> {
    borrow(fd)?;
    let mut info = KernelTcpInfo::default();
    let mut len = std::mem::size_of::<KernelTcpInfo>() as libc::socklen_t;
    // SAFETY: `info` is plain old data of `len` bytes; the kernel writes at most `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut KernelTcpInfo).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(NetError::last_os_error(Op::Option));
    }
    Ok((info, len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::tests::trio;
    use crate::sock::{self, open_stream};

    /// TCP_ESTABLISHED in the kernel's numbering.
    const ESTABLISHED: u8 = 1;

    #[test]
    fn java_ids_map_to_the_variants_that_carry_them() {
        for id in 15..=28 {
            assert_eq!(IntOption::from_java(id).unwrap() as i32, id);
        }
        for id in [50, 51] {
            assert_eq!(StringOption::from_java(id).unwrap() as i32, id);
        }
        assert!(IntOption::from_java(29).is_err());
        assert!(StringOption::from_java(15).is_err());
    }

    #[test]
    fn the_structure_has_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<KernelTcpInfo>(), 248);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, rto), 8);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, total_retrans), 100);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, pacing_rate), 104);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, delivery_rate), 160);
        assert_eq!(std::mem::offset_of!(KernelTcpInfo, total_rto_time), 244);
    }

    #[test]
    fn tcp_info_of_a_loopback_connection() {
        let t = trio();
        let mut sent = 0;
        while sent < 10_000 {
            sent += sock::write(t.client, &[1u8; 10_000][sent..]).unwrap() as usize;
        }
        let mut got = 0;
        let mut buf = [0u8; 10_000];
        while got < 10_000 {
            got += sock::read(t.server, &mut buf).unwrap() as usize;
        }
        let (info, filled) = tcp_info(t.client).unwrap();
        assert!(filled >= std::mem::offset_of!(KernelTcpInfo, pacing_rate));
        assert_eq!(info.state, ESTABLISHED);
        assert!(info.rtt > 0, "{info:?}");
        assert!(info.snd_cwnd > 0);
        // The data was read, so it was acked (the ACK may trail the read briefly).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut acked = info.bytes_acked;
        while acked < 10_000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            acked = tcp_info(t.client).unwrap().0.bytes_acked;
        }
        assert!(acked >= 10_000, "bytes acked {acked}");
        assert_eq!(tcp_info(t.server).unwrap().0.bytes_received, 10_000);
        let java = info.to_java(filled);
        assert_eq!(java[0], i64::from(ESTABLISHED));
        assert_eq!(java[TCP_INFO_FIELDS - 1], filled as i64);
    }

    #[test]
    fn int_options_read_back_what_the_kernel_applied() {
        let t = trio();
        let fd = t.client;
        for (opt, v) in [
            (IntOption::TcpUserTimeout, 1500),
            (IntOption::TcpUserTimeout, 0),
            (IntOption::TcpCork, 1),
            (IntOption::TcpCork, 0),
            (IntOption::TcpNotSentLowat, 16384),
            (IntOption::IpTtl, 7),
            (IntOption::IpFreeBind, 1),
            (IntOption::IpBindAddressNoPort, 1),
            (IntOption::SoMark, 42),
            (IntOption::SoBusyPoll, 50),
            (IntOption::SoIncomingCpu, 1),
        ] {
            // SAFETY: plain system call. SO_MARK needs CAP_NET_ADMIN or CAP_NET_RAW.
            if opt == IntOption::SoMark && unsafe { libc::geteuid() } != 0 {
                continue;
            }
            set_option(fd, opt, v).unwrap();
            assert_eq!(get_option(fd, opt).unwrap(), v, "{opt:?}");
        }
        // Connected over IPv4 on a dual-stack socket: both hop limits were set.
        let bfd = borrow(fd).unwrap();
        let s = SockRef::from(&bfd);
        if is_ipv6(&s).unwrap() {
            assert_eq!(s.unicast_hops_v6().unwrap(), 7);
        }
        let e = set_option(fd, IntOption::TcpFastOpenConnect, 1).unwrap_err();
        assert_eq!(e.class, ExceptionClass::Socket, "{e}");
        let fresh = open_stream(false).unwrap();
        set_option(fresh, IntOption::TcpFastOpenConnect, 1).unwrap();
        assert_eq!(get_option(fresh, IntOption::TcpFastOpenConnect).unwrap(), 1);
        sock::close(fresh);
    }

    #[test]
    fn bad_values_are_illegal_arguments() {
        let t = trio();
        for (opt, v) in [
            (IntOption::TcpUserTimeout, -1),
            (IntOption::TcpMaxSeg, 87),
            (IntOption::TcpMaxSeg, 32768),
            (IntOption::IpTtl, 0),
            (IntOption::IpTtl, 256),
            (IntOption::TcpCork, 2),
            (IntOption::SoIncomingCpu, -2),
        ] {
            let e = set_option(t.client, opt, v).unwrap_err();
            assert_eq!(e.class, ExceptionClass::IllegalArgument, "{opt:?} {v}");
        }
        for (opt, v) in [
            (StringOption::TcpCongestion, "no-such-algorithm"),
            (StringOption::TcpCongestion, ""),
            (StringOption::BindToDevice, "nosuchdev0"),
            (StringOption::BindToDevice, "a name that is far too long"),
            (StringOption::BindToDevice, "lo\0"),
        ] {
            let e = set_string_option(t.client, opt, v).unwrap_err();
            assert_eq!(e.class, ExceptionClass::IllegalArgument, "{opt:?} {v:?}");
        }
    }

    #[test]
    fn listener_options_read_back() {
        let l = open_stream(true).unwrap();
        set_option(l, IntOption::TcpMaxSeg, 1000).unwrap();
        assert_eq!(get_option(l, IntOption::TcpMaxSeg).unwrap(), 1000);
        set_option(l, IntOption::TcpDeferAccept, 5).unwrap();
        // Rounded up to the kernel's retransmission schedule (1, 3, 7, ... s).
        let applied = get_option(l, IntOption::TcpDeferAccept).unwrap();
        assert!(applied >= 5, "{applied}");
        set_option(l, IntOption::TcpFastOpen, 16).unwrap();
        assert_eq!(get_option(l, IntOption::TcpFastOpen).unwrap(), 16);
        if sock::ipv6_available() {
            set_option(l, IntOption::Ipv6V6Only, 1).unwrap();
            assert_eq!(get_option(l, IntOption::Ipv6V6Only).unwrap(), 1);
            set_option(l, IntOption::Ipv6V6Only, 0).unwrap();
            sock::bind(l, "127.0.0.1".parse().unwrap(), 0, 0).unwrap();
            let e = set_option(l, IntOption::Ipv6V6Only, 1).unwrap_err();
            assert_eq!(e.class, ExceptionClass::Socket);
        }
        sock::close(l);
    }

    #[test]
    fn string_options_read_back() {
        let t = trio();
        set_string_option(t.client, StringOption::TcpCongestion, "reno").unwrap();
        assert_eq!(
            get_string_option(t.client, StringOption::TcpCongestion).unwrap(),
            "reno"
        );
        assert_eq!(
            get_string_option(t.client, StringOption::BindToDevice).unwrap(),
            ""
        );
        set_string_option(t.client, StringOption::BindToDevice, "lo").unwrap();
        assert_eq!(
            get_string_option(t.client, StringOption::BindToDevice).unwrap(),
            "lo"
        );
        set_string_option(t.client, StringOption::BindToDevice, "").unwrap();
        assert_eq!(
            get_string_option(t.client, StringOption::BindToDevice).unwrap(),
            ""
        );
    }
}
