package io.rustsocket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rustsocket.RustDatagramSocket;
import io.rustsocket.RustServerSocket;
import io.rustsocket.RustSocket;
import io.rustsocket.RustSocketOptions;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.SocketOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Java's view of the socket options and the native option table agree: every row names a Java
 * constant of the type the row says, every constant of {@link RustSocketOptions} has a row, the
 * options each socket reports as supported are rows for that kind of socket, and the limits the
 * agent's defaults check are the table's.
 */
class OptionTableTest {
    @Test
    void everyRowNamesAJavaConstantOfItsType() {
        List<OptionTable.Row> rows = OptionTable.rows();
        assertTrue(rows.size() >= 30, "rows: " + rows);
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < rows.size(); i++) {
            OptionTable.Row row = rows.get(i);
            assertEquals(i, row.id, "ids are the table's order");
            assertTrue(keys.add(row.origin + ":" + row.name), "twice: " + row);
            assertTrue(row.min <= row.max, row.toString());
            assertTrue(row.sockets != 0 && (row.sockets & ~63) == 0, row.toString());
            if (row.origin.equals("legacy") || !row.available) {
                continue;
            }
            SocketOption<?> option = OptionTable.option(row);
            assertNotNull(option, "no Java constant for " + row);
            assertEquals(row.name, option.name(), row.toString());
            assertEquals(row.type, option.type().getSimpleName(), row.toString());
            if (row.type.equals("Boolean")) {
                assertEquals(0, row.min, row.toString());
                assertEquals(1, row.max, row.toString());
            }
            assertEquals(row.origin.equals("rust"), row.probe, "only our Linux extras are probed: " + row);
        }
    }

    @Test
    void everyRustSocketOptionHasARow() throws IllegalAccessException {
        int constants = 0;
        for (Field f : RustSocketOptions.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && SocketOption.class.isAssignableFrom(f.getType())) {
                constants++;
                // every constant has a row, available or not on this system
                OptionTable.Row row = OptionTable.rows().stream()
                        .filter(r -> r.origin.equals("rust") && r.name.equals(f.getName()))
                        .findFirst().orElse(null);
                assertNotNull(row, "no native row for RustSocketOptions." + f.getName());
                // and an available one is what the constant maps to
                SocketOption<?> constant = (SocketOption<?>) f.get(null);
                assertEquals(row.available ? row : null, OptionTable.row(constant), f.getName());
            }
        }
        assertEquals(20, constants, "RustSocketOptions constants");
    }

    @Test
    void supportedOptionsAreRowsForThatKindOfSocket() throws Exception {
        try (RustSocket client = new RustSocket();
             RustServerSocket listener = new RustServerSocket();
             RustDatagramSocket datagram = new RustDatagramSocket()) {
            check(client.supportedOptions(), OptionTable.CLIENT);
            check(listener.supportedOptions(), OptionTable.LISTENER);
            check(datagram.supportedOptions(), OptionTable.DATAGRAM);
        }
    }

    private static void check(Set<SocketOption<?>> supported, int kind) {
        // a listener without the Linux extras (Windows, and a kernel lacking keepalive tuning)
        // still has SO_RCVBUF, SO_REUSEADDR, IP_TOS, IP_TTL and IPV6_V6ONLY
        assertTrue(supported.size() >= 5, supported.toString());
        for (SocketOption<?> option : supported) {
            OptionTable.Row row = OptionTable.row(option);
            assertNotNull(row, "supported but not in the table: " + option);
            assertTrue((row.sockets & kind) != 0, row + " is not for sockets of kind " + kind);
        }
    }

    @Test
    void theAgentsKeepaliveLimitsAreTheTables() {
        OptionTable.Row idle = OptionTable.row(RustSocketOptions.TCP_KEEPIDLE);
        OptionTable.Row interval = OptionTable.row(RustSocketOptions.TCP_KEEPINTERVAL);
        OptionTable.Row count = OptionTable.row(RustSocketOptions.TCP_KEEPCOUNT);
        assertEquals(1, idle.min);
        assertEquals(SocketDefaults.MAX_KEEP_IDLE, idle.max);
        assertEquals(1, interval.min);
        assertEquals(SocketDefaults.MAX_KEEP_INTERVAL, interval.max);
        assertEquals(1, count.min);
        assertEquals(SocketDefaults.MAX_KEEP_COUNT, count.max);
    }
}
