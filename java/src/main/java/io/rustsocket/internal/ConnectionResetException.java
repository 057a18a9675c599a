package io.rustsocket.internal;

import java.net.SocketException;

/**
 * Thrown by {@link Native#read} when the peer reset the connection. {@link RustSocketImpl}
 * remembers it and reports {@code SocketException("Connection reset")} on this and every
 * later read, as the JDK does; users never see this class.
 */
final class ConnectionResetException extends SocketException {
    private static final long serialVersionUID = 1L;

    ConnectionResetException(String message) {
        super(message);
    }
}
