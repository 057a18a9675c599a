package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.VirtualThreadChecks.Op;
import io.rustsocket.internal.Descriptors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sockets on virtual threads (JDK 21+): a blocking read, write, accept or connect must park the
 * virtual thread, never block its carrier; close, timeouts and interrupts must reach a parked
 * virtual thread with the JDK's exceptions; descriptors and bytes must come through intact.
 * Every check runs for both engines: the JDK row proves the expectation is the JDK's own.
 *
 * <p>Where the checks run: on a JVM with virtual threads, in this JVM; on an older one (the
 * suite also runs on JDK 17), all of them in one child JVM of JDK 21+ ({@code -Drustsocket.vtJava},
 * else Temurin 25, else any JDK 21+ under /usr/lib/jvm), whose results the test methods report
 * one by one. The carrier-starvation checks always run in a child JVM, because the scheduler's
 * size is fixed at start-up: {@code parallelism=2, maxPoolSize=2}, so two carriers blocked in
 * native code would starve every other virtual thread, and the JDK may not add carriers to
 * compensate. A starved check fails after a bounded wait; nothing here can hang.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
// a backstop only: every wait inside is bounded, and so is a child JVM's run (see VirtualThreadsChildRun.run)
@Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VirtualThreadsTest {
    static Stream<Arguments> enginesAndOps() {
        return Stream.of(Engine.values()).flatMap(e -> Stream.of(Op.values()).map(op -> Arguments.of(e, op)));
    }

    // ------------------------------------------------------------------ in-process baseline

    private static DescriptorBaseline baseline;
    private static Map<String, Integer> baselineFdTargets;
    // a failed warm-up fails the descriptor test only; every check then reports its own failure
    private static Throwable warmUpFailure;

    @BeforeAll
    static void warmUpAndTakeBaseline() {
        if (Virtual.AVAILABLE) {
            try {
                VirtualThreadChecks.warmUp();
            } catch (Exception | AssertionError e) {
                warmUpFailure = e;
            }
            baseline = DescriptorBaseline.now();
            baselineFdTargets = VirtualThreadChecks.fdTargets();
        }
    }

    // ------------------------------------------------------------------ carrier starvation (child JVM)

    @Order(1)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void thousandReadersParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        VirtualThreadsChildRun.starved().assertPassed(VirtualThreadChecks.STARVE_READ, engine);
    }

    @Order(2)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void acceptorsParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        VirtualThreadsChildRun.starved().assertPassed(VirtualThreadChecks.STARVE_ACCEPT, engine);
    }

    @Order(3)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void connectorsToAFullBacklogParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        VirtualThreadsChildRun.starved().assertPassed(VirtualThreadChecks.STARVE_CONNECT, engine);
    }

    @Order(4)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void writersToAPeerThatDoesNotReadParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        VirtualThreadsChildRun.starved().assertPassed(VirtualThreadChecks.STARVE_WRITE, engine);
    }

    @Order(5)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void thousandReadersOnUnixSocketsParkWhileAnEchoAndACpuTaskRun(Engine engine) {
        TestSupport.assumeUnixSockets();
        VirtualThreadsChildRun.starved().assertPassed(VirtualThreadChecks.STARVE_READ_UNIX, engine);
    }

    // ------------------------------------------------------------------ close, timeouts, interrupts

    @Order(10)
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("enginesAndOps")
    void closeWakesAParkedVirtualThread(Engine engine, Op op) throws Exception {
        check("close-" + op, engine);
    }

    @Order(11)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void readTimesOutWhileParkedAndTheSocketStaysUsable(Engine engine) throws Exception {
        check(VirtualThreadChecks.TIMEOUT_READ, engine);
    }

    @Order(12)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void acceptTimesOutWhileParkedAndTheListenerStaysUsable(Engine engine) throws Exception {
        check(VirtualThreadChecks.TIMEOUT_ACCEPT, engine);
    }

    @Order(13)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void connectToAFullBacklogTimesOutWhileParked(Engine engine) throws Exception {
        check(VirtualThreadChecks.TIMEOUT_CONNECT, engine);
    }

    @Order(14)
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("enginesAndOps")
    void interruptClosesTheSocketOfAParkedVirtualThread(Engine engine, Op op) throws Exception {
        check("interrupt-" + op, engine);
    }

    @Order(15)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void aVirtualThreadInterruptedBeforeItReadsReadsWhatIsThereThenClosesByInterrupt(Engine engine)
            throws Exception {
        check(VirtualThreadChecks.PRE_INTERRUPTED_READ, engine);
    }

    @Order(16)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Engine.class)
    void twoHundredVirtualThreadClientsEchoRandomBytesIntact(Engine engine) throws Exception {
        check(VirtualThreadChecks.ECHO_BYTES, engine);
    }

    static Stream<Arguments> enginesAndShortReads() {
        return Stream.of(Engine.values()).flatMap(e -> ShortReadChecks.ALL.stream().map(c -> Arguments.of(e, c)));
    }

    @Order(17)
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("enginesAndShortReads")
    void aReadAfterOneThatEmptiedTheSocketGetsWhatCameSince(Engine engine, String check) throws Exception {
        check(check, engine);
    }

    // ------------------------------------------------------------------ descriptors

    /**
     * After everything above: the library's count of open descriptors and the process's
     * /proc/self/fd are back to their baseline (taken after a warm-up that started every poller),
     * here when the checks ran in this JVM, and in every child JVM that ran.
     */
    @Order(100)
    @Test
    void descriptorsBackToBaseline() throws Exception {
        List<String> problems = new ArrayList<>();
        if (warmUpFailure != null) {
            problems.add("this JVM: the warm-up before the baseline failed: " + TestSupport.traceOf(warmUpFailure));
        } else if (Virtual.AVAILABLE) {
            // Other test classes of the suite may leave sockets for the GC in this JVM, whose
            // cleanup can only lower the counts: in-process, at most the baseline.
            boolean back = baseline.back();
            if (!back) {
                problems.add("this JVM: Descriptors.openCount() " + Descriptors.openCount() + " (baseline "
                        + baseline.library + "), /proc/self/fd " + TestSupport.processFdCount() + " (baseline "
                        + baseline.process + "); new: "
                        + VirtualThreadChecks.fdDiff(baselineFdTargets, VirtualThreadChecks.fdTargets()));
            }
        }
        boolean anyChild = false;
        for (VirtualThreadsChildRun run : VirtualThreadsChildRun.started()) {
            anyChild = true;
            try {
                run.assertPassed(VirtualThreadChecks.DESCRIPTORS, null);
            } catch (AssertionError e) {
                problems.add(e.getMessage());
            }
        }
        Assumptions.assumeTrue(Virtual.AVAILABLE || anyChild, "no virtual-thread check ran");
        assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
    }

    // ------------------------------------------------------------------ dispatch

    /** Runs a check here if this JVM has virtual threads, else reports its result from the child JVM. */
    private static void check(String name, Engine engine) throws Exception {
        if (Virtual.AVAILABLE) {
            VirtualThreadChecks.run(name, engine);
        } else {
            VirtualThreadsChildRun.plain().assertPassed(name, engine);
        }
    }
}
