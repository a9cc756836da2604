//! The tokio runtime the network code runs on. The library owns it, so its
//! async and blocking entry points work the same from a tokio task, a plain
//! thread, or a foreign (Kotlin/Swift) executor that knows nothing of tokio.

use std::future::Future;
use std::sync::Arc;

/// A shared handle to the library's runtime; the runtime stops when the last
/// clone is dropped (in the background, so dropping it inside another
/// runtime does not panic).
#[derive(Clone)]
pub struct NetRuntime(Arc<Owned>);

struct Owned(Option<tokio::runtime::Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl NetRuntime {
    /// A runtime with `workers` threads named `name`.
    pub fn new(name: &str, workers: usize) -> std::io::Result<NetRuntime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(NetRuntime(Arc::new(Owned(Some(rt)))))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0 .0.as_ref().expect("present until drop").handle()
    }

    /// Starts `fut` on this runtime without waiting for it.
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(fut)
    }

    /// Runs `fut` on this runtime and awaits it from any executor.
    pub async fn run<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.handle().spawn(fut).await {
            Ok(v) => v,
            // Only a panic inside `fut` gets here: pass it on unchanged.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Runs `fut` on this runtime and blocks the calling thread until it is
    /// done. Safe from any thread, including a tokio worker of another
    /// runtime (it blocks that worker, as any blocking call would).
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(fut.await);
        });
        let wait = || rx.recv();
        // On a worker of a multi-thread runtime (this one included), hand
        // the worker's other tasks to another thread while we wait, so the
        // task we wait for can always run.
        let received = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        };
        match received {
            Ok(v) => v,
            Err(_) => panic!("the task panicked"),
        }
    }
}
