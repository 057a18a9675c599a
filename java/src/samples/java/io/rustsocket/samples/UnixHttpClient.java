package io.rustsocket.samples;

import io.rustsocket.RustUnixSocketFactory;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * An HTTP/1.1 client over a Unix domain socket file, written as a TCP client is: it asks
 * {@link RustUnixSocketFactory} for a socket to {@code localhost:80}, and the factory connects it
 * to the socket file instead. One connection, kept alive across requests; bodies with
 * Content-Length only (enough for {@link UnixHttpServer} and most Unix-socket APIs).
 */
public final class UnixHttpClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    /** A response: its status line, headers (names in lower case) and body. */
    public static final class Response {
        /** The status line, such as {@code HTTP/1.1 200 OK}. */
        public final String statusLine;
        /** The headers, names in lower case. */
        public final Map<String, String> headers;
        /** The body. */
        public final byte[] body;

        Response(String statusLine, Map<String, String> headers, byte[] body) {
            this.statusLine = statusLine;
            this.headers = headers;
            this.body = body;
        }
    }

    /**
     * Connects to the HTTP server on the socket file {@code path}.
     *
     * @param path the server's socket file
     * @throws IOException if nothing listens there
     */
    public UnixHttpClient(Path path) throws IOException {
        // the host and port are what a TCP client would pass; the factory ignores them
        socket = new RustUnixSocketFactory(path).createSocket("localhost", 80);
        socket.setSoTimeout(10_000);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /**
     * Sends one request and reads its response.
     *
     * @param method {@code GET}, {@code POST}, ...
     * @param target the path, such as {@code /hello}
     * @param body the request body, or null for none
     * @return the response
     * @throws IOException if the connection fails or the response is cut short
     */
    public Response send(String method, String target, byte[] body) throws IOException {
        StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                .append("Host: localhost\r\n");
        if (body != null) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        out.write(head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
        if (body != null) {
            out.write(body);
        }
        out.flush();
        String status = UnixHttpServer.readLine(in);
        if (status == null) {
            throw new IOException("the server closed the connection");
        }
        Map<String, String> headers = UnixHttpServer.readHeaders(in);
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] responseBody = in.readNBytes(length);
        if (responseBody.length < length) {
            throw new IOException("response body cut short: " + responseBody.length + " of " + length + " bytes");
        }
        return new Response(status, headers, responseBody);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
