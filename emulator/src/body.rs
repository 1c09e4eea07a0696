//! Response bodies: a normal answer in memory, or the fault switches'
//! oversized answer, streamed from one static buffer (hundreds of MiB sent,
//! none of it held in memory).

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Size of the oversized answers (`oversized`, `oversized_chunked`, and the
/// sources' `oversized`): 256 MiB, as a file server behind a misconfigured
/// endpoint might send.
pub const OVERSIZED_BYTES: u64 = 256 * 1024 * 1024;

/// What the oversized answer is made of: spaces (XML and JSON allow them
/// before a document, so only the size is wrong), one 64 KiB chunk reused.
static FILLER: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// A response body.
pub(crate) enum AnswerBody {
    /// A normal answer.
    Full(Full<Bytes>),
    /// `remaining` bytes of filler; `declared`: the size is announced
    /// (`Content-Length`), else the answer is chunked.
    Filler { remaining: u64, declared: bool },
}

impl AnswerBody {
    /// The oversized answer: [`OVERSIZED_BYTES`] of filler.
    pub fn oversized(declared: bool) -> Self {
        AnswerBody::Filler {
            remaining: OVERSIZED_BYTES,
            declared,
        }
    }
}

impl From<Full<Bytes>> for AnswerBody {
    fn from(full: Full<Bytes>) -> Self {
        AnswerBody::Full(full)
    }
}

impl Body for AnswerBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            AnswerBody::Full(full) => Pin::new(full).poll_frame(cx),
            AnswerBody::Filler { remaining, .. } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let n = (*remaining).min(FILLER.len() as u64);
                *remaining -= n;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                    &FILLER[..n as usize],
                )))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            AnswerBody::Full(full) => full.is_end_stream(),
            AnswerBody::Filler { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            AnswerBody::Full(full) => full.size_hint(),
            // An exact hint makes hyper send Content-Length; none, chunked.
            AnswerBody::Filler {
                remaining,
                declared: true,
            } => SizeHint::with_exact(*remaining),
            AnswerBody::Filler { .. } => SizeHint::default(),
        }
    }
}
