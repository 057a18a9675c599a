package io.rustsocket;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * One child JVM's run of a list of {@link VirtualThreadChecks}, and what it reported for each; and
 * the two child JVMs of {@link VirtualThreadsTest} ({@link #plain}, {@link #starved}), each
 * started at most once per test run.
 */
final class VirtualThreadsChildRun {
    /** The scheduler flags of the carrier-starvation child. */
    static final List<String> STARVED_SCHEDULER = List.of(
            "-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2");

    private static VirtualThreadsChildRun plain;
    private static VirtualThreadsChildRun starved;

    /** All the default-scheduler checks, both engines (only needed when this JVM is older than 21). */
    static synchronized VirtualThreadsChildRun plain() {
        if (plain == null) {
            plain = run("default scheduler", List.of(), forEveryEngine(VirtualThreadChecks.PLAIN));
        }
        return plain;
    }

    /** The carrier-starvation checks under parallelism=2, maxPoolSize=2. */
    static synchronized VirtualThreadsChildRun starved() {
        if (starved == null) {
            starved = run("parallelism=2 maxPoolSize=2", STARVED_SCHEDULER,
                    forEveryEngine(VirtualThreadChecks.STARVED));
        }
        return starved;
    }

    /** "name:ENGINE" for each check and engine, the arguments of {@link VirtualThreadsChild}. */
    private static List<String> forEveryEngine(List<String> names) {
        List<String> checks = new ArrayList<>();
        for (String c : names) {
            for (Engine e : Engine.values()) {
                checks.add(c + ":" + e);
            }
        }
        return checks;
    }

    static synchronized List<VirtualThreadsChildRun> started() {
        List<VirtualThreadsChildRun> runs = new ArrayList<>();
        if (plain != null && plain.java != null) {
            runs.add(plain);
        }
        if (starved != null && starved.java != null) {
            runs.add(starved);
        }
        return runs;
    }

    /** Each check must end within this (the child's own watchdog); the whole run within the sum plus start-up. */
    static final long CHECK_LIMIT_MS = 60_000;

    final String label;
    final String java;
    final Map<String, String> failures = new LinkedHashMap<>();
    final List<String> passed = new ArrayList<>();
    final List<String> output = new ArrayList<>();
    String problem;

    private VirtualThreadsChildRun(String label, String java) {
        this.label = label;
        this.java = java;
    }

    /**
     * The java launcher of a JDK with virtual threads: -Drustsocket.vtJava, else this JVM's if
     * it has them, else Temurin 25, else any JDK 21+ under /usr/lib/jvm; null if none. A JDK
     * found on disk must be built for this JVM's architecture, since the child loads the same
     * native library (an aarch64 JVM under qemu must not pick the host's x86_64 Temurin).
     */
    static String virtualThreadJava() {
        String configured = System.getProperty("rustsocket.vtJava");
        if (configured != null && !configured.isEmpty()) {
            return configured;
        }
        if (Virtual.AVAILABLE) {
            return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        }
        List<Path> candidates = new ArrayList<>();
        candidates.add(Paths.get("/usr/lib/jvm/temurin-25-jdk-amd64"));
        File[] jdks = new File("/usr/lib/jvm").listFiles();
        if (jdks != null) {
            Arrays.sort(jdks);
            for (File jdk : jdks) {
                candidates.add(jdk.toPath());
            }
        }
        for (Path jdk : candidates) {
            if (isJdk21ForThisArch(jdk)) {
                return jdk.resolve("bin/java").toString();
            }
        }
        return null;
    }

    /** Whether {@code jdk}'s release file says JDK 21 or later, built for this JVM's os.arch. */
    private static boolean isJdk21ForThisArch(Path jdk) {
        Path release = jdk.resolve("release");
        if (!Files.isExecutable(jdk.resolve("bin/java")) || !Files.isReadable(release)) {
            return false;
        }
        int feature = 0;
        String arch = null;
        try {
            for (String line : Files.readAllLines(release)) {
                String value = line.substring(line.indexOf('=') + 1).replace("\"", "");
                if (line.startsWith("JAVA_VERSION=")) {
                    feature = Integer.parseInt(value.split("[.+-]")[0]);
                } else if (line.startsWith("OS_ARCH=")) {
                    arch = value;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false; // not a JDK we can use
        }
        return feature >= 21 && sameArch(arch, System.getProperty("os.arch"));
    }

    /** os.arch and a release file's OS_ARCH name x86_64 "amd64" and "x86_64" alike. */
    private static boolean sameArch(String a, String b) {
        return a != null && b != null && canonicalArch(a).equals(canonicalArch(b));
    }

    private static String canonicalArch(String arch) {
        return arch.equals("amd64") ? "x86_64" : arch;
    }

    static VirtualThreadsChildRun run(String label, List<String> jvmFlags, List<String> checks) {
        String java = virtualThreadJava();
        VirtualThreadsChildRun run = new VirtualThreadsChildRun(label, java);
        if (java == null) {
            run.problem = "no JDK 21+ for " + System.getProperty("os.arch")
                    + " found (set -Drustsocket.vtJava=/path/to/bin/java)";
            return run;
        }
        List<String> options = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx1g"));
        options.addAll(jvmFlags);
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith("io.rustsocket.") || key.startsWith("rustsocket.")) {
                options.add("-D" + key + "=" + System.getProperty(key));
            }
        }
        List<String> cmd = TestSupport.javaCommand(java, options, VirtualThreadsChild.class, checks);
        // a passing run takes seconds; one where every check fails by its bounded waits, minutes
        long limit = Math.min(540_000, 30_000 + checks.size() * 30_000L);
        long start = System.nanoTime();
        Process process = null;
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.redirectErrorStream(true);
            process = pb.start();
            process.getOutputStream().close();
            Process p = process;
            FutureTask<Void> reader = TestSupport.async("vt-child-output", () -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        run.line(line);
                    }
                }
                return null;
            });
            if (!process.waitFor(limit, TimeUnit.MILLISECONDS)) {
                run.problem = "child JVM killed after " + limit + " ms";
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            } else if (process.exitValue() != 0) {
                run.problem = "child JVM exited with status " + process.exitValue();
            }
            TestSupport.await(reader, 10_000);
        } catch (IOException | InterruptedException | AssertionError e) {
            run.problem = "could not run the child JVM: " + e;
            if (process != null) {
                process.destroyForcibly();
            }
        }
        System.out.printf("VirtualThreadsTest: child JVM (%s, %s) ran %d checks in %.1f s%s%n", label, java,
                checks.size(), (System.nanoTime() - start) / 1e9, run.problem == null ? "" : ": " + run.problem);
        return run;
    }

    private synchronized void line(String line) {
        if (line.startsWith(VirtualThreadsChild.PASS)) {
            passed.add(line.substring(VirtualThreadsChild.PASS.length()).trim().split(" ")[0]);
        } else if (line.startsWith(VirtualThreadsChild.FAIL)) {
            String[] parts = line.substring(VirtualThreadsChild.FAIL.length()).trim().split(" ", 2);
            String trace = parts.length > 1
                    ? new String(Base64.getDecoder().decode(parts[1]), StandardCharsets.UTF_8) : "(no trace)";
            failures.put(parts[0], trace);
        } else {
            output.add(line);
            if (line.startsWith("VT-INFO")) {
                System.out.println("  [child " + label + "] " + line.substring("VT-INFO ".length()));
            }
        }
    }

    /** Fails (or, with no JDK 21+, aborts) unless the child reported {@code name:engine} as passed. */
    synchronized void assertPassed(String name, Engine engine) {
        Assumptions.assumeTrue(java != null, problem);
        String key = engine == null ? name : name + ":" + engine;
        if (passed.contains(key)) {
            return;
        }
        String trace = failures.get(key);
        if (trace != null) {
            throw new AssertionError("in the child JVM (" + label + ", " + java + "): " + trace);
        }
        List<String> tail = output.subList(Math.max(0, output.size() - 40), output.size());
        throw new AssertionError("the child JVM (" + label + ", " + java + ") reported nothing for " + key
                + (problem == null ? "" : " (" + problem + ")") + "; its last output:\n" + String.join("\n", tail));
    }
}
