//! Response bodies that keep something alive for the life of the response and may look at
//! each frame as it passes: the gate's concurrency permit (`auth::gate`), the measured call
//! of `metrics` (recorded when its trailers or its end pass).

use std::pin::Pin;
use std::task::{Context, Poll};

/// What a [`Watched`] body carries; `frame` sees every poll of the body (nothing by default).
pub trait Watch: Unpin {
    fn frame<D, E>(&mut self, _polled: &Poll<Option<Result<http_body::Frame<D>, E>>>) {}
}

/// A response body with its [`Watch`].
pub struct Watched<B, W> {
    body: B,
    watch: W,
}

impl<B, W> Watched<B, W> {
    /// `response` with `watch` carried by its body.
    pub fn wrap(response: http::Response<B>, watch: W) -> http::Response<Self> {
        response.map(|body| Watched { body, watch })
    }
}

impl<B: http_body::Body + Unpin, W: Watch> http_body::Body for Watched<B, W> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        self.watch.frame(&polled);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
