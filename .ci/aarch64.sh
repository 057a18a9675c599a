#!/usr/bin/env bash
# linux-aarch64 (ARM servers: Graviton, Ampere) on an x86_64 Debian machine, under qemu-user:
#  1. builds the aarch64 library against glibc 2.17 (cargo zigbuild) and checks that it needs no
#     newer glibc symbol;
#  2. runs cargo test for aarch64 under qemu-aarch64-static;
#  3. runs the JUnit suite on an arm64 JDK 17 (from Debian's packages, unpacked into a cache, never
#     installed) under qemu, loading that library (-Dio.rustsocket.library.path), through the
#     build's own junitTest task; JUnit XML goes to build/test-results/junit-aarch64/.
# Installs what it needs. Exits non-zero when anything fails.
#
# AARCH64_JUNIT=full runs the whole JUnit suite (13 to 18 minutes under qemu on 2 cores); the
# default, "ci", the subset of JUNIT_CI_CLASSES below. AARCH64_SKIP_INSTALL=1 skips apt and pip.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS
say() { echo "aarch64: $*"; }
die() { say "FAILED: $*"; exit 1; }
# runs a cargo command without its "Compiling ..." lines; its own exit status
quiet() { "$@" 2>&1 | grep -v '^ *Compiling '; return "${PIPESTATUS[0]}"; }

target=aarch64-unknown-linux-gnu
cache=${XDG_CACHE_HOME:-$HOME/.cache}/rustsocket-aarch64
work=$repo/build/aarch64
mode=${AARCH64_JUNIT:-ci}

