package io.rustsocket;

import static io.rustsocket.RandomApi.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * One engine's objects in a {@link RandomApiTest} sequence and the world's model of them: what
 * every step needs, whatever it does. It names ports (so that two worlds compare by name what the
 * kernel numbers), renders and records what each call observed, probes the objects after a step,
 * resolves a step's symbolic arguments, and runs a step on the object it targets, under the
 * {@link Watchdog}. What the steps do is in {@link RandomApiStreams} and {@link RandomApiSteps}.
 */
abstract class RandomApiWorld {
    final Engine engine;
    final int index;
    final List<Socket> socks = new CopyOnWriteArrayList<>();
    final List<SockModel> sm = new CopyOnWriteArrayList<>();
    final List<ServerSocket> servers = new CopyOnWriteArrayList<>();
    final List<ServerModel> svm = new CopyOnWriteArrayList<>();
    final List<Thread> threads = new CopyOnWriteArrayList<>();
    final Map<Integer, String> portNames = new HashMap<>();
    final int closedPort;
    final int freePort;
    int budget = TIMED_BUDGET;
    volatile String hung;

    /** Observations of the current step. */
    List<String> obs;
    /** Whether the last call returned normally. */
    boolean lastOk;

    RandomApiWorld(Engine engine, int index) throws IOException {
        this.engine = engine;
        this.index = index;
        closedPort = quietPort();
        freePort = quietPort();
        portNames.put(closedPort, "CLOSED");
        portNames.put(freePort, "FREE");
        endpoints.add(new Endpoint("FULL", RAW_127_0_0_1, fullPort));
        try {
            ServerSocket l0 = engine.listen();
            addServer(l0, 50);
            addServer(engine.serverSocket(), 50);
            addSocket(engine.socket());
            Socket client = engine.connect(LOOPBACK, l0.getLocalPort());
            SockModel cm = addSocket(client);
            Conn conn = new Conn();
            cm.conn = conn;
            cm.side = 0;
            Socket server = l0.accept();
            SockModel sm = addSocket(server);
            sm.conn = conn;
            sm.side = 1;
        } catch (IOException | RuntimeException e) {
            closeAll();
            throw e;
        }
    }

    SockModel addSocket(Socket s) {
        if (CLOSED_SOCKET_CREATES_IMPL && !s.isClosed()) {
            try {
                s.getSoTimeout(); // creates the impl now (see CLOSED_SOCKET_CREATES_IMPL)
            } catch (IOException ignore) {
                // then it exists already or the socket is unusable anyway
            }
        }
        SockModel m = new SockModel();
        sm.add(m);
        socks.add(s);
        return m;
    }

    ServerModel addServer(ServerSocket ss, int capacity) {
        if (CLOSED_SOCKET_CREATES_IMPL && !ss.isClosed()) {
            try {
                ss.getSoTimeout(); // creates the impl now (see CLOSED_SOCKET_CREATES_IMPL)
            } catch (IOException ignore) {
                // then it exists already or the socket is unusable anyway
            }
        }
        ServerModel m = new ServerModel();
        m.capacity = capacity;
        svm.add(m);
        servers.add(ss);
        if (ss.isBound()) {
            bound(svm.size() - 1);
        }
        return m;
    }

    /** Server socket i is bound now: its port gets its name. */
    void bound(int i) {
        ServerModel m = svm.get(i);
        ServerSocket ss = servers.get(i);
        m.port = ss.getLocalPort();
        if (!portNames.containsKey(m.port)) {
            m.endpoint = new Endpoint(i == 0 ? "L0" : "S" + i, ss.getInetAddress(), m.port);
            endpoints.add(m.endpoint);
            m.names.put(ss.getInetAddress().getHostAddress() + "|" + m.port, m.endpoint.name);
        }
    }

