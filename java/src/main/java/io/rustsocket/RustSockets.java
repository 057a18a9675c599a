package io.rustsocket;

import io.rustsocket.internal.Native;
import io.rustsocket.internal.NativeLibrary;
import io.rustsocket.internal.RustSocketImpl;
import io.rustsocket.internal.Statistics;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketImplFactory;
import java.util.Map;
import javax.management.InstanceAlreadyExistsException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * JVM-wide entry points: make rustsocket the implementation behind every {@code java.net.Socket}
 * and {@code java.net.ServerSocket} without changing the code that creates them, and read the
 * library's statistics.
 *
 * <pre>{@code
 * public static void main(String[] args) throws Exception {
 *     RustSockets.installAsDefault();   // or: java -javaagent:rustsocket.jar ...
 *     ...
 *     System.out.println(RustSockets.statistics());
 * }
 * }</pre>
 */
public final class RustSockets {
    /** The JMX object name of the statistics MXBean. */
    public static final String MBEAN_NAME = "io.rustsocket:type=Sockets";

    private static final SocketImplFactory CLIENT_FACTORY = () -> new RustSocketImpl(false);
    private static final SocketImplFactory SERVER_FACTORY = () -> new RustSocketImpl(true);

    private static boolean clientInstalled;
    private static volatile boolean installed;
    private static boolean mbeanRegistered;

    private RustSockets() {}

    /**
     * Makes rustsocket the implementation of every {@code java.net.Socket} and
     * {@code java.net.ServerSocket} created from now on (those made before keep theirs), through
     * the JDK's {@link Socket#setSocketImplFactory} and {@link ServerSocket#setSocketFactory},
     * and registers the statistics MXBean (a failure to register it is logged, not thrown).
     * Call it once, early in {@code main}; later calls do nothing.
     *
     * <p>Covered: {@code new Socket(...)}, {@code new ServerSocket(...)} and their
     * {@code accept()}, {@code SocketFactory.getDefault()}, {@code HttpURLConnection}, and TLS
     * sockets from {@code SSLSocketFactory}/{@code SSLServerSocketFactory}. Not covered: NIO
     * channels, {@code java.net.http.HttpClient}, and sockets through a SOCKS or HTTP proxy
     * ({@code new Socket(Proxy)}), which keep the JDK's implementation.
     *
     * @throws UnsatisfiedLinkError if the native library cannot be loaded on this platform;
     *     nothing is installed
     * @throws SocketException if another socket implementation factory is already installed
     *     (for {@code Socket}, {@code ServerSocket} or both); nothing is installed. (Only if
     *     another thread sets {@code ServerSocket}'s factory at the same moment, or on a JDK
     *     whose factory fields cannot be read, can client sockets end up on rustsocket while
     *     server sockets keep that factory; the message then says so.)
     */
    public static void installAsDefault() throws SocketException {
        install(true);
    }

    /** {@link #installAsDefault()}, with the MXBean registration optional (the agent's jmx=false). */
    static synchronized void install(boolean registerMBean) throws SocketException {
        install(registerMBean, null);
    }

