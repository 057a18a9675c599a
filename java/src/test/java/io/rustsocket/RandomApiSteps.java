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
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ServerSocketFactory;
import javax.net.SocketFactory;

/**
 * The socket and server-socket steps of a {@link RandomApiWorld}: constructors and factories,
 * options (legacy and setOption), bind, connect, close, accept and the rest, with the model kept
 * up to date; the stream steps come from {@link RandomApiStreams}.
 */
final class RandomApiSteps extends RandomApiStreams {
    RandomApiSteps(Engine engine, int index) throws IOException {
        super(engine, index);
    }

    // ------------------------------------------------------------ socket steps

    @Override
    void runSocketStep(Step st, int i) throws IOException {
        Socket s = socks.get(i);
        SockModel m = sm.get(i);
        String p = "s" + i + ".";
        switch (st.op()) {
            case S_NEW:
                newSocket(st);
                break;
            case S_LEGACY_SET:
                legacySet(s, m, p, st);
                break;
            case S_LEGACY_GET:
                legacyGet(s, m, p, st);
                break;
            case S_SET_OPTION:
            case X_SET_OPTION:
                setOption(p, st, st.op() == Op.X_SET_OPTION, m, (o, v) -> s.setOption(o, v));
                break;
            case S_GET_OPTION:
            case X_GET_OPTION: {
                SocketOption<?> o = option(st, st.op() == Op.X_GET_OPTION);
                call(p + "getOption(" + o + ")", () -> s.getOption(o), v -> renderOption(o, v, m.sndSet, m.rcvSet));
                break;
            }
            case S_SUPPORTED:
            case X_SUPPORTED:
                call(p + "supportedOptions()", s::supportedOptions,
                        v -> renderOptions(v, st.op() == Op.X_SUPPORTED));
                break;
            case S_BIND: {
                Addr kind = Addr.values()[Math.floorMod(st.a(), Addr.values().length)];
                Port port = Port.values()[Math.floorMod(st.b(), Port.values().length)];
                SocketAddress sa = socketAddress(kind, port, true);
                if (sa instanceof InetSocketAddress && !((InetSocketAddress) sa).isUnresolved()
                        && otherAddress(((InetSocketAddress) sa).getAddress(), port, true)) {
                    skip("bind to the port of a listener on another address");
                    break;
                }
                run(p + "bind(" + kind + ":" + port + ")", () -> s.bind(sa));
                break;
            }
            case S_CONNECT:
                connect(s, m, p, st);
                break;
            case S_CLOSE:
                if (closeMayLinger(s, m)) {
                    skip(LINGERING_CLOSE);
                    break;
                }
                close(s, p, st);
                break;
            case S_SHUTDOWN:
                if (st.a() % 2 == 0) {
                    run(p + "shutdownInput()", s::shutdownInput);
                } else {
                    run(p + "shutdownOutput()", s::shutdownOutput);
                    if (lastOk && m.conn != null) {
                        m.conn.outputShut[m.side] = true;
                    }
                }
                break;
            case S_GET_STREAM:
                if (st.a() % 2 == 0) {
                    InputStream in = call(p + "getInputStream()", s::getInputStream);
                    if (in != null) {
                        m.in = in;
                    }
                } else {
                    OutputStream out = call(p + "getOutputStream()", s::getOutputStream);
                    if (out != null) {
                        m.out = out;
                    }
                }
                break;
            case S_READ:
                read(s, m, p, st);
                break;
            case S_WRITE:
                write(s, m, p, st);
                break;
            case S_AVAILABLE:
                available(s, m, p, st);
                break;
            case S_STREAM_MISC:
                streamMisc(s, m, p, st);
                break;
            case S_URGENT:
                urgent(s, m, p, st);
                break;
            case S_ASYNC_CLOSE:
                asyncClose(s, m, p, st);
                break;
            case S_MISC:
                misc(p, st, s::toString, v -> renderToString(v, s.getInetAddress(), s.getLocalAddress()),
                        s::getChannel, s::setPerformancePreferences);
                break;
            default:
                throw new AssertionError(st.op());
        }
    }

    /** setPerformancePreferences of a socket or server socket. */
    interface Preferences {
        void set(int connectionTime, int latency, int bandwidth);
    }