    void closeAll() {
        for (Socket s : socks) {
            try {
                if (!s.isClosed() && lingerOn(s)) {
                    // a lingering close(2) would wait for a peer that is closed later in this loop
                    s.setSoLinger(false, 0);
                }
            } catch (IOException | RuntimeException ignore) {
                // closed meanwhile
            }
            try {
                s.close();
            } catch (IOException | RuntimeException ignore) {
                // best effort
            }
        }
        for (ServerSocket s : servers) {
            try {
                s.close();
            } catch (IOException | RuntimeException ignore) {
                // best effort
            }
        }
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------ naming and rendering

    /**
     * A port by name: the fixed ones, and those of server sockets by slot; any other port is
     * ephemeral, chosen by the kernel (which may even give one port to two connections), so
     * only its class is compared.
     */
    String port(InetAddress address, int p) {
        if (p <= 0) {
            return String.valueOf(p);
        }
        if (context != null) {
            String key = (address == null ? "*" : address.getHostAddress()) + "|" + p;
            return context.computeIfAbsent(key, k -> lookUp(address, p));
        }
        return lookUp(address, p);
    }

    /**
     * The name of a port seen with an address: a quiet port's by number; a listener's only
     * while it is open and on an address that reaches it (a port the kernel chose for one
     * address may be given out again on another).
     */
    String lookUp(InetAddress address, int p) {
        String quiet = portNames.get(p);
        if (quiet != null) {
            return quiet;
        }
        for (Endpoint e : endpoints) {
            if (e.live && e.port == p && (e.address == null || address == null || address.isAnyLocalAddress()
                    || address.equals(e.address))) {
                return e.name;
            }
        }
        return "(ephemeral)";
    }

    /** A listening port with a name. */
    static final class Endpoint {
        final String name;
        /** null for the wildcard. */
        final InetAddress address;
        final int port;
        boolean live = true;

        Endpoint(String name, InetAddress address, int port) {
            this.name = name;
            this.address = address == null || address.isAnyLocalAddress() ? null : address;
            this.port = port;
        }
    }

    final List<Endpoint> endpoints = new ArrayList<>();

    /**
     * The names of the ports of the object being called or probed, fixed when first seen: a
     * socket keeps reporting its ports after they were released (after close, or after its
     * listener closed), and the kernel may have given the numbers to someone else since.
     */
    Map<String, String> context;

    void own(Map<String, String> names) {
        context = names;
    }

    void disown() {
        context = null;
    }

    String render(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof InetSocketAddress) {
            InetSocketAddress a = (InetSocketAddress) v;
            return (a.isUnresolved() ? a.getHostString() + "(unresolved)" : String.valueOf(a.getAddress())) + ":"
                    + port(a.getAddress(), a.getPort());
        }
        if (v instanceof Set) {
            Set<String> names = new TreeSet<>();
            for (Object o : (Set<?>) v) {
                names.add(String.valueOf(o));
            }
            return names.toString();
        }
        if (v instanceof Socket) {
            return "a connected=" + ((Socket) v).isConnected() + " socket";
        }
        if (v instanceof ServerSocket) {
            return "a bound=" + ((ServerSocket) v).isBound() + " server socket";
        }
        if (v instanceof InputStream || v instanceof OutputStream) {
            return v.getClass().getName();
        }
        if (v instanceof byte[]) {
            byte[] b = (byte[]) v;
            return b.length + " bytes #" + Arrays.hashCode(b);
        }
        return String.valueOf(v);
    }

    /** Socket and ServerSocket toString with port numbers replaced by their names. */
    String renderToString(String s, InetAddress remote, InetAddress local) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(local)?port=(\\d+)").matcher(s);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            boolean isLocal = m.group(1) != null;
            m.appendReplacement(sb, m.group(0).replaceAll("\\d+", "")
                    + port(isLocal ? local : remote, Integer.parseInt(m.group(2))));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    static String renderException(Throwable e) {
        if (e instanceof NullPointerException) {
            // HotSpot drops the (helpful) message once the throwing code is compiled
            // (OmitStackTraceInFastThrow), so the JIT decides it: the class only
            return e.getClass().getName() + " (message not compared)";
        }
        return e.getClass().getName() + ": " + e.getMessage();
    }

    // ------------------------------------------------------------ recording calls

    /** Makes one random API call, records its outcome and counts it. */
    <T> T call(String label, Call<T> c) {
        return call(label, c, this::render);
    }

    <T> T call(String label, Call<T> c, java.util.function.Function<T, String> renderer) {
        RANDOM_CALLS[index].incrementAndGet();
        try {
            T v = c.call();
            lastOk = true;
            obs.add(label + " -> " + renderer.apply(v));
            if (index == 1) {
                tally("ok");
            }
            return v;
        } catch (Exception | Error e) {
            if (e instanceof AssertionError) {
                throw (AssertionError) e;
            }
            lastOk = false;
            obs.add(label + " -> " + renderException(e));
            if (index == 1) {
                tally(e.getClass().getSimpleName());
            }
            return null;
        }
    }

