package io.rustsocket.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Finds and loads the native library, once per class loader.
 *
 * <p>Which library: the platform key is {@code <os>-<arch>} ({@code linux}, {@code osx},
 * {@code windows}; {@code x86_64}, {@code aarch64}), with {@code -musl} on a Linux whose C
 * library is musl (Alpine); the jar holds each platform's library at
 * {@code META-INF/native/<key>/} ({@code librustsocket.so}, {@code librustsocket.dylib},
 * {@code rustsocket.dll}) and lists its platforms in {@value #INDEX_RESOURCE}.
 *
 * <p>Where from, in this order:
 * <ol>
 * <li>the file named by {@value #PATH_PROPERTY}, if set, and nothing else;
 * <li>otherwise the jar's library, extracted to a private directory named after its SHA-256
 *     under the first of these places from which it loads: {@value #WORKDIR_PROPERTY} if set,
 *     {@code java.io.tmpdir}, {@code $XDG_RUNTIME_DIR}, the user's cache directory
 *     ({@code ~/.cache/rustsocket}), then, on Linux with JDK 22 or newer, an anonymous memory
 *     file ({@code memfd_create}, no file on disk; off with {@value #MEMFD_PROPERTY}{@code =false}),
 *     and last the working directory. A place mounted {@code noexec} fails to load and the next
 *     one is tried.
 * </ol>
 * Several JVMs may start at once: each writes to a temporary file and moves it into place
 * atomically, and a file already there is reused only if its hash matches. A failure is
 * remembered and reported, with every attempt and its reason, on every later use.
 */
public final class NativeLibrary {
    /** System property naming an absolute path to the library, bypassing the jar. */
    public static final String PATH_PROPERTY = "io.rustsocket.library.path";
    /** System property naming the directory to extract the library to, tried first. */
    public static final String WORKDIR_PROPERTY = "io.rustsocket.native.workdir";
    /** System property that, set to {@code false}, keeps the loader from trying a memory file. */
    public static final String MEMFD_PROPERTY = "io.rustsocket.native.memfd";
    /** The resource listing the platform keys a jar holds, one a line. */
    public static final String INDEX_RESOURCE = "META-INF/native/rustsocket.platforms";

    /** Every platform key this version knows; the loader probes these when a jar has no index. */
    static final List<String> KNOWN_PLATFORMS = List.of("linux-x86_64", "linux-aarch64", "linux-x86_64-musl",
            "linux-aarch64-musl", "osx-x86_64", "osx-aarch64", "windows-x86_64", "windows-aarch64");

    private static final String NO_PLACE = "no place could hold and load the library";
    private static final String NO_PLACE_HINT = "Set -D" + WORKDIR_PROPERTY
            + "=<a directory on a file system that allows executing code, i.e. not mounted noexec>"
            + ", or -D" + PATH_PROPERTY + "=<absolute path of the library, installed by other means>.";

    private static final Object LOCK = new Object();
    // volatile: every socket construction checks it without taking LOCK
    private static volatile boolean loaded;
    private static UnsatisfiedLinkError failure;
    private static String loadedFrom;

    private NativeLibrary() {}

    /**
     * Loads the library if it is not loaded yet.
     *
     * @throws UnsatisfiedLinkError if it cannot be loaded; the message names the platform, the
     *     platforms the jar has, every attempt with its reason, and the property that helps
     */
    public static void ensureLoaded() {
        if (loaded) {
            return;
        }
        synchronized (LOCK) {
            if (loaded) {
                return;
            }
            if (failure != null) {
                UnsatisfiedLinkError again = new UnsatisfiedLinkError(failure.getMessage());
                again.initCause(failure);
                throw again;
            }
            List<String> tried = new ArrayList<>();
            String from = null;
            try {
                from = loadFirstAvailable(tried);
                int abi = Native.init(NetProperties.PREFER_IPV4_STACK);
                if (abi != Native.ABI_VERSION) {
                    throw new UnsatisfiedLinkError("librustsocket has ABI version " + abi
                            + " but these classes need " + Native.ABI_VERSION
                            + "; the jar and the native library come from different builds");
                }
                loadedFrom = from;
                loaded = true;
            } catch (Throwable e) {
                if (e instanceof VirtualMachineError) {
                    throw (VirtualMachineError) e;
                }
                String reason = e instanceof UnsatisfiedLinkError && e.getMessage() != null
                        ? e.getMessage() : e.toString();
                StringBuilder sb = new StringBuilder("rustsocket could not load its native library for ")
                        .append(describePlatform()).append(": ").append(reason);
                if (from != null) {
                    sb.append(" (loaded from ").append(from).append(')');
                }
                if (!tried.isEmpty()) {
                    sb.append("; tried:");
                    for (int i = 0; i < tried.size(); i++) {
                        sb.append("\n  ").append(i + 1).append(". ").append(tried.get(i));
                    }
                }
                if (NO_PLACE.equals(reason)) {
                    sb.append('\n').append(NO_PLACE_HINT);
                }
                failure = new UnsatisfiedLinkError(sb.toString());
                if (!(e instanceof UnsatisfiedLinkError)) {
                    failure.initCause(e);
                }
                throw failure;
            }
        }
    }

    /**
     * Why the library could not be loaded, or {@code null} if it loaded or was never tried.
     *
     * @return the first failure, whose message lists every attempt
     */
    public static UnsatisfiedLinkError failure() {
        synchronized (LOCK) {
            return failure;
        }
    }

    /**
     * Where the loaded library came from (a file, and what it was extracted from), or
     * {@code null} before it is loaded.
     *
     * @return a description for people, not a path to parse
     */
    public static String loadedFrom() {
        return loaded ? loadedFrom : null;
    }

    /**
     * The platform key of this JVM, as used in the jar: for example {@code linux-x86_64},
     * {@code linux-x86_64-musl}, {@code osx-aarch64}, {@code windows-x86_64}.
     *
     * @return the key, computed from {@code os.name}, {@code os.arch} and the C library
     */
    public static String platform() {
        return Host.KEY;
    }

    /**
     * The platform key with what it was derived from, for messages.
     *
     * @return for example {@code linux-x86_64 (os.name Linux, os.arch amd64, C library glibc)}
     */
    public static String describePlatform() {
        return Host.KEY + " (os.name " + System.getProperty("os.name") + ", os.arch " + System.getProperty("os.arch")
                + (Host.OS.equals("linux") ? ", C library " + (Host.MUSL ? "musl" : "glibc") : "") + ")";
    }

    /** The platform key for an {@code os.name}/{@code os.arch} pair, on musl or not. */
    static String platformKey(String osName, String osArch, boolean musl) {
        String os = os(osName);
        return os + "-" + arch(osArch) + (musl && os.equals("linux") ? "-musl" : "");
    }

    /** The library's file name on a platform key's system. */
    static String libraryFileName(String platformKey) {
        if (platformKey.startsWith("windows-")) {
            return "rustsocket.dll";
        }
        if (platformKey.startsWith("osx-")) {
            return "librustsocket.dylib";
        }
        return "librustsocket.so";
    }

    /** Where in a jar the library for a platform key lives (without a leading slash). */
    static String resourceName(String platformKey) {
        return "META-INF/native/" + platformKey + "/" + libraryFileName(platformKey);
    }

    /**
     * The platform keys that the jars on the class path hold, from their {@value #INDEX_RESOURCE}
     * files; where a jar has none (classes run from a directory), the known keys whose library
     * is present.
     *
     * @return the keys, sorted; empty if there are none
     */
    public static Set<String> bundledPlatforms() {
        Set<String> keys = new TreeSet<>();
        ClassLoader loader = loader();
        try {
            Enumeration<URL> indexes = loader.getResources(INDEX_RESOURCE);
            while (indexes.hasMoreElements()) {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(indexes.nextElement().openStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        line = line.trim();
                        if (!line.isEmpty() && !line.startsWith("#")) {
                            keys.add(line);
                        }
                    }
                }
            }
        } catch (IOException e) {
            // fall through to probing
        }
        for (String key : KNOWN_PLATFORMS) {
            if (loader.getResource(resourceName(key)) != null) {
                keys.add(key);
            }
        }
        return keys;
    }

    private static ClassLoader loader() {
        ClassLoader loader = NativeLibrary.class.getClassLoader();
        return loader != null ? loader : ClassLoader.getSystemClassLoader();
    }

    /** Loads the library; returns where from. Adds a line to {@code tried} per attempt. */
    private static String loadFirstAvailable(List<String> tried) {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isEmpty()) {
            tried.add("-D" + PATH_PROPERTY + "=" + override);
            Path p = Paths.get(override);
            if (!p.isAbsolute()) {
                throw new UnsatisfiedLinkError(PATH_PROPERTY + " must be an absolute path: " + override);
            }
            System.load(p.toString());
            return p + " (-D" + PATH_PROPERTY + ")";
        }
        String resource = resourceName(Host.KEY);
        URL url = loader().getResource(resource);
        if (url == null) {
            Set<String> bundled = bundledPlatforms();
            throw new UnsatisfiedLinkError("the class path has no library for this platform ("
                    + resource + "); the jar has " + (bundled.isEmpty() ? "none" : String.join(", ", bundled))
                    + ". Use a jar built for " + Host.KEY + " or set -D" + PATH_PROPERTY
                    + "=<absolute path of a library built for it>");
        }
        byte[] library;
        try (InputStream in = url.openStream()) {
            library = in.readAllBytes();
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("cannot read " + url + ": " + e);
        }
        String hash = sha256(library);
        String fileName = libraryFileName(Host.KEY);
        for (Place place : places()) {
            if (place.dir == null) {
                String description = memoryFile(library, fileName, tried);
                if (description != null) {
                    return description + ", from " + url;
                }
                continue;
            }
            Path target = place.dir.resolve(hash.substring(0, 16)).resolve(fileName);
            try {
                extract(library, hash, place, target);
            } catch (IOException | RuntimeException e) {
                tried.add(target + " (" + place.label + "): cannot extract there: " + e);
                continue;
            }
            try {
                System.load(target.toString());
            } catch (UnsatisfiedLinkError e) {
                // the JVM's message repeats the path before the loader's reason
                String why = String.valueOf(e.getMessage());
                while (why.startsWith(target + ": ")) {
                    why = why.substring(target.toString().length() + 2);
                }
                tried.add(target + " (" + place.label + "): " + why + noexecNote(target));
                continue;
            }
            return target + " (" + place.label + "), extracted from " + url;
        }
        throw new UnsatisfiedLinkError(NO_PLACE);
    }

    /** A place to extract to: {@code dir} receives {@code <hash>/<library>}; {@code null} is the memory file. */
    private static final class Place {
        final String label;
        final Path dir;

        Place(String label, Path dir) {
            this.label = label;
            this.dir = dir;
        }
    }

    /** The places to try, in order, without duplicates. */
    private static List<Place> places() {
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
        List<Place> places = new ArrayList<>();
        String workdir = System.getProperty(WORKDIR_PROPERTY);
        if (workdir != null && !workdir.isEmpty()) {
            addPlace(places, "-D" + WORKDIR_PROPERTY, workdir, "rustsocket-" + user);
        }
        addPlace(places, "java.io.tmpdir", System.getProperty("java.io.tmpdir"), "rustsocket-" + user);
        if (!Host.OS.equals("windows") && !Host.OS.equals("osx")) {
            addPlace(places, "$XDG_RUNTIME_DIR", System.getenv("XDG_RUNTIME_DIR"), "rustsocket");
        }
        String home = System.getProperty("user.home");
        switch (Host.OS) {
            case "windows": {
                String local = System.getenv("LOCALAPPDATA");
                addPlace(places, "the user's cache", local != null ? local
                        : home == null ? null : home + "\\AppData\\Local", "rustsocket");
                break;
            }
            case "osx":
                addPlace(places, "the user's cache", home == null ? null : home + "/Library/Caches", "rustsocket");
                break;
            default: {
                String cache = System.getenv("XDG_CACHE_HOME");
                addPlace(places, "the user's cache", cache != null && !cache.isEmpty() ? cache
                        : home == null ? null : home + "/.cache", "rustsocket");
                break;
            }
        }
        if (Host.OS.equals("linux")) {
            places.add(new Place("memory file", null));
        }
        addPlace(places, "the working directory", System.getProperty("user.dir"), "rustsocket-" + user);
        return places;
    }

    private static void addPlace(List<Place> places, String label, String base, String child) {
        if (base == null || base.isEmpty()) {
            return;
        }
        Path dir;
        try {
            dir = Paths.get(base).toAbsolutePath().normalize().resolve(child);
        } catch (InvalidPathException e) {
            return;
        }
        for (Place p : places) {
            if (dir.equals(p.dir)) {
                return;
            }
        }
        places.add(new Place(label, dir));
    }

    /**
     * Loads the library from an anonymous memory file; returns where from, or {@code null}
     * after adding the reason to {@code tried}.
     */
    private static String memoryFile(byte[] library, String fileName, List<String> tried) {
        if ("false".equalsIgnoreCase(System.getProperty(MEMFD_PROPERTY))) {
            tried.add("memory file: off (-D" + MEMFD_PROPERTY + "=false)");
            return null;
        }
        int feature = Runtime.version().feature();
        if (feature < 22) {
            tried.add("memory file: needs JDK 22 or newer to call memfd_create (this is JDK " + feature + ")");
            return null;
        }
        try {
            return MemoryFile.load(library, fileName);
        } catch (UnsatisfiedLinkError e) {
            tried.add("memory file: " + e.getMessage());
        } catch (Exception | LinkageError e) {
            tried.add("memory file: " + e);
        }
        return null;
    }

    private static void extract(byte[] library, String hash, Place place, Path target) throws IOException {
        Path dir = target.getParent();
        Path base = dir.getParent();
        Path above = base.getParent();
        if (above != null && !Files.isDirectory(above)) {
            // the user's cache directory and the one named by the property may not exist yet
            if (place.label.equals("the user's cache") || place.label.equals("-D" + WORKDIR_PROPERTY)) {
                Files.createDirectories(above);
            } else {
                throw new IOException(above + " is not a directory");
            }
        }
        createPrivateDirectory(base);
        createPrivateDirectory(dir);
        if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)
                && sha256(Files.readAllBytes(target)).equals(hash)) {
            return;
        }
        Path temp = Files.createTempFile(dir, "librustsocket", ".tmp");
        try {
            Files.write(temp, library);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Creates a directory only this user can enter, and refuses one that others could write to. */
    private static void createPrivateDirectory(Path dir) throws IOException {
        boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
        try {
            if (posix) {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectory(dir);
            }
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException(dir + " exists and is not a directory");
            }
        }
        if (posix) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
            if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
                throw new IOException(dir + " is writable by other users; refusing to load code from it");
            }
            String owner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName();
            String me = System.getProperty("user.name");
            if (me != null && !owner.equals(me)) {
                throw new IOException(dir + " belongs to " + owner + ", not " + me);
            }
        }
    }

    /**
     * " (/mnt is mounted noexec)" when the file system holding {@code file} forbids executing
     * code, from {@code /proc/self/mountinfo}; empty when that cannot be told.
     */
    static String noexecNote(Path file) {
        String mount = noexecMount(file);
        return mount == null ? "" : " (" + mount + " is mounted noexec)";
    }

    /** The mount point holding {@code file} if it is mounted noexec, else {@code null}. */
    static String noexecMount(Path file) {
        if (!Host.OS.equals("linux")) {
            return null;
        }
        String path;
        try {
            path = file.toRealPath().toString();
        } catch (IOException e) {
            path = file.toAbsolutePath().normalize().toString();
        }
        String best = null;
        boolean bestNoexec = false;
        try (Stream<String> lines = Files.lines(Paths.get("/proc/self/mountinfo"))) {
            for (String line : (Iterable<String>) lines::iterator) {
                String[] f = line.split(" ");
                if (f.length < 6) {
                    continue;
                }
                String mountPoint = unescapeMountField(f[4]);
                boolean under = mountPoint.equals("/") || path.equals(mountPoint) || path.startsWith(mountPoint + "/");
                // the deepest mount point wins; of two at the same place, the later (on top)
                if (under && (best == null || mountPoint.length() >= best.length())) {
                    best = mountPoint;
                    bestNoexec = List.of(f[5].split(",")).contains("noexec");
                }
            }
        } catch (IOException | UncheckedIOException e) {
            return null;
        }
        return bestNoexec ? best : null;
    }

    private static String unescapeMountField(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String sha256(byte[] data) {
        try {
            StringBuilder sb = new StringBuilder(64);
            for (byte b : MessageDigest.getInstance("SHA-256").digest(data)) {
                sb.append(String.format("%02x", b & 0xff));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    private static String os(String osName) {
        String os = osName == null ? "unknown" : osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            return "linux";
        }
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            return "osx";
        }
        if (os.startsWith("windows")) {
            return "windows";
        }
        return os.replaceAll("[^a-z0-9]+", "");
    }

    private static String arch(String osArch) {
        String arch = osArch == null ? "unknown" : osArch.toLowerCase(Locale.ROOT);
        switch (arch) {
            case "amd64":
            case "x86_64":
            case "x64":
                return "x86_64";
            case "aarch64":
            case "arm64":
                return "aarch64";
            default:
                return arch.replaceAll("[^a-z0-9_]+", "");
        }
    }

    /**
     * Whether this Linux process runs on musl rather than glibc: the C library mapped into the
     * process says so ({@code /proc/self/maps}); without {@code /proc}, which dynamic loader the
     * system has. A musl loader installed beside glibc (Debian's {@code musl} package) does not
     * make a glibc system musl.
     */
    static boolean detectMusl() {
        try (Stream<String> lines = Files.lines(Paths.get("/proc/self/maps"))) {
            for (String line : (Iterable<String>) lines::iterator) {
                int slash = line.lastIndexOf('/');
                if (slash < 0) {
                    continue;
                }
                String name = line.substring(slash + 1);
                if (name.startsWith("ld-musl-") || name.startsWith("libc.musl-")) {
                    return true;
                }
                if (name.startsWith("libc.so.6") || name.startsWith("libc-2.") || name.startsWith("ld-linux")) {
                    return false;
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // no /proc: look at the file system instead
        }
        return !hasFile("/lib", "ld-linux") && !hasFile("/lib64", "ld-linux") && hasFile("/lib", "ld-musl-");
    }

    private static boolean hasFile(String dir, String prefix) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(Paths.get(dir), prefix + "*")) {
            return files.iterator().hasNext();
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** This JVM's platform, computed once. */
    private static final class Host {
        static final String OS = os(System.getProperty("os.name"));
        static final boolean MUSL = OS.equals("linux") && detectMusl();
        static final String KEY = platformKey(System.getProperty("os.name"), System.getProperty("os.arch"), MUSL);

        private Host() {}
    }
}
