package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.internal.NativeLibrary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reads and writes of 16 KiB and more let the kernel copy straight between the socket and the
 * caller's array, which the native side pins for that one non-blocking system call. While an
 * array is pinned, the garbage collector must neither move it nor free it, and a collection
 * must still be able to run once it is released: G1 on JDK 17-21, Parallel and ZGC hold off
 * collections meanwhile; Shenandoah, and G1 from JDK 22 on, pin the array's region. Each row
 * runs {@link PinnedTransferChild} in a child JVM with one collector, its heap churned and
 * {@code System.gc()} called every 20 ms, on platform threads (blocking and timed reads) and on
 * virtual threads (non-blocking descriptors, parked in the poller), and needs every byte to
 * arrive intact. Under {@code gradle junitCheckJni} the children run with {@code -Xcheck:jni},
 * which also copies each pinned array between guard bytes and reports writes past its end.
 */
class PinnedTransferTest {
    private static final double SECONDS = 1.5;
    private static final int CONNECTIONS = 2;

    static Stream<Arguments> collectors() {
        List<Arguments> rows = new ArrayList<>();
        for (String gc : List.of("G1GC", "ParallelGC", "ZGC", "ShenandoahGC")) {
            rows.add(Arguments.of(gc, "platform"));
            rows.add(Arguments.of(gc, "virtual"));
        }
        return rows.stream();
    }

    @ParameterizedTest(name = "{0}, {1} threads")
    @MethodSource("collectors")
    void bytesArriveIntactWhileTheHeapChurns(String gc, String threads) throws Exception {
        String java;
        if (threads.equals("virtual")) {
            java = VirtualThreadsChildRun.virtualThreadJava();
            Assumptions.assumeTrue(java != null, "no JDK 21+ for virtual threads on this machine");
        } else {
            java = TestSupport.childJava();
        }
        Assumptions.assumeTrue(hasCollector(java, gc), java + " has no -XX:+Use" + gc);
        List<String> options = new ArrayList<>(List.of("-Xmx256m", "-XX:+Use" + gc, "--enable-native-access=ALL-UNNAMED"));
        String lib = System.getProperty(NativeLibrary.PATH_PROPERTY);
        if (lib != null) {
            options.add("-D" + NativeLibrary.PATH_PROPERTY + "=" + lib);
        }
        List<String> cmd = TestSupport.javaCommand(java, options, PinnedTransferChild.class,
                List.of(Double.toString(SECONDS), threads, Integer.toString(CONNECTIONS)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Process p = pb.start();
        p.getOutputStream().close();
        FutureTask<byte[]> output = TestSupport.async("child-output", () -> p.getInputStream().readAllBytes());
        boolean ended = p.waitFor(180, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        String text = new String(TestSupport.await(output, 10_000), StandardCharsets.UTF_8);
        assertTrue(ended, "child JVM still running: " + text);
        assertEquals(0, p.exitValue(), "child JVM (" + String.join(" ", cmd) + ") said:\n" + text);
        Matcher m = Pattern.compile("transferred (\\d+) bytes").matcher(text);
        assertTrue(m.find(), text);
        assertTrue(Long.parseLong(m.group(1)) >= CONNECTIONS * PinnedTransferChild.MIN_BYTES, text);
        System.out.println(gc + ", " + threads + ": " + text.trim());
    }

    /** Whether {@code java} starts with {@code -XX:+Use<gc>} (a JDK may be built without some). */
    private static boolean hasCollector(String java, String gc) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(java, "-XX:+Use" + gc, "-version").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
}
