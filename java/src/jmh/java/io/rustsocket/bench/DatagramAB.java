package io.rustsocket.bench;

import java.io.File;
import java.lang.reflect.Constructor;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Two builds of rustsocket's datagram path against each other and the JDK, in one JVM: build A
 * and build B (each a jar and its native library, loaded by separate class loaders), the JDK and
 * the JDK again (A/A control), one second each, in an order that rotates round by round. One
 * thread sends 32 datagrams and then receives them, as {@code DatagramBench} does. Separate JVMs
 * differed by up to 1.5x here for the same code (the kernel's and the JIT's run-to-run
 * variation); in one JVM the rows share it, so a few percent show.
 *
 * <pre>java -cp CLASSES io.rustsocket.bench.DatagramAB JAR_A LIB_A JAR_B LIB_B ROUNDS SIZE [connected]</pre>
 */
public final class DatagramAB {
    private DatagramAB() {}

    interface Maker {
        DatagramSocket make(InetSocketAddress a) throws Exception;
    }

    static Maker rust(String jar, String lib) throws Exception {
        // read by the loader when the class is first used, so each class loader gets its own
        System.setProperty("io.rustsocket.library.path", lib);
        ClassLoader l = new URLClassLoader(new URL[] {new File(jar).toURI().toURL()},
                ClassLoader.getPlatformClassLoader());
        Class<?> c = Class.forName("io.rustsocket.RustDatagramSocket", true, l);
        Constructor<?> ctor = c.getConstructor(SocketAddress.class);
        ((DatagramSocket) ctor.newInstance(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))).close();
        return a -> (DatagramSocket) ctor.newInstance(a);
    }

    static long oneSecond(DatagramSocket s, DatagramSocket r, DatagramPacket out, DatagramPacket in)
            throws Exception {
        long end = System.nanoTime() + 1_000_000_000L;
        long n = 0;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 32; i++) {
                s.send(out);
            }
            for (int i = 0; i < 32; i++) {
                r.receive(in);
            }
            n += 32;
        }
        return n;
    }

    /** Runs the comparison; prints each round and the medians of the ratios. */
    public static void main(String[] a) throws Exception {
        int rounds = Integer.parseInt(a[4]);
        if (rounds < 1) {
            throw new IllegalArgumentException("at least one round");
        }
        int size = Integer.parseInt(a[5]);
        boolean connected = a.length > 6 && a[6].equals("connected");
        Maker[] makers = {DatagramSocket::new, rust(a[0], a[1]), rust(a[2], a[3]), DatagramSocket::new};
        InetSocketAddress lo = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        DatagramSocket[][] socks = new DatagramSocket[4][2];
        DatagramPacket[] outs = new DatagramPacket[4];
        for (int k = 0; k < 4; k++) {
            socks[k][0] = makers[k].make(lo);
            socks[k][1] = makers[k].make(lo);
            socks[k][1].setReceiveBufferSize(1 << 20);
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), socks[k][1].getLocalPort());
            outs[k] = new DatagramPacket(new byte[size], size, to);
            if (connected) {
                socks[k][0].connect(to);
                socks[k][1].connect(socks[k][0].getLocalSocketAddress());
            }
        }
        DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
        for (int w = 0; w < 3; w++) {
            for (int k = 0; k < 4; k++) {
                oneSecond(socks[k][0], socks[k][1], outs[k], in);
            }
        }
        List<double[]> ratios = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            long[] v = new long[4];
            for (int j = 0; j < 4; j++) {
                int k = (j + r) % 4;
                v[k] = oneSecond(socks[k][0], socks[k][1], outs[k], in);
            }
            double[] q = {v[1] / (double) v[0], v[2] / (double) v[0], v[2] / (double) v[1], v[3] / (double) v[0]};
            ratios.add(q);
            System.out.printf("round %d: jdk %d A %d B %d jdk2 %d  A/jdk %.3f B/jdk %.3f B/A %.3f A/A %.3f%n",
                    r, v[0], v[1], v[2], v[3], q[0], q[1], q[2], q[3]);
        }
        String[] labels = {"A/jdk", "B/jdk", "B/A", "jdk2/jdk"};
        for (int i = 0; i < 4; i++) {
            double[] col = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                col[r] = ratios.get(r)[i];
            }
            Arrays.sort(col);
            double median = rounds % 2 == 1 ? col[rounds / 2] : (col[rounds / 2 - 1] + col[rounds / 2]) / 2;
            System.out.printf("median %s %.3f (%.3f..%.3f)%n", labels[i], median, col[0], col[rounds - 1]);
        }
    }
}
