/**
 * Implementation of rustsocket, not an API: the {@link java.net.SocketImpl} and {@link java.net.DatagramSocketImpl}, the native method
 * declarations, the library loader and descriptor bookkeeping. May change in any release.
 */
package io.rustsocket.internal;
