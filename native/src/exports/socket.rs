//! The socket exports of `io.rustsocket.internal.Native`: set-up, the stream calls,
//! options, `TCP_INFO`, sendfile and the JDK lookups the agent needs.

use super::{
    byte_len, hot, in_bounds, ip_arg, object_arg, port_arg, require, run, scope_arg, with_staging,
    write_address, Outcome, PinMode, RawEnv,
};
use crate::addr;
use crate::error::NetResult;
use crate::sendfile;
use crate::sock::{self, Shutdown};
use crate::{options, tcp_info};
use jni::objects::{JByteArray, JClass, JLongArray, JObject, JString};
use jni::sys::{jboolean, jbyteArray, jint, jlong};
use jni::{jni_mangle, jni_sig, jni_str, Env, EnvUnowned};

/// Version of the contract between this library and the Java classes; the
/// loader refuses a library whose version differs from its own.
pub const ABI_VERSION: jint = 9;

/// Largest chunk one read or write call moves; the JDK uses the same bound. Never smaller than
/// Java's `SocketStreams.MAX_BUFFER_SIZE`: a read shorter than Java asked is taken there as
/// proof that the socket was empty.
pub(crate) const MAX_CHUNK: usize = 128 * 1024;

/// Starts native logging (off unless `RUST_LOG` enables it), makes every socket IPv4 when
/// `prefer_ipv4_stack` (the JVM's `java.net.preferIPv4Stack`), and returns [`ABI_VERSION`].
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn init<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    prefer_ipv4_stack: jboolean,
) -> jint {
    run(&mut env, |_| {
        let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
            .try_init();
        sock::prefer_ipv4_stack(prefer_ipv4_stack);
        log::debug!("rustsocket native library initialised, ABI {ABI_VERSION}");
        Ok(ABI_VERSION)
    })
}

/// What this system offers, as bits: 1 when a shutdown wakes every call blocked on the socket
/// (platform threads may then block in the kernel), 2 when `sendFile` is zero-copy, 4 when
/// `tcpInfo` has a snapshot, 8 when datagram batches are single system calls, 16 when the
/// virtual-thread pollers keep descriptors registered edge-triggered (`pollerWatch`).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn capabilities<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    run(&mut env, |_| Ok(crate::sys::CAPABILITIES))
}

/// The system's name, as messages name it.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn platform<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> JString<'local> {
    run(&mut env, |env| {
        Ok(JString::from_str(env, crate::sys::PLATFORM)?)
    })
}

/// Whether sockets are dual-stack IPv6.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn ipv6_available<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jboolean {
    run(&mut env, |_| Ok(sock::ipv6_available()))
}

/// Opens a TCP socket and returns its descriptor.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn socket<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    server: jboolean,
) -> jint {
    run(&mut env, |_| Ok(sock::open_stream(server)?))
}

/// Switches blocking mode.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn configure_blocking<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    blocking: jboolean,
) {
    run(&mut env, |_| Ok(sock::set_blocking(fd, blocking)?))
}

/// SO_RCVTIMEO, in milliseconds (0: none), for reads that wait in the kernel.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn set_read_timeout<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    millis: jint,
) {
    run(&mut env, |_| Ok(sock::set_read_timeout(fd, millis)?))
}

/// bind(2).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn bind<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    ip: JByteArray<'local>,
    scope_id: jint,
    port: jint,
) {
    run(&mut env, |env| {
        let ip = ip_arg(env, &ip)?;
        Ok(sock::bind(fd, ip, scope_arg(scope_id)?, port_arg(port)?)?)
    })
}

/// listen(2).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn listen<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    backlog: jint,
) {
    run(&mut env, |_| Ok(sock::listen(fd, backlog)?))
}

/// connect(2): 1 when connected, 0 when in progress.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn connect<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    ip: JByteArray<'local>,
    scope_id: jint,
    port: jint,
) -> jint {
    run(&mut env, |env| {
        let ip = ip_arg(env, &ip)?;
        let (scope, port) = (scope_arg(scope_id)?, port_arg(port)?);
        Ok(jint::from(sock::connect(fd, ip, scope, port)?))
    })
}