    /**
     * {@link #install(boolean)}; with {@code afterFirstUse} non-null (the agent's premain) the
     * MXBean is registered, and then {@code afterFirstUse} run, on a daemon thread once the
     * application makes its first socket or reads the statistics: registering in premain would
     * start the platform MBean server and {@code java.util.logging} before {@code main} could
     * choose its own {@code LogManager}.
     */
    static synchronized void install(boolean registerMBean, Runnable afterFirstUse) throws SocketException {
        if (installed) {
            return;
        }
        // before touching the JDK's factories, so that a platform without the library keeps
        // the JDK's sockets everywhere
        NativeLibrary.ensureLoaded();
        if (!clientInstalled) {
            // both checked before either is set: setting Socket's and then failing on
            // ServerSocket's would leave half of the sockets on rustsocket
            int preset = Native.socketFactoriesSet();
            if (preset != Native.FACTORIES_UNKNOWN && (preset & Native.SOCKET_FACTORY_SET) != 0) {
                throw alreadyDefined("java.net.Socket", new SocketException("factory already defined"),
                        "nothing was installed");
            }
            if (preset != Native.FACTORIES_UNKNOWN && (preset & Native.SERVER_SOCKET_FACTORY_SET) != 0) {
                throw alreadyDefined("java.net.ServerSocket", new SocketException("factory already defined"),
                        "nothing was installed");
            }
        }
        if (!clientInstalled) {
            try {
                setClientFactory();
            } catch (SocketException e) {
                throw alreadyDefined("java.net.Socket", e, "nothing was installed");
            }
            clientInstalled = true;
        }
        try {
            setServerFactory();
        } catch (SocketException e) {
            throw alreadyDefined("java.net.ServerSocket", e,
                    "client sockets run on rustsocket, server sockets keep that factory");
        }
        installed = true;
        if (System.getProperty("socksProxyHost") != null) {
            // the JDK applies socksProxyHost (and the ProxySelector) inside its own default
            // implementation, which the factory replaces; only new Socket(Proxy) still proxies
            System.getLogger("io.rustsocket").log(System.Logger.Level.WARNING,
                    "rustsocket: socksProxyHost is set, but sockets made without an explicit Proxy now connect "
                    + "directly; only new Socket(Proxy) still goes through the SOCKS proxy (on the JDK's sockets)");
        }
        if (afterFirstUse != null) {
            Statistics.runOnFirstUse(() -> {
                if (registerMBean) {
                    registerStatisticsMBeanOrWarn();
                }
                afterFirstUse.run();
            });
        } else if (registerMBean) {
            registerStatisticsMBeanOrWarn();
        }
    }

    private static void registerStatisticsMBeanOrWarn() {
        if (!jmxAvailable()) {
            // a JVM started with --limit-modules java.base, or an image made without
            // java.management: there is no MBean server to show it, and nobody to miss it
            System.getLogger("io.rustsocket").log(System.Logger.Level.DEBUG,
                    "rustsocket: no java.management module, the statistics MXBean is not registered");
            return;
        }
        try {
            registerStatisticsMBean();
        } catch (RuntimeException | LinkageError e) {
            System.getLogger("io.rustsocket").log(System.Logger.Level.WARNING,
                    "rustsocket: sockets are installed but the statistics MXBean could not be registered", e);
        }
    }

    // The JDK deprecated these hooks (since 17) without a replacement; they remain the only
    // supported way to choose the implementation behind every java.net.Socket in the JVM.
    @SuppressWarnings("deprecation")
    private static void setClientFactory() throws SocketException {
        try {
            Socket.setSocketImplFactory(CLIENT_FACTORY);
        } catch (IOException e) {
            throw asSocketException(e);
        }
    }

    // See setClientFactory: deprecated, and still the only hook for every ServerSocket.
    @SuppressWarnings("deprecation")
    private static void setServerFactory() throws SocketException {
        try {
            ServerSocket.setSocketFactory(SERVER_FACTORY);
        } catch (IOException e) {
            throw asSocketException(e);
        }
    }

    private static SocketException asSocketException(IOException e) {
        return e instanceof SocketException ? (SocketException) e : new SocketException(e.toString());
    }

    private static SocketException alreadyDefined(String type, SocketException cause, String outcome) {
        SocketException e = new SocketException("rustsocket cannot be installed as the default: "
                + type + " already has a socket implementation factory (" + cause.getMessage() + "); "
                + outcome);
        e.initCause(cause);
        return e;
    }

    /** Whether client sockets run on rustsocket even though installation failed half-way. */
    static synchronized boolean isClientOnlyInstalled() {
        return clientInstalled && !installed;
    }

