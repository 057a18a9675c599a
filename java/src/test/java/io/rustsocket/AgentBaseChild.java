package io.rustsocket;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.TreeSet;

/**
 * The child JVM of {@link AgentTest} that runs with {@code --limit-modules java.base}: it uses
 * nothing outside java.base but rustsocket's own API, and prints what it saw as
 * {@code key=value} lines, then {@code DONE}.
 */
public final class AgentBaseChild {
    private AgentBaseChild() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.println("installed=" + RustSockets.isInstalledAsDefault());
        byte[] up = new byte[100_000];
        new Random(5).nextBytes(up);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket l = new ServerSocket(0, 50, loopback); Socket c = new Socket(loopback, l.getLocalPort());
                Socket a = l.accept()) {
            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
            out.println("nodelay=" + c.getOption(StandardSocketOptions.TCP_NODELAY));
            c.getOutputStream().write(up);
            c.shutdownOutput();
            out.println("intact=" + Arrays.equals(up, a.getInputStream().readAllBytes()));
            TreeSet<String> names = new TreeSet<>();
            for (SocketOption<?> o : c.supportedOptions()) {
                names.add(o.name());
            }
            out.println("options=" + String.join(",", names));
        }
        out.println("opened=" + RustSockets.statistics().getConnectionsOpened());
        try {
            RustSockets.registerStatisticsMBean();
            out.println("mbean=registered");
        } catch (IllegalStateException e) {
            out.println("mbean=" + e.getMessage());
        }
        out.println("DONE");
    }
}
