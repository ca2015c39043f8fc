//! The accept loop both servers share (`serve` and `kv-gateway`): take
//! connections until shutdown, riding out transient accept errors.

use std::future::Future;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// How long to wait after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Hands each connection `listener` accepts to `serve` until `shutdown`
/// completes, then returns; the caller closes the listener.
///
/// Accepted sockets get `TCP_NODELAY`: both servers write whole responses
/// or a guest's small streamed chunks, which Nagle would only hold back. A
/// failed accept (out of file descriptors and the like) is transient, so it
/// is logged and retried after a short pause instead of ending the server.
pub(crate) async fn accept_until(
    listener: &TcpListener,
    shutdown: impl Future<Output = ()>,
    mut serve: impl FnMut(TcpStream),
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "cannot set TCP_NODELAY");
                    }
                    serve(stream);
                }
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            () = &mut shutdown => return,
        }
    }
}
