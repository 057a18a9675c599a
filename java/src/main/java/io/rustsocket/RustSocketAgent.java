package io.rustsocket;

import io.rustsocket.internal.SocketDefaults;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The Java agent in rustsocket's jar: {@code java -javaagent:rustsocket-<version>.jar -jar app.jar}
 * calls {@link RustSockets#installAsDefault()} before {@code main}, so every
 * {@code java.net.Socket} and {@code ServerSocket} the application makes runs on rustsocket.
 * Remove the flag to go back to the JDK's sockets.
 *
 * <p>Options, as {@code -javaagent:rustsocket.jar=key=value,key=value} or as system properties
 * {@code -Dio.rustsocket.<key>=value} (an agent option wins over the property):
 * <ul>
 *   <li>{@code required} ({@code -Dio.rustsocket.agent.required}): {@code true} makes any failure
 *       to install stop the JVM at start-up; by default a failure (another socket factory already
 *       installed, or no native library for this platform) logs one warning and the application
 *       runs on the JDK's sockets.</li>
 *   <li>{@code jmx} ({@code -Dio.rustsocket.agent.jmx}): {@code false} skips registering the
 *       statistics MXBean {@value RustSockets#MBEAN_NAME}; otherwise it is registered when the
 *       application makes its first socket or reads the statistics, so that neither JMX nor
 *       {@code java.util.logging} starts before {@code main}.</li>
 *   <li>{@code keepAlive}, {@code keepIdle}, {@code keepInterval}, {@code keepCount},
 *       {@code tcpNoDelay}: defaults applied to every new client and accepted socket
 *       (SO_KEEPALIVE, TCP_KEEPIDLE and TCP_KEEPINTVL in seconds, TCP_KEEPCNT, TCP_NODELAY);
 *       the application's own setters still override them per socket.</li>
 * </ul>
 * Warnings go to the {@code System.Logger} named {@code io.rustsocket} (by default
 * {@code java.util.logging}, which prints them on standard error).
 */
public final class RustSocketAgent {
    /** System property that makes a failed installation stop the JVM. */
    public static final String REQUIRED_PROPERTY = "io.rustsocket.agent.required";
    /** System property that turns off the MXBean registration. */
    public static final String JMX_PROPERTY = "io.rustsocket.agent.jmx";


    private RustSocketAgent() {}

    /**
     * Entry point for {@code -javaagent}.
     *
     * If installation fails and {@code required} is true, prints the reason on standard error
     * and exits with status 1 before {@code main} runs.
     *
     * @param options the text after {@code =} in the agent argument, or {@code null}
     */
    public static void premain(String options) {
        try {
            start(options, true);
        } catch (RequiredButFailed e) {
            // Thrown out of premain, this would abort the JVM (SIGABRT, a core dump) under a page
            // of JVMTI assertions; a start-up failure should read as one line and exit status 1.
            System.err.println(e.getMessage());
            System.exit(1);
        } catch (RuntimeException | LinkageError e) {
            // anything else (a SecurityManager's refusal, a runtime image without a module the
            // library needs) would abort the JVM too; without required=true the application
            // must run on, on the JDK's sockets. Not through the logger, which may be what failed.
            System.err.println("rustsocket agent: not installed, the application runs on the JDK's sockets: " + e);
        }
    }

    /**
     * Entry point when the agent is attached to a running JVM: sockets created from then on
     * run on rustsocket, those already open keep the JDK's implementation.
     *
     * @param options the agent options, or {@code null}
     * @throws IllegalStateException if installation failed and {@code required} is true (the
     *     running application goes on; the tool that attached the agent reports the failure)
     */
    public static void agentmain(String options) {
        start(options, false);
    }

    /**
     * Parses the options and installs. Before {@code main} ({@code beforeMain}) nothing touches
     * {@code java.util.logging} or JMX unless there is a warning: the application may still
     * choose its own {@code LogManager}.
     */
    private static void start(String options, boolean beforeMain) {
        Map<String, String> parsed = new LinkedHashMap<>();
        String problem = parse(options, parsed);
        boolean required = flag(parsed.remove("required"), property(REQUIRED_PROPERTY), false);
        try {
            install(options, parsed, problem, required, beforeMain);
        } catch (RequiredButFailed e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            // the socket defaults' or the library's initialization refused (a SecurityManager's
            // policy, a missing module): a failed installation like any other
            fail(required, reason(e), e);
        }
    }

    /** {@link #start}, once {@code required} is known. */
    private static void install(String options, Map<String, String> parsed, String problem, boolean required,
            boolean beforeMain) {
        boolean jmx = flag(parsed.remove("jmx"), property(JMX_PROPERTY), true);
        for (Map.Entry<String, String> e : parsed.entrySet()) {
            try {
                SocketDefaults.set(e.getKey(), e.getValue());
            } catch (IllegalArgumentException ex) {
                problem = join(problem, ex.getMessage());
            }
        }
        if (problem != null) {
            String known = " (known: required, jmx, keepAlive, keepIdle, keepInterval, keepCount, tcpNoDelay)";
            if (required) {
                fail(true, "bad agent options '" + options + "': " + problem + known, null);
            }
            // installation goes on with the good options, so this must not read "not installed"
            log(System.Logger.Level.WARNING, "rustsocket agent: ignoring bad agent option(s) in '" + options
                    + "': " + problem + known);
        }
        Runnable installedLine = () -> log(System.Logger.Level.DEBUG,
                "rustsocket agent: installed as the default socket implementation"
                + (SocketDefaults.describe().isEmpty() ? "" : " with " + SocketDefaults.describe()));
        try {
            RustSockets.install(jmx, beforeMain ? installedLine : null);
        } catch (Exception | LinkageError e) {
            if (!required && RustSockets.isClientOnlyInstalled()) {
                log(System.Logger.Level.WARNING, "rustsocket agent: installed for client sockets only, "
                        + "server sockets keep the other factory: " + e.getMessage());
                return;
            }
            fail(required, reason(e), e);
            return;
        }
        if (!beforeMain) {
            installedLine.run();
        }
    }

    // the logger is looked up only when something is logged: for the application's classes
    // System.getLogger starts java.util.logging's LogManager at once
    private static void log(System.Logger.Level level, String message) {
        System.getLogger("io.rustsocket").log(level, message);
    }

    /** What went wrong, in words: the first message along the causes (an initializer's error has none). */
    private static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                return t == e ? t.getMessage() : e.getClass().getName() + ": " + t;
            }
        }
        return e.toString();
    }

    /** A system property, or null where a SecurityManager does not let this code read it. */
    private static String property(String name) {
        try {
            return System.getProperty(name);
        } catch (SecurityException e) {
            return null;
        }
    }

    /** The failure of a required installation, which premain turns into exit status 1. */
    private static final class RequiredButFailed extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        RequiredButFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static void fail(boolean required, String reason, Throwable cause) {
        if (required) {
            throw new RequiredButFailed("rustsocket agent: " + REQUIRED_PROPERTY
                    + "=true but rustsocket could not be installed: " + reason, cause);
        }
        log(System.Logger.Level.WARNING, "rustsocket agent: not installed, the application runs on the JDK's sockets: "
                + reason);
    }

    /** Splits {@code k=v,k=v}; returns a description of malformed parts, or null. */
    private static String parse(String options, Map<String, String> out) {
        if (options == null || options.trim().isEmpty()) {
            return null;
        }
        String problem = null;
        for (String part : options.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                problem = join(problem, "'" + p + "' is not key=value");
                continue;
            }
            String key = p.substring(0, eq).trim();
            String value = p.substring(eq + 1).trim();
            if (!key.equals("required") && !key.equals("jmx") && !SocketDefaults.isOption(key)) {
                problem = join(problem, "unknown option '" + key + "'");
                continue;
            }
            out.put(key, value);
        }
        return problem;
    }

    private static boolean flag(String option, String property, boolean fallback) {
        String v = option != null ? option : property;
        if (v == null) {
            return fallback;
        }
        switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true":
                return true;
            case "false":
                return false;
            default:
                return fallback;
        }
    }

    private static String join(String a, String b) {
        return a == null ? b : a + "; " + b;
    }
}
