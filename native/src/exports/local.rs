//! The Unix domain socket exports of `io.rustsocket.internal.Native` (see [`crate::local`]).

use super::{as_jbytes_mut, byte_len, in_bounds, object_arg, require, run, Outcome};
use crate::local::{self, Kind};
use jni::objects::{JByteArray, JClass, JIntArray, JLongArray, JObject, JString};
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, jni_sig, jni_str, Env, EnvUnowned};

/// A name argument: a non-null byte[] (a path's bytes, or NUL and an abstract name).
pub(super) fn name_arg(env: &Env, name: &JByteArray) -> Outcome<Vec<u8>> {
    let len = byte_len(env, name, "name")?;
    let mut bytes = vec![0u8; len];
    name.get_region(env, 0, as_jbytes_mut(&mut bytes))?;
    Ok(bytes)
}

fn kind(datagram: jboolean) -> Kind {
    if datagram {
        Kind::Datagram
    } else {
        Kind::Stream
    }
}

/// Opens a Unix domain socket (a stream socket, or a datagram one) and returns its descriptor.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_socket<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    datagram: jboolean,
    server: jboolean,
) -> jint {
    run(&mut env, |_| Ok(local::open(kind(datagram), server)?))
}

/// socketpair(2): two connected Unix sockets, written to `out[0]` and `out[1]`.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_pair<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    datagram: jboolean,
    out: JIntArray<'local>,
) {
    run(&mut env, |env| {
        require(out.as_raw(), "out")?;
        in_bounds(0, 2, out.len(env)?)?;
        let (a, b) = local::pair(kind(datagram))?;
        if let Err(e) = out.set_region(env, 0, &[a, b]) {
            crate::sock::close(a);
            crate::sock::close(b);
            return Err(e.into());
        }
        Ok(())
    })
}

/// Binds a Unix socket to `name`.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_bind<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    name: JByteArray<'local>,
) {
    run(&mut env, |env| Ok(local::bind(fd, &name_arg(env, &name)?)?))
}

/// Connects a Unix socket to `name`: 1 connected, 0 in progress, 2 when the listener's
/// backlog is full (try again).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_connect<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    name: JByteArray<'local>,
) -> jint {
    run(&mut env, |env| {
        Ok(local::connect(fd, &name_arg(env, &name)?)?)
    })
}

/// The socket's own name: a kind byte (0 unnamed, 1 path, 2 abstract), then the name.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_local_name<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
) -> JByteArray<'local> {
    run(&mut env, |env| {
        Ok(env.byte_array_from_slice(&local::local_name(fd)?)?)
    })
}

/// The peer's name, as [`unix_local_name`] gives it.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_peer_name<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
) -> JByteArray<'local> {
    run(&mut env, |env| {
        Ok(env.byte_array_from_slice(&local::peer_name(fd)?)?)
    })
}

/// The peer's pid (-1 where the system does not tell it), uid and gid, into `out[0..3]`.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn peer_credentials<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    fd: jint,
    out: JLongArray<'local>,
) {
    run(&mut env, |env| {
        require(out.as_raw(), "out")?;
        in_bounds(0, 3, out.len(env)?)?;
        let creds = local::peer_credentials(fd)?;
        out.set_region(env, 0, &creds)?;
        Ok(())
    })
}

/// The name of user (or group) `id` from the system's databases, or null when it has none.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn account_name<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    id: jlong,
    group: jboolean,
) -> JString<'local> {
    run(&mut env, |env| match local::account_name(id, group) {
        Some(name) => Ok(JString::from_str(env, name)?),
        None => Ok(JString::null()),
    })
}

/// The bytes of a path of the default file system as its system calls see them (the
/// `path` field of `sun.nio.fs.UnixPath`, read through JNI, which applies no module access
/// checks): what the JDK's Unix channels bind and connect to, even for a name that is not
/// valid in the JVM's encoding (a path listed from a directory). Null for any other class, or
/// when the JDK has renamed the field: the caller then encodes the path's string.
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_path_bytes<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    path: JObject<'local>,
) -> JByteArray<'local> {
    run(&mut env, |env| {
        let path = object_arg(&path, "path")?;
        let lookup = |env: &mut Env<'local>| -> jni::errors::Result<Option<Vec<u8>>> {
            let class = env.find_class(jni_str!("sun/nio/fs/UnixPath"))?;
            if !env.is_instance_of(path, &class)? {
                return Ok(None);
            }
            let bytes = env.get_field(path, jni_str!("path"), jni_sig!("[B"))?.l()?;
            if bytes.is_null() {
                return Ok(None);
            }
            let bytes = env.cast_local::<JByteArray>(bytes)?;
            let len = bytes.len(env)?;
            let mut out = vec![0u8; len];
            bytes.get_region(env, 0, as_jbytes_mut(&mut out))?;
            Ok(Some(out))
        };
        match lookup(env) {
            Ok(Some(bytes)) => Ok(env.byte_array_from_slice(&bytes)?),
            Ok(None) => Ok(JByteArray::null()),
            Err(_) => {
                // no such class (Windows) or field: clear the error and let Java encode
                if env.exception_check() {
                    env.exception_clear();
                }
                Ok(JByteArray::null())
            }
        }
    })
}

/// The longest path a Unix socket name may have here, in bytes (see [`local::MAX_PATH`]).
#[jni_mangle("io.rustsocket.internal.Native")]
pub fn unix_path_limit<'local>(_env: EnvUnowned<'local>, _class: JClass<'local>) -> jint {
    local::MAX_PATH as jint
}
