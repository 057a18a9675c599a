//! The native floor of the datagram benchmark (`DatagramBench`): 64 B datagrams
//! sent and received on loopback in bursts of 32, by the same thread, with no
//! JVM: one `sendto`/`recvfrom` per datagram, then one `sendmmsg`/`recvmmsg`
//! per burst, through the crate's own datagram core. It shows how much of a
//! datagram's cost is the kernel's, which no API on top can remove.
//!
//! `cargo run --release --example udp_floor -- [seconds per scenario]` prints one
//! JSON object per line: `{"scenario": ..., "value": ..., "unit": "datagrams/s"}`.

use rustsocket::addr::WIRE_LEN;
use rustsocket::sock;
use rustsocket::udp::{self, BatchScratch};
use socket2::SockAddr;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const BURST: usize = 32;
const SIZE: usize = 64;

fn socket() -> (i32, u16) {
    let fd = udp::open_datagram().expect("socket");
    sock::bind(fd, IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 0).expect("bind");
    rustsocket::options::set(fd, rustsocket::options::Opt::RcvBuf, 1 << 20).expect("SO_RCVBUF");
    (fd, sock::local_addr(fd).expect("local address").port())
}

/// Datagrams per second over `run_for`, running `burst` (which moves BURST datagrams) in a loop.
fn rate(run_for: Duration, mut burst: impl FnMut()) -> f64 {
    for _ in 0..10_000 {
        burst();
    }
    let start = Instant::now();
    let mut bursts = 0u64;
    while start.elapsed() < run_for {
        for _ in 0..100 {
            burst();
        }
        bursts += 100;
    }
    (bursts * BURST as u64) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let run_for = Duration::from_secs_f64(seconds);
    let (tx, _) = socket();
    let (rx, port) = socket();
    let to: SockAddr = rustsocket::addr::to_kernel(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
        0,
        sock::ipv6_available(),
    )
    .expect("address");

    let payload = [7u8; SIZE];
    let mut inbox = [0u8; SIZE];
    let one_by_one = rate(run_for, || {
        for _ in 0..BURST {
            udp::send(tx, &payload, Some(&to)).expect("sendto");
        }
        for _ in 0..BURST {
            udp::receive(rx, &mut inbox, false, false).expect("recvfrom");
        }
    });
    println!(r#"{{"scenario": "oneByOne", "value": {one_by_one:.0}, "unit": "datagrams/s"}}"#);

    let mut scratch = BatchScratch::new();
    let data = vec![7u8; SIZE * BURST];
    let lens = [SIZE; BURST];
    let targets: Vec<Option<SockAddr>> = (0..BURST).map(|_| Some(to.clone())).collect();
    let mut in_data = vec![0u8; SIZE * BURST];
    let mut got = [0i32; BURST];
    let mut truncated = [false; BURST];
    let mut senders = [[0u8; WIRE_LEN]; BURST];
    let batched = rate(run_for, || {
        let mut sent = 0;
        while sent < BURST {
            let n = udp::send_batch(
                tx,
                &mut scratch,
                &data[sent * SIZE..],
                &lens[sent..],
                &targets[sent..],
            )
            .expect("sendmmsg");
            sent += n as usize;
        }
        let mut received = 0;
        while received < BURST {
            let n = udp::receive_batch(
                rx,
                &mut scratch,
                &mut in_data,
                SIZE,
                &mut got,
                &mut truncated,
                &mut senders,
                false,
                true,
            )
            .expect("recvmmsg");
            received += n as usize;
        }
    });
    println!(r#"{{"scenario": "batched", "value": {batched:.0}, "unit": "datagrams/s"}}"#);
    sock::close(tx);
    sock::close(rx);
}
