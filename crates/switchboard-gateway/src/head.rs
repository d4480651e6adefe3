//! Keeps the raw bytes of the upgrade request head, so `$connect` integrations see header
//! names with the client's spelling (docs/behaviour.md §4.2): hyper lowercases them.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The recorded head, shared with the request handler.
pub type RecordedHead = Arc<Mutex<Vec<u8>>>;

/// An I/O wrapper that copies what is read until the end of the first request head.
pub struct HeadRecorder<S> {
    inner: S,
    head: RecordedHead,
    recording: bool,
    limit: usize,
}

impl<S> HeadRecorder<S> {
    /// Wraps `inner`, recording at most `limit` bytes.
    pub fn new(inner: S, limit: usize) -> (Self, RecordedHead) {
        let head = RecordedHead::default();
        let me = Self {
            inner,
            head: Arc::clone(&head),
            recording: true,
            limit,
        };
        (me, head)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadRecorder<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if this.recording {
            let fresh = &buf.filled()[before..];
            let mut head = this.head.lock().unwrap_or_else(|e| e.into_inner());
            let room = this.limit.saturating_sub(head.len());
            head.extend_from_slice(&fresh[..fresh.len().min(room)]);
            if fresh.is_empty()
                || head.len() >= this.limit
                || head.windows(4).any(|w| w == b"\r\n\r\n")
            {
                this.recording = false;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadRecorder<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Header names and values in the client's spelling and order, from a recorded head.
pub fn parse_headers(head: &[u8]) -> Option<Vec<(String, String)>> {
    let mut storage = [httparse::EMPTY_HEADER; 128];
    let mut request = httparse::Request::new(&mut storage);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => Some(
            request
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_keep_their_spelling_and_order() {
        let head = b"GET /dev HTTP/1.1\r\nHost: x\r\nHeaderAuth1: v1\r\ncontent-length: 0\r\nHeaderAuth1: v2\r\n\r\n";
        let h = parse_headers(head).expect("parses");
        assert_eq!(
            h,
            vec![
                ("Host".into(), "x".into()),
                ("HeaderAuth1".into(), "v1".into()),
                ("content-length".into(), "0".into()),
                ("HeaderAuth1".into(), "v2".into()),
            ]
        );
    }
}
