//! Test support: telling a user-mode emulator's gaps from our bugs.
//!
//! The aarch64 build is tested on x86_64 machines under qemu-user, which translates each
//! system call of the emulated program for the host kernel. Some socket options it does not
//! translate at all (`setsockopt` answers `ENOPROTOOPT`, "Protocol not available"), some it
//! translates wrongly (a `getsockopt(SO_BINDTODEVICE)` answers `EINVAL`, an IPv4 membership by
//! interface index answers `ENODEV` because the index is dropped, `TCP_INFO` comes back 4
//! bytes long). A test meeting one of those under an emulator skips that part and says why on
//! the test's standard error; on real hardware (no emulator) the same answer still fails the
//! test.
//!
//! The emulator is recognised by the kernel's own architecture: qemu-user reports the
//! emulated one through `uname(2)` but not in `/proc/sys/kernel/arch`, which is the host
//! kernel's.

use crate::error::NetError;
use std::io::Write as _;
use std::sync::OnceLock;

/// "aarch64 code on an x86_64 kernel" when this test binary runs under a user-mode emulator;
/// `None` when it runs natively (or where that cannot be told: then nothing is skipped).
pub(crate) fn emulator() -> Option<&'static str> {
    static FOUND: OnceLock<Option<String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let kernel = std::fs::read_to_string("/proc/sys/kernel/arch").ok()?;
            let ours = std::env::consts::ARCH;
            emulated(ours, kernel.trim())
                .then(|| format!("{ours} code on an {} kernel", kernel.trim()))
        })
        .as_deref()
}

/// Whether code built for `ours` can only be running on a `kernel` of that architecture
/// through an emulator. 32-bit code on its own 64-bit kernel runs natively (compat mode).
fn emulated(ours: &str, kernel: &str) -> bool {
    let native = kernel == ours
        || (ours == "x86" && kernel == "x86_64")
        || (ours == "arm" && kernel == "aarch64");
    !kernel.is_empty() && !native
}

/// Whether `error` is an emulator refusing `what`, answered with one of `errnos`: prints the
/// reason and returns true under an emulator; false on real hardware or for any other error.
pub(crate) fn refused(what: &str, error: &NetError, errnos: &[i32]) -> bool {
    match refusal(emulator(), what, error, errnos) {
        Some(reason) => {
            skip(&reason);
            true
        }
        None => false,
    }
}

/// The reason to skip, when `emulator` is one and `error` carries one of `errnos`.
fn refusal(emulator: Option<&str>, what: &str, error: &NetError, errnos: &[i32]) -> Option<String> {
    let emulator = emulator?;
    error
        .errno
        .filter(|e| errnos.contains(e))
        .map(|_| format!("{what}: {} ({emulator})", error.message))
}

/// Whether `what` came back `got` bytes long where the kernel gives at least `wanted`,
/// under an emulator: prints the reason and returns true; false on real hardware.
pub(crate) fn cut_short(what: &str, got: usize, wanted: usize) -> bool {
    let Some(emulator) = emulator() else {
        return false;
    };
    if got >= wanted {
        return false;
    }
    skip(&format!(
        "{what}: {got} bytes where the kernel fills at least {wanted} ({emulator})"
    ));
    true
}

/// Prints that a part of the running test was skipped, past the test harness's capture so
/// that it shows in a passing run's output too.
pub(crate) fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    // Written to the stream itself: `eprintln!` would be captured and shown only on failure.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED under an emulator, in {test}: {reason}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExceptionClass;
    use crate::sys::errno::{EINVAL, ENOPROTOOPT};

    #[test]
    fn a_refusal_counts_only_under_an_emulator_and_only_with_the_named_errors() {
        let mut e = NetError::new(ExceptionClass::Socket, "Protocol not available");
        e.errno = Some(ENOPROTOOPT);
        let qemu = Some("aarch64 code on an x86_64 kernel");
        assert_eq!(
            refusal(qemu, "set SO_MARK", &e, &[EINVAL, ENOPROTOOPT]).as_deref(),
            Some("set SO_MARK: Protocol not available (aarch64 code on an x86_64 kernel)")
        );
        assert_eq!(refusal(None, "set SO_MARK", &e, &[ENOPROTOOPT]), None);
        assert_eq!(refusal(qemu, "set SO_MARK", &e, &[EINVAL]), None);
        e.errno = None;
        assert_eq!(refusal(qemu, "set SO_MARK", &e, &[ENOPROTOOPT]), None);
    }

    #[test]
    fn only_a_foreign_kernel_means_an_emulator() {
        assert!(!emulated("x86_64", "x86_64"));
        assert!(!emulated("aarch64", "aarch64"));
        assert!(!emulated("x86", "x86_64"));
        assert!(!emulated("arm", "aarch64"));
        assert!(!emulated("aarch64", ""));
        assert!(emulated("aarch64", "x86_64"));
        assert!(emulated("x86_64", "aarch64"));
    }
}
