/**
 * rustsocket: {@code java.net} sockets whose engine is Rust.
 *
 * <p>{@link io.rustsocket.RustSocket} and {@link io.rustsocket.RustServerSocket} are drop-in
 * subclasses of {@link java.net.Socket} and {@link java.net.ServerSocket};
 * {@link io.rustsocket.RustSocketFactory} and {@link io.rustsocket.RustServerSocketFactory}
 * hand them to libraries that take a factory. {@link io.rustsocket.RustDatagramSocket} is the
 * {@link java.net.DatagramSocket} twin, with batched I/O through {@link io.rustsocket.DatagramBatch}.
 */
package io.rustsocket;
