package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
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

    @Test
    void jarListsThePlatformsItHolds() throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        URL index = NativeLibrary.class.getResource("/" + NativeLibrary.INDEX_RESOURCE);
        assertNotNull(index, NativeLibrary.INDEX_RESOURCE + " is not in the jar");
        try (InputStream in = index.openStream()) {
            List<String> keys = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.startsWith("#") && !l.isBlank()).collect(Collectors.toList());
            assertEquals(List.of(PLATFORM), keys);
        }
        assertEquals(Set.of(PLATFORM), NativeLibrary.bundledPlatforms());
    }

    @Test
    void availabilityApiSaysYesWithoutThrowing() {
        assertTrue(RustSockets.isAvailable());
        assertEquals(null, RustSockets.unavailabilityCause());
        assertNotNull(NativeLibrary.loadedFrom(), "loadedFrom() once loaded");
    }

    /** The library as the jar holds it. */
    private static byte[] bundledLibrary() throws IOException {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(in);
            return in.readAllBytes();
        }
    }

    /**
     * Paths of the librustsocket copies whose code is mapped into this process. (After a failed
     * attempt on a noexec mount, glibc leaves that file's read-only reservation mapped: it is
     * not counted.)
     */
    static List<String> loadedRustsocketLibraries() throws IOException {
        try (Stream<String> lines = Files.lines(Paths.get("/proc/self/maps"))) {
            return lines.map(l -> l.split("\\s+"))
                    .filter(f -> f.length >= 6 && f[5].contains("librustsocket") && f[1].contains("x"))
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
    void unknownPlatformNamesWhatItSawAndWhatTheJarHas(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        // os.arch can be overridden on the command line; the JVM itself does not read it again
        ChildResult r = runChild(dir, List.of("-Dos.arch=riscv64"), "available");
        assertEquals(0, r.exit, r::toString);
        assertEquals(List.of("false"), r.lines("AVAILABLE"), r::toString);
        String cause = r.lines("CAUSE").get(0);
        assertTrue(cause.startsWith("java.lang.UnsatisfiedLinkError|"), cause);
        assertTrue(cause.contains("linux-riscv64 (os.name Linux, os.arch riscv64, C library glibc)"), cause);
        assertTrue(cause.contains("the jar has linux-x86_64"), cause);
        assertTrue(cause.contains("META-INF/native/linux-riscv64/librustsocket.so"), cause);
        // a socket construction throws the same message, and the API keeps answering the same
        assertEquals(List.of(cause.substring(cause.indexOf('|') + 1)), r.lines("SOCKET")
                .stream().map(l -> l.substring(l.indexOf('|') + 1)).distinct().collect(Collectors.toList()), r::toString);
        assertEquals(List.of("same"), r.lines("AGAIN"), r::toString);
    }

    @Test
    void availabilityApiCarriesTheLoadFailure(@TempDir Path dir) throws Exception {
        String path = "/nonexistent/librustsocket.so";
        ChildResult r = runChild(dir, List.of("-D" + PATH_PROPERTY + "=" + path), "available");
        assertEquals(0, r.exit, r::toString);
        assertEquals(List.of("false"), r.lines("AVAILABLE"), r::toString);
        String cause = r.lines("CAUSE").get(0);
        assertTrue(cause.startsWith("java.lang.UnsatisfiedLinkError|rustsocket could not load its native library"), cause);
        assertTrue(cause.contains(path), cause);
        assertEquals(List.of("same"), r.lines("AGAIN"), r::toString);
    }

    // ---------------------------------------------------------------- noexec

    /**
     * Whether this machine can give a child its own mount namespace ({@code unshare -m}, as
     * root): the noexec tests mount a tmpfs there, invisible to everything else.
     */
    private static String mountNamespaceUnavailable() {
        if (!Files.isExecutable(Paths.get("/usr/bin/unshare"))) {
            return "no /usr/bin/unshare";
        }
        try {
            Process p = new ProcessBuilder("/usr/bin/unshare", "-m", "true").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "unshare -m is refused here (not root?): " + out.trim();
            }
            return null;
        } catch (IOException | InterruptedException e) {
            return "unshare -m failed: " + e;
        }
    }

    /**
     * Runs a child JVM in a private mount namespace where {@code noexec} is a fresh tmpfs
     * mounted noexec, holding {@code tmp}, {@code home}, {@code run} and {@code cwd} folders;
     * the child's working directory is {@code noexec/cwd}, and {@code XDG_RUNTIME_DIR} is
     * {@code xdg} ({@code null}: unset).
     */
    private static ChildResult runInNoexecMount(Path dir, Path noexec, String xdg, List<String> jvmArgs,
                                                String... args) throws Exception {
        String unavailable = mountNamespaceUnavailable();
        Assumptions.assumeTrue(unavailable == null, unavailable);
        Files.createDirectories(noexec);
        List<String> options = new ArrayList<>(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + noexec.resolve("tmp"), "-Duser.home=" + noexec.resolve("home")));
        options.addAll(jvmArgs);
        List<String> java = TestSupport.javaCommand(TestSupport.childJava(), options, ChildMain.class, Arrays.asList(args));
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/unshare", "-m", "/bin/sh", "-c",
                "mount -t tmpfs -o noexec,nosuid,nodev,size=64m tmpfs \"$0\" && cd \"$0\""
                        + " && mkdir tmp home run cwd && cd cwd && exec \"$@\"",
                noexec.toString()));
        cmd.addAll(java);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("XDG_CACHE_HOME");
        if (xdg == null) {
            pb.environment().remove("XDG_RUNTIME_DIR");
        } else {
            pb.environment().put("XDG_RUNTIME_DIR", xdg);
        }
        pb.redirectErrorStream(true);
        Path out = Files.createTempFile(dir, "child", ".out");
        pb.redirectOutput(out.toFile());
        return finish(pb.start(), out);
    }

    private static String hashDir() throws Exception {
        return sha256(bundledLibrary()).substring(0, 16);
    }

    @Test
    void noexecTmpdirFallsBackToTheUsersCache(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        Path home = Files.createDirectory(dir.resolve("home"));
        Path noexec = dir.resolve("noexec");
        ChildResult r = runInNoexecMount(dir, noexec, null, List.of("-Duser.home=" + home), "echo");
        assertEquals(0, r.exit, r::toString);
        assertEquals(List.of("OK"), r.lines("ECHO"), r::toString);
        Path expected = home.resolve(".cache/rustsocket").resolve(hashDir()).resolve("librustsocket.so");
        assertEquals(List.of(expected.toString()), r.lines("LIB"), r::toString);
        String from = r.lines("FROM").get(0);
        assertTrue(from.startsWith(expected + " (the user's cache), extracted from jar:"), from);
    }

    @Test
    void workdirPropertyIsTriedFirst(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        Path work = dir.resolve("work/not-yet-made");
        ChildResult r = runInNoexecMount(dir, dir.resolve("noexec"), null,
                List.of("-D" + NativeLibrary.WORKDIR_PROPERTY + "=" + work), "echo");
        assertEquals(0, r.exit, r::toString);
        assertEquals(List.of("OK"), r.lines("ECHO"), r::toString);
        Path expected = work.resolve("rustsocket-" + System.getProperty("user.name")).resolve(hashDir())
                .resolve("librustsocket.so");
        assertEquals(List.of(expected.toString()), r.lines("LIB"), r::toString);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(expected.getParent())));
    }

    @Test
    void everyPlaceNoexecListsEveryAttemptAndNamesTheProperty(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        Path noexec = dir.resolve("noexec");
        ChildResult r = runInNoexecMount(dir, noexec, noexec.resolve("run").toString(),
                List.of("-D" + NativeLibrary.MEMFD_PROPERTY + "=false"), "available");
        assertEquals(0, r.exit, r::toString);
        assertEquals(List.of("false"), r.lines("AVAILABLE"), r::toString);
        String cause = r.lines("CAUSE").get(0);
        String hash = hashDir();
        String user = "rustsocket-" + System.getProperty("user.name");
        List<String> expectedAttempts = List.of(
                "1. " + noexec.resolve("tmp/" + user + "/" + hash + "/librustsocket.so") + " (java.io.tmpdir): ",
                "2. " + noexec.resolve("run/rustsocket/" + hash + "/librustsocket.so") + " ($XDG_RUNTIME_DIR): ",
                "3. " + noexec.resolve("home/.cache/rustsocket/" + hash + "/librustsocket.so") + " (the user's cache): ",
                "4. memory file: off (-D" + NativeLibrary.MEMFD_PROPERTY + "=false)",
                "5. " + noexec.resolve("cwd/" + user + "/" + hash + "/librustsocket.so") + " (the working directory): ");
        for (String attempt : expectedAttempts) {
            assertTrue(cause.contains(attempt), () -> "no attempt '" + attempt + "' in: " + cause);
        }
        assertEquals(4, cause.split("failed to map segment from shared object \\(" + Pattern.quote(noexec.toString())
                + " is mounted noexec\\)", -1).length - 1, cause);
        assertTrue(cause.contains("Set -D" + NativeLibrary.WORKDIR_PROPERTY + "="), cause);
        assertTrue(cause.contains("-D" + PATH_PROPERTY + "="), cause);
    }

    @Test
    void memoryFileLoadsWhenEveryDirectoryIsNoexec(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onLinuxX86(), "the jar holds only the linux-x86_64 library");
        Path noexec = dir.resolve("noexec");
        boolean ffm = Runtime.version().feature() >= 22;
        ChildResult r = runInNoexecMount(dir, noexec, noexec.resolve("run").toString(),
                List.of("--enable-native-access=ALL-UNNAMED"), ffm ? new String[] {"available", "echo"}
                        : new String[] {"available"});
        assertEquals(0, r.exit, r::toString);
        if (!ffm) {
            // no way to call memfd_create from Java before the foreign function API
            assertEquals(List.of("false"), r.lines("AVAILABLE"), r::toString);
            String cause = r.lines("CAUSE").get(0);
            assertTrue(cause.contains("4. memory file: needs JDK 22 or newer to call memfd_create (this is JDK "
                    + Runtime.version().feature() + ")"), cause);
            return;
        }
        assertEquals(List.of("true"), r.lines("AVAILABLE"), r::toString);
        assertEquals(List.of("OK"), r.lines("ECHO"), r::toString);
        assertEquals(List.of("/memfd:librustsocket.so"), r.lines("LIB"), r::toString);
        String from = r.lines("FROM").get(0);
        assertTrue(from.startsWith("memory file librustsocket.so (memfd_create, /proc/self/fd/"), from);
        assertFalse(r.output.contains("WARNING"), () -> "the JVM warned: " + r);
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
     * The main class of the child JVMs; runs each mode given, in order. Modes: {@code load-twice}
     * (three attempts to create a socket, each printed as {@code ATTEMPT class|message}),
     * {@code echo} (an echo over loopback, then the library's mappings and where it came from),
     * {@code panic} (three calls of the test-hooks panic, then an echo), {@code available}
     * (the availability API, and when it says no, two socket constructions and the API again).
     */
    static final class ChildMain {
        private ChildMain() {}

        public static void main(String[] args) throws Exception {
            for (String mode : args) {
                run(mode);
            }
            System.out.flush();
        }

        private static void run(String mode) throws Exception {
            switch (mode) {
                case "available": {
                    boolean available = RustSockets.isAvailable();
                    System.out.println("AVAILABLE " + available);
                    Throwable cause = RustSockets.unavailabilityCause();
                    if (cause != null) {
                        System.out.println("CAUSE " + cause.getClass().getName() + "|" + oneLine(cause.getMessage()));
                        for (int i = 0; i < 2; i++) {
                            try {
                                new RustSocket().close();
                                System.out.println("SOCKET created");
                            } catch (Throwable t) {
                                System.out.println("SOCKET " + t.getClass().getName() + "|" + oneLine(t.getMessage()));
                            }
                        }
                        System.out.println("AGAIN " + (RustSockets.unavailabilityCause() == cause
                                && !RustSockets.isAvailable() ? "same" : "different"));
                    }
                    break;
                }
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
                    throw new IllegalArgumentException("unknown mode " + mode);
            }
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
            System.out.println("FROM " + NativeLibrary.loadedFrom());
        }
    }
}
