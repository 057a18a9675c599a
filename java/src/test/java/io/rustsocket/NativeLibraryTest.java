package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rustsocket.internal.Descriptors;
import io.rustsocket.internal.NativeLibrary;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading the native library: from the jar, from an explicit path, failures, several JVMs
 * extracting at once, and a Rust panic surfacing as a Java error. Most cases need a fresh JVM,
 * so they run {@link ChildMain} in child processes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NativeLibraryTest {
    private static final String PLATFORM = "linux-x86_64";
    private static final String RESOURCE = "/META-INF/native/" + PLATFORM + "/librustsocket.so";
    private static final String PATH_PROPERTY = "io.rustsocket.library.path";
    private static final String HOOKS_PROPERTY = "rustsocket.testHooksLibrary";

    private static boolean onLinuxX86() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        return os.startsWith("linux") && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    // ---------------------------------------------------------------- this JVM

    @Test
    void platformKeyIsLinuxX8664() {
        Assumptions.assumeTrue(onLinuxX86(), "not linux x86_64");
        assertEquals(PLATFORM, NativeLibrary.platform());
    }

    @Test
    void classesAndLibraryComeFromTheJar() throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        URL resource = NativeLibrary.class.getResource(RESOURCE);
        assertNotNull(resource, RESOURCE + " is not on the classpath");
        assertEquals("jar", resource.getProtocol(), resource::toString);

        Path jar = codeSource(NativeLibrary.class);
        assertTrue(jar.toString().endsWith(".jar"), () -> "NativeLibrary was loaded from " + jar);
        assertEquals(jar, codeSource(Descriptors.class));
        assertEquals(jar, codeSource(RustSocket.class));
        // the library resource lives in that same jar
        java.net.JarURLConnection conn = (java.net.JarURLConnection) resource.openConnection();
        assertEquals(jar, Paths.get(conn.getJarFileURL().toURI()), () -> resource + " is not in " + jar);
    }

    private static Path codeSource(Class<?> c) throws URISyntaxException {
        return Paths.get(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void libraryExtractedFromTheJarIsTheOneLoaded() throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        Assumptions.assumeTrue(System.getProperty(PATH_PROPERTY) == null,
                "-D" + PATH_PROPERTY + " is set, so this JVM does not load from the jar");
        new RustSocket().close();
        byte[] bundled = bundledLibrary();
        String hash = sha256(bundled);
        Path expected = Paths.get(System.getProperty("java.io.tmpdir"), "rustsocket-" + System.getProperty("user.name"),
                hash.substring(0, 16), "librustsocket.so");
        List<String> loaded = loadedRustsocketLibraries();
        assertEquals(List.of(expected.toString()), loaded);
        assertArrayEquals(bundled, Files.readAllBytes(expected));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(expected.getParent())));
    }

    @Test
    void shippedLibraryHasNoTestHooks() throws Exception {
        Assumptions.assumeTrue(System.getProperty(PATH_PROPERTY) == null,
                "-D" + PATH_PROPERTY + " is set, so this JVM does not use the shipped library");
        new RustSocket().close();
        Method m = Class.forName("io.rustsocket.internal.Native").getDeclaredMethod("panicForTest");
        m.setAccessible(true);
        InvocationTargetException e = org.junit.jupiter.api.Assertions.assertThrows(InvocationTargetException.class,
                () -> m.invoke(null));
        assertSame(UnsatisfiedLinkError.class, e.getCause().getClass(), () -> "got " + e.getCause());
    }

    /** The library as the jar holds it. */
    private static byte[] bundledLibrary() throws IOException {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(in);
            return in.readAllBytes();
        }
    }

    /** Paths of the librustsocket copies mapped into this process. */
    static List<String> loadedRustsocketLibraries() throws IOException {
        try (Stream<String> lines = Files.lines(Paths.get("/proc/self/maps"))) {
            return lines.map(l -> l.split("\\s+"))
                    .filter(f -> f.length >= 6 && f[5].contains("librustsocket"))
                    .map(f -> f[5])
                    .distinct()
                    .collect(Collectors.toList());
        }
    }

    static String sha256(byte[] data) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (byte b : MessageDigest.getInstance("SHA-256").digest(data)) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- child JVMs

    /** The finished child: exit code and everything it printed. */
    private static final class ChildResult {
        final int exit;
        final String output;

        ChildResult(int exit, String output) {
            this.exit = exit;
            this.output = output;
        }

        /** Lines the child printed starting with {@code prefix + " "}, without the prefix. */
        List<String> lines(String prefix) {
            List<String> found = new ArrayList<>();
            for (String line : output.split("\\R")) {
                if (line.startsWith(prefix + " ")) {
                    found.add(line.substring(prefix.length() + 1));
                }
            }
            return found;
        }

        @Override
        public String toString() {
            return "exit " + exit + ", output:\n" + output;
        }
    }

    private static Process startChild(Path outputFile, List<String> jvmArgs, String... args) throws IOException {
        List<String> options = new ArrayList<>(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        options.addAll(jvmArgs);
        List<String> cmd = TestSupport.javaCommand(TestSupport.childJava(), options, ChildMain.class,
                Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.redirectErrorStream(true);
        pb.redirectOutput(outputFile.toFile());
        return pb.start();
    }

    private static ChildResult finish(Process p, Path outputFile) throws Exception {
        if (!p.waitFor(40, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
            fail("child JVM did not finish in 40 s:\n" + Files.readString(outputFile));
        }
        return new ChildResult(p.exitValue(), Files.readString(outputFile));
    }

    private static ChildResult runChild(Path dir, List<String> jvmArgs, String... args) throws Exception {
        Path out = Files.createTempFile(dir, "child", ".out");
        ChildResult r = finish(startChild(out, jvmArgs, args), out);
        // Wine lets go of a finished child's files a moment after it exits: the temporary
        // directory is removed only if the file can be
        for (int attempt = 1; ; attempt++) {
            try {
                Files.deleteIfExists(out);
                break;
            } catch (java.nio.file.FileSystemException busy) {
                if (attempt == 50) {
                    throw busy;
                }
                Thread.sleep(20);
            }
        }
        return r;
    }

    /**
     * Runs a child JVM told to load the library from {@code path}, which makes three attempts to
     * create a socket; returns what each attempt printed, once the child exited normally.
     */
    private static List<String> loadAttempts(Path dir, String path) throws Exception {
        ChildResult r = runChild(dir, List.of("-D" + PATH_PROPERTY + "=" + path), "load-twice");
        assertEquals(0, r.exit, r::toString);
        List<String> attempts = r.lines("ATTEMPT");
        assertEquals(3, attempts.size(), r::toString);
        return attempts;
    }

    @Test
    void missingLibraryIsAClearUnsatisfiedLinkErrorEveryTime(@TempDir Path dir) throws Exception {
        // absolute on every system
        String path = dir.resolve("nonexistent").resolve(System.mapLibraryName("rustsocket")).toString();
        List<String> attempts = loadAttempts(dir, path);
        for (String a : attempts) {
            assertTrue(a.startsWith("java.lang.UnsatisfiedLinkError|"), () -> "not an UnsatisfiedLinkError: " + a);
            assertTrue(a.contains(NativeLibrary.platform()), () -> "does not name the platform: " + a);
            assertTrue(a.contains(path), () -> "does not name the path tried: " + a);
        }
        // the second and third attempts report the same clear error, not a NoClassDefFoundError
        assertEquals(attempts.get(0), attempts.get(1));
        assertEquals(attempts.get(0), attempts.get(2));
    }

    @Test
    void relativeLibraryPathIsRefused(@TempDir Path dir) throws Exception {
        String relative = "build/librustsocket.so";
        List<String> attempts = loadAttempts(dir, relative);
        String first = attempts.get(0);
        assertTrue(first.startsWith("java.lang.UnsatisfiedLinkError|"), first);
        assertTrue(first.contains(PATH_PROPERTY + " must be an absolute path: " + relative), first);
        assertTrue(first.contains(NativeLibrary.platform()), first);
        assertEquals(first, attempts.get(1));
    }

    @Test
    void fourJvmsExtractAndLoadAtOnce(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        Path tmp = Files.createDirectory(dir.resolve("fresh-tmp"));
        List<Process> children = new ArrayList<>();
        List<Path> outputs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Path out = dir.resolve("child" + i + ".out");
            outputs.add(out);
            children.add(startChild(out, List.of("-Djava.io.tmpdir=" + tmp), "echo"));
        }
        List<ChildResult> results = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            results.add(finish(children.get(i), outputs.get(i)));
        }
        byte[] bundled = bundledLibrary();
        Path expected = tmp.resolve("rustsocket-" + System.getProperty("user.name"))
                .resolve(sha256(bundled).substring(0, 16)).resolve("librustsocket.so");
        for (ChildResult r : results) {
            assertEquals(0, r.exit, r::toString);
            assertEquals(List.of("OK"), r.lines("ECHO"), r::toString);
            assertEquals(List.of(expected.toString()), r.lines("LIB"), r::toString);
        }
        assertArrayEquals(bundled, Files.readAllBytes(expected));
        try (Stream<Path> files = Files.list(expected.getParent())) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
            assertEquals(List.of("librustsocket.so"), names, "temporary files left behind");
        }
    }

    @Test
    void panicInRustIsAJavaErrorAndTheJvmCarriesOn(@TempDir Path dir) throws Exception {
        String hooks = System.getProperty(HOOKS_PROPERTY);
        Assumptions.assumeTrue(hooks != null && !hooks.isEmpty(),
                "-D" + HOOKS_PROPERTY + " is not set (build it: cargo build --release --features test-hooks"
                        + " --target-dir target/test-hooks)");
        Path lib = Paths.get(hooks).toAbsolutePath();
        Assumptions.assumeTrue(Files.isRegularFile(lib), () -> HOOKS_PROPERTY + " names no file: " + lib);
        ChildResult r = runChild(dir, List.of("-D" + PATH_PROPERTY + "=" + lib), "panic");
        assertEquals(0, r.exit, r::toString);
        List<String> panics = r.lines("PANIC");
        assertEquals(3, panics.size(), r::toString);
        for (String p : panics) {
            assertTrue(p.startsWith("java.lang.Error|"), () -> "not exactly java.lang.Error: " + p);
            assertTrue(p.contains("deliberate panic"), p);
        }
        assertEquals(List.of("OK"), r.lines("ECHO"), r::toString);
        if (TestSupport.LINUX) { // the mapped libraries are read from /proc/self/maps
            assertEquals(List.of(lib.toString()), r.lines("LIB"), r::toString);
        }
    }

    // ---------------------------------------------------------------- the child

    /**
     * The main class of the child JVMs. Modes: {@code load-twice} (three attempts to create a
     * socket, each printed as {@code ATTEMPT class|message}), {@code echo} (an echo over
     * loopback), {@code panic} (three calls of the test-hooks panic, then an echo).
     */
    static final class ChildMain {
        private ChildMain() {}

        public static void main(String[] args) throws Exception {
            switch (args[0]) {
                case "load-twice":
                    for (int i = 0; i < 3; i++) {
                        try {
                            if (i < 2) {
                                new RustSocket().close();
                            } else {
                                new RustServerSocket().close();
                            }
                            System.out.println("ATTEMPT loaded");
                        } catch (Throwable t) {
                            System.out.println("ATTEMPT " + t.getClass().getName() + "|" + oneLine(t.getMessage()));
                        }
                    }
                    break;
                case "echo":
                    echo();
                    break;
                case "panic":
                    new RustSocket().close();
                    Method m = Class.forName("io.rustsocket.internal.Native").getDeclaredMethod("panicForTest");
                    m.setAccessible(true);
                    for (int i = 0; i < 3; i++) {
                        try {
                            Object v = m.invoke(null);
                            System.out.println("PANIC returned " + v);
                        } catch (InvocationTargetException e) {
                            Throwable t = e.getCause();
                            System.out.println("PANIC " + t.getClass().getName() + "|" + oneLine(t.getMessage()));
                        }
                    }
                    echo();
                    break;
                default:
                    throw new IllegalArgumentException("unknown mode " + args[0]);
            }
            System.out.flush();
        }

        private static String oneLine(String s) {
            return s == null ? "null" : s.replace('\n', ' ').replace('\r', ' ');
        }

        private static void echo() throws Exception {
            InetAddress loopback = InetAddress.getLoopbackAddress();
            byte[] data = TestSupport.randomBytes(256 * 1024);
            try (ServerSocket server = new RustServerSocket(0, 50, loopback)) {
                Thread t = new Thread(() -> {
                    try (Socket s = server.accept()) {
                        s.setSoTimeout(10_000);
                        TestSupport.copyUntilEof(s.getInputStream(), s.getOutputStream(), 8192);
                    } catch (IOException e) {
                        e.printStackTrace();
                    }
                });
                t.setDaemon(true);
                t.start();
                try (Socket c = new RustSocket(loopback, server.getLocalPort())) {
                    c.setSoTimeout(10_000);
                    Thread writer = new Thread(() -> {
                        try {
                            c.getOutputStream().write(data);
                            c.shutdownOutput();
                        } catch (IOException e) {
                            e.printStackTrace();
                        }
                    });
                    writer.start();
                    byte[] back = c.getInputStream().readAllBytes();
                    writer.join(10_000);
                    if (!Arrays.equals(data, back)) {
                        throw new AssertionError("echo corrupted: " + back.length + " bytes back");
                    }
                }
                t.join(10_000);
            }
            System.out.println("ECHO OK");
            for (String lib : loadedRustsocketLibraries()) {
                System.out.println("LIB " + lib);
            }
        }
    }
}
