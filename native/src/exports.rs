//! The JNI layer: the `native` methods of `io.rustsocket.internal.Native`.
//!
//! Each export only converts arguments, calls the socket core and turns a
//! failure into a pending Java exception. Bodies run inside
//! [`EnvUnowned::with_env`], which catches panics, or, for the few calls on the
//! data path (read, write, poll, available), inside [`hot`], a bare
//! `catch_unwind` that builds an `Env` only when something failed. Either way
//! [`ThrowJava`] reports errors as their Java exception and a panic as
//! `java.lang.Error`, so no unwinding ever reaches the JVM.

use crate::addr;
use crate::error::{ExceptionClass, NetError, NetResult};
use crate::sock::{self, IntOption, Shutdown, StringOption};
use crate::tcp_ext;
use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JClass, JIntArray, JLongArray, JObject};
use jni::strings::JNIString;
use jni::sys::{jboolean, jbyteArray, jclass, jint, jlong};
use jni::{jni_mangle, jni_sig, jni_str, Env, EnvUnowned};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Version of the contract between this library and the Java classes; the
/// loader refuses a library whose version differs from its own.
pub const ABI_VERSION: jint = 3;

/// Largest chunk one read or write call moves; the JDK uses the same bound.
const MAX_CHUNK: usize = 128 * 1024;

/// Why a native method failed.
#[derive(Debug)]
pub enum Failure {
    /// The socket core failed; throw its exception.
    Net(NetError),
    /// A JNI call failed; usually an exception is already pending.
    Jni(jni::errors::Error),
}

impl From<NetError> for Failure {
    fn from(e: NetError) -> Self {
        Failure::Net(e)
    }
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

pub(crate) type Outcome<T> = Result<T, Failure>;

/// The error policy of every export: core errors become their Java exception,
/// panics become `java.lang.Error`, and an exception already pending wins.
pub struct ThrowJava;

impl<T: Default> ErrorPolicy<T, Failure> for ThrowJava {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        err: Failure,
    ) -> jni::errors::Result<T> {
        if env.exception_check() {
            return Ok(T::default());
        }
        let (class, message) = match err {
            Failure::Net(e) => {
                if !matches!(e.class, ExceptionClass::SocketTimeout) {
                    log::warn!("{e}");
                }
                (e.class.java_name(), e.message)
            }
            Failure::Jni(e) => ("java/lang/Error", format!("JNI failure in rustsocket: {e}")),
        };
        let _ = env.throw_new(JNIString::from(class), JNIString::from(message));
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let text = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-string payload".to_string()
        };
        // Forgetting the payload avoids running a destructor that might panic again.
        std::mem::forget(payload);
        log::error!("panic in native code: {text}");
        if env.exception_check() {
            env.exception_clear();
        }
        let _ = env.throw_new(
            JNIString::from("java/lang/Error"),
            JNIString::from(format!("Rust panic in rustsocket: {text}")),
        );
        Ok(T::default())
    }
}

/// Runs `body` with a JNI environment and resolves its outcome with [`ThrowJava`].
pub(crate) fn run<'local, T: Default>(
    env: &mut EnvUnowned<'local>,
    body: impl FnOnce(&mut Env<'local>) -> Outcome<T>,
) -> T {
    env.with_env(body).resolve::<ThrowJava>()
}

/// Runs the body of a hot export (read, write, available, poll) under a panic
/// guard, without `with_env`'s per-call bookkeeping, which the benchmarks show
/// on calls that cost a few hundred nanoseconds in all. Only a failure or a
/// panic builds an `Env`, and then goes through [`ThrowJava`] like every other
/// export.
pub(crate) fn hot<T: Default>(
    raw: *mut jni::sys::JNIEnv,
    body: impl FnOnce() -> NetResult<T>,
) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => throw_from_raw(raw, Err(Failure::Net(e))),
        Err(payload) => throw_from_raw(raw, Ok(payload)),
    }
}

