//! The JNI layer: the `native` methods of `io.rustsocket.internal.Native`
//! ([`socket`], [`poller`], [`local`], [`passing`]) and `io.rustsocket.internal.NativeDatagram` ([`datagram`],
//! [`local_datagram`]).
//!
//! Every export is a `#[jni_mangle]` function that checks its arguments, converts
//! them, calls the socket core and turns a failure into a pending Java exception.
//! It trusts no caller, Java included: null arrays, ranges outside an array,
//! negative counts and out-of-range values get the standard Java exception
//! (`NullPointerException`, `ArrayIndexOutOfBoundsException`,
//! `IllegalArgumentException`) before any system call; and after every JNI call
//! that can throw, the export returns at once if an exception is pending, so no
//! further JNI call and no system call runs with one pending and no bytes are ever
//! sent that were not copied from the caller's array in this call.
//!
//! Bodies run inside [`EnvUnowned::with_env`] ([`run`]), which catches panics, or,
//! for the calls on the data path, inside [`hot`], a bare `catch_unwind` that
//! builds an `Env` only when something failed. Either way [`ThrowJava`] reports
//! errors as their Java exception and a panic as `java.lang.Error`, so no
//! unwinding ever reaches the JVM.

pub mod datagram;
pub mod local;
pub mod local_datagram;
pub mod passing;
pub mod poller;
pub mod socket;

use crate::addr;
use crate::error::{ExceptionClass, NetError, NetResult};
use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JObject};
use jni::strings::JNIString;
use jni::sys::{jarray, jbyteArray, jint, jintArray, jobject};
use jni::{Env, EnvUnowned};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

/// Why a native method failed.
#[derive(Debug)]
pub enum Failure {
    /// The socket core, or an argument check, failed; throw its exception.
    Net(NetError),
    /// A jni-rs call failed; usually an exception is already pending.
    Jni(jni::errors::Error),
    /// A raw JNI call left an exception pending: return and let it propagate.
    Pending,
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
            Failure::Pending => (
                "java/lang/Error",
                "a JNI call failed without an exception".to_string(),
            ),
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

/// Runs the body of a hot export (read, write, available, poll, the datagram data path)
/// under a panic guard, without `with_env`'s per-call bookkeeping, which the benchmarks
/// show on calls that cost a few hundred nanoseconds in all. Only a failure or a panic
/// builds an `Env`, and then goes through [`ThrowJava`] like every other export.
pub(crate) fn hot<T: Default>(env: &EnvUnowned<'_>, body: impl FnOnce(RawEnv) -> Outcome<T>) -> T {
    let raw = RawEnv(env.as_raw());
    match catch_unwind(AssertUnwindSafe(|| body(raw))) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => throw_from_raw(raw, Err(e)),
        Err(payload) => throw_from_raw(raw, Ok(payload)),
    }
}

/// Throws a failure (`Err`) or re-raises a caught panic (`Ok`) as a Java exception.
#[cold]
fn throw_from_raw<T: Default>(
    raw: RawEnv,
    failure: Result<Box<dyn std::any::Any + Send>, Failure>,
) -> T {
    // SAFETY: `raw` is the JNIEnv the JVM passed to the current native call.
    let mut env = unsafe { EnvUnowned::from_raw(raw.0) };
    env.with_env(|_| -> Outcome<T> {
        match failure {
            Err(f) => Err(f),
            // with_env catches it again and ThrowJava reports it as java.lang.Error
            Ok(payload) => std::panic::resume_unwind(payload),
        }
    })
    .resolve::<ThrowJava>()
}

/// The JNIEnv of the current native call, for the few raw calls of the data path
/// (array lengths and regions, two int fields), on ranges checked before the call.
#[derive(Clone, Copy)]
pub(crate) struct RawEnv(*mut jni::sys::JNIEnv);

