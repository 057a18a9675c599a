package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rustsocket.internal.NativeLibrary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code java -jar rustsocket.jar}: the report on this machine, in a child JVM. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SelfTestTest {
    private static Path jar() {
        String jar = System.getProperty("rustsocket.jar");
        Assumptions.assumeTrue(jar != null && Files.isRegularFile(Paths.get(jar)),
                "-Drustsocket.jar does not name the built jar (gradle junitTest sets it)");
        return Paths.get(jar);
    }

    /** Exit status and output of {@code java OPTIONS -jar rustsocket.jar}. */
    private static String[] run(Path dir, String... options) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(TestSupport.childJava());
        cmd.addAll(Arrays.asList(options));
        cmd.addAll(TestSupport.childJvmOptions("SelfTest"));
        cmd.add("-jar");
        cmd.add(jar().toString());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.redirectErrorStream(true);
        Path out = Files.createTempFile(dir, "selftest", ".out");
        pb.redirectOutput(out.toFile());
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("java -jar did not finish in 60 s:\n" + new String(Files.readAllBytes(out), java.nio.charset.StandardCharsets.UTF_8));
        }
        // the child writes in the platform's console encoding (not UTF-8 on Windows): decode leniently
        String report = new String(Files.readAllBytes(out), java.nio.charset.StandardCharsets.UTF_8)
                .replace("\r\n", "\n");
        // Wine's JVM warns on every new thread pool that it cannot read the process group
        // affinity: the JVM's line, not the report's
        report = report.replaceAll("(?m)^OpenJDK 64-Bit Server VM warning: Attempt to get process group affinity failed.*\\n", "");
        return new String[] {String.valueOf(p.exitValue()), report};
    }

    private static String line(String report, String key) {
        for (String l : report.split("\n")) {
            if (l.startsWith("  " + key + " ")) {
                return l.substring(key.length() + 2).trim();
            }
        }
        return fail("no line '" + key + "' in:\n" + report);
    }

    @Test
    void reportsThisMachineAndPassesEveryCheck(@TempDir Path dir) throws Exception {
        String entry = "META-INF/native/" + NativeLibrary.platform() + "/";
        try (java.util.jar.JarFile j = new java.util.jar.JarFile(jar().toFile())) {
            // an emulated run (aarch64 under qemu) loads a library given by path beside a host jar
            Assumptions.assumeTrue(j.stream().anyMatch(e -> e.getName().startsWith(entry)),
                    () -> "the jar holds no library for " + NativeLibrary.platform());
        }
        String[] r = run(dir);
        String report = r[1];
        assertEquals("0", r[0], report);
        assertTrue(report.split("\n")[0].matches("rustsocket [0-9][^ ]* self-test"), report);
        assertTrue(line(report, "platform").startsWith(NativeLibrary.platform() + " (os.name "), report);
        assertTrue(line(report, "jar holds").contains(NativeLibrary.platform()), report);
        String library = line(report, "library");
        assertTrue(library.contains("extracted from jar:file:") && library.contains(jar().getFileName().toString()), report);
        assertTrue(line(report, "system").startsWith(System.getProperty("os.name") + " "), report);
        assertTrue(line(report, "java").startsWith(System.getProperty("java.runtime.version")), report);
        assertTrue(report.contains("\n  RustSocket ("), report);
        assertTrue(report.contains("TCP_NODELAY"), report);
        assertTrue(report.contains("  RustServerSocket ("), report);
        assertTrue(report.contains("  RustDatagramSocket ("), report);
        assertTrue(report.contains("  PASS  TCP loopback round trip "), report);
        assertTrue(report.contains("  PASS  UDP loopback round trip "), report);
        assertTrue(report.contains("  PASS  sendFile "), report);
        assertTrue(report.contains("  PASS  datagram batch "), report);
        assertTrue(report.contains(Runtime.version().feature() >= 21 ? "  PASS  virtual-thread round trip "
                : "  SKIP  virtual-thread round trip "), report);
        assertFalse(report.contains("FAIL "), report);
        if (System.getProperty("os.name").startsWith("Linux")) {
            assertEquals("yes (sendfile(2))", line(report, "zero-copy sendFile"), report);
            assertEquals("yes (TCP_INFO)", line(report, "tcpInfo()"), report);
            assertEquals("yes (sendmmsg/recvmmsg)", line(report, "batched UDP system calls"), report);
            assertEquals("epoll" + (Runtime.version().feature() >= 21 ? "" : " (used on JDK 21+; this JVM has no virtual threads)"),
                    line(report, "virtual-thread poller"), report);
            assertTrue(report.contains("  PASS  tcpInfo() "), report);
        }
        assertTrue(report.contains("\nresult: OK ("), report);
        // Enable-Native-Access in the manifest: no warning about the native library on JDK 22+
        assertFalse(report.contains("WARNING"), report);
    }

    @Test
    void libraryThatCannotLoadIsReportedWithExitStatusOne(@TempDir Path dir) throws Exception {
        String missing = "/nonexistent/librustsocket.so";
        String[] r = run(dir, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing);
        String report = r[1];
        assertEquals("1", r[0], report);
        assertEquals("NOT LOADED", line(report, "library"), report);
        assertTrue(report.contains("rustsocket could not load its native library for " + NativeLibrary.platform()), report);
        assertTrue(report.contains(missing), report);
        assertTrue(report.contains("\nresult: FAILED (the native library could not be loaded)"), report);
    }
}
