package io.rustsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.rustsocket.internal.RustSocketImpl;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code ServerSocket.implAccept(Socket)}, which a {@code ServerSocket} subclass uses to accept
 * into a {@code Socket} of its own (JSSE's server sockets do): plain {@code java.net} classes
 * on either engine, as every socket is under the agent.
 */
class ImplAcceptTest {

    /** A listener whose accept() fills {@code into}. */
    private static final class AcceptingInto extends ServerSocket {
        private final Socket into;

        /** The JDK's listener. */
        AcceptingInto(Socket into) throws IOException {
            this.into = into;
        }

        /** A listener on {@code impl}. */
        AcceptingInto(RustSocketImpl impl, Socket into) {
            super(impl);
            this.into = into;
        }

        static ServerSocket bound(Engine engine, Socket into) throws IOException {
            ServerSocket l = engine == Engine.RUST ? new AcceptingInto(new RustSocketImpl(true), into)
                    : new AcceptingInto(into);
            l.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return l;
        }

        @Override
        public Socket accept() throws IOException {
            implAccept(into);
            return into;
        }
    }

    private static Socket unconnected(Engine engine) throws IOException {
        return engine == Engine.RUST ? new Socket(new RustSocketImpl(false)) {} : new Socket() {};
    }

    /**
     * A Socket never used, and one whose setSoTimeout already made its descriptor (JDK bug
     * 6368984's test does that): both end up connected to the peer, bytes flow both ways, and
     * the timeout set before the accept applies to reads after it. The descriptor the setter made
     * is released: the count returns to its baseline.
     */
    @ParameterizedTest
    @EnumSource(Engine.class)
    void aSocketOfTheApplicationsOwnIsConnectedByTheAccept(Engine engine) throws Exception {
        DescriptorBaseline baseline = DescriptorBaseline.now();
        for (boolean timeoutFirst : new boolean[] {false, true}) {
            try (Socket into = unconnected(engine); ServerSocket l = AcceptingInto.bound(engine, into);
                    Socket peer = new Socket(l.getInetAddress(), l.getLocalPort())) {
                if (timeoutFirst) {
                    into.setSoTimeout(300);
                }
                assertSame(into, l.accept());
                assertEquals(peer.getLocalPort(), into.getPort());
                into.getOutputStream().write(11);
                peer.getOutputStream().write(22);
                assertEquals(22, into.getInputStream().read());
                assertEquals(11, peer.getInputStream().read());
                if (timeoutFirst) {
                    assertEquals(300, into.getSoTimeout());
                    FutureTask<Void> none = TestSupport.async("reader", () -> {
                        TestSupport.assertThrowsExactly(SocketTimeoutException.class, "Read timed out",
                                () -> into.getInputStream().read());
                        return null;
                    });
                    TestSupport.await(none, 10_000);
                }
            }
        }
        baseline.assertBack();
    }
}
