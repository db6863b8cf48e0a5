//! Request bodies a handler answered without reading (a refused key, a rate limit, an unknown
//! route, a body over the cap): read to their end, up to [`DRAIN_LIMIT`] bytes within
//! [`DRAIN_TIME`], before the answer goes out, so the connection stays usable; a body longer or
//! slower than that gets `Connection: close` on the answer, so the client opens a new
//! connection instead of sending its next request on one the server is closing.
//!
//! Without this, hyper answers such a request and then closes the connection when the rest of
//! the body has not arrived yet — but the answer did not say so, and a keep-alive client that
//! sends its next request on that connection sees it dropped ("Server disconnected without
//! sending a response"). An answer that already closes the connection (a body that did not
//! arrive in time) is sent at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

/// Most bytes of an unread body read (and discarded) to keep its connection.
pub const DRAIN_LIMIT: usize = 256 * 1024;

/// Longest wait for the rest of an unread body.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// A request body shared between the handler and this layer, which learns whether the handler
/// read it to the end and can read what the handler left.
#[derive(Clone)]
struct WatchedBody {
    stream: Arc<Mutex<BodyDataStream>>,
    ended: Arc<AtomicBool>,
}

impl WatchedBody {
    fn new(body: Body) -> Self {
        Self {
            stream: Arc::new(Mutex::new(body.into_data_stream())),
            ended: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The next chunk, the end noted.
    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, axum::Error>>> {
        let next = self
            .stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            self.ended.store(true, Ordering::Release);
        }
        next
    }

    /// The body the handler gets: the same bytes.
    fn body(&self) -> Body {
        let watched = self.clone();
        Body::from_stream(futures_util::stream::poll_fn(move |cx| {
            watched.poll_next(cx)
        }))
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Reads what is left, up to `limit` bytes; whether the body ended within them. A body that
    /// fails to read has not ended.
    async fn drain(&self, limit: usize) -> bool {
        let mut read = 0usize;
        while !self.ended() {
            let next = futures_util::future::poll_fn(|cx| self.poll_next(cx)).await;
            match next {
                Some(Ok(chunk)) => {
                    read = read.saturating_add(chunk.len());
                    if read > limit {
                        return false;
                    }
                }
                Some(Err(_)) => return false,
                None => return true,
            }
        }
        true
    }
}

/// The layer: the handler reads a watched body; if it answered before the body's end, the rest
/// is read (within [`DRAIN_LIMIT`] and [`DRAIN_TIME`]) or the answer closes the connection.
pub async fn finish_unread_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let watched = WatchedBody::new(body);
    let mut response = next.run(Request::from_parts(parts, watched.body())).await;
    let closing = response
        .headers()
        .get(header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    if watched.ended() || closing {
        return response;
    }
    let drained = tokio::time::timeout(DRAIN_TIME, watched.drain(DRAIN_LIMIT))
        .await
        .unwrap_or(false);
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_read_by_the_handler_is_not_read_again() {
        let watched = WatchedBody::new(Body::from("hello"));
        let read = axum::body::to_bytes(watched.body(), 1024).await.unwrap();
        assert_eq!(&read[..], b"hello");
        assert!(watched.ended());
    }

    #[tokio::test]
    async fn an_unread_body_is_drained_within_the_limit_only() {
        let chunks = |n: usize| {
            let parts = (0..n).map(|_| Ok::<_, std::io::Error>(vec![0u8; 64 * 1024]));
            Body::from_stream(futures_util::stream::iter(parts))
        };
        let small = WatchedBody::new(chunks(4));
        assert!(small.drain(DRAIN_LIMIT).await && small.ended());
        let large = WatchedBody::new(chunks(5));
        assert!(!large.drain(DRAIN_LIMIT).await);
        let empty = WatchedBody::new(Body::empty());
        assert!(empty.drain(DRAIN_LIMIT).await);
    }

    #[tokio::test]
    async fn a_body_that_fails_to_read_has_not_ended() {
        let parts = [
            Ok(vec![1u8; 8]),
            Err(std::io::Error::other("connection reset")),
        ];
        let broken = WatchedBody::new(Body::from_stream(futures_util::stream::iter(parts)));
        assert!(!broken.drain(DRAIN_LIMIT).await);
    }
}
