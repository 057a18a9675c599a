package io.rustsocket;

import static io.rustsocket.Cells.foreignByte;
import static io.rustsocket.Torture.*;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link TortureTest#closeRacesAcceptAndConnect}: accepts raced by close and setSoTimeout of the
 * listener, connects raced by close, setSoTimeout and shutdowns of the connecting socket, and the
 * checks that every accepted connection carries only what one of ours sent.
 */
final class AcceptConnectRaces {
    private AcceptConnectRaces() {}

    static void acceptIteration(Run run, int iter, SplittableRandom rnd) throws Exception {
        int max = run.cfg.maxDelayMicros;
        int backlog = 4 + rnd.nextInt(47);
        ServerSocket l = new RustServerSocket(0, backlog, LOOPBACK);
        List<Task> all = new ArrayList<>();
        try {
            AtomicBoolean timeoutSet = new AtomicBoolean();
            StringBuilder ctxb = new StringBuilder("accept iteration ").append(iter).append(": backlog ").append(backlog);
            if (rnd.nextInt(4) == 0) {
                int t = 1 + rnd.nextInt(20);
                timeoutSet.set(true);
                l.setSoTimeout(t);
                ctxb.append(", soTimeout ").append(t);
            }
            int acceptors = 1 + rnd.nextInt(3);
            int connectors = rnd.nextInt(4);
            ctxb.append(", ").append(acceptors).append(" acceptors, ").append(connectors).append(" connectors");
            Set<Long> keys = ConcurrentHashMap.newKeySet();
            Map<Long, Integer> connectorPorts = new ConcurrentHashMap<>();
            Map<Long, Integer> acceptedPorts = new ConcurrentHashMap<>();
            long[] connectorKeys = new long[connectors];
            for (int k = 0; k < connectors; k++) {
                connectorKeys[k] = rnd.nextLong();
                keys.add(connectorKeys[k]);
            }
            List<Action> actions = new ArrayList<>();
            int racers = 1 + rnd.nextInt(2);
            for (int k = 0; k < racers; k++) {
                if (rnd.nextInt(10) < 7) {
                    actions.add(new Action("close (listener)", "close(listener)", l::close));
                } else {
                    int v = pick(rnd, 0, 1, 3, 30);
                    actions.add(new Action("setSoTimeout (listener)", "setSoTimeout(listener, " + v + ")", () -> {
                        if (v > 0) {
                            timeoutSet.set(true);
                        }
                        l.setSoTimeout(v);
                    }));
                }
            }
            String ctx = ctxb + "; racers: " + Action.labels(actions);
            List<Task> acceptorTasks = new ArrayList<>();
            List<Task> connectorTasks = new ArrayList<>();
            InetSocketAddress address = new InetSocketAddress(LOOPBACK, l.getLocalPort());
            for (int k = 0; k < acceptors; k++) {
                SplittableRandom r = rnd.split();
                String role = ctx + ": acceptor " + k;
                acceptorTasks.add(run.start(role, () -> acceptLoop(run, l, timeoutSet, keys, acceptedPorts, r, role)));
            }
            for (int k = 0; k < connectors; k++) {
                SplittableRandom r = rnd.split();
                long key = connectorKeys[k];
                String role = ctx + ": connector " + k;
                connectorTasks.add(run.start(role, () -> connectAndSend(run, address, key, connectorPorts, r, role)));
            }
            for (Action a : actions) {
                if (a.op.startsWith("close")) {
                    a.mustEnd.addAll(acceptorTasks);
                }
            }
            List<Task> racerTasks = startRacers(run, ctx, actions, rnd);
            all.addAll(acceptorTasks);
            all.addAll(connectorTasks);
            all.addAll(racerTasks);
            run.awaitAll(racerTasks, WAKE_MILLIS, ctx + ": the racers themselves");
            awaitWoken(run, actions, ctx);
            run.awaitAll(connectorTasks, WAKE_MILLIS, ctx + ": connectors (connect, send a little, close)");
            pause(rnd, max);
            l.close();
            run.awaitAll(all, WAKE_MILLIS, ctx + ": after the listener was closed");
            checkPorts(ctx, connectorPorts, acceptedPorts);
            run.count("iterations", "accept");
        } finally {
            closeQuietly(l);
        }
    }

