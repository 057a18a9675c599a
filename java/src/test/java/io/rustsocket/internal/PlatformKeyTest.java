package io.rustsocket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** How the loader names platforms and libraries, and how it tells musl from glibc. */
class PlatformKeyTest {
    @Test
    void keysFromOsNameAndArch() {
        assertEquals("linux-x86_64", NativeLibrary.platformKey("Linux", "amd64", false));
        assertEquals("linux-x86_64", NativeLibrary.platformKey("Linux", "x86_64", false));
        assertEquals("linux-aarch64", NativeLibrary.platformKey("Linux", "aarch64", false));
        assertEquals("linux-x86_64-musl", NativeLibrary.platformKey("Linux", "amd64", true));
        assertEquals("linux-aarch64-musl", NativeLibrary.platformKey("Linux", "aarch64", true));
        assertEquals("osx-x86_64", NativeLibrary.platformKey("Mac OS X", "x86_64", false));
        assertEquals("osx-aarch64", NativeLibrary.platformKey("Mac OS X", "aarch64", false));
        // musl is a Linux matter only
        assertEquals("osx-aarch64", NativeLibrary.platformKey("Mac OS X", "aarch64", true));
        assertEquals("windows-x86_64", NativeLibrary.platformKey("Windows 11", "amd64", false));
        assertEquals("windows-x86_64", NativeLibrary.platformKey("Windows Server 2022", "amd64", false));
        assertEquals("windows-aarch64", NativeLibrary.platformKey("Windows 11", "arm64", false));
        assertEquals("freebsd-x86_64", NativeLibrary.platformKey("FreeBSD", "amd64", false));
        assertEquals("linux-riscv64", NativeLibrary.platformKey("Linux", "riscv64", false));
    }

    @Test
    void libraryFileNamesPerSystem() {
        assertEquals("librustsocket.so", NativeLibrary.libraryFileName("linux-x86_64"));
        assertEquals("librustsocket.so", NativeLibrary.libraryFileName("linux-x86_64-musl"));
        assertEquals("librustsocket.dylib", NativeLibrary.libraryFileName("osx-aarch64"));
        assertEquals("rustsocket.dll", NativeLibrary.libraryFileName("windows-x86_64"));
        assertEquals("META-INF/native/osx-x86_64/librustsocket.dylib", NativeLibrary.resourceName("osx-x86_64"));
    }

    @Test
    void everyKnownPlatformHasItsOwnResource() {
        assertEquals(NativeLibrary.KNOWN_PLATFORMS.size(),
                NativeLibrary.KNOWN_PLATFORMS.stream().map(NativeLibrary::resourceName).distinct().count());
    }

    @Test
    void glibcIsNotMistakenForMuslEvenWithMuslInstalled() throws IOException {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux"), "Linux only");
        boolean glibc;
        try (Stream<String> maps = Files.lines(Paths.get("/proc/self/maps"))) {
            glibc = maps.anyMatch(l -> l.contains("/libc.so.6"));
        }
        Assumptions.assumeTrue(glibc, "this JVM does not run on glibc");
        // Debian's musl package installs /lib/ld-musl-*.so.1 beside glibc: its presence proves nothing
        assertFalse(NativeLibrary.detectMusl());
        assertFalse(NativeLibrary.platform().endsWith("-musl"), NativeLibrary.platform());
        assertFalse(NativeLibrary.describePlatform().contains("musl"), NativeLibrary.describePlatform());
    }

    @Test
    void noexecNoteIsEmptyWhereCodeMayRun() throws IOException {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux"), "Linux only");
        // the JVM's own library directory necessarily allows executing code
        Path libjvm = Paths.get(System.getProperty("java.home"), "lib");
        assertNull(NativeLibrary.noexecMount(libjvm));
        assertEquals("", NativeLibrary.noexecNote(libjvm));
    }
}