    /** S_MISC and SS_MISC: toString() (ports by name), getChannel() or setPerformancePreferences(x, y, z). */
    void misc(String p, Step st, Call<String> toString, java.util.function.Function<String, String> renderer,
            Call<Object> channel, Preferences preferences) {
        switch (Math.floorMod(st.a(), 3)) {
            case 0:
                call(p + "toString()", toString, renderer);
                break;
            case 1:
                call(p + "getChannel()", channel);
                break;
            default: {
                int x = intArg(st.b(), st.d());
                int y = intArg(st.c(), st.d());
                int z = intArg(st.e(), st.d());
                run(p + "setPerformancePreferences(" + x + "," + y + "," + z + ")",
                        () -> preferences.set(x, y, z));
            }
        }
    }

    void legacySet(Socket s, SockModel m, String p, Step st) {
        int v = intArg(st.b(), st.d());
        boolean on = st.c() % 2 == 1;
        switch (Math.floorMod(st.a(), 9)) {
            case 0:
                run(p + "setSoTimeout(" + v + ")", () -> s.setSoTimeout(v));
                break;
            case 1:
                run(p + "setTcpNoDelay(" + on + ")", () -> s.setTcpNoDelay(on));
                break;
            case 2:
                run(p + "setSoLinger(" + on + "," + v + ")", () -> s.setSoLinger(on, v));
                break;
            case 3:
                run(p + "setSendBufferSize(" + v + ")", () -> s.setSendBufferSize(v));
                m.sndSet |= lastOk;
                break;
            case 4:
                run(p + "setReceiveBufferSize(" + v + ")", () -> s.setReceiveBufferSize(v));
                m.rcvSet |= lastOk;
                break;
            case 5:
                run(p + "setKeepAlive(" + on + ")", () -> s.setKeepAlive(on));
                break;
            case 6:
                run(p + "setTrafficClass(" + v + ")", () -> s.setTrafficClass(v));
                break;
            case 7:
                run(p + "setReuseAddress(" + on + ")", () -> s.setReuseAddress(on));
                break;
            default:
                run(p + "setOOBInline(" + on + ")", () -> s.setOOBInline(on));
        }
    }

    void legacyGet(Socket s, SockModel m, String p, Step st) {
        switch (Math.floorMod(st.a(), 9)) {
            case 0:
                call(p + "getSoTimeout()", s::getSoTimeout);
                break;
            case 1:
                call(p + "getTcpNoDelay()", s::getTcpNoDelay);
                break;
            case 2:
                call(p + "getSoLinger()", s::getSoLinger);
                break;
            case 3:
                call(p + "getSendBufferSize()", s::getSendBufferSize, v -> bufferSize(v, m.sndSet));
                break;
            case 4:
                call(p + "getReceiveBufferSize()", s::getReceiveBufferSize, v -> bufferSize(v, m.rcvSet));
                break;
            case 5:
                call(p + "getKeepAlive()", s::getKeepAlive);
                break;
            case 6:
                call(p + "getTrafficClass()", s::getTrafficClass);
                break;
            case 7:
                call(p + "getReuseAddress()", s::getReuseAddress);
                break;
            default:
                call(p + "getOOBInline()", s::getOOBInline);
        }
    }

    /** A buffer size read back: exact once set, else only its sign (TCP auto-tuning moves it). */
    static String bufferSize(Integer v, boolean set) {
        if (v == null || set) {
            return String.valueOf(v);
        }
        return v > 0 ? "(a positive size)" : String.valueOf(v);
    }

    /**
     * A set of supported options: all of it with {@code extended}, else the standard ones and
     * any that are neither standard nor jdk.net's (the jdk.net ones are compared by the
     * extended-option property, so that their absence does not hide other differences).
     */
    static String renderOptions(Set<SocketOption<?>> v, boolean extended) {
        Set<String> names = new TreeSet<>();
        for (SocketOption<?> o : v) {
            if ((extended || !EXTENDED_OPTIONS.contains(o)) && !RUST_ONLY_OPTIONS.contains(o)) {
                names.add(o.name());
            }
        }
        return names.toString();
    }

    String renderOption(SocketOption<?> o, Object v, boolean sndSet, boolean rcvSet) {
        if (o != null && KERNEL_OWNED.contains(o.name()) && v != null) {
            // the kernel changes these by itself (quick-ack mode comes and goes with traffic)
            return "(a " + v.getClass().getSimpleName() + ")";
        }
        if (o == StandardSocketOptions.SO_SNDBUF && v instanceof Integer) {
            return bufferSize((Integer) v, sndSet);
        }
        if (o == StandardSocketOptions.SO_RCVBUF && v instanceof Integer) {
            return bufferSize((Integer) v, rcvSet);
        }
        return render(v);
    }