    /**
     * Whether rustsocket works on this machine: its native library is loaded, or loads now.
     * Never throws; call it before constructing a {@link RustSocket} to choose between
     * rustsocket and the JDK's sockets at run time:
     *
     * <pre>{@code
     * Socket s = RustSockets.isAvailable() ? new RustSocket(host, port) : new Socket(host, port);
     * if (!RustSockets.isAvailable()) {
     *     log.info("JDK sockets: " + RustSockets.unavailabilityCause().getMessage());
     * }
     * }</pre>
     *
     * <p>The first call loads the library (extracting it from the jar if need be); the answer
     * never changes afterwards, since a failure is remembered.
     *
     * @return {@code true} if rustsocket's sockets can be created on this platform
     */
    public static boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /**
     * Why rustsocket does not work on this machine, or {@code null} if it does. Never throws;
     * loads the library on the first call, as {@link #isAvailable()} does.
     *
     * @return the {@link UnsatisfiedLinkError} that any socket construction would throw: its
     *     message names the platform seen, the platforms the jar holds and every location tried
     *     with its reason; {@code null} when the library is loaded
     */
    public static Throwable unavailabilityCause() {
        try {
            NativeLibrary.ensureLoaded();
            return null;
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError first = NativeLibrary.failure();
            return first != null ? first : e;
        }
    }

    /**
     * Whether {@link #installAsDefault()} completed in this JVM (by code or by the agent).
     *
     * @return {@code true} once every new {@code Socket} and {@code ServerSocket} runs on rustsocket
     */
    public static boolean isInstalledAsDefault() {
        return installed;
    }

    /**
     * The library's counters for this JVM now.
     *
     * @return an immutable snapshot
     */
    public static SocketStatistics statistics() {
        return new SocketStatistics(Statistics.snapshot());
    }

    /**
     * Registers the statistics MXBean as {@value #MBEAN_NAME} in the platform MBean server, so
     * that JConsole, VisualVM and other JMX clients show it. {@link #installAsDefault()} calls
     * it; call it yourself when you use {@link RustSocket} directly. Later calls do nothing.
     *
     * @throws IllegalStateException if the MBean server refuses the registration, or the JVM
     *     has no java.management module
     */
    public static synchronized void registerStatisticsMBean() {
        if (mbeanRegistered) {
            return;
        }
        if (!jmxAvailable()) {
            throw new IllegalStateException("cannot register " + MBEAN_NAME + ": the java.management module is not in this JVM");
        }
        Jmx.register(new StatisticsMXBean());
        mbeanRegistered = true;
    }

    /** Whether the JVM has the java.management module (see {@link Jmx}). */
    private static boolean jmxAvailable() {
        return ModuleLayer.boot().findModule("java.management").isPresent();
    }

    /**
     * Everything that names {@code javax.management}, kept out of {@link RustSockets} itself:
     * without the java.management module, a class that names its types (in a catch clause, say)
     * fails to load, and installing the sockets must not depend on it.
     */
    private static final class Jmx {
        static void register(StatisticsMXBean bean) {
            try {
                MBeanServer server = ManagementFactory.getPlatformMBeanServer();
                server.registerMBean(new StandardMBean(bean, SocketStatisticsMXBean.class, true),
                        new ObjectName(MBEAN_NAME));
            } catch (InstanceAlreadyExistsException e) {
                // another copy of the library (another class loader) registered first; its figures stand
            } catch (JMException e) {
                throw new IllegalStateException("cannot register " + MBEAN_NAME + ": " + e, e);
            }
        }
    }

    /** The MXBean: every attribute reads a fresh snapshot. */
    private static final class StatisticsMXBean implements SocketStatisticsMXBean {
        @Override
        public long getOpenSockets() {
            return statistics().getOpenSockets();
        }

        @Override
        public long getOpenServerSockets() {
            return statistics().getOpenServerSockets();
        }

        @Override
        public long getConnectionsOpened() {
            return statistics().getConnectionsOpened();
        }

        @Override
        public long getConnectionsAccepted() {
            return statistics().getConnectionsAccepted();
        }

        @Override
        public long getBytesRead() {
            return statistics().getBytesRead();
        }

        @Override
        public long getBytesWritten() {
            return statistics().getBytesWritten();
        }

        @Override
        public long getTimeouts() {
            return statistics().getTimeouts();
        }

        @Override
        public long getResets() {
            return statistics().getResets();
        }

        @Override
        public Map<String, Long> getErrors() {
            return statistics().getErrors();
        }

        @Override
        public boolean isInstalledAsDefault() {
            return RustSockets.isInstalledAsDefault();
        }
    }
}
