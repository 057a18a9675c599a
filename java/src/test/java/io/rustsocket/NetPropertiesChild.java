package io.rustsocket;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.MulticastSocket;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs the socket calls that the JDK's networking properties change, on one engine, in a JVM
 * started with the properties under test, and prints one line per call: what it returned or
 * threw (class and message), with port numbers replaced by names. {@link NetPropertiesTest}
 * compares the JDK's lines with ours.
 */
public final class NetPropertiesChild {
    private NetPropertiesChild() {}

    private interface Call {
        Object run() throws Exception;
    }

    private static final Pattern PORT = Pattern.compile(":(\\d{2,5})\\b");

    private static int closedPort;

    private static String ports(String s) {
        Matcher m = PORT.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = Integer.parseInt(m.group(1)) == closedPort ? ":CLOSED" : ":PORT";
            m.appendReplacement(out, name);
        }
        m.appendTail(out);
        return out.toString();
    }

    private static void report(String what, Call call) {
        String outcome;
        try {
            Object result = call.run();
            outcome = "ok " + (result == null ? "" : result);
        } catch (Exception e) {
            outcome = e.getClass().getName() + ": " + e.getMessage();
        }
        System.out.println(what + " -> " + ports(outcome));
    }

    /**
     * Arguments: the engine, JDK or RUST.
     *
     * @param args the engine
     * @throws IOException if a listener for the closed port cannot be made
     */
    public static void main(String[] args) throws IOException {
        boolean rust = args[0].equals("RUST");
        try (ServerSocket probe = new ServerSocket(0)) {
            closedPort = probe.getLocalPort();
        }
        int port = closedPort;
        for (String host : new String[] {"localhost", "127.0.0.1", "::1", "::ffff:127.0.0.1"}) {
            report("connect(" + host + ")", () -> {
                try (Socket s = rust ? new RustSocket() : new Socket()) {
                    s.connect(new InetSocketAddress(host, port));
                    return s.isClosed();
                }
            });
            report("connect(" + host + ", 1000)", () -> {
                try (Socket s = rust ? new RustSocket() : new Socket()) {
                    s.connect(new InetSocketAddress(host, port), 1000);
                    return s.isClosed();
                }
            });
        }
        report("new Socket(localhost)", () -> rust ? new RustSocket("localhost", port) : new Socket("localhost", port));
        report("connect(named address)", () -> {
            InetAddress named = InetAddress.getByAddress("myname", new byte[] {127, 0, 0, 1});
            try (Socket s = rust ? new RustSocket() : new Socket()) {
                s.connect(new InetSocketAddress(named, port));
                return null;
            }
        });
        report("bind(::1) then local address", () -> {
            try (Socket s = rust ? new RustSocket() : new Socket()) {
                s.bind(new InetSocketAddress("::1", 0));
                return s.getLocalAddress();
            }
        });
        report("listener bind(::1)", () -> {
            try (ServerSocket s = rust ? new RustServerSocket() : new ServerSocket()) {
                s.bind(new InetSocketAddress("::1", 0));
                return s.getInetAddress();
            }
        });
        report("wildcard listener", () -> {
            try (ServerSocket s = rust ? new RustServerSocket(0) : new ServerSocket(0)) {
                return s.getInetAddress().getClass().getSimpleName() + " " + s.getLocalSocketAddress();
            }
        });
        report("connect to a wildcard listener", () -> {
            try (ServerSocket s = rust ? new RustServerSocket(0) : new ServerSocket(0);
                 Socket c = rust ? new RustSocket("localhost", s.getLocalPort()) : new Socket("localhost", s.getLocalPort());
                 Socket a = s.accept()) {
                return a.getInetAddress().getClass().getSimpleName() + " " + c.getLocalAddress().getClass().getSimpleName();
            }
        });
        report("datagram local address", () -> {
            try (DatagramSocket d = rust ? new RustDatagramSocket() : new DatagramSocket()) {
                SocketAddress local = d.getLocalSocketAddress();
                return ((InetSocketAddress) local).getAddress().getClass().getSimpleName() + " " + local;
            }
        });
        report("datagram send to ::1", () -> {
            try (DatagramSocket d = rust ? new RustDatagramSocket() : new DatagramSocket()) {
                d.send(new DatagramPacket(new byte[1], 1, InetAddress.getByName("::1"), port));
                return null;
            }
        });
        report("datagram bind(::1)", () -> {
            try (DatagramSocket d = rust ? new RustDatagramSocket(null) : new DatagramSocket(null)) {
                d.bind(new InetSocketAddress("::1", 0));
                return d.getLocalAddress();
            }
        });
        report("datagram connect(::1)", () -> {
            try (DatagramSocket d = rust ? new RustDatagramSocket() : new DatagramSocket()) {
                d.connect(new InetSocketAddress("::1", port));
                return d.isConnected();
            }
        });
        report("datagram join ff02::1", () -> {
            NetworkInterface lo = NetworkInterface.getByInetAddress(InetAddress.getLoopbackAddress());
            if (rust) {
                try (RustDatagramSocket d = new RustDatagramSocket()) {
                    d.joinGroup(new InetSocketAddress("ff02::1", 0), lo);
                }
            } else {
                try (MulticastSocket d = new MulticastSocket()) {
                    d.joinGroup(new InetSocketAddress("ff02::1", 0), lo);
                }
            }
            return null;
        });
    }
}
