package io.rustsocket.bench;

import java.lang.reflect.Method;

/** Virtual threads by reflection, since the benchmarks compile with --release 17. */
final class VirtualThreads {
    private VirtualThreads() {}

    /** Whether the calling thread is a virtual thread (false before JDK 21). */
    static boolean currentIsVirtual() {
        try {
            return (Boolean) Thread.class.getMethod("isVirtual").invoke(Thread.currentThread());
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    /**
     * Starts {@code body} on a thread of the calling thread's kind: a virtual thread when the
     * caller is one (JMH's {@code -Djmh.executor=VIRTUAL}), else a daemon platform thread.
     */
    static Thread startLikeCurrent(String name, Runnable body) {
        if (currentIsVirtual()) {
            try {
                // through the public interface: the builder's own class is not accessible
                Class<?> api = Class.forName("java.lang.Thread$Builder");
                Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
                builder = api.getMethod("name", String.class).invoke(builder, name);
                Method start = api.getMethod("start", Runnable.class);
                return (Thread) start.invoke(builder, body);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot start a virtual thread", e);
            }
        }
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
