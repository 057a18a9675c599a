package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The JDK's networking system properties, each in child JVMs that run {@link NetPropertiesChild}
 * on the JDK's sockets and on ours: the two print the same outcome for every call, and for the
 * calls the property is about, the outcome is the property's (IPv4-only sockets, host
 * information in connect failures).
 */
class NetPropertiesTest {
    private static List<String> run(String engine, String property) throws IOException, InterruptedException {
        List<String> cmd = TestSupport.childCommand(NetPropertiesChild.class, engine);
        if (!property.isEmpty()) {
            cmd.add(1, property);
        }
        cmd.add(1, "--enable-native-access=ALL-UNNAMED");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), text);
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\\R")) {
            if (line.contains(" -> ")) {
                lines.add(line);
            }
        }
        return lines;
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-Djava.net.preferIPv4Stack=true", "-Djdk.includeInExceptions=hostInfo",
                            "-Djdk.includeInExceptions=jar, HOSTINFO ", "-Djdk.includeInExceptions=hostInfoExclSocket"})
    void behavesAsTheJdkUnder(String property) throws Exception {
        List<String> jdk = run("JDK", property);
        List<String> rust = run("RUST", property);
        assertTrue(jdk.size() >= 15, "too few calls reported: " + jdk);
        assertEquals(String.join("\n", jdk), String.join("\n", rust), "with " + property);
        // the lines show the property at work, so the comparison is not of two defaults
        String all = String.join("\n", rust);
        if (property.contains("preferIPv4Stack")) {
            assertTrue(all.contains("wildcard listener -> ok Inet4Address"), all);
            assertTrue(all.contains("listener bind(::1) -> java.net.SocketException"), all);
            assertTrue(all.contains("datagram bind(::1) -> java.net.SocketException: Unsupported address type"), all);
            assertTrue(all.contains("datagram send to ::1 -> java.nio.channels.UnsupportedAddressTypeException"), all);
        } else if (property.toLowerCase().contains("hostinfo,") || property.toLowerCase().matches(".*hostinfo *$")) {
            String refused = TestSupport.refused(false);
            assertTrue(all.contains("connect(localhost) -> java.net.ConnectException: " + refused + ": localhost/127.0.0.1:CLOSED"), all);
            assertTrue(all.contains("connect(named address) -> java.net.ConnectException: " + refused + ": myname/127.0.0.1:CLOSED"), all);
        } else {
            assertTrue(all.contains("connect(localhost) -> java.net.ConnectException: " + TestSupport.refused(false) + "\n"), all);
        }
    }
}
