package io.rustsocket.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Finds and loads {@code librustsocket}, once per class loader.
 *
 * <p>Order: the file named by the system property {@value #PATH_PROPERTY}, if set (and nothing
 * else); otherwise the library packed in the jar under
 * {@code META-INF/native/<os>-<arch>/}, extracted to a private directory named after the
 * library's SHA-256. Several JVMs may start at once: each writes to a temporary file and moves
 * it into place atomically, and a file already there is reused only if its hash matches.
 * A failure is remembered and reported, with everything that was tried, on every later use.
 */
public final class NativeLibrary {
    /** System property naming an absolute path to the library, bypassing the jar. */
    public static final String PATH_PROPERTY = "io.rustsocket.library.path";

    private static final Object LOCK = new Object();
    // volatile: every socket construction checks it without taking LOCK
    private static volatile boolean loaded;
    private static String failure;

    private NativeLibrary() {}

    /**
     * Loads the library if it is not loaded yet.
     *
     * @throws UnsatisfiedLinkError if it cannot be loaded; the message names the platform and
     *     every location tried
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
                throw new UnsatisfiedLinkError(failure);
            }
            List<String> tried = new ArrayList<>();
            try {
                loadFirstAvailable(tried);
                int abi = Native.init(NetProperties.PREFER_IPV4_STACK);
                if (abi != Native.ABI_VERSION) {
                    throw new UnsatisfiedLinkError("librustsocket has ABI version " + abi
                            + " but these classes need " + Native.ABI_VERSION
                            + "; the jar and the native library come from different builds");
                }
                loaded = true;
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                failure = "rustsocket could not load its native library for " + platform()
                        + " (" + e.getMessage() + "); tried: " + String.join("; ", tried);
                throw new UnsatisfiedLinkError(failure);
            }
        }
    }

    /** The platform key used in the jar, for example {@code linux-x86_64}. */
    public static String platform() {
        return os() + "-" + arch();
    }

    /** Where in the jar the library for this platform lives. */
    static String resourceName() {
        return "/META-INF/native/" + platform() + "/" + System.mapLibraryName("rustsocket");
    }

    private static void loadFirstAvailable(List<String> tried) {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isEmpty()) {
            tried.add("-D" + PATH_PROPERTY + "=" + override);
            Path p = Paths.get(override);
            if (!p.isAbsolute()) {
                throw new UnsatisfiedLinkError(PATH_PROPERTY + " must be an absolute path: " + override);
            }
            System.load(p.toString());
            return;
        }
        String resource = resourceName();
        tried.add("classpath resource " + resource);
        byte[] library;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("no bundled library for " + platform());
            }
            library = in.readAllBytes();
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("cannot read " + resource + ": " + e);
        }
        Path file;
        try {
            file = extract(library, tried);
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("cannot extract " + resource + ": " + e);
        }
        System.load(file.toString());
    }

    private static Path extract(byte[] library, List<String> tried) throws IOException {
        String hash = sha256(library);
        Path base = Paths.get(System.getProperty("java.io.tmpdir"),
                "rustsocket-" + System.getProperty("user.name", "user"));
        Path dir = base.resolve(hash.substring(0, 16));
        Path target = dir.resolve(System.mapLibraryName("rustsocket"));
        tried.add("extracted copy " + target);
        createPrivateDirectory(base);
        createPrivateDirectory(dir);
        if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)
                && sha256(Files.readAllBytes(target)).equals(hash)) {
            return target;
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
        return target;
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

    private static String os() {
        String os = System.getProperty("os.name", "unknown").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            return "linux";
        }
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            return "macos";
        }
        if (os.startsWith("windows")) {
            return "windows";
        }
        return os.replaceAll("[^a-z0-9]+", "");
    }

    private static String arch() {
        String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
        switch (arch) {
            case "amd64":
            case "x86_64":
                return "x86_64";
            case "aarch64":
            case "arm64":
                return "aarch64";
            default:
                return arch.replaceAll("[^a-z0-9_]+", "");
        }
    }
}
