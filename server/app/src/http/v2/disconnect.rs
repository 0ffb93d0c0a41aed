//! Noticing that an inference client went away. Actix keeps polling a handler after its client
//! closed the connection (actix-web issues 1313 and 3462), so a long run would go on for nobody.
//! Each connection's socket is remembered when it opens; a request still running after
//! [`ARM_AFTER`] watches its socket, and if the client closes it the request's future is
//! dropped, which stops its run (see `caravan_inference::serving`'s watchdog). Short requests,
//! nearly all of them, never pay for the watch.

use std::{
    any::Any,
    future::Future,
    os::fd::{AsRawFd, BorrowedFd, RawFd},
    time::Duration,
};

use actix_web::{HttpRequest, dev::Extensions, rt::net::TcpStream};

/// How long a request runs before its connection is watched.
pub const ARM_AFTER: Duration = Duration::from_millis(100);

/// The socket of a connection, by descriptor.
#[derive(Debug, Clone, Copy)]
struct ClientSocket(RawFd);

/// Remembers the socket of a new connection (plain or TLS) in its extensions.
pub fn on_connect(connection: &dyn Any, extensions: &mut Extensions) {
    use actix_tls::accept::rustls_0_23::TlsStream;
    let fd = if let Some(tcp) = connection.downcast_ref::<TcpStream>() {
        tcp.as_raw_fd()
    } else if let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() {
        tls.get_ref().0.as_raw_fd()
    } else {
        return;
    };
    extensions.insert(ClientSocket(fd));
}

/// Runs `work`, or gives up on it (dropping it) once the client closes the connection.
pub async fn unless_disconnected<F: Future>(req: &HttpRequest, work: F) -> Option<F::Output> {
    let socket = req.conn_data::<ClientSocket>().copied();
    let watch = async {
        tokio::time::sleep(ARM_AFTER).await;
        match socket {
            Some(socket) => closed(socket).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        output = work => Some(output),
        () = watch => None,
    }
}

/// Resolves when the peer has closed the connection; never, if that cannot be told.
async fn closed(socket: ClientSocket) {
    // SAFETY: the descriptor belongs to the connection whose request is being handled, and
    // actix closes a connection's socket only after dropping its dispatcher, which owns this
    // request's future: while this runs, the descriptor is open and is that socket.
    #[allow(unsafe_code)]
    let borrowed = unsafe { BorrowedFd::borrow_raw(socket.0) };
    // A duplicate of our own, registered with the reactor on its own and closed on drop.
    let Ok(own) = borrowed.try_clone_to_owned() else {
        return std::future::pending().await;
    };
    let Ok(stream) = TcpStream::from_std(std::net::TcpStream::from(own)) else {
        return std::future::pending().await;
    };
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte).await {
        // End of stream (the client closed its side), or a broken connection.
        Ok(0) | Err(_) => {}
        // Bytes waiting (a pipelined request, a TLS alert): the client may still listen.
        Ok(_) => std::future::pending().await,
    }
}
