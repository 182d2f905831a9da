//! A bound on how much one answer of an engine may be.
//!
//! An engine is not trusted to answer with a bounded body: bollard collects a whole answer in
//! memory before it parses it, so an engine (or whatever answers on its port with the machine's
//! certificate) sending gigabytes would have berth hold them all. [`Capped`] counts what is read
//! from the connection since the last request was sent and fails the read past
//! [`MAX_ANSWER`]; the error names the engine and the limit.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most berth reads for one answer of an engine, headers included. The largest answer
/// berth asks for (`/info` of a busy engine, a node list of a large cluster) is well under a
/// MiB.
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// The marker inside the `io::Error` a capped read fails with, so that the transport can tell
/// it from a broken connection.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the answer is larger than {limit} bytes")]
pub(crate) struct AnswerTooLarge {
    pub(crate) limit: usize,
}

/// The bytes read since the last request went out; shared by the connection's reader and the
/// sender, which resets it.
#[derive(Clone, Debug, Default)]
pub(crate) struct AnswerBudget(Arc<AtomicUsize>);

impl AnswerBudget {
    /// A request is going out: its answer starts from nothing.
    pub(crate) fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// A connection whose reads fail once the current answer passes `limit` bytes.
pub(crate) struct Capped<S> {
    inner: S,
    read: AnswerBudget,
    limit: usize,
}

impl<S> Capped<S> {
    pub(crate) fn new(inner: S, read: AnswerBudget, limit: usize) -> Self {
        Capped { inner, read, limit }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let got = buf.filled().len() - before;
            let total = this.read.0.fetch_add(got, Ordering::Relaxed) + got;
            if total > this.limit {
                return Poll::Ready(Err(io::Error::other(AnswerTooLarge { limit: this.limit })));
            }
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tokio::io::AsyncReadExt as _;

    use super::*;

    #[test]
    fn reads_past_the_limit_fail_and_a_new_request_starts_afresh() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let budget = AnswerBudget::default();
            let data: &[u8] = &[7u8; 100];
            let mut capped = Capped::new(data, budget.clone(), 60);
            let mut buf = [0u8; 50];
            capped.read_exact(&mut buf).await.unwrap();
            let err = capped.read_exact(&mut buf).await.unwrap_err();
            assert!(err.get_ref().unwrap().is::<AnswerTooLarge>(), "{err}");
            budget.reset();
            let mut small = [0u8; 10];
            // What is left (nothing beyond what was read) no longer counts against the new answer.
            let _ = capped.read(&mut small).await.unwrap();
        });
    }
}
