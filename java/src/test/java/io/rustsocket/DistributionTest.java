package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.internal.NativeLibrary;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code gradle assembleAllPlatforms} made: the cross-built libraries under
 * {@code build/natives/<platform>/} (glibc versions, C library, machine type) and the jars
 * under {@code build/dist/}. Skipped, with the reason, where that task has not run.
 */
class DistributionTest {
    /** Every platform assembleAllPlatforms knows, with the machine its library must be built for. */
    private static final Map<String, String> MACHINES = Map.of(
            "linux-x86_64", "ELF x86_64", "linux-aarch64", "ELF aarch64", "linux-x86_64-musl", "ELF x86_64",
            "osx-x86_64", "Mach-O x86_64", "osx-aarch64", "Mach-O arm64", "windows-x86_64", "PE x86_64");
    /** The newest glibc the Linux libraries may need: what zig links against (x86_64-unknown-linux-gnu.2.17). */
    private static final int[] GLIBC_CEILING = {2, 17};

    private static Path natives() {
        String dir = System.getProperty("rustsocket.nativesDir");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(Paths.get(dir)),
                "no cross-built libraries (run gradle assembleAllPlatforms; junitTest passes -Drustsocket.nativesDir)");
        return Paths.get(dir);
    }

    private static Path library(String key) {
        return natives().resolve(key).resolve(libraryFileName(key));
    }

    private static String libraryFileName(String key) {
        return key.startsWith("windows-") ? "rustsocket.dll" : key.startsWith("osx-") ? "librustsocket.dylib"
                : "librustsocket.so";
    }

    private static String objdump() {
        for (String p : List.of("/usr/bin/objdump", "/bin/objdump")) {
            if (Files.isExecutable(Paths.get(p))) {
                return p;
            }
        }
        return null;
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    private static int compareVersions(int[] a, int[] b) {
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            int x = i < a.length ? a[i] : 0;
            int y = i < b.length ? b[i] : 0;
            if (x != y) {
                return Integer.compare(x, y);
            }
        }
        return 0;
    }

    @Test
    void linuxLibrariesNeedNoGlibcNewerThan217(TestReporter reporter) throws Exception {
        String objdump = objdump();
        Assumptions.assumeTrue(objdump != null, "objdump is not installed (Debian: binutils)");
        List<String> checked = new ArrayList<>();
        for (String key : List.of("linux-x86_64", "linux-aarch64")) {
            Path lib = library(key);
            if (!Files.isRegularFile(lib)) {
                continue;
            }
            Set<String> versions = new TreeSet<>();
            Matcher m = Pattern.compile("GLIBC_([0-9]+(?:\\.[0-9]+)*)").matcher(run(objdump, "-T", lib.toString()));
            while (m.find()) {
                versions.add(m.group(1));
            }
            assertFalse(versions.isEmpty(), () -> lib + " has no GLIBC symbol versions: not linked against glibc?");
            String newest = versions.stream().max((a, b) -> compareVersions(parse(a), parse(b))).get();
            assertTrue(compareVersions(parse(newest), GLIBC_CEILING) <= 0,
                    () -> lib + " needs GLIBC_" + newest + ", newer than 2.17 (all: " + versions + ")");
            checked.add(key + " needs glibc " + newest);
        }
        Assumptions.assumeFalse(checked.isEmpty(), "no zig-built Linux library in " + natives());
        // in the XML report: the versions measured
        reporter.publishEntry("glibc", String.join("; ", checked));
    }

    private static int[] parse(String version) {
        return java.util.Arrays.stream(version.split("\\.")).mapToInt(Integer::parseInt).toArray();
    }

    @Test
    void muslLibraryNeedsMuslNotGlibc() throws Exception {
        String objdump = objdump();
        Assumptions.assumeTrue(objdump != null, "objdump is not installed (Debian: binutils)");
        Path lib = library("linux-x86_64-musl");
        Assumptions.assumeTrue(Files.isRegularFile(lib), "no musl library in " + natives());
        String headers = run(objdump, "-p", lib.toString());
        List<String> needed = headers.lines().map(String::trim).filter(l -> l.startsWith("NEEDED"))
                .map(l -> l.substring("NEEDED".length()).trim()).collect(Collectors.toList());
        // musl's whole C library is libc.so; a glibc-linked build would need libc.so.6
        assertEquals(List.of("libc.so"), needed, headers);
        assertFalse(run(objdump, "-T", lib.toString()).contains("GLIBC_"), lib + " has glibc symbol versions");
    }

    /**
     * No musl JVM is at hand here, so a small C program built with {@code musl-gcc} stands in for
     * one: it loads the library with every symbol resolved ({@code RTLD_NOW}) against musl and
     * finds the JNI entry points.
     */
    @Test
    void muslLibraryLoadsInAMuslProcess(@TempDir Path dir) throws Exception {
        Path lib = library("linux-x86_64-musl");
        Assumptions.assumeTrue(Files.isRegularFile(lib), "no musl library in " + natives());
        Path muslGcc = Paths.get("/usr/bin/musl-gcc");
        Assumptions.assumeTrue(Files.isExecutable(muslGcc), "musl-gcc is not installed (Debian: musl-tools)");
        Assumptions.assumeTrue("amd64".equals(System.getProperty("os.arch")), "the musl library is x86_64");
        Path source = dir.resolve("load.c");
        Files.writeString(source, String.join("\n",
                "#include <dlfcn.h>",
                "#include <stdio.h>",
                "int main(int argc, char **argv) {",
                "    void *h = dlopen(argv[1], RTLD_NOW);",
                "    if (!h) { printf(\"dlopen: %s\\n\", dlerror()); return 1; }",
                "    void *f = dlsym(h, \"Java_io_rustsocket_internal_Native_init\");",
                "    printf(\"%s\\n\", f ? \"loaded\" : \"no Java_io_rustsocket_internal_Native_init\");",
                "    return f ? 0 : 2;",
                "}", ""));
        Path exe = dir.resolve("load");
        run(muslGcc.toString(), "-o", exe.toString(), source.toString());
        assertEquals("loaded\n", run(exe.toString(), lib.toString()));
    }

    @Test
    void everyLibraryIsBuiltForItsMachine() throws Exception {
        List<String> checked = new ArrayList<>();
        for (Map.Entry<String, String> e : MACHINES.entrySet()) {
            Path lib = library(e.getKey());
            if (Files.isRegularFile(lib)) {
                assertEquals(e.getValue(), machineOf(Files.readAllBytes(lib)), lib::toString);
                checked.add(e.getKey());
            }
        }
        Assumptions.assumeFalse(checked.isEmpty(), "no cross-built library in " + natives());
    }

    /** "ELF x86_64", "Mach-O arm64", "PE x86_64", ... from a library's headers. */
    static String machineOf(byte[] b) {
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (b.length > 20 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F') {
            int machine = le.getShort(18) & 0xffff;
            return "ELF " + (machine == 62 ? "x86_64" : machine == 183 ? "aarch64" : "machine " + machine);
        }
        if (b.length > 8 && le.getInt(0) == 0xfeedfacf) {
            int cpu = le.getInt(4);
            return "Mach-O " + (cpu == 0x01000007 ? "x86_64" : cpu == 0x0100000c ? "arm64" : "cpu " + cpu);
        }
        if (b.length > 0x40 && b[0] == 'M' && b[1] == 'Z') {
            int pe = le.getInt(0x3c);
            if (pe + 6 < b.length && le.getInt(pe) == 0x00004550) {
                int machine = le.getShort(pe + 4) & 0xffff;
                return "PE " + (machine == 0x8664 ? "x86_64" : machine == 0xaa64 ? "aarch64" : "machine " + machine);
            }
        }
        return "unknown";
    }

    /** The platform keys with a library in build/natives. */
    private static Set<String> built() throws IOException {
        Set<String> keys = new TreeSet<>();
        for (String key : MACHINES.keySet()) {
            if (Files.isRegularFile(library(key))) {
                keys.add(key);
            }
        }
        return keys;
    }

    private static Path dist(String classifier) {
        String dir = System.getProperty("rustsocket.distDir");
        String jar = System.getProperty("rustsocket.jar");
        Assumptions.assumeTrue(dir != null && jar != null, "-Drustsocket.distDir and -Drustsocket.jar are not set");
        String name = Paths.get(jar).getFileName().toString();
        if (!classifier.isEmpty()) {
            name = name.substring(0, name.length() - ".jar".length()) + "-" + classifier + ".jar";
        }
        Path p = Paths.get(dir, name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "no " + p + " (run gradle assembleAllPlatforms)");
        return p;
    }

    /** The platforms a jar holds: its index, and its library entries. */
    private static Set<String> index(ZipFile zip) throws IOException {
        ZipEntry entry = zip.getEntry(NativeLibrary.INDEX_RESOURCE);
        assertNotNull(entry, zip.getName() + " has no " + NativeLibrary.INDEX_RESOURCE);
        try (InputStream in = zip.getInputStream(entry)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#")).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Set<String> libraries(ZipFile zip) {
        return zip.stream().map(ZipEntry::getName)
                .filter(n -> n.startsWith("META-INF/native/") && !n.endsWith("/") && !n.equals(NativeLibrary.INDEX_RESOURCE))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void allPlatformsJarHoldsEveryBuiltLibraryAndListsThem() throws Exception {
        Path jar = dist("");
        Set<String> built = built();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            assertEquals(built, index(zip), jar::toString);
            Set<String> expected = built.stream().map(k -> "META-INF/native/" + k + "/" + libraryFileName(k))
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(expected, libraries(zip), jar::toString);
            for (String k : built) {
                try (InputStream in = zip.getInputStream(zip.getEntry("META-INF/native/" + k + "/" + libraryFileName(k)))) {
                    assertTrue(java.util.Arrays.equals(Files.readAllBytes(library(k)), in.readAllBytes()), k);
                }
            }
            assertNotNull(zip.getEntry("io/rustsocket/RustSocket.class"));
            assertNotNull(zip.getEntry("META-INF/LICENSE"));
            String manifest = new String(zip.getInputStream(zip.getEntry("META-INF/MANIFEST.MF")).readAllBytes(),
                    StandardCharsets.UTF_8);
            assertTrue(manifest.contains("Main-Class: io.rustsocket.internal.SelfTest"), manifest);
            assertTrue(manifest.contains("Premain-Class: io.rustsocket.RustSocketAgent"), manifest);
        }
    }

    /** The released jar's library for this machine (the zig build, not the host's) works here. */
    @Test
    void allPlatformsJarPassesItsSelfTestHere(@TempDir Path dir) throws Exception {
        Path jar = dist("");
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            Assumptions.assumeTrue(index(zip).contains(NativeLibrary.platform()),
                    () -> jar + " has no library for " + NativeLibrary.platform());
        }
        List<String> cmd = new ArrayList<>(List.of(TestSupport.childJava(), "-Djava.io.tmpdir=" + dir));
        cmd.addAll(TestSupport.childJvmOptions("DistSelfTest"));
        cmd.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        Process p = pb.start();
        String report = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), report);
        assertEquals(0, p.exitValue(), report);
        assertTrue(report.contains("extracted from jar:file:" + jar.toUri().getRawPath() + "!/META-INF/native/"
                + NativeLibrary.platform() + "/"), report);
        assertTrue(report.contains("\nresult: OK ("), report);
    }

    @Test
    void eachPlatformJarHoldsTheClassesAndOneLibrary() throws Exception {
        for (String key : built()) {
            Path jar = dist(key);
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                assertEquals(Set.of(key), index(zip), jar::toString);
                assertEquals(Set.of("META-INF/native/" + key + "/" + libraryFileName(key)), libraries(zip), jar::toString);
                assertNotNull(zip.getEntry("io/rustsocket/RustSocket.class"), jar::toString);
                assertNotNull(zip.getEntry("io/rustsocket/internal/SelfTest.class"), jar::toString);
            }
        }
    }
}
