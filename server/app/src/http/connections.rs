//! What a slow or stalled client may hold: deadlines on the request head, on each part of a
//! body, on idle keep-alive connections, and a cap on open connections that keeps the process
//! below its file-descriptor limit.

use std::{io, time::Duration};

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    http::KeepAlive,
    middleware::Next,
    web,
};
use bytes::Bytes;
use futures::Stream;
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use crate::config::HttpSettings;

/// File descriptors kept free of client connections: the database pool, blobs being read or
/// written, validator and trainer children, logs.
const RESERVED_FDS: u64 = 512;

/// The deadlines and cap, from `[http]`.
pub struct Limits {
    pub client_request_timeout: Duration,
    pub client_disconnect_timeout: Duration,
    pub keep_alive: KeepAlive,
    /// Per worker: actix counts connections per worker thread.
    pub max_connections_per_worker: usize,
    pub body_idle_timeout: Option<Duration>,
}

impl Limits {
    /// Raises the soft file-descriptor limit as far as the hard one allows, and lowers the
    /// connection cap if the limit leaves too little room for it.
    pub fn new(http: &HttpSettings, workers: usize) -> Self {
        let secs = Duration::from_secs;
        let mut max_connections = http.max_connections.max(1) as u64;
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(fds) if fds < max_connections + RESERVED_FDS => {
                let capped = fds.saturating_sub(RESERVED_FDS).max(fds / 2).max(1);
                tracing::warn!(
                    configured = max_connections,
                    capped,
                    fd_limit = fds,
                    "http.max_connections lowered to stay within the file-descriptor limit"
                );
                max_connections = capped;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the file-descriptor limit"),
        }
        Self {
            client_request_timeout: secs(http.client_request_timeout_secs),
            client_disconnect_timeout: secs(http.client_disconnect_timeout_secs),
            keep_alive: match http.keep_alive_secs {
                0 => KeepAlive::Disabled,
                s => KeepAlive::Timeout(secs(s)),
            },
            max_connections_per_worker: (max_connections as usize).div_ceil(workers.max(1)),
            body_idle_timeout: (http.body_idle_timeout_secs > 0)
                .then(|| secs(http.body_idle_timeout_secs)),
        }
    }
}

/// How long a body may send nothing (app data for [`body_idle_timeout`]); `None`: forever.
#[derive(Clone, Copy)]
pub struct BodyIdleTimeout(pub Option<Duration>);

/// Ends a request body that sends nothing for the configured time with an error, so that its
/// handler answers and the connection is closed, however long the whole body takes.
pub async fn body_idle_timeout(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if let Some(idle) = req
        .app_data::<web::Data<BodyIdleTimeout>>()
        .and_then(|d| d.0)
    {
        let payload = req.take_payload();
        if matches!(payload, Payload::None) {
            req.set_payload(payload);
        } else {
            req.set_payload(Payload::Stream {
                payload: Box::pin(IdleDeadline {
                    payload,
                    idle,
                    deadline: Box::pin(tokio::time::sleep(idle)),
                    done: false,
                }),
            });
        }
    }
    next.call(req).await
}

/// A body stream that fails once nothing arrived for `idle`; the deadline moves with each
/// chunk. After its end or its error it stays ended.
struct IdleDeadline {
    payload: Payload,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl Stream for IdleDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.payload).poll_next(cx) {
            Poll::Ready(Some(chunk)) => {
                let next = tokio::time::Instant::now() + self.idle;
                self.deadline.as_mut().reset(next);
                Poll::Ready(Some(chunk))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    let stalled = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the request body sent nothing for {} s",
                            self.idle.as_secs()
                        ),
                    );
                    Poll::Ready(Some(Err(PayloadError::Io(stalled))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