impl RawEnv {
    fn table(self) -> &'static jni::sys::JNINativeInterface_ {
        // SAFETY: the JVM's function table outlives every native call.
        unsafe { &**self.0 }
    }

    /// `Err(Pending)` when the last JNI call left an exception pending.
    fn check(self) -> Outcome<()> {
        // SAFETY: ExceptionCheck may be called with an exception pending.
        if unsafe { (self.table().v1_2.ExceptionCheck)(self.0) } {
            Err(Failure::Pending)
        } else {
            Ok(())
        }
    }

    /// After a region copy or an int field access whose range or field the caller checked:
    /// such a call cannot throw, so only debug builds ask the JVM (an `ExceptionCheck` per
    /// copy was about 2 % of a one-by-one UDP receive loop).
    #[inline]
    fn checked_call(self) -> Outcome<()> {
        if cfg!(debug_assertions) {
            self.check()
        } else {
            Ok(())
        }
    }

    /// The length of a non-null array.
    fn len(self, array: jarray) -> usize {
        // SAFETY: a valid env and a non-null array reference.
        let n = unsafe { (self.table().v1_1.GetArrayLength)(self.0, array) };
        usize::try_from(n).unwrap_or(0)
    }

    /// Checks that `array` is not null and `[off, off + len)` lies inside it; returns both
    /// as `usize`. The exceptions are the JDK's for the same mistakes.
    pub(crate) fn range(
        self,
        array: jarray,
        off: jint,
        len: jint,
        what: &str,
    ) -> NetResult<(usize, usize)> {
        require(array, what)?;
        in_bounds(i64::from(off), i64::from(len), self.len(array))
    }

    /// Checks that `array` is not null and holds at least `min` elements; returns its length.
    pub(crate) fn at_least(self, array: jarray, min: usize, what: &str) -> NetResult<usize> {
        require(array, what)?;
        let n = self.len(array);
        in_bounds(0, min as i64, n)?;
        Ok(n)
    }

    /// Copies `array[at..at + dst.len()]` into `dst`. The caller has checked the range
    /// ([`Self::range`], [`Self::at_least`]); so have all the copies below.
    pub(crate) fn get_bytes(self, array: jbyteArray, at: usize, dst: &mut [u8]) -> Outcome<()> {
        // SAFETY: a valid env, a non-null byte[] and a range inside it.
        unsafe {
            (self.table().v1_1.GetByteArrayRegion)(
                self.0,
                array,
                at as jint,
                dst.len() as jint,
                dst.as_mut_ptr().cast(),
            );
        }
        self.checked_call()
    }

    /// Copies `src` into `array[at..]`.
    pub(crate) fn set_bytes(self, array: jbyteArray, at: usize, src: &[u8]) -> Outcome<()> {
        // SAFETY: as for get_bytes.
        unsafe {
            (self.table().v1_1.SetByteArrayRegion)(
                self.0,
                array,
                at as jint,
                src.len() as jint,
                src.as_ptr().cast(),
            );
        }
        self.checked_call()
    }

    /// Pins a non-null `byte[]` (`GetPrimitiveArrayCritical`) so that one non-blocking system
    /// call can use the Java heap's bytes in place; `None` when the JVM hands out a copy
    /// instead (see [`Pinned`]), and then never again in this process.
    ///
    /// While the guard lives the JVM may not be able to collect garbage (JDK 17's G1 waits
    /// for every critical section to end): hold it around one call that cannot wait (a send
    /// or receive with `MSG_DONTWAIT`) and nothing else, no JNI call, no log, no lock.
    pub(crate) fn pin(self, array: jbyteArray, mode: PinMode) -> Outcome<Option<Pinned>> {
        if COPYING_JVM.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut is_copy: jni::sys::jboolean = false;
        // SAFETY: a valid env and a non-null byte[]; the pointer is released by Pinned's drop.
        let ptr =
            unsafe { (self.table().v1_2.GetPrimitiveArrayCritical)(self.0, array, &mut is_copy) };
        if ptr.is_null() {
            // out of memory: an exception is pending
            self.check()?;
            return Err(Failure::Pending);
        }
        let pinned = Pinned {
            raw: self,
            array,
            ptr: ptr.cast(),
            mode: if is_copy {
                jni::sys::JNI_ABORT
            } else {
                mode as jint
            },
        };
        if is_copy {
            // The JVM copied the whole array: a copy back would also overwrite bytes outside
            // the caller's range that another thread may have changed meanwhile, and a copy of
            // a large array per call costs more than staging the range. Stage from now on.
            COPYING_JVM.store(true, Ordering::Relaxed);
            drop(pinned);
            return Ok(None);
        }
        Ok(Some(pinned))
    }

    /// Copies `array[at..at + dst.len()]` of an int[] into `dst`.
    pub(crate) fn get_ints(self, array: jintArray, at: usize, dst: &mut [i32]) -> Outcome<()> {
        // SAFETY: as for get_bytes.
        unsafe {
            (self.table().v1_1.GetIntArrayRegion)(
                self.0,
                array,
                at as jint,
                dst.len() as jint,
                dst.as_mut_ptr(),
            );
        }
        self.checked_call()
    }

    /// Copies `src` into `array[at..]` of an int[].
    pub(crate) fn set_ints(self, array: jintArray, at: usize, src: &[i32]) -> Outcome<()> {
        // SAFETY: as for get_bytes.
        unsafe {
            (self.table().v1_1.SetIntArrayRegion)(
                self.0,
                array,
                at as jint,
                src.len() as jint,
                src.as_ptr(),
            );
        }
        self.checked_call()
    }

    /// Reads an int field of a non-null object.
    pub(crate) fn get_int_field(
        self,
        obj: jobject,
        field: jni::objects::JFieldID,
    ) -> Outcome<jint> {
        // SAFETY: a valid env, a live object of the field's class and one of its int fields.
        let v = unsafe { (self.table().v1_1.GetIntField)(self.0, obj, field.into_raw()) };
        self.checked_call().map(|()| v)
    }

    /// Writes an int field of a non-null object.
    pub(crate) fn set_int_field(
        self,
        obj: jobject,
        field: jni::objects::JFieldID,
        value: jint,
    ) -> Outcome<()> {
        // SAFETY: as for get_int_field.
        unsafe { (self.table().v1_1.SetIntField)(self.0, obj, field.into_raw(), value) };
        self.checked_call()
    }
}

