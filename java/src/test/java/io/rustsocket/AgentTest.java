package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rustsocket.internal.NativeLibrary;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The library jar as a Java agent: child JVMs run {@link AgentChild}, code that only knows
 * {@code java.net}, with {@code -javaagent:rustsocket.jar}, and report through
 * {@link RustSockets#statistics()} that their traffic went through rustsocket and arrived intact;
 * and the ways installation can fail safely (or, when required, loudly).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AgentTest {
    private static Path work;

    @BeforeAll
    static void makeWorkDir() throws IOException {
        work = Files.createTempDirectory("rustsocket-agent-test");
    }

    @AfterAll
    static void removeWorkDir() {
        ServerProcess.deleteTree(work);
    }

    /** The built jar, passed by the build as -Drustsocket.jar. */
    private static String agentJar() {
        String jar = System.getProperty("rustsocket.jar");
        assertTrue(jar != null && Files.isRegularFile(Paths.get(jar)),
                "-Drustsocket.jar must name the built library jar, got " + jar);
        return jar;
    }

    /** What a child printed and how it ended. */
    static final class Run {
        final int status;
        final Map<String, String> facts = new HashMap<>();
        final String stdout;
        final String stderr;

        Run(int status, String stdout, String stderr) {
            this.status = status;
            this.stdout = stdout;
            this.stderr = stderr;
            for (String line : stdout.split("\\R")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    facts.put(line.substring(0, eq), line.substring(eq + 1).trim());
                }
            }
        }

        long number(String key) {
            String v = facts.get(key);
            assertTrue(v != null, "the child printed no " + key + ":\n" + this);
            return Long.parseLong(v);
        }

        void assertCompleted() {
            assertEquals(0, status, "child failed:\n" + this);
            assertTrue(stdout.contains("DONE"), "child did not finish:\n" + this);
        }

        @Override
        public String toString() {
            return "exit " + status + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    /**
     * Runs {@code java <jvmOptions> -cp <test classpath> AgentChild <args>}; the library path
     * property of this JVM is passed on unless the options set their own.
     */
    static Run child(List<String> jvmOptions, String... args) throws Exception {
        return child(AgentChild.class, jvmOptions, args);
    }

    /** {@link #child(List, String...)} with another main class. */
    static Run child(Class<?> main, List<String> jvmOptions, String... args) throws Exception {
        List<String> options = new ArrayList<>(List.of("-Xmx256m", "--enable-native-access=ALL-UNNAMED"));
        String lib = System.getProperty(NativeLibrary.PATH_PROPERTY);
        boolean ownLib = jvmOptions.stream().anyMatch(o -> o.startsWith("-D" + NativeLibrary.PATH_PROPERTY + "="));
        if (lib != null && !ownLib) {
            options.add("-D" + NativeLibrary.PATH_PROPERTY + "=" + lib);
        }
        options.addAll(jvmOptions);
        List<String> cmd = TestSupport.javaCommand(TestSupport.childJava(), options, main, List.of(args));
        Path out = Files.createTempFile(work, "child", ".out");
        Path err = Files.createTempFile(work, "child", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(150, TimeUnit.SECONDS)) {
            ServerProcess.stop(p);
            throw new AssertionError("child did not finish in 150 s: " + cmd + "\n" + Files.readString(out)
                    + "\n" + Files.readString(err));
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static String agent(String options) {
        return "-javaagent:" + agentJar() + (options.isEmpty() ? "" : "=" + options);
    }

    /** Both directions counted: at least what the application sent, and no more than 2x for framing. */
    private static void assertCounted(Run r, long appBytesRead, long appBytesWritten) {
        long read = r.number("delta.bytesRead");
        long written = r.number("delta.bytesWritten");
        assertTrue(read >= appBytesRead, "bytesRead " + read + " < " + appBytesRead + "\n" + r);
        assertTrue(written >= appBytesWritten, "bytesWritten " + written + " < " + appBytesWritten + "\n" + r);
        assertTrue(read <= 2 * appBytesRead + 65536, "bytesRead " + read + " is far more than was sent\n" + r);
    }

    @Test
    void plainSocketsRunOnRustsocketWithDefaultsAndJmx() throws Exception {
        // the agent's keepIdle default needs TCP_KEEPIDLE
        TestSupport.assumeNotWine(TestSupport.WINE_NO_KEEPALIVE_TRIO);
        Run r = child(List.of(agent("required=true,keepAlive=true,keepIdle=77")), "plain");
        r.assertCompleted();
        assertEquals("true", r.facts.get("installed"), r.toString());
        assertEquals("true", r.facts.get("intact.up"));
        assertEquals("true", r.facts.get("intact.down"));
        assertEquals("true", r.facts.get("intact.ping"));
        // 1 MiB each way between two sockets of this JVM: each side read and wrote it, plus "ping"
        long mib = 1 << 20;
        assertEquals(2 * mib + 4, r.number("delta.bytesRead"), r.toString());
        assertEquals(2 * mib + 4, r.number("delta.bytesWritten"), r.toString());
        assertEquals(2, r.number("delta.connectionsOpened"), r.toString());
        assertEquals(2, r.number("delta.connectionsAccepted"), r.toString());
        // the agent's keepalive defaults reached the client and the accepted socket
        assertEquals("true", r.facts.get("client.keepAlive"));
        assertEquals("77", r.facts.get("client.keepIdle"));
        assertEquals("true", r.facts.get("accepted.keepAlive"));
        assertEquals("77", r.facts.get("accepted.keepIdle"));
        assertEquals("true", r.facts.get("jmx.registered"), r.toString());
        assertEquals(r.facts.get("api.bytesRead"), r.facts.get("jmx.bytesRead"), "MXBean and API differ\n" + r);
        assertFalse(r.stderr.contains("WARNING"), r.toString());
    }

    @Test
    void applicationChoosesItsOwnLogManagerInMainAndTheMBeanStillArrives() throws Exception {
        Run r = child(List.of(agent("")), "logmanager");
        r.assertCompleted();
        // neither the agent nor its MXBean started java.util.logging before main
        assertEquals(AgentChild.OwnLogManager.class.getName(), r.facts.get("logManager"), r.toString());
        assertEquals("true", r.facts.get("installed"), r.toString());
        assertEquals("true", r.facts.get("intact.up"));
        assertEquals("true", r.facts.get("jmx.registered"), r.toString());
        assertEquals(r.facts.get("api.bytesRead"), r.facts.get("jmx.bytesRead"), "MXBean and API differ\n" + r);
    }

    @Test
    void optionsTheApplicationSetsOnItsListenerBeatTheDefaults() throws Exception {
        // the agent's keepIdle default needs TCP_KEEPIDLE
        TestSupport.assumeNotWine(TestSupport.WINE_NO_KEEPALIVE_TRIO);
        Run r = child(List.of(agent("keepAlive=true,keepIdle=600")), "listenerOptions");
        r.assertCompleted();
        assertEquals("true", r.facts.get("installed"), r.toString());
        assertEquals("600", r.facts.get("client.keepIdle"), r.toString());
        // the listener passed on the agent's keepAlive and the application's own keepIdle
        assertEquals("true", r.facts.get("accepted.keepAlive"), r.toString());
        assertEquals("77", r.facts.get("accepted.keepIdle"), r.toString());
    }

    /**
     * A JVM limited to java.base (no java.management for the MXBean, no jdk.net for the JDK's
     * extended options), as a jlink image or {@code --limit-modules java.base} makes it: the
     * agent still installs, the sockets work with the options such a JDK has, and only the
     * MXBean is missing, quietly.
     */
    @Test
    void aJvmWithJavaBaseAloneRunsOnRustsocketWithoutTheMBean() throws Exception {
        Run r = child(AgentBaseChild.class, List.of("--limit-modules=java.base", agent("required=true")));
        r.assertCompleted();
        assertEquals("true", r.facts.get("installed"), r.toString());
        assertEquals("true", r.facts.get("intact"), r.toString());
        assertEquals("true", r.facts.get("nodelay"), r.toString());
        assertTrue(r.number("opened") >= 1, r.toString());
        // the JDK's standard options only: the extended ones live in jdk.net
        assertFalse(r.facts.get("options").contains("TCP_KEEPIDLE"), r.toString());
        assertTrue(r.facts.get("options").contains("SO_KEEPALIVE"), r.toString());
        assertTrue(r.facts.get("mbean").contains("java.management"), r.toString());
        assertFalse(r.stderr.contains("Exception") || r.stderr.contains("Error"), r.toString());
    }

    @Test
    void withoutTheAgentNothingIsInstalled() throws Exception {
        Run r = child(List.of(), "plain");
        r.assertCompleted();
        assertEquals("false", r.facts.get("installed"));
        assertEquals(0, r.number("delta.bytesRead"));
        assertEquals(0, r.number("delta.connectionsOpened"));
        assertEquals("false", r.facts.get("client.keepAlive"));
        assertEquals("false", r.facts.get("jmx.registered"));
    }

    @Test
    void httpUrlConnection() throws Exception {
        Run r = child(List.of(agent("")), "http");
        r.assertCompleted();
        for (String k : List.of("intact.http0", "intact.http1", "intact.http2", "intact.httpProxy", "intact.httpDefault")) {
            assertEquals("true", r.facts.get(k), k + "\n" + r);
        }
        // the client side is ours (the JDK's HttpServer is NIO); 5 requests of 300,000 B, replies of 500,000 B
        assertCounted(r, 5 * 500_000L, 5 * 300_000L);
        assertEquals(1, r.number("httpProxy.connections"), "the connection to the HTTP proxy\n" + r);
        assertTrue(r.number("delta.connectionsOpened") >= 1, r.toString());
        assertEquals(0, r.number("delta.connectionsAccepted"), r.toString());
    }

    @Test
    void jdkSslSocketOverTls() throws Exception {
        Path keystore = work.resolve("tls.p12");
        Files.deleteIfExists(keystore);
        String keytool = Paths.get(TestSupport.childJava()).resolveSibling("keytool").toString();
        Process kt = new ProcessBuilder(keytool, "-genkeypair", "-alias", "server", "-keyalg", "EC",
                "-dname", "CN=localhost", "-ext", "san=ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        String ktOut = new String(kt.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(kt.waitFor(60, TimeUnit.SECONDS) && kt.exitValue() == 0, "keytool failed: " + ktOut);

        Run r = child(List.of(agent("")), "tls", keystore.toString());
        r.assertCompleted();
        assertEquals("true", r.facts.get("intact.tlsUp"), r.toString());
        assertEquals("true", r.facts.get("intact.tlsDown"), r.toString());
        assertTrue(r.facts.get("tls.protocol").startsWith("TLS"), r.toString());
        // both ends are SSLSockets over rustsocket: each side read the other's 256 KiB plus TLS framing
        assertCounted(r, 2 * 256 * 1024L, 2 * 256 * 1024L);
        assertEquals(1, r.number("delta.connectionsOpened"), r.toString());
        assertEquals(1, r.number("delta.connectionsAccepted"), r.toString());
    }

    @Test
    void postgresJdbcWithoutSocketFactory() throws Exception {
        assumeTrue(PostgresServerProcess.binDir().isPresent(), "PostgreSQL is not installed");
        try (PostgresServerProcess pg = PostgresServerProcess.start()) {
            Run r = child(List.of(agent("")), "jdbc", Integer.toString(pg.port()));
            r.assertCompleted();
            assertEquals("true", r.facts.get("intact.jdbc"), r.toString());
            assertTrue(r.facts.get("jdbc.server").startsWith("PostgreSQL"), r.toString());
            // 200 rows of 4,096..4,295 B went in and came back out (bytea travels as hex text: x2)
            long rowBytes = 200 * 4096L;
            assertTrue(r.number("delta.bytesWritten") >= rowBytes, r.toString());
            assertTrue(r.number("delta.bytesRead") >= rowBytes, r.toString());
            assertTrue(r.number("delta.connectionsOpened") >= 1, r.toString());
        }
    }

    @Test
    void nioAndHttpClientAndSocksStayOnTheJdk() throws Exception {
        Run r = child(List.of(agent("")), "uncovered");
        r.assertCompleted();
        assertEquals("true", r.facts.get("installed"));
        assertEquals("true", r.facts.get("intact.nio"));
        assertEquals("true", r.facts.get("intact.httpClient"));
        assertEquals(0, r.number("uncovered.nio.bytes"), r.toString());
        assertEquals(0, r.number("uncovered.httpClient.bytes"), r.toString());
        assertEquals(0, r.number("uncovered.socks.connections"), r.toString());
        assertNotEquals(java.net.Socket.class.getName(), r.facts.get("nio.adaptor"), r.toString());
    }

    @Test
    void attachingToARunningJvmInstallsForNewSockets() throws Exception {
        Run r = child(List.of("-Djdk.attach.allowAttachSelf=true"), "attach", agentJar());
        r.assertCompleted();
        assertEquals("false", r.facts.get("installed"));
        assertEquals("true", r.facts.get("attached.installed"), r.toString());
        // the listener made before the attach is the JDK's
        assertEquals(0, r.number("early.openServerSockets"), r.toString());
        assertEquals("true", r.facts.get("intact.up"));
        assertEquals("true", r.facts.get("client.keepAlive"));
        assertEquals(2 * (1L << 20), r.number("delta.bytesRead"), r.toString());
        assertEquals(1, r.number("delta.connectionsOpened"), r.toString());
    }

    @Test
    void unloadableLibraryWarnsOnceAndRunsOnJdkSockets() throws Exception {
        Path bad = work.resolve("not-a-library.so");
        Files.write(bad, "this is not an ELF file".getBytes(StandardCharsets.US_ASCII));
        Run r = child(List.of(agent(""), "-D" + NativeLibrary.PATH_PROPERTY + "=" + bad), "plain");
        r.assertCompleted();
        assertEquals("false", r.facts.get("installed"));
        assertEquals("true", r.facts.get("intact.up"));
        assertEquals("true", r.facts.get("intact.down"));
        assertEquals(0, r.number("delta.bytesRead"), r.toString());
        assertEquals("false", r.facts.get("jmx.registered"));
        assertEquals(1, count(r.stderr, "rustsocket agent: not installed"), r.toString());
        assertTrue(r.stderr.contains("could not load its native library"), r.toString());
        assertTrue(r.stderr.contains(bad.toString()), r.toString());
    }

    @Test
    void requiredMakesAFailedInstallStopTheJvm() throws Exception {
        Path bad = work.resolve("missing-library.so");
        Run r = child(List.of(agent(""), "-D" + RustSocketAgent.REQUIRED_PROPERTY + "=true",
                "-D" + NativeLibrary.PATH_PROPERTY + "=" + bad), "plain");
        assertEquals(1, r.status, r.toString());
        assertFalse(r.stdout.contains("installed="), "main must not run\n" + r);
        assertFalse(r.stderr.contains("FATAL ERROR"), "a clean exit, not a JVM abort\n" + r);
        assertTrue(r.stderr.contains("rustsocket agent: " + RustSocketAgent.REQUIRED_PROPERTY
                + "=true but rustsocket could not be installed"), r.toString());
        assertTrue(r.stderr.contains("could not load its native library"), r.toString());

        // the agent option says the same
        Run opt = child(List.of(agent("required=true"), "-D" + NativeLibrary.PATH_PROPERTY + "=" + bad), "plain");
        assertEquals(1, opt.status, opt.toString());
        assertFalse(opt.stdout.contains("installed="), opt.toString());
    }

    @Test
    void badOptionsWarnAndTheRestStillApplies() throws Exception {
        Run r = child(List.of(agent("keepIdle=abc,bogus=1,keepAlive=true")), "plain");
        r.assertCompleted();
        assertEquals("true", r.facts.get("installed"));
        assertEquals("true", r.facts.get("client.keepAlive"));
        assertTrue(r.stderr.contains("keepIdle must be a whole number, not 'abc'"), r.toString());
        assertTrue(r.stderr.contains("unknown option 'bogus'"), r.toString());
        // it was installed, so the warning must not say otherwise
        assertEquals(1, count(r.stderr, "rustsocket agent: ignoring bad agent option(s)"), r.toString());
        assertFalse(r.stderr.contains("not installed"), r.toString());

        Run strict = child(List.of(agent("required=true,bogus=1")), "plain");
        assertEquals(1, strict.status, strict.toString());
        assertTrue(strict.stderr.contains("unknown option 'bogus'"), strict.toString());
    }

    @Test
    void anotherFactoryInstalledFirstWinsWithOneWarning() throws Exception {
        Path other = otherAgentJar();
        Run r = child(List.of("--add-opens", "java.base/java.net=ALL-UNNAMED",
                "-javaagent:" + other, agent("")), "preinstalled");
        r.assertCompleted();
        assertEquals("false", r.facts.get("installed"), r.toString());
        assertEquals("true", r.facts.get("intact.up"));
        assertEquals("true", r.facts.get("intact.down"));
        assertEquals(0, r.number("delta.bytesRead"), r.toString());
        assertEquals(1, count(r.stderr, "rustsocket agent: not installed"), r.toString());
        assertTrue(r.stderr.contains("java.net.Socket already has a socket implementation factory"), r.toString());
        // the API says the same, as an exception
        assertTrue(r.facts.get("install").contains("java.net.Socket already has a socket implementation factory")
                && r.facts.get("install").contains("nothing was installed"), r.toString());
    }

    @Test
    void anotherServerSocketFactoryAloneStillMeansNothingIsInstalled() throws Exception {
        Path other = otherAgentJar();
        Run r = child(List.of("--add-opens", "java.base/java.net=ALL-UNNAMED",
                "-javaagent:" + other + "=server", agent("")), "preinstalled");
        r.assertCompleted();
        assertEquals("false", r.facts.get("installed"), r.toString());
        assertEquals("true", r.facts.get("intact.up"));
        assertEquals("true", r.facts.get("intact.down"));
        // not half-installed: the client sockets stayed on the JDK too
        assertEquals(0, r.number("delta.connectionsOpened"), r.toString());
        assertEquals(0, r.number("delta.bytesRead"), r.toString());
        assertEquals(0, r.number("delta.bytesWritten"), r.toString());
        assertEquals(1, count(r.stderr, "rustsocket agent: not installed"), r.toString());
        assertEquals(1, count(r.stderr, "WARNING"), r.toString());
        assertTrue(r.stderr.contains("java.net.ServerSocket already has a socket implementation factory"), r.toString());
        assertTrue(r.facts.get("install").contains("java.net.ServerSocket already has a socket implementation factory")
                && r.facts.get("install").contains("nothing was installed"), r.toString());
    }

    /** A jar whose Premain-Class is {@link AgentChild.OtherFactoryAgent}. */
    private static Path otherAgentJar() throws IOException {
        Path other = work.resolve("other-agent.jar");
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(new Attributes.Name("Premain-Class"), AgentChild.OtherFactoryAgent.class.getName());
        try (OutputStream os = Files.newOutputStream(other); JarOutputStream jar = new JarOutputStream(os, m)) {
            jar.flush(); // the class itself comes from the class path
        }
        return other;
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
