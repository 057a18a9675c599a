/**
 * rustsocket: {@code java.net} sockets whose engine is Rust.
 *
 * <p>{@link io.rustsocket.RustSocket} and {@link io.rustsocket.RustServerSocket} are drop-in
 * subclasses of {@link java.net.Socket} and {@link java.net.ServerSocket};
 * {@link io.rustsocket.RustSocketFactory} and {@link io.rustsocket.RustServerSocketFactory}
 * hand them to libraries that take a factory.
 */
package io.rustsocket;