    static SocketOption<?> option(Step st, boolean extended) {
        List<SocketOption<?>> list = extended ? OPTIONS_WITH_EXTENDED : OPTIONS;
        if (extended && !EXTENDED_OPTIONS.isEmpty() && st.e() % 4 != 0) {
            // mostly the extended ones
            return EXTENDED_OPTIONS.get(Math.floorMod(st.a(), EXTENDED_OPTIONS.size()));
        }
        return list.get(Math.floorMod(st.a(), list.size()));
    }

    Object optionValue(Step st) {
        int v = intArg(st.c(), st.d());
        switch (Math.floorMod(st.b(), 6)) {
            case 0:
            case 3:
                return v;
            case 1:
                return st.c() % 2 == 1;
            case 2:
                return null;
            case 4:
                return "x";
            default:
                return (long) v;
        }
    }

    /** setOption on a socket or server socket. */
    interface OptionSetter {
        void set(SocketOption<Object> o, Object v) throws IOException;
    }

    @SuppressWarnings("unchecked")
    void setOption(String p, Step st, boolean extended, Object model, OptionSetter setter) {
        SocketOption<Object> o = (SocketOption<Object>) option(st, extended);
        Object v = optionValue(st);
        String shown = v instanceof Long ? v + "L" : v instanceof String ? "\"" + v + "\"" : String.valueOf(v);
        run(p + "setOption(" + o + "," + shown + ")", () -> setter.set(o, v));
        if (lastOk && model instanceof SockModel) {
            SockModel m = (SockModel) model;
            m.sndSet |= (Object) o == StandardSocketOptions.SO_SNDBUF;
            m.rcvSet |= (Object) o == StandardSocketOptions.SO_RCVBUF;
        } else if (lastOk && model instanceof ServerModel) {
            ((ServerModel) model).rcvSet |= (Object) o == StandardSocketOptions.SO_RCVBUF;
        }
    }

    // ------------------------------------------------------------ new sockets

    static final String[] CTOR = {"Socket()", "Socket(String,int)", "Socket(InetAddress,int)",
        "Socket(String,int,InetAddress,int)", "Socket(InetAddress,int,InetAddress,int)"};

    void newSocket(Step st) {
        if (socks.size() >= 10) {
            skip("enough sockets");
            return;
        }
        int kind = Math.floorMod(st.a(), 10);
        boolean factory = kind >= 5;
        int shape = kind % 5;
        String host = HOSTS[Math.floorMod(st.b(), HOSTS.length)];
        InetAddress addr = INET[Math.floorMod(st.b(), INET.length)];
        String addrName = INET_NAMES[Math.floorMod(st.b(), INET.length)];
        Port rp = Port.values()[Math.floorMod(st.c(), Port.values().length)];
        InetAddress local = INET[Math.floorMod(st.e(), INET.length)];
        String localName = INET_NAMES[Math.floorMod(st.e(), INET.length)];
        Port lp = Port.values()[Math.floorMod(st.d(), Port.values().length)];
        int remotePort = port(rp);
        int localPort = port(lp, true);
        boolean rust = engine == Engine.RUST;
        String label;
        Call<Socket> c;
        switch (shape) {
            case 0:
                label = "()";
                c = () -> factory ? factory(rust).createSocket() : engine.socket();
                break;
            case 1:
                label = "(\"" + host + "\"," + rp + ")";
                c = () -> factory ? factory(rust).createSocket(host, remotePort)
                        : rust ? new RustSocket(host, remotePort) : new Socket(host, remotePort);
                break;
            case 2:
                label = "(" + addrName + "," + rp + ")";
                c = () -> factory ? factory(rust).createSocket(addr, remotePort)
                        : rust ? new RustSocket(addr, remotePort) : new Socket(addr, remotePort);
                break;
            case 3:
                label = "(\"" + host + "\"," + rp + "," + localName + "," + lp + ")";
                c = () -> factory ? factory(rust).createSocket(host, remotePort, local, localPort)
                        : rust ? new RustSocket(host, remotePort, local, localPort)
                                : new Socket(host, remotePort, local, localPort);
                break;
            default:
                label = "(" + addrName + "," + rp + "," + localName + "," + lp + ")";
                c = () -> factory ? factory(rust).createSocket(addr, remotePort, local, localPort)
                        : rust ? new RustSocket(addr, remotePort, local, localPort)
                                : new Socket(addr, remotePort, local, localPort);
        }
        if (shape != 0) {
            // a connect that could get no answer, or wait in a full accept queue, is not made
            boolean remoteNonLocal = shape == 2 || shape == 4 ? addr == NON_LOCAL : false;
            if (rp == Port.FULL || remoteNonLocal || queueFull(remotePort)) {
                skip("connect without a timeout could block");
                return;
            }
            InetAddress dest = shape == 1 || shape == 3 ? resolve(host) : addr;
            if (dest != null && otherAddress(dest, rp, false)
                    || (shape == 3 || shape == 4) && otherAddress(local, lp, true)) {
                skip("connect to, or bind to, the port of a listener on another address");
                return;
            }
            if ((shape == 3 || shape == 4) && localPort == remotePort && localPort > 0) {
                skip("self-connect");
                return;
            }
        }
        String name = (factory ? "factory.createSocket" : "new " + CTOR[shape].replaceAll("\\(.*", "")) + label;
        Socket s = call(name, c);
        if (s != null) {
            SockModel m = addSocket(s);
            if (s.isConnected()) {
                connected(m, s);
            }
        }
    }

