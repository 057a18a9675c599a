package io.rustsocket.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What a benchmark phase cost the process, beyond its wall time (Linux only; elsewhere every
 * figure is absent): round-trip latency percentiles, CPU time and context switches per kind of
 * thread (from /proc/self/task), and, with {@code perf} and tracefs available, system calls by
 * name (a {@code perf stat} attached to this process for the phase).
 */
final class ProcessCounters {
    /** The system calls counted one by one; the total counts every system call. */
    static final List<String> SYSCALLS = List.of("read", "write", "recvfrom", "recvmsg", "sendto", "epoll_wait",
            "epoll_pwait", "epoll_ctl", "futex", "poll", "ppoll", "sched_yield", "ioctl", "fcntl", "mprotect", "madvise");

    private ProcessCounters() {}

    // ------------------------------------------------------------------ latency

    /** p50 and p99 (in microseconds) of all samples of all arrays; the arrays are sorted in place. */
    static double[] percentilesMicros(List<long[]> samples) {
        int total = 0;
        for (long[] s : samples) {
            total += s.length;
        }
        long[] all = new long[total];
        int at = 0;
        for (long[] s : samples) {
            System.arraycopy(s, 0, all, at, s.length);
            at += s.length;
        }
        if (total == 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        Arrays.sort(all);
        return new double[] {all[(int) (total * 0.50)] / 1e3, all[Math.min(total - 1, (int) (total * 0.99))] / 1e3};
    }

    // ------------------------------------------------------------------ threads

    /**
     * Per kind of thread (its name as the kernel keeps it, digits dropped, so the carriers
     * {@code ForkJoinPool-1-worker-3} are one kind): {voluntary switches, involuntary switches,
     * CPU ticks}.
     */
    static Map<String, long[]> threadSnapshot() {
        Map<String, long[]> out = new TreeMap<>();
        Path tasks = Paths.get("/proc/self/task");
        if (!Files.isDirectory(tasks)) {
            return out;
        }
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(tasks)) {
            for (Path t : dir) {
                try {
                    String comm = new String(Files.readAllBytes(t.resolve("comm")), StandardCharsets.UTF_8).trim()
                            .replaceAll("[0-9]+", "#");
                    long vol = 0;
                    long invol = 0;
                    for (String line : Files.readAllLines(t.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches:")) {
                            vol = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                            invol = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                    String stat = new String(Files.readAllBytes(t.resolve("stat")), StandardCharsets.UTF_8);
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime + stime
                    long[] sum = out.computeIfAbsent(comm, k -> new long[3]);
                    sum[0] += vol;
                    sum[1] += invol;
                    sum[2] += ticks;
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return out;
    }

    /** {@code after - before} per kind of thread; threads that ended in between are not counted. */
    static Map<String, long[]> threadDelta(Map<String, long[]> before, Map<String, long[]> after) {
        Map<String, long[]> out = new TreeMap<>();
        after.forEach((k, a) -> {
            long[] b = before.getOrDefault(k, new long[3]);
            long[] d = {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
            if (d[0] != 0 || d[1] != 0 || d[2] != 0) {
                out.put(k, d);
            }
        });
        return out;
    }

    /** One line per kind of thread: switches and CPU milliseconds per 1,000 messages. */
    static String describeThreads(Map<String, long[]> delta, long messages) {
        StringBuilder sb = new StringBuilder();
        double per = 1000.0 / messages;
        double msPerTick = 1000.0 / 100; // USER_HZ is 100 on Linux
        delta.forEach((k, d) -> sb.append(String.format(Locale.ROOT,
                "      %-22s per 1k msgs: %7.1f vol + %6.1f invol switches, %6.2f ms CPU%n",
                k, d[0] * per, d[1] * per, d[2] * msPerTick * per)));
        return sb.toString();
    }

    // ------------------------------------------------------------------ system calls

    /** A {@code perf stat} attached to this process, from {@link #start} to {@link #stop}. */
    static final class SyscallCount {
        private final Process perf;
        private final Path output;

        private SyscallCount(Process perf, Path output) {
            this.perf = perf;
            this.output = output;
        }

        /** Starts counting, or returns null (perf missing, or no tracefs: mount -t tracefs nodev /sys/kernel/tracing). */
        static SyscallCount start() {
            try {
                Path out = Files.createTempFile("vt-echo-perf", ".csv");
                List<String> cmd = new ArrayList<>(List.of("perf", "stat", "-x", ",", "-o", out.toString(),
                        "-p", Long.toString(ProcessHandle.current().pid()),
                        "-e", "raw_syscalls:sys_enter", "-e", "context-switches"));
                for (String s : SYSCALLS) {
                    cmd.add("-e");
                    cmd.add("syscalls:sys_enter_" + s);
                }
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                Thread.sleep(300); // perf attaches to every thread before the phase begins
                if (!p.isAlive()) {
                    Files.deleteIfExists(out);
                    return null;
                }
                return new SyscallCount(p, out);
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        /** Stops counting; event name -> count (the total is "raw_syscalls:sys_enter"). */
        Map<String, Long> stop() throws IOException, InterruptedException {
            new ProcessBuilder("kill", "-INT", Long.toString(perf.pid())).start().waitFor();
            if (!perf.waitFor(10, TimeUnit.SECONDS)) {
                perf.destroyForcibly();
            }
            Map<String, Long> counts = new TreeMap<>();
            for (String line : Files.readAllLines(output)) {
                String[] f = line.split(",");
                if (f.length > 2 && !line.startsWith("#")) {
                    try {
                        counts.put(f[2].replace("syscalls:sys_enter_", ""), Long.parseLong(f[0]));
                    } catch (NumberFormatException e) {
                        counts.put(f[2].replace("syscalls:sys_enter_", ""), 0L); // <not counted>
                    }
                }
            }
            Files.deleteIfExists(output);
            return counts;
        }
    }

    /** "total 12.3 /msg: read 4.0, write 2.0, ..." for the non-zero counts. */
    static String describeSyscalls(Map<String, Long> counts, long messages) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "syscalls/msg %.2f (", counts.getOrDefault("raw_syscalls:sys_enter", 0L)
                / (double) messages));
        boolean first = true;
        for (String s : SYSCALLS) {
            long c = counts.getOrDefault(s, 0L);
            if (c * 100 >= messages) { // at least 0.01 per message
                sb.append(first ? "" : ", ").append(String.format(Locale.ROOT, "%s %.2f", s, c / (double) messages));
                first = false;
            }
        }
        sb.append(String.format(Locale.ROOT, "), context switches/msg %.2f",
                counts.getOrDefault("context-switches", 0L) / (double) messages));
        return sb.toString();
    }

    /** Whether this JVM was started with a JFR recording or other options worth naming. */
    static String jvmOptions() {
        return String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments());
    }
}