/// Set once `GetPrimitiveArrayCritical` returned a copy: such a JVM is not asked again.
static COPYING_JVM: AtomicBool = AtomicBool::new(false);

/// What releasing a [`Pinned`] array does with its bytes.
#[derive(Clone, Copy)]
#[repr(i32)]
pub(crate) enum PinMode {
    /// The call wrote into the array (a receive).
    Written = 0,
    /// The call only read the array (a send): nothing to write back.
    ReadOnly = jni::sys::JNI_ABORT,
}

/// A `byte[]` held in place by `GetPrimitiveArrayCritical` ([`RawEnv::pin`]); released
/// (`ReleasePrimitiveArrayCritical`) when dropped, a panic's unwinding included.
pub(crate) struct Pinned {
    raw: RawEnv,
    array: jbyteArray,
    ptr: *mut u8,
    mode: jint,
}

impl Pinned {
    /// `array[at..at + len]`, in the Java heap; the caller has checked the range.
    pub(crate) fn range(&mut self, at: usize, len: usize) -> &mut [u8] {
        // SAFETY: the array is pinned while self lives and the range lies inside it.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), len) }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // SAFETY: the pointer GetPrimitiveArrayCritical returned for this array, released once.
        unsafe {
            (self.raw.table().v1_2.ReleasePrimitiveArrayCritical)(
                self.raw.0,
                self.array,
                self.ptr.cast(),
                self.mode,
            );
        }
    }
}

/// `NullPointerException` naming the argument when `reference` is null.
pub(crate) fn require<T>(reference: *mut T, what: &str) -> NetResult<()> {
    if reference.is_null() {
        return Err(NetError::new(ExceptionClass::NullPointer, what.to_string()));
    }
    Ok(())
}

/// Checks `[off, off + len)` against an array of `length` elements, with the message of the
/// JDK's own range checks; returns both as `usize`.
pub(crate) fn in_bounds(off: i64, len: i64, length: usize) -> NetResult<(usize, usize)> {
    if off < 0 || len < 0 || off + len > length as i64 {
        return Err(NetError::new(
            ExceptionClass::ArrayIndexOutOfBounds,
            format!("Range [{off}, {off} + {len}) out of bounds for length {length}"),
        ));
    }
    Ok((off as usize, len as usize))
}

/// A count or size that must not be negative; `IllegalArgumentException` naming it otherwise.
pub(crate) fn non_negative(value: jint, what: &str) -> NetResult<usize> {
    usize::try_from(value).map_err(|_| {
        NetError::new(
            ExceptionClass::IllegalArgument,
            format!("negative {what}: {value}"),
        )
    })
}

thread_local! {
    /// Per-thread staging buffer between the Java heap and the kernel: one copy
    /// each way, as in the JDK, and no allocation once it has grown.
    static STAGING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `len` bytes of this thread's staging buffer.
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

/// The length of a non-null `byte[]` argument; `NullPointerException` naming it when null.
pub(crate) fn byte_len(env: &Env, array: &JByteArray, what: &str) -> Outcome<usize> {
    require(array.as_raw(), what)?;
    Ok(array.len(env)?)
}

/// Reads an IP address argument: a non-null byte[] of 4 or 16 bytes.
pub(crate) fn ip_arg(env: &Env, bytes: &JByteArray) -> Outcome<std::net::IpAddr> {
    let len = byte_len(env, bytes, "address")?;
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

/// A port argument, 0..=65535.
pub(crate) fn port_arg(port: jint) -> NetResult<u16> {
    u16::try_from(port).map_err(|_| {
        NetError::new(
            ExceptionClass::IllegalArgument,
            format!("port out of range: {port}"),
        )
    })
}

/// An IPv6 scope id argument: an interface index, never negative.
pub(crate) fn scope_arg(scope_id: jint) -> NetResult<u32> {
    Ok(non_negative(scope_id, "scope id")? as u32)
}

/// Writes `a` into the first [`addr::WIRE_LEN`] bytes of `out` (wire layout of [`addr`]).
pub(crate) fn write_address(env: &Env, out: &JByteArray, a: &SocketAddr) -> Outcome<()> {
    let len = byte_len(env, out, "address buffer")?;
    in_bounds(0, addr::WIRE_LEN as i64, len)?;
    let mut wire = [0u8; addr::WIRE_LEN];
    addr::encode(a, &mut wire);
    out.set_region(env, 0, as_jbytes(&wire))?;
    Ok(())
}

/// A null-checked object argument.
pub(crate) fn object_arg<'a>(obj: &'a JObject<'a>, what: &str) -> NetResult<&'a JObject<'a>> {
    require(obj.as_raw(), what)?;
    Ok(obj)
}