    static SocketFactory factory(boolean rust) {
        return rust ? RustSocketFactory.getDefault() : SocketFactory.getDefault();
    }

    static ServerSocketFactory serverFactory(boolean rust) {
        return rust ? RustServerSocketFactory.getDefault() : ServerSocketFactory.getDefault();
    }

    // ------------------------------------------------------------ connect and close

    /** -100 stands for connect(address) without a timeout. */
    static final int[] CONNECT_TIMEOUTS = {-100, 0, -1, CONNECT_TIMEOUT, 1, 1000, Integer.MAX_VALUE,
        Integer.MIN_VALUE};

    void connect(Socket s, SockModel m, String p, Step st) {
        Addr kind = Addr.values()[Math.floorMod(st.a(), Addr.values().length)];
        Port port = Port.values()[Math.floorMod(st.b(), Port.values().length)];
        int tc = Math.floorMod(st.c(), CONNECT_TIMEOUTS.length);
        int timeout = CONNECT_TIMEOUTS[tc];
        boolean untimed = timeout == -100;
        SocketAddress sa = socketAddress(kind, port, false);
        int target = sa instanceof InetSocketAddress ? ((InetSocketAddress) sa).getPort() : -1;
        // refused by java.net.Socket itself, before the impl (and the clock) has a say
        boolean refusedBySocket = s.isClosed() || s.isConnected() || timeout < 0 && !untimed
                || !(sa instanceof InetSocketAddress);
        boolean immediate = refusedBySocket || m.connectFailed || ((InetSocketAddress) sa).isUnresolved();
        if (!refusedBySocket && timeout >= 1 && timeout < CONNECT_TIMEOUT) {
            skip("connect with a timeout so short that the clock decides");
            return;
        }
        if (!immediate) {
            boolean noAnswer = port == Port.FULL || kind == Addr.NON_LOCAL;
            InetAddress dest = ((InetSocketAddress) sa).getAddress();
            if (noAnswer) {
                if (!(timeout == CONNECT_TIMEOUT && takeBudget())) {
                    skip("connect that may get no answer, without a short timeout");
                    return;
                }
            } else if (otherAddress(dest, port, false)) {
                skip("connect to the port of a listener on another address");
                return;
            } else if (queueFull(target)) {
                skip("connect to a full accept queue");
                return;
            } else if (target > 0 && target == s.getLocalPort()) {
                skip("self-connect");
                return;
            }
        }
        String label = p + "connect(" + kind + ":" + port + (untimed ? "" : "," + timeout) + ")";
        if (untimed) {
            run(label, () -> s.connect(sa));
        } else {
            // java.net.Socket's SOCKS layer throws its own SocketTimeoutException, without a
            // message, when the timeout has run out before it hands over: the clock picks the message
            run(label, () -> {
                try {
                    s.connect(sa, timeout);
                } catch (java.net.SocketTimeoutException e) {
                    throw new java.net.SocketTimeoutException("(message not compared)");
                } catch (IOException e) {
                    if (kind == Addr.NON_LOCAL && !immediate) {
                        // whether a non-local address answers, and how fast, is the network's
                        // business (some sandboxes refuse it after a while): failed is failed
                        throw new java.net.SocketTimeoutException("(message not compared)");
                    }
                    throw e;
                }
            });
        }
        if (lastOk) {
            connected(m, s);
        } else if (!s.isConnected()) {
            m.connectFailed |= !immediate;
        }
    }

