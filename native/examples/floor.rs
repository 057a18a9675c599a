//! The native floor for the benchmark suite: the same scenarios as the JMH
//! benchmarks (ping-pong, one-way bulk both ways, connection rate), with plain blocking
//! std sockets and no JVM, so every JVM figure can be read as a fraction of
//! what the kernel allows on this machine.
//!
//! `cargo run --release --example floor -- [seconds per scenario]` prints one
//! JSON object per line: `{"scenario": ..., "param": ..., "value": ..., "unit": ...}`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

fn listener() -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback")
}

/// Median of several timed batches of round trips, in nanoseconds per round trip.
fn ping_pong(size: usize, run_for: Duration) -> f64 {
    let l = listener();
    let addr = l.local_addr().unwrap();
    let echo = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = vec![0u8; size];
        while s.read_exact(&mut buf).is_ok() {
            if s.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    let mut buf = vec![7u8; size];
    let mut round_trip = |n: usize| {
        for _ in 0..n {
            c.write_all(&buf).unwrap();
            c.read_exact(&mut buf).unwrap();
        }
    };
    round_trip(10_000); // warm-up
    let mut batches = Vec::new();
    let end = Instant::now() + run_for;
    while Instant::now() < end {
        let t = Instant::now();
        round_trip(2_000);
        batches.push(t.elapsed().as_nanos() as f64 / 2_000.0);
    }
    drop(c);
    echo.join().unwrap();
    median(&mut batches)
}

/// One-way transfer with writes of `size` bytes, in MB/s (10^6 bytes per second).
fn bulk(size: usize, run_for: Duration) -> f64 {
    let l = listener();
    let addr = l.local_addr().unwrap();
    let sink = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n as u64,
            }
        }
        total
    });
    let mut c = TcpStream::connect(addr).unwrap();
    let buf = vec![1u8; size];
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < run_for {
        for _ in 0..64 {
            c.write_all(&buf).unwrap();
        }
        sent += 64 * size as u64;
    }
    c.shutdown(Shutdown::Write).unwrap();
    let received = sink.join().unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(received, sent);
    sent as f64 / secs / 1e6
}

/// One-way transfer the other way round: the peer writes `size`-byte chunks without pause and
/// this thread reads `size` bytes at a time (as many calls as it takes), in MB/s.
fn bulk_read(size: usize, run_for: Duration) -> f64 {
    let l = listener();
    let addr = l.local_addr().unwrap();
    let source = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let chunk = vec![1u8; size];
        while s.write_all(&chunk).is_ok() {}
    });
    let mut c = TcpStream::connect(addr).unwrap();
    let mut buf = vec![0u8; size];
    let start = Instant::now();
    let mut got = 0u64;
    while start.elapsed() < run_for {
        for _ in 0..16 {
            c.read_exact(&mut buf).unwrap();
        }
        got += 16 * size as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(c);
    source.join().unwrap();
    got as f64 / secs / 1e6
}

/// connect + accept + close of both ends, in nanoseconds per connection. One
/// thread does all of it, so the figure does not depend on how the scheduler
/// interleaves an acceptor thread with the connecting one. The accepted end
/// closes first, as in the JMH benchmark, so TIME_WAIT does not fill the
/// ephemeral port range.
fn connect_rate(run_for: Duration) -> f64 {
    let l = listener();
    let addr = l.local_addr().unwrap();
    let once = || {
        let c = TcpStream::connect(addr).unwrap();
        let (s, _) = l.accept().unwrap();
        drop(s);
        drop(c);
    };
    for _ in 0..1_000 {
        once(); // warm-up
    }
    let mut batches = Vec::new();
    let end = Instant::now() + run_for;
    while Instant::now() < end {
        let t = Instant::now();
        for _ in 0..500 {
            once();
        }
        batches.push(t.elapsed().as_nanos() as f64 / 500.0);
    }
    median(&mut batches)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("seconds per scenario"))
        .unwrap_or(3.0);
    let run_for = Duration::from_secs_f64(secs);
    for size in [64usize, 4096] {
        let v = ping_pong(size, run_for);
        println!(
            r#"{{"scenario": "pingPong", "param": {size}, "value": {v:.1}, "unit": "ns/op"}}"#
        );
    }
    for size in [1024usize, 8192, 65536, 1 << 20] {
        let v = bulk(size, run_for);
        println!(r#"{{"scenario": "bulk", "param": {size}, "value": {v:.1}, "unit": "MB/s"}}"#);
    }
    for size in [65536usize, 1 << 20] {
        let v = bulk_read(size, run_for);
        println!(r#"{{"scenario": "bulkRead", "param": {size}, "value": {v:.1}, "unit": "MB/s"}}"#);
    }
    let v = connect_rate(run_for);
    println!(
        r#"{{"scenario": "connectAcceptClose", "param": 0, "value": {v:.1}, "unit": "ns/op"}}"#
    );
}
