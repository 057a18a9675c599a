package io.rustsocket;

import java.io.IOException;
import java.net.SocketOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;

/**
 * Telling a user-mode emulator's gaps from our bugs.
 *
 * <p>The linux-aarch64 build is tested on x86_64 machines by an arm64 JVM under qemu-user, which
 * translates each system call for the host kernel. Some socket options it does not translate at
 * all ({@code setsockopt} answers ENOPROTOOPT, "Protocol not available": IP_BIND_ADDRESS_NO_PORT,
 * SO_MARK, SO_BUSY_POLL, SO_INCOMING_CPU, IPV6_MULTICAST_IF, IP_MULTICAST_IF by index), some it
 * translates wrongly (reading SO_BINDTODEVICE of a bound socket answers EINVAL; TCP_CONGESTION
 * passes exactly 4 bytes, so other name lengths fail; an IPv4 membership by interface index
 * answers ENODEV; TCP_INFO comes back 4 bytes long). The JDK's own sockets meet the same answers.
 * A test meeting one of them under an emulator aborts (a JUnit assumption) naming it, after
 * checking what it can; on real hardware the same answer fails the test as before.
 *
 * <p>The emulator is recognised by the kernel's own architecture: qemu-user reports the emulated
 * one as {@code os.arch} but not in {@code /proc/sys/kernel/arch}, which is the host kernel's.
 */
final class Emulation {
    private Emulation() {}

    /** "aarch64 JVM on an x86_64 kernel" under a user-mode emulator; null when native (or unknown). */
    static final String EMULATOR = detect();

    /** The answer qemu-user gives for a socket option it does not translate. */
    static final String NO_OPTION = "Protocol not available";

    /**
     * Options whose getsockopt qemu-user answers ENOPROTOOPT, so that the library's start-up
     * probe rightly leaves them out of supportedOptions() there.
     */
    private static final Set<String> PROBE_REFUSED = Set.of("IP_BIND_ADDRESS_NO_PORT");

    /** Whether {@code o} is missing from supportedOptions() because the emulator refused its probe. */
    static boolean probeRefused(SocketOption<?> o, Set<SocketOption<?>> supported) {
        return EMULATOR != null && PROBE_REFUSED.contains(o.name()) && !supported.contains(o);
    }

    private static String detect() {
        try {
            String kernel = Files.readString(Path.of("/proc/sys/kernel/arch")).trim();
            String jvm = canonical(System.getProperty("os.arch", ""));
            return emulated(jvm, canonical(kernel)) ? jvm + " JVM on an " + kernel + " kernel (qemu-user)" : null;
        } catch (IOException | RuntimeException e) {
            return null; // not Linux, or a kernel without that file: nothing is taken for an emulator
        }
    }

    private static String canonical(String arch) {
        String a = arch.toLowerCase(Locale.ROOT);
        return a.equals("amd64") ? "x86_64" : a.equals("arm64") ? "aarch64" : a;
    }

    /** Whether a JVM for {@code jvm} on a {@code kernel} of another architecture can only be emulated. */
    static boolean emulated(String jvm, String kernel) {
        boolean compat = jvm.equals("x86") && kernel.equals("x86_64") || jvm.equals("arm") && kernel.equals("aarch64");
        return !kernel.isEmpty() && !jvm.isEmpty() && !kernel.equals(jvm) && !compat;
    }

    /**
     * Whether {@code t} is the emulator's answer: under an emulator, exactly a SocketException,
     * UnsupportedOperationException or IllegalArgumentException whose message is one of
     * {@code answers} ({@link #NO_OPTION} when none are given). Always false natively.
     */
    static boolean refused(Throwable t, String... answers) {
        return t != null && refusedText(t.getClass().getName() + ": " + t.getMessage(), answers);
    }

    /** {@link #refused} for a throwable as {@code toString()} printed it (a child JVM's report). */
    static boolean refusedText(String thrown, String... answers) {
        if (EMULATOR == null || thrown == null) {
            return false;
        }
        List<String> expected = answers.length == 0 ? List.of(NO_OPTION) : Arrays.asList(answers);
        // java.net.SocketException, the library's UnsupportedOperationException (ENOPROTOOPT)
        // and IllegalArgumentException (a TCP_CONGESTION name the kernel does not know)
        for (String type : List.of("java.net.SocketException", "java.lang.UnsupportedOperationException",
                "java.lang.IllegalArgumentException")) {
            for (String answer : expected) {
                if (thrown.equals(type + ": " + answer)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Aborts the test when {@code t} is the emulator refusing {@code what}; returns otherwise. */
    static void abortIfRefused(Throwable t, String what, String... answers) {
        if (refused(t, answers)) {
            abort(what + ": " + t);
        }
    }

    /** Aborts the test naming {@code what} the emulator lacks. */
    static void abort(String what) {
        Assumptions.abort("not emulated by " + EMULATOR + ": " + what);
    }

    /**
     * The bytes of {@code struct tcp_info} that the tests read (up to tcpi_delivery_rate, Linux
     * 4.9); every kernel the library supports fills more.
     */
    static final int TCP_INFO_BYTES_READ = 160;

    /** Whether TCP_INFO came back cut short by an emulator (qemu-user copies back 4 bytes). */
    static boolean tcpInfoCutShort(TcpInfo info) {
        return EMULATOR != null && info.kernelBytes() < TCP_INFO_BYTES_READ;
    }

    /** Aborts the test when TCP_INFO came back cut short by an emulator. */
    static void assumeTcpInfo(TcpInfo info) {
        if (tcpInfoCutShort(info)) {
            abort(tcpInfoReason(info));
        }
    }

    static String tcpInfoReason(TcpInfo info) {
        return "TCP_INFO (" + info.kernelBytes() + " bytes copied back, " + TCP_INFO_BYTES_READ + " read)";
    }

    /** A call that may throw anything. */
    interface Call {
        void run() throws Exception;
    }

    /**
     * Parts of a test that the emulator could not run: each {@link #attempt} runs a call, and
     * records it when the emulator refuses it; {@link #abortIfAny} at the end of the test aborts
     * it naming them, so that everything else was still checked.
     */
    static final class Skips {
        private final List<String> skipped = new ArrayList<>();

        /**
         * Runs {@code call}: true if it completed; false if the emulator refused it with one of
         * {@code answers} (recorded); anything else it throws is rethrown.
         */
        boolean attempt(String what, Call call, String... answers) throws Exception {
            try {
                call.run();
                return true;
            } catch (Exception e) {
                if (!refused(e, answers)) {
                    throw e;
                }
                skipped.add(what + " (" + e + ")");
                return false;
            }
        }

        /** Records a part skipped for a reason found otherwise. */
        void add(String what) {
            skipped.add(what);
        }

        /** Aborts the test when anything was skipped. */
        void abortIfAny() {
            if (!skipped.isEmpty()) {
                abort(String.join("; ", skipped));
            }
        }
    }
}