    void close(Socket s, String p, Step st) {
        switch (Math.floorMod(st.a(), 4)) {
            case 0:
                run(p + "close()", s::close);
                break;
            case 1:
                run(p + "close() by another thread", () -> inOtherThread(s::close));
                break;
            case 2: {
                InputStream in = call(p + "getInputStream()", s::getInputStream);
                if (in != null) {
                    run(p + "getInputStream().close()", in::close);
                }
                break;
            }
            default: {
                OutputStream out = call(p + "getOutputStream()", s::getOutputStream);
                if (out != null) {
                    run(p + "getOutputStream().close()", out::close);
                }
            }
        }
    }

    /** Runs {@code c} in the closer thread and waits for it. */
    static void inOtherThread(VoidCall c) throws Exception {
        Future<?> f = closer.submit(() -> {
            c.run();
            return null;
        });
        try {
            f.get(STEP_HANG_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("close() in another thread still running after " + STEP_HANG_MILLIS + " ms");
        }
    }

    // ------------------------------------------------------------ server socket steps

    @Override
    void runServerStep(Step st, int i) throws IOException {
        ServerSocket ss = servers.get(i);
        ServerModel m = svm.get(i);
        String p = "ss" + i + ".";
        switch (st.op()) {
            case SS_NEW:
                newServer(st);
                break;
            case SS_BIND: {
                Addr kind = Addr.values()[Math.floorMod(st.a(), Addr.values().length)];
                Port port = Port.values()[Math.floorMod(st.b(), Port.values().length)];
                SocketAddress sa = socketAddress(kind, port, true);
                if (sa instanceof InetSocketAddress && !((InetSocketAddress) sa).isUnresolved()
                        && otherAddress(((InetSocketAddress) sa).getAddress(), port, true)) {
                    skip("bind to the port of a listener on another address");
                    break;
                }
                boolean withBacklog = st.c() % 4 != 0;
                int backlog = intArg(st.e(), st.d());
                if (withBacklog) {
                    run(p + "bind(" + kind + ":" + port + "," + backlog + ")", () -> ss.bind(sa, backlog));
                } else {
                    run(p + "bind(" + kind + ":" + port + ")", () -> ss.bind(sa));
                }
                if (lastOk) {
                    bound(i);
                    m.capacity = withBacklog && backlog >= 1 ? backlog : 50;
                }
                break;
            }
            case SS_ACCEPT:
                accept(ss, m, p);
                break;
            case SS_CLOSE:
                if (st.a() % 2 == 0) {
                    run(p + "close()", ss::close);
                } else {
                    run(p + "close() by another thread", () -> inOtherThread(ss::close));
                }
                break;
            case SS_LEGACY_SET: {
                int v = intArg(st.b(), st.d());
                boolean on = st.c() % 2 == 1;
                switch (Math.floorMod(st.a(), 3)) {
                    case 0:
                        run(p + "setSoTimeout(" + v + ")", () -> ss.setSoTimeout(v));
                        break;
                    case 1:
                        run(p + "setReceiveBufferSize(" + v + ")", () -> ss.setReceiveBufferSize(v));
                        m.rcvSet |= lastOk;
                        break;
                    default:
                        run(p + "setReuseAddress(" + on + ")", () -> ss.setReuseAddress(on));
                }
                break;
            }
            case SS_LEGACY_GET:
                switch (Math.floorMod(st.a(), 3)) {
                    case 0:
                        call(p + "getSoTimeout()", ss::getSoTimeout);
                        break;
                    case 1:
                        call(p + "getReceiveBufferSize()", ss::getReceiveBufferSize, v -> bufferSize(v, m.rcvSet));
                        break;
                    default:
                        call(p + "getReuseAddress()", ss::getReuseAddress);
                }
                break;
            case SS_SET_OPTION:
            case SS_X_SET_OPTION:
                setOption(p, st, st.op() == Op.SS_X_SET_OPTION, m, (o, v) -> ss.setOption(o, v));
                break;
            case SS_GET_OPTION:
            case SS_X_GET_OPTION: {
                SocketOption<?> o = option(st, st.op() == Op.SS_X_GET_OPTION);
                call(p + "getOption(" + o + ")", () -> ss.getOption(o), v -> renderOption(o, v, false, m.rcvSet));
                break;
            }
            case SS_SUPPORTED:
            case SS_X_SUPPORTED:
                call(p + "supportedOptions()", ss::supportedOptions,
                        v -> renderOptions(v, st.op() == Op.SS_X_SUPPORTED));
                break;
            case SS_MISC:
                misc(p, st, ss::toString, v -> renderToString(v, ss.getInetAddress(), ss.getInetAddress()),
                        ss::getChannel, ss::setPerformancePreferences);
                break;
            case SS_ASYNC_CLOSE: {
                int timeout = soTimeout(ss);
                boolean blocks = ss.isBound() && !ss.isClosed() && m.queue.isEmpty()
                        && (timeout == 0 || timeout >= LONG_TIMEOUT);
                if (!blocks || !takeBudget()) {
                    skip("accept would not block, or no budget");
                    break;
                }
                closeUnder(p + "accept()", ss::accept, p + "close()", ss::close);
                break;
            }
            default:
                throw new AssertionError(st.op());
        }
    }

    void accept(ServerSocket ss, ServerModel m, String p) {
        Plan plan = Plan.NOW;
        if (ss.isBound() && !ss.isClosed() && m.queue.isEmpty()) {
            plan = whenNothingComes(soTimeout(ss));
        }
        if (plan == Plan.SKIP) {
            skip("accept that could block");
            return;
        }
        if (socks.size() >= 12) {
            skip("enough sockets");
            return;
        }
        Socket s = call(p + "accept()", ss::accept);
        if (s != null) {
            SockModel sm = addSocket(s);
            Conn c = m.queue.poll();
            if (c == null) {
                c = new Conn();
                c.closed[0] = true;
            }
            sm.conn = c;
            sm.side = 1;
            sm.rcvSet = m.rcvSet;
        }
    }

    static final String[] SERVER_CTOR = {"()", "(port)", "(port,backlog)", "(port,backlog,addr)"};

    void newServer(Step st) {
        if (servers.size() >= 6) {
            skip("enough server sockets");
            return;
        }
        int kind = Math.floorMod(st.a(), 8);
        boolean factory = kind >= 4;
        int shape = kind % 4;
        Port pp = Port.values()[Math.floorMod(st.b(), Port.values().length)];
        int port = port(pp, true);
        int backlog = intArg(st.c(), st.d());
        InetAddress addr = INET[Math.floorMod(st.e(), INET.length)];
        String addrName = INET_NAMES[Math.floorMod(st.e(), INET.length)];
        boolean rust = engine == Engine.RUST;
        String label;
        Call<ServerSocket> c;
        switch (shape) {
            case 0:
                label = "()";
                c = () -> factory ? serverFactory(rust).createServerSocket() : engine.serverSocket();
                break;
            case 1:
                label = "(" + pp + ")";
                c = () -> factory ? serverFactory(rust).createServerSocket(port)
                        : rust ? new RustServerSocket(port) : new ServerSocket(port);
                break;
            case 2:
                label = "(" + pp + "," + backlog + ")";
                c = () -> factory ? serverFactory(rust).createServerSocket(port, backlog)
                        : rust ? new RustServerSocket(port, backlog) : new ServerSocket(port, backlog);
                break;
            default:
                label = "(" + pp + "," + backlog + "," + addrName + ")";
                c = () -> factory ? serverFactory(rust).createServerSocket(port, backlog, addr)
                        : rust ? new RustServerSocket(port, backlog, addr) : new ServerSocket(port, backlog, addr);
        }
        if (shape != 0 && otherAddress(shape == 3 ? addr : null, pp, true)) {
            skip("bind to the port of a listener on another address");
            return;
        }
        ServerSocket ss = call((factory ? "serverFactory.createServerSocket" : "new ServerSocket") + label, c);
        if (ss != null) {
            addServer(ss, shape >= 2 && backlog >= 1 ? backlog : 50);
        }
    }
}
