package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rustsocket.internal.NativeLibrary;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Multicast round trips over IPv4 and IPv6 on both engines, in a network namespace of the test's
 * own ({@code unshare -n}, as root; nothing outside it is touched; skipped where namespaces
 * cannot be made). IPv4 uses the loopback interface. Linux does not deliver IPv6 multicast
 * through {@code lo} (the JDK's datagrams vanish the same way; joining and leaving on
 * {@code lo} works and {@code DatagramTest} checks it), so the IPv6 groups use a veth pair made
 * inside the namespace, which loops a group's datagrams back to local members.
 */
class MulticastNamespaceTest {

    @Test
    void ipv4AndIpv6GroupsOnLoopbackInANamespace() throws Exception {
        TestSupport.assumeLinux("a network namespace of its own (unshare -n)");
        Assumptions.assumeTrue(Files.isExecutable(Paths.get("/usr/bin/unshare")), "no unshare");
        Process probe = new ProcessBuilder("unshare", "-n", "ip", "link", "show", "lo").redirectErrorStream(true).start();
        Assumptions.assumeTrue(probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "cannot create a network namespace here (needs root and iproute2)");
        String java = System.getProperty("rustsocket.testJava", Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        String script = "ip link set lo up && echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad"
                + " && ip link add mc0 type veth peer name mc1 && ip link set mc1 up && ip link set mc0 up"
                + " && exec \"$@\"";
        List<String> cmd = new ArrayList<>(Arrays.asList("unshare", "-n", "sh", "-c", script, "sh", java,
                "--enable-native-access=ALL-UNNAMED"));
        String lib = System.getProperty(NativeLibrary.PATH_PROPERTY);
        if (lib != null) {
            // the library this JVM loaded (the jar may hold none for this architecture)
            cmd.add("-D" + NativeLibrary.PATH_PROPERTY + "=" + lib);
        }
        cmd.addAll(TestSupport.childJvmOptions(MulticastNamespaceTest.class.getSimpleName()));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), MulticastNamespaceTest.class.getName()));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child finished");
        Emulation.Skips skips = new Emulation.Skips();
        for (String row : new String[] {"JDK 239.255.1.1 on lo", "RUST 239.255.1.1 on lo",
                "JDK ff02::1:7 on mc0", "RUST ff02::1:7 on mc0", "JDK ff05::1:7 on mc0", "RUST ff05::1:7 on mc0"}) {
            if (out.contains(row + " ok\n")) {
                continue;
            }
            // qemu-user translates no multicast interface option (IP_MULTICAST_IF by index,
            // IPV6_MULTICAST_IF) and drops the index of an IPv4 membership (ENODEV)
            String failed = out.lines().filter(l -> l.startsWith(row + " FAILED ")).findFirst()
                    .map(l -> l.substring(row.length() + " FAILED ".length())).orElse(null);
            if (Emulation.refusedText(failed, Emulation.NO_OPTION, "No such device")) {
                skips.add(row + " (" + failed + ")");
                continue;
            }
            fail("missing '" + row + " ok' in:\n" + out);
        }
        skips.abortIfAny();
        assertEquals(0, child.exitValue(), out);
    }

    /** The child: one round trip per engine and group; prints "ENGINE group ok" or the failure. */
    public static void main(String[] args) throws Exception {
        boolean failed = false;
        // the veth's link-local address may still be on its way
        NetworkInterface mc0 = NetworkInterface.getByName("mc0");
        for (int i = 0; i < 100 && !mc0.getInetAddresses().hasMoreElements(); i++) {
            Thread.sleep(50);
            mc0 = NetworkInterface.getByName("mc0");
        }
        String[][] cases = {{"239.255.1.1", "lo"}, {"ff02::1:7", "mc0"}, {"ff05::1:7", "mc0"}};
        for (String[] c : cases) {
            String group = c[0] + " on " + c[1];
            for (Engine engine : Engine.values()) {
                try {
                    roundTrip(engine, InetAddress.getByName(c[0]), NetworkInterface.getByName(c[1]));
                    System.out.println(engine + " " + group + " ok");
                } catch (Exception | AssertionError e) {
                    failed = true;
                    System.out.println(engine + " " + group + " FAILED " + e);
                }
            }
        }
        System.exit(failed ? 1 : 0);
    }

    private static void roundTrip(Engine engine, InetAddress group, NetworkInterface lo) throws IOException {
        InetSocketAddress g = new InetSocketAddress(group, 0);
        try (DatagramSocket rx = DatagramTest.udp(engine, new InetSocketAddress(0));
             DatagramSocket tx = DatagramTest.udp(engine, new InetSocketAddress(0))) {
            rx.setSoTimeout(5_000);
            rx.joinGroup(g, lo);
            tx.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo);
            byte[] msg = ("hello " + group.getHostAddress()).getBytes(StandardCharsets.US_ASCII);
            tx.send(new DatagramPacket(msg, msg.length, group, rx.getLocalPort()));
            DatagramPacket p = new DatagramPacket(new byte[64], 64);
            rx.receive(p);
            if (!Arrays.equals(msg, Arrays.copyOf(p.getData(), p.getLength()))) {
                throw new AssertionError("wrong bytes");
            }
            rx.leaveGroup(g, lo);
            try {
                rx.leaveGroup(g, lo);
                throw new AssertionError("left twice");
            } catch (SocketException expected) {
                if (!"Not a member of group".equals(expected.getMessage())) {
                    throw expected;
                }
            }
        }
    }
}
