//! Listener settings every server of the host shares.

use axum::serve::ListenerExt;

/// A listener whose accepted connections have `TCP_NODELAY` set: telemetry requests and
/// their small responses must not wait for Nagle's algorithm and delayed ACKs (that costs
/// about 40 ms per request on loopback).
pub(crate) fn nodelay(listener: tokio::net::TcpListener) -> impl axum::serve::Listener<Addr = std::net::SocketAddr> {
    listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "Cannot set TCP_NODELAY on a connection.");
        }
    })
}