# ---------------------------------------------------------------- tools
if [ "${AARCH64_SKIP_INSTALL:-}" != 1 ]; then
    need=()
    command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu)
    [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || need+=(libc6-dev-arm64-cross)
    command -v aarch64-linux-gnu-objdump >/dev/null 2>&1 || need+=(binutils-aarch64-linux-gnu)
    command -v gradle >/dev/null 2>&1 || need+=(gradle)
    if [ ${#need[@]} -gt 0 ]; then
        say "installing ${need[*]} from Debian"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; } || die "cannot install ${need[*]}"
    fi
    if ! command -v cargo-zigbuild >/dev/null 2>&1 || ! python3 -c 'import ziglang' >/dev/null 2>&1; then
        say "installing ziglang and cargo-zigbuild from PyPI"
        python3 -m pip install -q ziglang cargo-zigbuild || die "cannot pip install ziglang cargo-zigbuild"
    fi
    rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >/dev/null ||
        die "cannot add the rust target $target"
fi
# pip's console scripts (cargo-zigbuild), wherever this python3 puts them
PATH=$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
hash -r
for tool in cargo cargo-zigbuild qemu-aarch64-static aarch64-linux-gnu-gcc aarch64-linux-gnu-objdump gradle python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

# ---------------------------------------------------------------- the arm64 JDK 17
# Debian's arm64 packages, fetched with a private apt state (the host's dpkg keeps its own
# architectures) and unpacked into one folder that qemu uses as the aarch64 root (-L).
# Only what `java` needs for sockets: no fonts, sound or smart cards.
jdk_packages=(openjdk-17-jre-headless libc6 libgcc-s1 libstdc++6 zlib1g)
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$cache/debs"
touch "$apt_dir/status"
apt_arm64=(apt-get -q -o APT::Architecture=arm64 -o "APT::Architectures::=arm64"
           -o Dir::State::Lists="$apt_dir/lists" -o Dir::State::status="$apt_dir/status"
           -o Dir::Cache="$apt_dir" -o Dir::Cache::archives="$apt_dir/archives"
           -o APT::Sandbox::User=root -o Debug::NoLocking=1)
if [ -z "$(find "$apt_dir/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    say "reading Debian's arm64 package lists"
    "${apt_arm64[@]}" update >/dev/null 2>&1 || die "apt-get update for arm64 failed"
fi
# (from an empty folder: apt-get lists no URI for a .deb already in the current one)
resolve=$(mktemp -d)
uris=$(cd "$resolve" && "${apt_arm64[@]}" download --print-uris "${jdk_packages[@]}" 2>/dev/null) ||
    die "cannot resolve ${jdk_packages[*]} for arm64"
rmdir "$resolve"
debs=$(echo "$uris" | awk '{print $2}' | sort)
[ -n "$debs" ] || die "no arm64 packages resolved"
root=$cache/root-$(echo "$debs" | sha256sum | cut -c1-12)
if [ ! -e "$root/.complete" ]; then
    missing=()
    for deb in $debs; do [ -s "$cache/debs/$deb" ] || missing+=("$deb"); done
    if [ ${#missing[@]} -gt 0 ]; then
        say "downloading ${jdk_packages[*]} (arm64)"
        (cd "$cache/debs" && "${apt_arm64[@]}" download "${jdk_packages[@]}" >/dev/null 2>&1) ||
            die "cannot download ${jdk_packages[*]} for arm64"
    fi
    rm -rf "$root.tmp" && mkdir -p "$root.tmp"
    for deb in $debs; do dpkg-deb -x "$cache/debs/$deb" "$root.tmp" || die "cannot unpack $deb"; done
    rm -rf "$root" && mv "$root.tmp" "$root" && touch "$root/.complete"
fi
jdk=$root/usr/lib/jvm/java-17-openjdk-arm64
[ -x "$jdk/bin/java" ] || die "no java in $jdk"

# A JAVA_HOME whose launchers run the arm64 ones under qemu. Its folder is named aarch64, so the
# build's junitTest task, given it as -PtestJavaHome, reports to build/test-results/junit-aarch64.
# FORK: the JDK's default posix_spawn goes through jspawnhelper, an aarch64 program that the host
# cannot exec (nothing registers qemu with binfmt_misc here); a forked JVM execs the command itself.
java_home=$work/qemu/aarch64
rm -rf "$java_home" && mkdir -p "$java_home/bin"
fork=-Djdk.lang.Process.launchMechanism=FORK
for tool in java keytool; do
    option=$fork
    [ "$tool" = java ] || option=-J$fork
    printf '#!/bin/sh\nexec qemu-aarch64-static -L "%s" "%s" %s "$@"\n' "$root" "$jdk/bin/$tool" "$option" \
        >"$java_home/bin/$tool"
    chmod +x "$java_home/bin/$tool"
done
"$java_home/bin/java" -version 2>&1 | sed 's/^/aarch64: /'

# ---------------------------------------------------------------- the library
say "building the library (cargo zigbuild, glibc 2.17)"
quiet cargo zigbuild --release --locked --target "$target.2.17" || die "cargo zigbuild failed"
lib=$repo/target/$target/release/librustsocket.so
[ -f "$lib" ] || die "no $lib"
glibc=$(aarch64-linux-gnu-objdump -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tr '\n' ' ')
say "glibc versions the library needs: $glibc"
newest=$(echo "$glibc" | tr ' ' '\n' | grep . | sort -V | tail -1)
[ "$(printf '%s\n' "$newest" GLIBC_2.17 | sort -V | tail -1)" = GLIBC_2.17 ] ||
    die "the library needs $newest, newer than glibc 2.17"

status=0

# ---------------------------------------------------------------- cargo test under qemu
# Test binaries link with Debian's cross gcc against its aarch64 glibc (2.36), which they find
# under /usr/aarch64-linux-gnu. Tests meeting what qemu does not emulate print "SKIPPED ...".
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
say "cargo test under qemu"
quiet cargo test --locked --target "$target" || status=1

# The panic entry point, in a library of its own (never the one shipped); loaded only by the
# JUnit test of a Rust panic, in a child JVM. A debug build: it reuses cargo test's dependencies.
quiet cargo build --locked --features test-hooks --target "$target" || die "cannot build the test-hooks library"
mkdir -p "$work/test-hooks"
cp "target/$target/debug/librustsocket.so" "$work/test-hooks/librustsocket.so"

# ---------------------------------------------------------------- JUnit under qemu
# What CI runs: every test class but five (the whole suite takes 13 to 18 minutes under qemu on
# 2 cores; these five take 70% of it). AgentTest (child JVMs with -javaagent: bytecode
# rewriting, plain Java), NetPropertiesTest (child JVMs per system property, plain Java),
# RandomApiTest (thousands of random API calls compared with the JDK), TortureTest and
# SoakTest's short versions (load and churn) spend their time in JVM start-ups and volume, and
# make no native call that the classes kept do not make one by one: streams, datagrams and
# batches, standard and Linux options, TCP_INFO, errors, timeouts, close, sendfile, faults,
# real clients, the loader and a Rust panic, Happy Eyeballs, multicast in a namespace.
JUNIT_CI_CLASSES='^(?!io\.rustsocket\.(AgentTest|NetPropertiesTest|RandomApiTest|TortureTest|SoakTest)$).*Tests?$'
junit_args="-Dio.rustsocket.library.path=$lib -Drustsocket.testHooksLibrary=$work/test-hooks/librustsocket.so"
select=()
[ "$mode" = full ] || select=(-Ptests="$JUNIT_CI_CLASSES")
say "JUnit ($mode) on the arm64 JDK 17 under qemu"
junit_started=$SECONDS
gradle junitTest -x cargoBuildTestHooks --console=plain --no-daemon -PtestJavaHome="$java_home" \
    -PjunitArgs="$junit_args" "${select[@]}" || status=1
say "JUnit took $((SECONDS - junit_started)) s"

python3 - build/test-results/junit-aarch64 <<'PY' || status=1
import glob, os, sys
import xml.etree.ElementTree as ET
files = glob.glob(os.path.join(sys.argv[1], "*.xml"))
if not files:
    print("aarch64: FAILED: no JUnit XML reports in " + sys.argv[1])
    sys.exit(1)
run = failed = skipped = 0
skips, failures = [], []
for f in files:
    for case in ET.parse(f).getroot().iter("testcase"):
        run += 1
        name = case.get("classname", "").rsplit(".", 1)[-1] + "." + case.get("name", "")
        for s in case.findall("skipped"):
            skipped += 1
            skips.append((name, (s.get("message") or s.text or "").strip().splitlines()[0:1]))
        for s in case.findall("failure") + case.findall("error"):
            failed += 1
            failures.append((name, (s.get("message") or "").strip().splitlines()[0:1]))
print(f"aarch64: JUnit under qemu: {run} run, {run - failed - skipped} passed, {failed} failed, {skipped} skipped")
for name, why in skips:
    print(f"aarch64:   skipped {name}: {' '.join(why)}")
for name, why in failures:
    print(f"aarch64:   FAILED {name}: {' '.join(why)}")
PY

say "took $((SECONDS - started)) s"
exit "$status"