    /** Accepts until the listener is closed; checks what each accepted connection carries. */
    static void acceptLoop(Run run, ServerSocket l, AtomicBoolean timeoutSet, Set<Long> keys,
            Map<Long, Integer> acceptedPorts, SplittableRandom rnd, String ctx) throws IOException {
        while (true) {
            if (rnd.nextInt(4) == 0) {
                pause(rnd, run.cfg.maxDelayMicros);
            }
            Socket a;
            try {
                a = l.accept();
            } catch (IOException e) {
                run.ended(ctx, "accept", e, timeoutSet.get());
                if (e instanceof SocketTimeoutException) {
                    continue;
                }
                return;
            }
            run.count("accept", "connection");
            try (Socket s = a) {
                receive(run, s, keys, acceptedPorts, ctx);
            }
        }
    }

    /** Connects to a live listener and sends its key, then cells of its stream, then closes. */
    static void connectAndSend(Run run, InetSocketAddress address, long key, Map<Long, Integer> ports,
            SplittableRandom rnd, String ctx) throws IOException {
        Socket x = new RustSocket();
        try {
            x.setTcpNoDelay(true); // creates the impl
            pause(rnd, run.cfg.maxDelayMicros);
            int timeout = rnd.nextBoolean() ? 0 : SETUP_MILLIS;
            try {
                x.connect(address, timeout);
            } catch (IOException e) {
                run.ended(ctx, "connect", e, timeout > 0);
                return;
            }
            run.count("connect", "connected");
            ports.put(key, x.getLocalPort());
            send(run, x, key, rnd, ctx);
        } finally {
            x.close();
        }
    }