/// Throws a failure (`Err`) or re-raises a caught panic (`Ok`) as a Java exception.
#[cold]
pub(crate) fn throw_from_raw<T: Default>(
    raw: *mut jni::sys::JNIEnv,
    failure: Result<Box<dyn std::any::Any + Send>, Failure>,
) -> T {
    // SAFETY: `raw` is the JNIEnv the JVM passed to the current native call.
    let mut env = unsafe { EnvUnowned::from_raw(raw) };
    env.with_env(|_| -> Outcome<T> {
        match failure {
            Err(f) => Err(f),
            // with_env catches it again and ThrowJava reports it as java.lang.Error
            Ok(payload) => std::panic::resume_unwind(payload),
        }
    })
    .resolve::<ThrowJava>()
}

/// Copies `src` into `array[off..]` with one JNI call. The Java caller has
/// checked the bounds; a JVM would still throw, not crash, if they were wrong.
pub(crate) fn set_array_region(
    raw: *mut jni::sys::JNIEnv,
    array: jbyteArray,
    off: jint,
    src: &[u8],
) {
    // SAFETY: a valid env and a non-null byte[]; `src.len()` fits a jint (<= MAX_CHUNK).
    unsafe {
        ((**raw).v1_1.SetByteArrayRegion)(raw, array, off, src.len() as jint, src.as_ptr().cast());
    }
}

/// Copies `array[off..off + dst.len()]` into `dst` with one JNI call.
pub(crate) fn get_array_region(
    raw: *mut jni::sys::JNIEnv,
    array: jbyteArray,
    off: jint,
    dst: &mut [u8],
) {
    // SAFETY: as for set_array_region.
    unsafe {
        ((**raw).v1_1.GetByteArrayRegion)(
            raw,
            array,
            off,
            dst.len() as jint,
            dst.as_mut_ptr().cast(),
        );
    }
}

pub(crate) fn non_null(array: jbyteArray) -> NetResult<()> {
    if array.is_null() {
        return Err(NetError::new(ExceptionClass::IllegalArgument, "null array"));
    }
    Ok(())
}

thread_local! {
    /// Per-thread staging buffer between the Java heap and the kernel: one copy
    /// each way, as in the JDK, and no allocation once it has grown.
    static STAGING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn with_staging<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    STAGING.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        f(&mut buf[..len])
    })
}

pub(crate) fn as_jbytes(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size and alignment.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast(), b.len()) }
}

pub(crate) fn as_jbytes_mut(b: &mut [u8]) -> &mut [i8] {
    // SAFETY: u8 and i8 have the same size and alignment.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr().cast(), b.len()) }
}

pub(crate) fn chunk_len(len: jint) -> NetResult<usize> {
    if len < 0 {
        return Err(NetError::new(
            ExceptionClass::IllegalArgument,
            "negative length",
        ));
    }
    Ok((len as usize).min(MAX_CHUNK))
}

pub(crate) fn ip_arg(env: &Env, bytes: &JByteArray) -> Outcome<std::net::IpAddr> {
    let len = bytes.len(env)?;
    if len != 4 && len != 16 {
        return Err(NetError::new(
            ExceptionClass::IllegalArgument,
            format!("an IP address has 4 or 16 bytes, not {len}"),
        )
        .into());
    }
    let mut raw = [0u8; 16];
    bytes.get_region(env, 0, as_jbytes_mut(&mut raw[..len]))?;
    Ok(addr::ip_from_bytes(&raw[..len])?)
}

pub(crate) fn port_arg(port: jint) -> Outcome<u16> {
    u16::try_from(port).map_err(|_| {
        NetError::new(
            ExceptionClass::IllegalArgument,
            format!("port out of range: {port}"),
        )
        .into()
    })
}

pub(crate) fn write_address(env: &Env, out: &JByteArray, a: &SocketAddr) -> Outcome<()> {
    let mut wire = [0u8; addr::WIRE_LEN];
    addr::encode(a, &mut wire);
    out.set_region(env, 0, as_jbytes(&wire))?;
    Ok(())
}

/// Starts native logging (off unless `RUST_LOG` enables it) and returns [`ABI_VERSION`].
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn init<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    run(&mut env, |_| {
        let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
            .try_init();
        log::debug!("rustsocket native library initialised, ABI {ABI_VERSION}");
        Ok(ABI_VERSION)
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
        Ok(sock::bind(fd, ip, scope_id as u32, port_arg(port)?)?)
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
        Ok(jint::from(sock::connect(
            fd,
            ip,
            scope_id as u32,
            port_arg(port)?,
        )?))
    })
}

