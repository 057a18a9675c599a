package io.rustsocket.samples;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What {@code gradle unixDemo} runs: {@link UnixHttpServer} on a socket file in a temporary
 * directory, {@link UnixHttpClient} against it (a GET that shows the client's credentials as
 * the server saw them, and a POST of 1 MiB that must come back intact), and the exchange
 * printed. Exits non-zero if anything came back wrong.
 */
public final class UnixDemo {
    private UnixDemo() {}

    /**
     * Runs the demo.
     *
     * @param args ignored
     * @throws Exception if an exchange fails
     */
    public static void main(String[] args) throws Exception {
        System.out.println("rustsocket HTTP over a Unix domain socket, on " + System.getProperty("java.vm.name")
                + " " + System.getProperty("java.version"));
        Path dir = Files.createTempDirectory("rustsocket-unix-demo");
        Path socket = dir.resolve("http.sock");
        try (UnixHttpServer server = new UnixHttpServer(socket)) {
            System.out.println("server listening on " + server.address());
            try (UnixHttpClient client = new UnixHttpClient(socket)) {
                UnixHttpClient.Response hello = client.send("GET", "/hello", null);
                System.out.println("> GET /hello");
                System.out.println("< " + hello.statusLine);
                System.out.print("< " + new String(hello.body, StandardCharsets.UTF_8));
                String expected = "hello, process " + ProcessHandle.current().pid() + " ";
                check(hello.statusLine.equals("HTTP/1.1 200 OK")
                        && new String(hello.body, StandardCharsets.UTF_8).startsWith(expected),
                        "the server did not see this process at the other end");

                byte[] upload = new byte[1 << 20];
                ThreadLocalRandom.current().nextBytes(upload);
                UnixHttpClient.Response echo = client.send("POST", "/echo", upload);
                System.out.println("> POST /echo (" + upload.length + " random bytes, sha256 " + sha256(upload) + ")");
                System.out.println("< " + echo.statusLine + " (" + echo.body.length + " bytes, sha256 "
                        + sha256(echo.body) + ")");
                check(Arrays.equals(upload, echo.body), "the echoed body differs");

                UnixHttpClient.Response missing = client.send("GET", "/nothing", null);
                System.out.println("> GET /nothing");
                System.out.println("< " + missing.statusLine);
                check(missing.statusLine.startsWith("HTTP/1.1 404"), "expected a 404");
                System.out.println("three requests on one kept-alive connection");
            }
        }
        check(!Files.exists(socket), "the socket file stayed after the server closed");
        Files.delete(dir);
        System.out.println("socket file removed when the server closed; demo finished: every byte came back as sent");
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)).substring(0, 16) + "...";
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }
}