    private static void send(Run run, Socket x, long key, SplittableRandom rnd, String ctx) {
        int n = rnd.nextInt(4096);
        byte[] b = new byte[8 + n];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (key >>> (8 * i));
        }
        Cells.fill(key, 0, b, 8, n);
        try {
            x.getOutputStream().write(b);
            run.count("write (after connect)", "ok");
        } catch (IOException e) {
            run.ended(ctx, "write (after connect)", e, false);
        }
    }

    /** Reads a connector's key and stream until EOF: the key must be one of ours, each byte the one sent. */
    static void receive(Run run, Socket s, Set<Long> keys, Map<Long, Integer> acceptedPorts, String ctx) throws IOException {
        s.setSoTimeout(RECEIVE_MILLIS);
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        int have = 0;
        try {
            while (have < 8) {
                int n = in.read(buf, have, 8 - have);
                if (n < 0) {
                    run.count("receive", have == 0 ? "EOF before any byte" : "EOF inside the key");
                    return;
                }
                have += n;
            }
            long key = Cells.le(buf, 0);
            if (!keys.contains(key)) {
                throw new AssertionError(ctx + ": an accepted connection from port " + s.getPort() + " carries key "
                        + Long.toHexString(key) + ", which no connector of ours sent (foreign bytes)");
            }
            Integer earlier = acceptedPorts.putIfAbsent(key, s.getPort());
            if (earlier != null) {
                throw new AssertionError(ctx + ": the connection with key " + Long.toHexString(key)
                        + " was accepted twice (ports " + earlier + " and " + s.getPort() + ")");
            }
            long pos = 0;
            while (true) {
                int n = in.read(buf);
                if (n < 0) {
                    run.count("receive", "complete");
                    return;
                }
                int bad = Cells.check(key, pos, buf, 0, n);
                if (bad >= 0) {
                    throw foreignByte(ctx + ": accepted connection", key, pos + bad, buf[bad]);
                }
                pos += n;
                run.verified.add(n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(ctx + ": an accepted connection got neither bytes nor EOF for "
                    + RECEIVE_MILLIS + " ms although its peer closes at once", e);
        } catch (SocketException e) {
            run.ended(ctx, "receive", e, false);
        }
    }

    private static void checkPorts(String ctx, Map<Long, Integer> connectorPorts, Map<Long, Integer> acceptedPorts) {
        for (Map.Entry<Long, Integer> e : acceptedPorts.entrySet()) {
            Integer port = connectorPorts.get(e.getKey());
            if (port != null && !port.equals(e.getValue())) {
                throw new AssertionError(ctx + ": the connector on port " + port + " sent key "
                        + Long.toHexString(e.getKey()) + " but it arrived on a connection from port " + e.getValue());
            }
        }
    }

    static void connectIteration(Run run, int iter, SplittableRandom rnd, InetSocketAddress fullBacklog,
            LiveTarget live) throws Exception {
        int max = run.cfg.maxDelayMicros;
        int t = rnd.nextInt(10);
        String target = t < 4 ? "full backlog" : t < 8 ? "live listener" : "closed port";
        InetSocketAddress address = t < 4 ? fullBacklog : t < 8 ? live.address
                : new InetSocketAddress(LOOPBACK, TestSupport.refusedPort());
        Side x = new Side("x", new RustSocket(), rnd.nextLong());
        List<Task> all = new ArrayList<>();
        try {
            StringBuilder ctxb = new StringBuilder("connect iteration ").append(iter).append(" to a ").append(target);
            ConnectedRaces.configureUnconnected(x, rnd, ctxb);
            int timeout = 0;
            if (rnd.nextInt(3) == 0) {
                timeout = t < 4 ? 1 + rnd.nextInt(100) : SETUP_MILLIS;
            }
            ctxb.append(", connect timeout ").append(timeout);
            boolean isLive = t >= 4 && t < 8;
            if (isLive) {
                live.keys.add(x.key);
            }
            List<Action> actions = new ArrayList<>();
            int racers = 1 + rnd.nextInt(2);
            for (int k = 0; k < racers; k++) {
                int kind = rnd.nextInt(10);
                if (kind < 6) {
                    actions.add(new Action("close (connecting)", "close(x)", x.socket::close));
                } else if (kind < 8) {
                    int v = pick(rnd, 0, 1, 50);
                    actions.add(new Action("setSoTimeout (connecting)", "setSoTimeout(x, " + v + ")", () -> {
                        if (v > 0) {
                            x.timeoutSet = true;
                        }
                        x.socket.setSoTimeout(v);
                    }));
                } else if (kind < 9) {
                    actions.add(new Action("shutdownOutput (connecting)", "shutdownOutput(x)", x.socket::shutdownOutput));
                } else {
                    actions.add(new Action("shutdownInput (connecting)", "shutdownInput(x)", x.socket::shutdownInput));
                }
            }
            String ctx = ctxb + "; racers: " + Action.labels(actions);
            int connectTimeout = timeout;
            SplittableRandom cr = rnd.split();
            Task connector = run.start(ctx + ": connector", () -> {
                pause(cr, max);
                try {
                    x.socket.connect(address, connectTimeout);
                } catch (IOException e) {
                    run.ended(ctx, "connect", e, connectTimeout > 0);
                    return;
                }
                run.count("connect", "connected");
                if (isLive) {
                    live.connectorPorts.put(x.key, x.socket.getLocalPort());
                    send(run, x.socket, x.key, cr, ctx);
                }
            });
            all.add(connector);
            for (Action a : actions) {
                if (a.op.startsWith("close")) {
                    a.mustEnd.add(connector);
                }
            }
            List<Task> racerTasks = startRacers(run, ctx, actions, rnd);
            all.addAll(racerTasks);
            run.awaitAll(racerTasks, WAKE_MILLIS, ctx + ": the racers themselves");
            awaitWoken(run, actions, ctx);
            pause(rnd, max);
            x.socket.close();
            run.awaitAll(all, WAKE_MILLIS, ctx + ": after the connecting socket was closed");
            run.count("iterations", "connect to a " + target);
        } finally {
            closeQuietly(x.socket);
        }
    }

    /** A loopback listener that accepts everything and checks what arrives, for the whole test. */
    static final class LiveTarget implements AutoCloseable {
        final Run run;
        final ServerSocket listener;
        final InetSocketAddress address;
        final Set<Long> keys = ConcurrentHashMap.newKeySet();
        final Map<Long, Integer> connectorPorts = new ConcurrentHashMap<>();
        final Map<Long, Integer> acceptedPorts = new ConcurrentHashMap<>();
        final Queue<Task> receivers = new ConcurrentLinkedQueue<>();
        final Task acceptor;
        volatile boolean closing;

        LiveTarget(Run run) throws IOException {
            this.run = run;
            listener = new RustServerSocket(0, 200, LOOPBACK);
            address = new InetSocketAddress(LOOPBACK, listener.getLocalPort());
            acceptor = run.start("live target: acceptor", () -> {
                while (true) {
                    Socket a;
                    try {
                        a = listener.accept();
                    } catch (IOException e) {
                        if (closing && e.getClass() == SocketException.class) {
                            return;
                        }
                        throw new AssertionError("live target: accept failed: " + e, e);
                    }
                    receivers.add(run.start("live target: receiver", () -> {
                        try (Socket s = a) {
                            receive(run, s, keys, acceptedPorts, "live target");
                        }
                    }));
                    // finished receivers need not be kept
                    receivers.removeIf(Task::isDone);
                }
            });
        }

        @Override
        public void close() throws IOException {
            closing = true;
            listener.close();
            run.awaitAll(List.of(acceptor), WAKE_MILLIS, "closing the live target listener");
            run.awaitAll(new ArrayList<>(receivers), WAKE_MILLIS, "the live target's receivers, once every connector closed");
            checkPorts("live target", connectorPorts, acceptedPorts);
        }
    }
}
