package io.rustsocket;

import io.rustsocket.internal.Descriptors;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The child JVM of {@link VirtualThreadsTest}, on a JDK with virtual threads: runs the checks
 * named on the command line ({@code name:ENGINE}), each on a platform thread with a watchdog,
 * then checks that the library's descriptor count and /proc/self/fd are back to the baseline
 * taken after a warm-up. Reports one line per check on stdout:
 * {@code VT-PASS name:ENGINE millis} or {@code VT-FAIL name:ENGINE base64(stack trace)};
 * the descriptor check reports as {@code descriptors}. Exits 0 once everything has reported.
 */
public final class VirtualThreadsChild {
    static final String PASS = "VT-PASS ";
    static final String FAIL = "VT-FAIL ";

    private VirtualThreadsChild() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(out);
        if (!Virtual.AVAILABLE) {
            out.println("no virtual threads on " + Runtime.version());
            System.exit(2);
        }
        out.println("VT-INFO child on " + Runtime.version() + ", scheduler parallelism "
                + System.getProperty("jdk.virtualThreadScheduler.parallelism", "default") + ", maxPoolSize "
                + System.getProperty("jdk.virtualThreadScheduler.maxPoolSize", "default"));
        boolean warm = report(out, "warm-up", VirtualThreadChecks::warmUp);
        int baseOpen = Descriptors.openCount();
        int baseFds = TestSupport.processFdCount();
        Map<String, Integer> baseTargets = VirtualThreadChecks.fdTargets();
        for (String arg : args) {
            int colon = arg.indexOf(':');
            String name = arg.substring(0, colon);
            Engine engine = Engine.valueOf(arg.substring(colon + 1));
            report(out, arg, () -> VirtualThreadChecks.run(name, engine));
        }
        report(out, VirtualThreadChecks.DESCRIPTORS, () -> {
            if (!warm) {
                throw new AssertionError("the warm-up failed, so there is no baseline");
            }
            boolean back = TestSupport.eventually(() -> Descriptors.openCount() == baseOpen
                    && TestSupport.processFdCount() == baseFds);
            if (!back) {
                throw new AssertionError("descriptors not back to baseline: Descriptors.openCount() "
                        + Descriptors.openCount() + " (baseline " + baseOpen + "), /proc/self/fd "
                        + TestSupport.processFdCount() + " (baseline " + baseFds + "); by target, now minus baseline: "
                        + VirtualThreadChecks.fdDiff(baseTargets, VirtualThreadChecks.fdTargets()));
            }
            out.println("VT-INFO descriptors back to baseline: " + baseOpen + " library, " + baseFds + " process");
        });
        out.flush();
        System.exit(0);
    }

    /** A check's body. */
    private interface Body {
        void run() throws Exception;
    }

    /** Runs body on a daemon platform thread, at most {@link VirtualThreadsTest.ChildRun#CHECK_LIMIT_MS}; prints the result. */
    private static boolean report(PrintStream out, String key, Body body) throws InterruptedException {
        long start = System.nanoTime();
        FutureTask<Void> f = TestSupport.async("check " + key, () -> {
            body.run();
            return null;
        });
        Throwable failure = null;
        try {
            f.get(VirtualThreadsChildRun.CHECK_LIMIT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            failure = e.getCause();
        } catch (TimeoutException e) {
            failure = new AssertionError(key + " did not end within " + VirtualThreadsChildRun.CHECK_LIMIT_MS + " ms");
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (failure == null) {
            out.println(PASS + key + " " + millis);
            return true;
        }
        String trace = TestSupport.traceOf(failure);
        out.println("VT-INFO " + key + " FAILED after " + millis + " ms: " + failure);
        out.println(FAIL + key + " " + Base64.getEncoder().encodeToString(trace.getBytes(StandardCharsets.UTF_8)));
        return false;
    }
}
