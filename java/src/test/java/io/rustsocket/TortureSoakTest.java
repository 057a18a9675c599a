package io.rustsocket;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The long versions of {@link TortureTest}: tens of thousands of iterations, minutes each, run by
 * {@code gradle soak} (tag "soak", left out of the normal suite). Same bodies, same checks; the
 * summaries go to stdout and {@code torture.txt} in {@code -Drustsocket.reportDir}.
 */
@Tag("soak")
class TortureSoakTest {
    @Test
    void closeAndShutdownRaceReadsAndWritesSoak() {
        TortureTest.runConnectedRaces(TortureTest.SOAK, "closeAndShutdownRaceReadsAndWritesSoak");
    }

    @Test
    void closeRacesAcceptAndConnectSoak() {
        TortureTest.runAcceptConnectRaces(TortureTest.SOAK, "closeRacesAcceptAndConnectSoak");
    }

    @Test
    void closeRacingAReaderOnAFullReceiveWindowResetsThePeerSoak() {
        TortureTest.runFullWindowCloseRaces(TortureTest.SOAK, "closeRacingAReaderOnAFullReceiveWindowResetsThePeerSoak");
    }

    @Test
    void manyWritersAndReadersUnderRacesSoak() {
        TortureTest.runStreams(TortureTest.SOAK, "manyWritersAndReadersUnderRacesSoak");
    }
}
