package io.rustsocket;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Runs one scenario of {@link ExtendedOptionsTest} that needs a process of its own (fewer
 * capabilities, or a network namespace whose sysctls and loopback it may change) and prints
 * {@code key=value} lines for the parent to check.
 *
 * <ul>
 *   <li>{@code privilege}: run without CAP_NET_ADMIN and CAP_NET_RAW; tries SO_MARK.</li>
 *   <li>{@code fastopen}: run in a fresh network namespace with {@code tcp_fastopen=3}; three
 *       connections with TCP_FASTOPEN_CONNECT to a TCP_FASTOPEN listener.</li>
 *   <li>{@code usertimeout}: run in a fresh network namespace; takes loopback down under an
 *       established connection whose client has TCP_USER_TIMEOUT 1000 ms, then writes.</li>
 * </ul>
 */
public final class ExtendedOptionsChild {
    private ExtendedOptionsChild() {}

    /**
     * Entry point.
     *
     * @param args the scenario's name
     * @throws Exception on any unexpected failure (the parent sees the exit status and stderr)
     */
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "privilege":
                privilege();
                break;
            case "fastopen":
                fastOpen();
                break;
            case "usertimeout":
                userTimeout();
                break;
            default:
                throw new IllegalArgumentException(args[0]);
        }
        System.out.flush();
    }

    private static void report(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    private static String outcome(IoAction action) {
        try {
            action.run();
            return "ok";
        } catch (Exception e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    private interface IoAction {
        void run() throws Exception;
    }

    private static void privilege() throws Exception {
        try (RustSocket s = new RustSocket(); RustServerSocket ss = new RustServerSocket()) {
            report("mark", outcome(() -> s.setOption(RustSocketOptions.SO_MARK, 7)));
            report("serverMark", outcome(() -> ss.setOption(RustSocketOptions.SO_MARK, 7)));
            report("markAfter", s.getOption(RustSocketOptions.SO_MARK));
            // the socket stays usable after the refusal
            s.setOption(RustSocketOptions.TCP_USER_TIMEOUT, 1234);
            report("userTimeout", s.getOption(RustSocketOptions.TCP_USER_TIMEOUT));
        }
    }

    private static void fastOpen() throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        try (RustServerSocket server = new RustServerSocket()) {
            server.setOption(RustSocketOptions.TCP_FASTOPEN, 16);
            server.bind(new java.net.InetSocketAddress(loopback, 0));
            for (int i = 0; i < 3; i++) {
                try (RustSocket client = new RustSocket()) {
                    client.setOption(RustSocketOptions.TCP_FASTOPEN_CONNECT, true);
                    client.connect(new java.net.InetSocketAddress(loopback, server.getLocalPort()), 5000);
                    byte[] hello = ("hello " + i).getBytes(StandardCharsets.US_ASCII);
                    client.getOutputStream().write(hello);
                    try (RustSocket accepted = server.accept()) {
                        accepted.setSoTimeout(5000);
                        byte[] got = accepted.getInputStream().readNBytes(hello.length);
                        report("data" + i, new String(got, StandardCharsets.US_ASCII));
                        report("clientSynData" + i, client.tcpInfo().synData());
                        report("serverSynData" + i, accepted.tcpInfo().synData());
                    }
                }
            }
        }
    }

    private static void userTimeout() throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        try (RustServerSocket server = new RustServerSocket(0, 1, loopback);
                RustSocket client = new RustSocket(loopback, server.getLocalPort());
                Socket accepted = server.accept()) {
            report("accepted", accepted.isConnected());
            client.setOption(RustSocketOptions.TCP_USER_TIMEOUT, 1000);
            report("userTimeout", client.getOption(RustSocketOptions.TCP_USER_TIMEOUT));
            Process down = new ProcessBuilder("ip", "link", "set", "lo", "down").inheritIO().start();
            if (!down.waitFor(10, TimeUnit.SECONDS) || down.exitValue() != 0) {
                throw new IOException("ip link set lo down failed");
            }
            long start = System.nanoTime();
            client.getOutputStream().write(new byte[100]);
            client.setSoTimeout(60_000);
            String result;
            try (InputStream in = client.getInputStream()) {
                result = "read " + in.read();
            } catch (SocketException e) {
                result = e.getClass().getName() + ": " + e.getMessage();
            }
            report("result", result);
            report("millis", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        }
    }
}