/// The outcome of a connect that poll reported ready; throws the connect's error, worded as
/// the JDK words it for a blocking connect when `blocking_call` is true (see
/// [`sock::connect_result`]).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn connect_result<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    blocking_call: jboolean,
) {
    run(&mut env, |_| Ok(sock::connect_result(fd, blocking_call)?))
}

/// accept4(2): the new descriptor with the peer written to `peer` (an IP peer in the wire
/// layout; for a Unix socket byte 0 is [`addr::UNIX`] and the rest is left alone), or
/// `UNAVAILABLE` (-2) when a non-blocking listener has nothing waiting.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn accept<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    peer: JByteArray<'local>,
) -> jint {
    run(&mut env, |env| {
        // checked before the call: a connection taken from the queue must not be lost
        let len = byte_len(env, &peer, "peer")?;
        in_bounds(0, addr::WIRE_LEN as i64, len)?;
        match sock::accept(fd)? {
            None => Ok(sock::UNAVAILABLE),
            Some((new_fd, from)) => {
                let written = match from {
                    Some(a) => write_address(env, &peer, &a),
                    None => peer
                        .set_region(env, 0, &[addr::UNIX as i8])
                        .map_err(Into::into),
                };
                if let Err(e) = written {
                    sock::close(new_fd);
                    return Err(e);
                }
                Ok(new_fd)
            }
        }
    })
}

/// recv(2) into `b[off..off+len]` (at most one chunk): bytes read, -1 at EOF, -2 when unavailable.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn read<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, len) = raw.range(b, off, len, "buffer")?;
        staged_read(raw, fd, b, off, len.min(MAX_CHUNK), sock::read)
    })
}

/// Added to the result of [`read_noticing_empty`] when the read left the socket empty.
pub const EMPTIED: jint = 1 << 30;

/// [`read`] that never waits and reports, by adding [`EMPTIED`] to the byte count, a read
/// that left the receive queue empty (only on a socket set up by [`notice_empty_reads`]).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn read_noticing_empty<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, len) = raw.range(b, off, len, "buffer")?;
        let mut emptied = false;
        let n = staged_read(raw, fd, b, off, len.min(MAX_CHUNK), |fd, buf| {
            let (n, left_nothing) = sock::read_noticing_empty(fd, buf)?;
            emptied = left_nothing;
            Ok(n)
        })?;
        Ok(if emptied && n > 0 { n | EMPTIED } else { n })
    })
}

/// Makes the reads of TCP socket `fd` able to tell when they empty it (see
/// [`read_noticing_empty`]); false where the system cannot.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn notice_empty_reads<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
) -> jboolean {
    run(&mut env, |_| Ok(sock::notice_empty_reads(fd)?))
}

/// send(2) from `b[off..off+len]`: bytes written (at most one chunk), or -2 when unavailable.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn write<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, len) = raw.range(b, off, len, "buffer")?;
        staged_write(raw, fd, b, off, len.min(MAX_CHUNK), sock::write)
    })
}

/// recv(2) straight into `b[off..off+len]` (at most one chunk), which stays pinned for this one
/// call, made with `MSG_DONTWAIT` so that it never waits, whatever the descriptor's mode: bytes
/// read, -1 at EOF, -2 when nothing is there. Saves the copy through the staging buffer, at the
/// price of two more JNI calls (pin and release), so the Java side uses it for large reads.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn read_now<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, len) = raw.range(b, off, len, "buffer")?;
        let len = len.min(MAX_CHUNK);
        let Some(mut pinned) = raw.pin(b, PinMode::Written)? else {
            // a JVM that copies instead of pinning: the staging buffer does less work
            return staged_read(raw, fd, b, off, len, sock::read_now);
        };
        let n = sock::read_now(fd, pinned.range(off, len));
        drop(pinned); // released before anything else happens, an exception included
        Ok(n?)
    })
}

/// send(2) straight from `b[off..off+len]` (at most one chunk), pinned for this one call, with
/// `MSG_DONTWAIT`: bytes written (what fits in the send buffer now), or -2 when nothing fits.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn write_now<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
) -> jint {
    hot(&env, |raw: RawEnv| {
        let (off, len) = raw.range(b, off, len, "buffer")?;
        let len = len.min(MAX_CHUNK);
        let Some(mut pinned) = raw.pin(b, PinMode::ReadOnly)? else {
            return staged_write(raw, fd, b, off, len, sock::write_now);
        };
        let n = sock::write_now(fd, pinned.range(off, len));
        drop(pinned);
        Ok(n?)
    })
}

