package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.SocketException;
import org.junit.jupiter.api.Test;

/** {@link Emulation}: only a foreign kernel means an emulator, and only its answers are refusals. */
class EmulationTest {

    @Test
    void onlyAForeignKernelMeansAnEmulator() {
        assertFalse(Emulation.emulated("x86_64", "x86_64"));
        assertFalse(Emulation.emulated("aarch64", "aarch64"));
        assertFalse(Emulation.emulated("x86", "x86_64"));
        assertFalse(Emulation.emulated("arm", "aarch64"));
        assertFalse(Emulation.emulated("aarch64", ""));
        assertTrue(Emulation.emulated("aarch64", "x86_64"));
        assertTrue(Emulation.emulated("x86_64", "aarch64"));
    }

    @Test
    void nothingIsTakenForARefusalNatively() {
        if (Emulation.EMULATOR == null) {
            assertFalse(Emulation.refused(new SocketException(Emulation.NO_OPTION)));
        } else {
            assertTrue(Emulation.refused(new SocketException(Emulation.NO_OPTION)));
            assertTrue(Emulation.refused(new UnsupportedOperationException(Emulation.NO_OPTION)));
            assertTrue(Emulation.refused(new SocketException("No such device"), "No such device"));
        }
        // never another message, nor another class
        assertFalse(Emulation.refused(new SocketException("Connection reset")));
        assertFalse(Emulation.refused(new IllegalStateException(Emulation.NO_OPTION)));
        assertFalse(Emulation.refused(new java.net.BindException(Emulation.NO_OPTION)));
        assertFalse(Emulation.refused(new SocketException("No such device")));
    }
}
