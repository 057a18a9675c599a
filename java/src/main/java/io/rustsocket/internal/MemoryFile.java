package io.rustsocket.internal;

import java.lang.invoke.MethodHandle;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Loads a library from an anonymous memory file on Linux, with no file on disk: for machines
 * where every writable directory is mounted {@code noexec}.
 *
 * <p>{@code memfd_create(2)} makes the file; the JDK's foreign function API (final in JDK 22)
 * calls it and {@code write(2)}, so no native code of ours is needed before the library itself
 * is loaded; then {@code System.load("/proc/self/fd/N")}. The JVM turns that path into
 * {@code /proc/<pid>/fd/N}, which the dynamic loader opens like any file; a memory file lives on
 * no user-visible mount, so {@code noexec} mounts do not apply to it, and {@code vm.memfd_noexec}
 * only concerns {@code execve} (with it at 2 the kernel refuses {@code MFD_EXEC}, and the call is
 * retried without the flag). A security module or seccomp filter may still refuse. The classes are
 * compiled for JDK 17, so the API is reached by reflection. On JDK 22 and 23 the JVM warns
 * once about the restricted method unless native access is enabled
 * ({@code --enable-native-access=ALL-UNNAMED}, or {@code Enable-Native-Access} in an executable
 * jar's manifest); with {@code --illegal-native-access=deny} it refuses, and this attempt fails.
 */
final class MemoryFile {
    private static final int MFD_CLOEXEC = 0x1;
    /** Linux 6.3+: say that the file is meant to be executable (older kernels refuse the flag). */
    private static final int MFD_EXEC = 0x10;

    private MemoryFile() {}

    /**
     * Writes {@code library} to a new memory file named {@code name} and loads it.
     *
     * @return where the library was loaded from, for messages
     * @throws UnsatisfiedLinkError if a step fails; the message says which
     * @throws ReflectiveOperationException if the foreign function API is not as expected
     */
    static String load(byte[] library, String name) throws ReflectiveOperationException {
        Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
        Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");
        Class<?> layoutClass = Class.forName("java.lang.foreign.MemoryLayout");
        Class<?> valueLayoutClass = Class.forName("java.lang.foreign.ValueLayout");
        Class<?> segmentClass = Class.forName("java.lang.foreign.MemorySegment");
        Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");
        Class<?> lookupClass = Class.forName("java.lang.foreign.SymbolLookup");
        Class<?> optionClass = Class.forName("java.lang.foreign.Linker$Option");

        Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
        Object lookup = linkerClass.getMethod("defaultLookup").invoke(linker);
        Object jint = valueLayoutClass.getField("JAVA_INT").get(null);
        Object jlong = valueLayoutClass.getField("JAVA_LONG").get(null);
        Object address = valueLayoutClass.getField("ADDRESS").get(null);
        Method of = descriptorClass.getMethod("of", layoutClass, layoutClass.arrayType());
        Method find = lookupClass.getMethod("find", String.class);
        Method downcall = linkerClass.getMethod("downcallHandle", segmentClass, descriptorClass, optionClass.arrayType());
        Object noOptions = Array.newInstance(optionClass, 0);

        MethodHandle memfdCreate = handle(downcall, linker, find, lookup, "memfd_create",
                of.invoke(null, jint, layouts(layoutClass, address, jint)), noOptions);
        MethodHandle write = handle(downcall, linker, find, lookup, "write",
                of.invoke(null, jlong, layouts(layoutClass, jint, address, jlong)), noOptions);
        MethodHandle close = handle(downcall, linker, find, lookup, "close",
                of.invoke(null, jint, layouts(layoutClass, jint)), noOptions);

        int fd;
        Object arena = arenaClass.getMethod("ofConfined").invoke(null);
        try {
            Object cName = arenaClass.getMethod("allocateFrom", String.class).invoke(arena, name);
            fd = (Integer) call(memfdCreate, cName, MFD_CLOEXEC | MFD_EXEC);
            if (fd < 0) {
                fd = (Integer) call(memfdCreate, cName, MFD_CLOEXEC);
            }
            if (fd < 0) {
                throw new UnsatisfiedLinkError("memfd_create failed");
            }
            Object segment = arenaClass.getMethod("allocate", long.class).invoke(arena, (long) library.length);
            ((ByteBuffer) segmentClass.getMethod("asByteBuffer").invoke(segment)).put(library);
            Method asSlice = segmentClass.getMethod("asSlice", long.class);
            long done = 0;
            while (done < library.length) {
                long n = (Long) call(write, fd, asSlice.invoke(segment, done), (long) library.length - done);
                if (n <= 0) {
                    call(close, fd);
                    throw new UnsatisfiedLinkError("write to the memory file failed after " + done + " bytes");
                }
                done += n;
            }
        } catch (InvocationTargetException e) {
            throw unwrap(e);
        } finally {
            arenaClass.getMethod("close").invoke(arena);
        }
        String path = "/proc/self/fd/" + fd;
        try {
            System.load(path);
        } finally {
            // the mapping outlives the descriptor
            call(close, fd);
        }
        return "memory file " + name + " (memfd_create, " + path + ", no file on disk)";
    }

    private static MethodHandle handle(Method downcall, Object linker, Method find, Object lookup, String symbol,
                                       Object descriptor, Object options) throws ReflectiveOperationException {
        Optional<?> address = (Optional<?>) find.invoke(lookup, symbol);
        if (address.isEmpty()) {
            throw new UnsatisfiedLinkError("the C library has no " + symbol);
        }
        try {
            return (MethodHandle) downcall.invoke(linker, address.get(), descriptor, options);
        } catch (InvocationTargetException e) {
            throw unwrap(e);
        }
    }

    private static Object layouts(Class<?> layoutClass, Object... layouts) {
        Object array = Array.newInstance(layoutClass, layouts.length);
        for (int i = 0; i < layouts.length; i++) {
            Array.set(array, i, layouts[i]);
        }
        return array;
    }

    private static Object call(MethodHandle handle, Object... args) {
        try {
            return handle.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** The exception a reflective call threw, as an unchecked one. */
    private static RuntimeException unwrap(InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof Error) {
            throw (Error) cause;
        }
        if (cause instanceof RuntimeException) {
            return (RuntimeException) cause;
        }
        return new IllegalStateException(cause);
    }
}