/// `recv` into this thread's staging buffer, then the bytes received into `b[off..]`.
fn staged_read(
    raw: RawEnv,
    fd: jint,
    b: jbyteArray,
    off: usize,
    len: usize,
    recv: impl FnOnce(jint, &mut [u8]) -> NetResult<i32>,
) -> Outcome<jint> {
    with_staging(len, |buf| {
        let n = recv(fd, buf)?;
        if n > 0 {
            raw.set_bytes(b, off, &buf[..n as usize])?;
        }
        Ok(n)
    })
}

/// `b[off..off + len]` into this thread's staging buffer, then `send` from there.
fn staged_write(
    raw: RawEnv,
    fd: jint,
    b: jbyteArray,
    off: usize,
    len: usize,
    send: fn(jint, &[u8]) -> NetResult<i32>,
) -> Outcome<jint> {
    with_staging(len, |buf| {
        raw.get_bytes(b, off, buf)?;
        Ok(send(fd, buf)?)
    })
}

/// One byte of urgent data: 1 when sent, -2 when the send buffer is full.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn send_urgent<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    data: jint,
) -> jint {
    // only the low eight bits are sent, as OutputStream.write(int) does
    run(&mut env, |_| Ok(sock::send_urgent(fd, data as u8)?))
}

/// shutdown(2); `how` is 0 (read), 1 (write) or 2 (both).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn shutdown<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint, how: jint) {
    run(&mut env, |_| {
        Ok(sock::shutdown(fd, Shutdown::from_java(how)?)?)
    })
}

/// Resets the connection: at once, waking blocked threads, where the system can (Linux);
/// else when the descriptor is closed (see `sys::abort`).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn abort<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint) {
    run(&mut env, |_| Ok(sock::abort(fd)?))
}

/// close(2).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn close<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint) {
    run(&mut env, |_| {
        sock::close(fd);
        Ok(())
    })
}

/// Bytes readable without blocking.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn available<'local>(env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint) -> jint {
    hot(&env, |_| Ok(sock::available(fd)?))
}

/// Writes the local address into `out` (wire layout of [`crate::addr`]).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn local_address<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    out: JByteArray<'local>,
) {
    run(&mut env, |env| {
        write_address(env, &out, &sock::local_addr(fd)?)
    })
}

/// Writes the peer's address into `out` (wire layout of [`crate::addr`]).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn peer_address<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    out: JByteArray<'local>,
) {
    run(&mut env, |env| {
        write_address(env, &out, &sock::peer_addr(fd)?)
    })
}

/// The option table ([`options::describe`]), read once by the Java side.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn option_table<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    run(&mut env, |env| {
        Ok(JString::from_str(env, options::describe())?)
    })
}

/// getsockopt(2) of option `id` (a row of [`options::TABLE`]) as an int.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn get_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    id: jint,
) -> jint {
    run(&mut env, |_| Ok(options::get_by_id(fd, id)?))
}

/// setsockopt(2) of option `id`, after checking the value against its row.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn set_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    id: jint,
    value: jint,
) {
    run(&mut env, |_| Ok(options::set_by_id(fd, id, value)?))
}

/// getsockopt(2) of string option `id`.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn get_string_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    id: jint,
) -> JString<'local> {
    run(&mut env, |env| {
        let value = options::get_string_by_id(fd, id)?;
        Ok(JString::from_str(env, value)?)
    })
}

/// setsockopt(2) of string option `id`.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn set_string_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    id: jint,
    value: JString<'local>,
) {
    run(&mut env, |env| {
        require(value.as_raw(), "value")?;
        let text = value.try_to_string(env)?;
        Ok(options::set_string_by_id(fd, id, &text)?)
    })
}