/// The outcome of a connect that poll reported ready; throws the connect's error.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn connect_result<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint) {
    run(&mut env, |_| Ok(sock::connect_result(fd)?))
}

/// accept4(2): the new descriptor with the peer written to `peer`, or
/// `UNAVAILABLE` (-2) when a non-blocking listener has nothing waiting.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn accept<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    peer: JByteArray<'local>,
) -> jint {
    run(&mut env, |env| match sock::accept(fd)? {
        None => Ok(sock::UNAVAILABLE),
        Some((new_fd, addr)) => {
            if let Err(e) = write_address(env, &peer, &addr) {
                sock::close(new_fd);
                return Err(e);
            }
            Ok(new_fd)
        }
    })
}

/// recv(2) into `b[off..off+len]`: bytes read, -1 at EOF, -2 when unavailable.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_rustsocket_internal_Native_read(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
) -> jint {
    hot(env, || {
        non_null(b)?;
        let len = chunk_len(len)?;
        with_staging(len, |buf| {
            let n = sock::read(fd, buf)?;
            if n > 0 {
                set_array_region(env, b, off, &buf[..n as usize]);
            }
            Ok(n)
        })
    })
}

/// send(2) from `b[off..off+len]`: bytes written (at most one chunk), or -2 when unavailable.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_rustsocket_internal_Native_write(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    fd: jint,
    b: jbyteArray,
    off: jint,
    len: jint,
) -> jint {
    hot(env, || {
        non_null(b)?;
        let len = chunk_len(len)?;
        with_staging(len, |buf| {
            get_array_region(env, b, off, buf);
            sock::write(fd, buf)
        })
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
    run(&mut env, |_| Ok(sock::send_urgent(fd, data as u8)?))
}

/// poll(2) on one descriptor: the events seen, 0 on timeout or signal.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_rustsocket_internal_Native_poll(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    fd: jint,
    events: jint,
    timeout_ms: jint,
) -> jint {
    hot(env, || {
        Ok(jint::from(sock::poll(fd, events as i16, timeout_ms)?))
    })
}

/// shutdown(2); `how` is 0 (read), 1 (write) or 2 (both).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn shutdown<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, fd: jint, how: jint) {
    run(&mut env, |_| {
        Ok(sock::shutdown(fd, Shutdown::from_java(how)?)?)
    })
}

/// Resets the connection now (connect with AF_UNSPEC), waking blocked threads.
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
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_rustsocket_internal_Native_available(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    fd: jint,
) -> jint {
    hot(env, || sock::available(fd))
}

/// Writes the local address into `out` (wire layout of [`addr`]).
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

/// Writes the peer's address into `out` (wire layout of [`addr`]).
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

/// getsockopt(2) for one of [`IntOption`].
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn get_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    opt: jint,
) -> jint {
    run(&mut env, |_| {
        Ok(sock::get_option(fd, IntOption::from_java(opt)?)?)
    })
}

/// setsockopt(2) for one of [`IntOption`].
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn set_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    opt: jint,
    value: jint,
) {
    run(&mut env, |_| {
        Ok(sock::set_option(fd, IntOption::from_java(opt)?, value)?)
    })
}

/// getsockopt(2) for one of [`StringOption`]: writes the ASCII name into `out`
/// (at most its length) and returns the name's length.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn get_string_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    opt: jint,
    out: JByteArray<'local>,
) -> jint {
    run(&mut env, |env| {
        let value = tcp_ext::get_string_option(fd, StringOption::from_java(opt)?)?;
        let n = value.len().min(out.len(env)?);
        out.set_region(env, 0, as_jbytes(&value.as_bytes()[..n]))?;
        Ok(value.len() as jint)
    })
}

/// setsockopt(2) for one of [`StringOption`], the value as ASCII bytes.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn set_string_option<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    opt: jint,
    value: JByteArray<'local>,
) {
    run(&mut env, |env| {
        let mut bytes = vec![0u8; value.len(env)?];
        value.get_region(env, 0, as_jbytes_mut(&mut bytes))?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(tcp_ext::set_string_option(
            fd,
            StringOption::from_java(opt)?,
            &text,
        )?)
    })
}