    /** A void call. */
    void run(String label, VoidCall c) {
        call(label, () -> {
            c.run();
            return "ok";
        }, String::valueOf);
    }

    void skip(String reason) {
        obs.add("skipped: " + reason);
        if (index == 1) {
            SKIPPED_STEPS.incrementAndGet();
            SKIP_TALLY.computeIfAbsent(reason, k -> new LongAdder()).increment();
        }
    }

    /** A probe: an observation that is not a random call. */
    void probe(String label, Call<Object> c) {
        PROBE_CALLS.incrementAndGet();
        try {
            obs.add(label + "=" + render(c.call()));
        } catch (Exception e) {
            obs.add(label + "=" + renderException(e));
        }
    }

    static void tally(String key) {
        TALLY.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    // ------------------------------------------------------------ probes

    void probeSocket(int i) {
        own(sm.get(i).names);
        try {
            probeSocket0(i);
        } finally {
            disown();
        }
    }

    void probeSocket0(int i) {
        Socket s = socks.get(i);
        StringBuilder sb = new StringBuilder("s" + i + ":");
        PROBE_CALLS.addAndGet(11);
        sb.append(" closed=").append(s.isClosed());
        sb.append(" connected=").append(s.isConnected());
        sb.append(" bound=").append(s.isBound());
        sb.append(" inShut=").append(s.isInputShutdown());
        sb.append(" outShut=").append(s.isOutputShutdown());
        sb.append(" port=").append(port(s.getInetAddress(), s.getPort()));
        sb.append(" localPort=").append(port(s.getLocalAddress(), s.getLocalPort()));
        sb.append(" inet=").append(render(s.getInetAddress()));
        sb.append(" local=").append(render(s.getLocalAddress()));
        sb.append(" remote=").append(render(s.getRemoteSocketAddress()));
        sb.append(" localAddr=").append(render(s.getLocalSocketAddress()));
        obs.add(sb.toString());
    }

    void probeServer(int i) {
        own(svm.get(i).names);
        try {
            probeServer0(i);
        } finally {
            disown();
        }
    }

    void probeServer0(int i) {
        ServerSocket s = servers.get(i);
        StringBuilder sb = new StringBuilder("ss" + i + ":");
        PROBE_CALLS.addAndGet(5);
        sb.append(" closed=").append(s.isClosed());
        sb.append(" bound=").append(s.isBound());
        sb.append(" localPort=").append(port(s.getInetAddress(), s.getLocalPort()));
        sb.append(" inet=").append(render(s.getInetAddress()));
        sb.append(" localAddr=").append(render(s.getLocalSocketAddress()));
        obs.add(sb.toString());
    }

    List<String> probeAll() {
        obs = new ArrayList<>();
        for (int i = 0; i < socks.size(); i++) {
            probeSocket(i);
        }
        for (int i = 0; i < servers.size(); i++) {
            probeServer(i);
        }
        return obs;
    }

    // ------------------------------------------------------------ resolving arguments

    int intArg(int choice, int raw) {
        int i = Math.floorMod(choice, INTS.length);
        if (i == RAW_INT) {
            return raw;
        }
        if (i == RAW_SMALL_INT) {
            return Math.floorMod(raw, 200_000) - 1000;
        }
        return INTS[i];
    }

    int port(Port p) {
        return port(p, false);
    }

    /** The port number of a symbolic port; {@code forBind} for a local port to bind to. */
    int port(Port p, boolean forBind) {
        switch (p) {
            case L0:
                return svm.get(0).port;
            case ZERO:
            case ZERO2:
                return 0;
            case CLOSED:
                return closedPort;
            case FREE:
                return freePort;
            case S1:
                return Math.max(0, svm.get(1).port);
            case NEG1:
                return -1;
            case P65536:
                return 65536;
            case MAX:
                return Integer.MAX_VALUE;
            case MIN:
                return Integer.MIN_VALUE;
            case FULL:
                // shared by both worlds: where it would be bound to, each world uses its own L0
                return forBind ? svm.get(0).port : fullPort;
            case SLAST:
                return Math.max(0, svm.get(svm.size() - 1).port);
            default:
                throw new AssertionError(p);
        }
    }

    /** A SocketAddress argument; ports outside 0..65535 (which InetSocketAddress refuses) become 0. */
    SocketAddress socketAddress(Addr kind, Port p, boolean forBind) {
        int port = port(p, forBind);
        if (port < 0 || port > 0xFFFF) {
            port = 0;
        }
        switch (kind) {
            case NULL:
                return null;
            case UNRESOLVED:
                return InetSocketAddress.createUnresolved("localhost", port);
            case UNRESOLVED_BAD:
                return InetSocketAddress.createUnresolved("[::1", port);
            case CUSTOM:
                return new SocketAddress() {
                    private static final long serialVersionUID = 1L;

                    @Override
                    public String toString() {
                        return "custom";
                    }
                };
            default:
                return new InetSocketAddress(INET[kind.ordinal()], port);
        }
    }

    // ------------------------------------------------------------ running a step

    List<String> run(Step step) {
        obs = new ArrayList<>();
        Watchdog.INSTANCE.begin(this, engine + " " + step);
        try {
            if (step.op().onServer()) {
                int i = Math.floorMod(step.t(), servers.size());
                int before = servers.size();
                own(svm.get(i).names);
                try {
                    runServerStep(step, i);
                } finally {
                    disown();
                }
                afterStep();
                if (step.op() != Op.SS_NEW) {
                    probeServer(i);
                }
                for (int j = before; j < servers.size(); j++) {
                    probeServer(j);
                }
            } else {
                int i = Math.floorMod(step.t(), socks.size());
                int before = socks.size();
                int beforeServers = servers.size();
                own(sm.get(i).names);
                try {
                    runSocketStep(step, i);
                } finally {
                    disown();
                }
                afterStep();
                if (step.op() != Op.S_NEW) {
                    probeSocket(i);
                }
                for (int j = before; j < socks.size(); j++) {
                    probeSocket(j);
                }
                for (int j = beforeServers; j < servers.size(); j++) {
                    probeServer(j);
                }
            }
        } catch (IOException e) {
            obs.add("harness: " + renderException(e));
        } finally {
            Watchdog.INSTANCE.end();
        }
        return obs;
    }

    /** Brings the model up to date with closes, whichever way they happened. */
    void afterStep() {
        for (int i = 0; i < socks.size(); i++) {
            SockModel m = sm.get(i);
            if (!m.closedSeen && socks.get(i).isClosed()) {
                m.closedSeen = true;
                if (m.conn != null) {
                    m.conn.closed[m.side] = true;
                }
            }
        }
        for (int i = 0; i < servers.size(); i++) {
            ServerModel m = svm.get(i);
            if (!m.closedSeen && servers.get(i).isClosed()) {
                m.closedSeen = true;
                if (m.endpoint != null) {
                    m.endpoint.live = false; // the kernel may give the number to another socket now
                }
                for (Conn c : m.queue) {
                    c.closed[1] = true;
                }
                m.queue.clear();
            }
        }
    }

    /**
     * The in-world listener that takes a connection to {@code address}:{@code port}, if any:
     * one bound to that very address, else one bound to the wildcard; with a null address,
     * any listener on the port (the caller only asks whether its queue is full).
     */
    ServerModel listenerFor(InetAddress address, int port) {
        if (port <= 0) {
            return null;
        }
        ServerModel wildcard = null;
        for (int i = 0; i < servers.size(); i++) {
            ServerSocket ss = servers.get(i);
            if (svm.get(i).port != port || !ss.isBound() || ss.isClosed()) {
                continue;
            }
            InetAddress local = ss.getInetAddress();
            if (address == null || address.equals(local)) {
                return svm.get(i);
            }
            if (local != null && local.isAnyLocalAddress()) {
                wildcard = svm.get(i);
            }
        }
        return wildcard;
    }

    /**
     * Whether {@code address} is not an address of the listener behind {@code p}. A port that
     * the kernel chose for one address of a listener is only unique on that address; on another
     * one, the other world may be using the same number, so the outcome would be theirs.
     */
    boolean otherAddress(InetAddress address, Port p, boolean forBind) {
        InetAddress local;
        if (p == Port.FULL && !forBind) {
            local = RAW_127_0_0_1;
        } else {
            int k;
            switch (p) {
                case L0:
                case FULL:
                    k = 0;
                    break;
                case S1:
                    k = 1;
                    break;
                case SLAST:
                    k = servers.size() - 1;
                    break;
                default:
                    return false;
            }
            ServerSocket ss = servers.get(k);
            if (ss.isClosed() && svm.get(k).port > 0) {
                return true; // its port is released: someone else on this host may have it now
            }
            local = ss.getInetAddress();
        }
        if (local == null || local.isAnyLocalAddress() || address == null) {
            return false;
        }
        if (address.isAnyLocalAddress()) {
            if (forBind) {
                return false;
            }
            address = LOCAL_HOST; // where a connect to the wildcard goes
        }
        return !local.equals(address);
    }

    /** A connect to this port could wait in a full accept queue. */
    boolean queueFull(int port) {
        for (int i = 0; i < servers.size(); i++) {
            ServerModel m = svm.get(i);
            if (m.port == port && port > 0 && m.queue.size() >= Math.min(m.capacity, 4096)) {
                return true;
            }
        }
        return false;
    }

    /** After a connect succeeded: the connection joins the accept queue of the listener. */
    void connected(SockModel m, Socket s) {
        Conn conn = new Conn();
        m.conn = conn;
        m.side = 0;
        ServerModel l = listenerFor(s.getInetAddress(), s.getPort());
        if (l != null) {
            l.queue.add(conn);
        } else {
            conn.closed[1] = true; // nobody in this world will read or write the other end
        }
    }

    boolean takeBudget() {
        if (budget > 0) {
            budget--;
            if (index == 1) {
                TIMED_CALLS.incrementAndGet();
            }
            return true;
        }
        return false;
    }

    int soTimeout(Socket s) {
        try {
            return s.getSoTimeout();
        } catch (IOException e) {
            return -1;
        }
    }

    int soTimeout(ServerSocket s) {
        try {
            return s.getSoTimeout();
        } catch (IOException e) {
            return -1;
        }
    }

    /** Why a close that could wait out SO_LINGER is skipped (see {@link #closeMayLinger}). */
    static final String LINGERING_CLOSE = "close would wait out SO_LINGER: the peer's window decides how long";
    /** Why a flood of a socket with a linger time is not closed under its writer. */
    static final String LINGERING_FLOOD = "close under a flood would wait out SO_LINGER";

    /**
     * Whether closing {@code s} here could wait out its SO_LINGER time. With a linger time set,
     * close(2) returns only once the bytes still unsent and the FIN are acknowledged (the JDK's
     * close as ours, when no other thread is inside a call on the socket), and a peer that set a
     * small receive buffer and does not read holds back even a few hundred bytes: how long the
     * close takes is then the peer's (seen in CI: a 128 s linger outlived the sequence deadline).
     */
    boolean closeMayLinger(Socket s, SockModel m) {
        Conn c = m.conn;
        if (s.isClosed() || !s.isConnected() || c == null || c.closed[1 - m.side]
                || c.pending[1 - m.side] + c.urgent[1 - m.side] == 0) {
            return false;
        }
        return lingerOn(s);
    }

    /** Whether {@code s} has SO_LINGER on with a time (not 0, which resets instead). */
    static boolean lingerOn(Socket s) {
        try {
            return s.getSoLinger() > 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** How a call that waits for data (or a connection) can go when nothing is coming. */
    Plan whenNothingComes(int timeout) {
        if (timeout >= 1 && timeout <= SHORT_TIMEOUT && takeBudget()) {
            return Plan.TIMED;
        }
        return Plan.SKIP;
    }

    // ------------------------------------------------------------ the steps (RandomApiSteps)

    abstract void runSocketStep(Step st, int i) throws IOException;

    abstract void runServerStep(Step st, int i) throws IOException;

    // ---------------------------------------------------------------- watchdog

    /** Closes the world of a step that runs too long, so that the step returns and fails. */
    static final class Watchdog implements Runnable {
        private final AtomicReference<RandomApiWorld> world = new AtomicReference<>();
        private volatile long since;
        private volatile String label;

        static final Watchdog INSTANCE = start();

        private static Watchdog start() {
            Watchdog w = new Watchdog();
            Thread t = new Thread(w, "random-api-watchdog");
            t.setDaemon(true);
            t.start();
            return w;
        }

        void begin(RandomApiWorld w, String what) {
            label = what;
            since = System.nanoTime();
            world.set(w);
        }

        void end() {
            world.set(null);
        }

        @Override
        public void run() {
            while (true) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                RandomApiWorld w = world.get();
                if (w != null && System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(STEP_HANG_MILLIS)) {
                    if (world.compareAndSet(w, null)) {
                        w.hung = label + " (still running after " + STEP_HANG_MILLIS + " ms; world closed)";
                        w.closeAll();
                    }
                }
            }
        }
    }
}