/// getsockopt(TCP_INFO): writes the snapshot's values into `out` in the order of
/// [`tcp_info::KernelTcpInfo::to_java`] and returns how many there are.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn tcp_info<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    out: JLongArray<'local>,
) -> jint {
    run(&mut env, |env| {
        require(out.as_raw(), "out")?;
        let len = out.len(env)?;
        in_bounds(0, tcp_info::TCP_INFO_FIELDS as i64, len)?;
        let values = tcp_info::tcp_info(fd)?;
        out.set_region(env, 0, &values)?;
        Ok(values.len() as jint)
    })
}

/// sendfile(2): up to `count` bytes of `file_fd` from `position` on socket `fd`. Returns
/// the bytes sent (0 at end of file), -2 when the send buffer is full, -3 when the file
/// cannot be spliced.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn send_file<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    file_fd: jint,
    position: jlong,
    count: jlong,
) -> jlong {
    run(&mut env, |_| {
        Ok(sendfile::send_file(fd, file_fd, position, count)?)
    })
}

/// A duplicate of the descriptor inside a JDK `FileChannel` (`sun.nio.ch.FileChannelImpl`,
/// the class behind `FileChannel.open`, `FileInputStream.getChannel` and
/// `RandomAccessFile.getChannel`), read through JNI, which is not subject to the
/// module system's access checks. Returns -1 when the channel is another class, the JDK
/// has renamed the fields, or the descriptor is closed; -3 when it is write-only.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn file_channel_descriptor<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    channel: JObject<'local>,
) -> jint {
    run(&mut env, |env| {
        let raw = file_channel_raw_fd(env, object_arg(&channel, "channel")?);
        Ok(sendfile::dup_readable_file(raw)?)
    })
}

/// The int inside a JDK `FileChannel`'s `FileDescriptor` (see
/// [`super::passing::channel_file_descriptor`]), or [`sendfile::FILE_CLOSED`] when any step
/// does not apply, so that the caller falls back to copying.
fn file_channel_raw_fd(env: &mut Env<'_>, channel: &JObject<'_>) -> jint {
    let Some(descriptor) = super::passing::channel_file_descriptor(env, channel) else {
        return sendfile::FILE_CLOSED;
    };
    env.get_field(&descriptor, jni_str!("fd"), jni_sig!("I"))
        .and_then(|v| v.i())
        .unwrap_or_else(|_| {
            if env.exception_check() {
                env.exception_clear();
            }
            sendfile::FILE_CLOSED
        })
}

/// Which of the JDK's socket implementation factories are set: bit 1 for
/// `java.net.Socket.factory`, bit 2 for `java.net.ServerSocket.factory` (the private
/// static fields of JDK 17 to 25), or -1 when either cannot be read (a JDK that renamed
/// them). JNI applies no module access checks, so no `--add-opens` is needed. Lets the
/// installer check both before setting either, so it never installs half.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn socket_factories_set<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    run(&mut env, |env| {
        let mut set = 0;
        for (bit, class) in [
            (1, jni_str!("java/net/Socket")),
            (2, jni_str!("java/net/ServerSocket")),
        ] {
            match static_factory_is_set(env, class) {
                Some(true) => set |= bit,
                Some(false) => {}
                None => return Ok(-1),
            }
        }
        Ok(set)
    })
}

/// Whether `class.factory` is non-null; `None` (with the NoSuchFieldError cleared) when
/// the field is not there.
fn static_factory_is_set(env: &mut Env<'_>, class: &jni::strings::JNIStr) -> Option<bool> {
    let lookup = |env: &mut Env<'_>| -> jni::errors::Result<bool> {
        let class = env.find_class(class)?;
        let factory = env
            .get_static_field(
                &class,
                jni_str!("factory"),
                jni_sig!("Ljava/net/SocketImplFactory;"),
            )?
            .l()?;
        Ok(!factory.is_null())
    };
    lookup(env).map_or_else(
        |_| {
            if env.exception_check() {
                env.exception_clear();
            }
            None
        },
        Some,
    )
}

/// Panics on purpose so tests can prove a panic surfaces as `java.lang.Error`
/// and leaves the JVM running. Present only when the `test-hooks` feature is on.
#[cfg(feature = "test-hooks")]
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn panic_for_test<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    run(&mut env, |_| -> super::Outcome<jint> {
        panic!("deliberate panic from the test hook")
    })
}
