//! `TCP_INFO`: the kernel's view of a TCP connection, read field by field for
//! `io.rustsocket.TcpInfo`.

use crate::error::{NetError, NetResult, Op};
use crate::sock::borrow;
use std::os::fd::RawFd;

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
    use crate::sock::{self};
    use std::time::Duration;

    /// TCP_ESTABLISHED in the kernel's numbering.
    const ESTABLISHED: u8 = 1;

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
}
