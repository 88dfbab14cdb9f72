//! What a run's WASI side is made of: its standard output and error, kept
//! up to the log budget, and the millisecond clocks agents see.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// Standard output or error of a run: kept up to the log budget, the rest
/// accepted and dropped (a guest whose writes failed would panic, and a
/// chatty agent should lose lines, not its run).
#[derive(Clone)]
pub(crate) struct CappedOutput {
    captured: Arc<std::sync::Mutex<Captured>>,
}

struct Captured {
    bytes: Vec<u8>,
    capacity: usize,
    cut: bool,
}

impl CappedOutput {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            captured: Arc::new(std::sync::Mutex::new(Captured {
                bytes: Vec::new(),
                capacity,
                cut: false,
            })),
        }
    }

    fn append(&self, bytes: &[u8]) {
        if let Ok(mut captured) = self.captured.lock() {
            let room = captured.capacity.saturating_sub(captured.bytes.len());
            if bytes.len() > room {
                captured.cut = true;
            }
            captured
                .bytes
                .extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    /// What was kept, and whether anything was dropped.
    pub(crate) fn take(&self) -> (Vec<u8>, bool) {
        self.captured
            .lock()
            .map(|mut captured| (std::mem::take(&mut captured.bytes), captured.cut))
            .unwrap_or_default()
    }
}

/// How much one write may carry; writes are accepted whole and cut here.
const STDIO_WRITE_PERMIT: usize = 64 << 10;

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(STDIO_WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buffer: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(buffer);
        std::task::Poll::Ready(Ok(buffer.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// The wall clock agents see: milliseconds, no finer (timing side channels
/// need finer clocks).
pub(crate) struct MillisecondWallClock;

impl HostWallClock for MillisecondWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Duration::from_millis(u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Monotonic time since the run started, in whole milliseconds (as
/// nanoseconds, which is what WASI counts in).
pub(crate) struct MillisecondMonotonicClock {
    pub(crate) start: Instant,
}

impl HostMonotonicClock for MillisecondMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(1_000_000)
    }
}