/// getsockopt(TCP_INFO): writes the snapshot's values into `out` in the order of
/// [`tcp_ext::KernelTcpInfo::to_java`] and returns how many there are.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn tcp_info<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    out: JLongArray<'local>,
) -> jint {
    run(&mut env, |env| {
        let (info, filled) = tcp_ext::tcp_info(fd)?;
        let values = info.to_java(filled);
        if out.len(env)? < values.len() {
            return Err(NetError::new(
                ExceptionClass::IllegalArgument,
                format!("TCP_INFO needs {} values", values.len()),
            )
            .into());
        }
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
        Ok(sock::send_file(fd, file_fd, position, count)?)
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
        let raw = file_channel_raw_fd(env, &channel);
        Ok(sock::dup_readable_file(raw)?)
    })
}

/// The int inside `channel.fd.fd`, or [`sock::FILE_CLOSED`] when any step does not
/// apply. Clears the exception a failed lookup leaves pending (NoSuchFieldError), so
/// the caller can fall back to copying.
fn file_channel_raw_fd(env: &mut Env<'_>, channel: &JObject<'_>) -> jint {
    let lookup = |env: &mut Env<'_>| -> jni::errors::Result<jint> {
        if channel.is_null() {
            return Ok(sock::FILE_CLOSED);
        }
        let impl_class = env.find_class(jni_str!("sun/nio/ch/FileChannelImpl"))?;
        if !env.is_instance_of(channel, &impl_class)? {
            return Ok(sock::FILE_CLOSED);
        }
        let descriptor = env
            .get_field(
                channel,
                jni_str!("fd"),
                jni_sig!("Ljava/io/FileDescriptor;"),
            )?
            .l()?;
        if descriptor.is_null() {
            return Ok(sock::FILE_CLOSED);
        }
        env.get_field(&descriptor, jni_str!("fd"), jni_sig!("I"))?
            .i()
    };
    lookup(env).unwrap_or_else(|_| {
        if env.exception_check() {
            env.exception_clear();
        }
        sock::FILE_CLOSED
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

/// poll(2) on the first `count` descriptors of `fds`; each one's events go into `revents`.
/// Returns how many are ready, 0 on timeout or signal.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn poll_any<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fds: JIntArray<'local>,
    count: jint,
    events: jint,
    timeout_ms: jint,
    revents: JIntArray<'local>,
) -> jint {
    run(&mut env, |env| {
        let count = usize::try_from(count).unwrap_or(usize::MAX).min(64);
        let mut raw = [0i32; 64];
        fds.get_region(env, 0, &mut raw[..count])?;
        let mut seen = [0i16; 64];
        let n = sock::poll_any(&raw[..count], events as i16, &mut seen, timeout_ms)?;
        let mut out = [0i32; 64];
        for (o, s) in out.iter_mut().zip(&seen[..count]) {
            *o = jint::from(*s);
        }
        revents.set_region(env, 0, &out[..count])?;
        Ok(n as jint)
    })
}

/// epoll_create1(2) for the virtual-thread poller.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn epoll_create<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    run(&mut env, |_| Ok(sock::epoll_create()?))
}

/// Arms `fd` for one `POLLIN` or `POLLOUT` event.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_rustsocket_internal_Native_epollArm(
    env: *mut jni::sys::JNIEnv,
    _class: jclass,
    epfd: jint,
    fd: jint,
    events: jint,
) {
    hot(env, || sock::epoll_arm(epfd, fd, events as i16))
}

/// epoll_wait(2): writes ready descriptors into `ready`, returns how many.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn epoll_wait<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    epfd: jint,
    ready: JIntArray<'local>,
    timeout_ms: jint,
) -> jint {
    run(&mut env, |env| {
        let len = ready.len(env)?;
        let mut buf = [0i32; 256];
        let n = sock::epoll_wait(epfd, &mut buf[..len.min(256)], timeout_ms)?;
        ready.set_region(env, 0, &buf[..n])?;
        Ok(n as jint)
    })
}

/// Panics on purpose so tests can prove a panic surfaces as `java.lang.Error`
/// and leaves the JVM running. Present only when the `test-hooks` feature is on.
#[cfg(feature = "test-hooks")]
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn panic_for_test<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    run(&mut env, |_| -> Outcome<jint> {
        panic!("deliberate panic from the test hook")
    })
}
