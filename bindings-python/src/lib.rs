//! The native half of the `polysocket` Python package: polysocket's engine, driven from
//! asyncio. The pure-Python package on top (`python/polysocket`) builds python-socketio's
//! API; this crate only translates values and calls, all protocol work stays in the
//! `polysocket` crate.
//!
//! Nothing here takes the GIL on the engine's threads. What happens in the engine (a
//! client connecting, an event, an answer to a call) is queued in a [`dispatch::Dispatcher`]
//! and a byte on a socket pair wakes the asyncio loop, which takes the whole queue with
//! `drain()` and converts it to Python objects on its own thread.

mod client;
mod convert;
mod dispatch;
mod link;
mod server;

use std::sync::{Mutex, MutexGuard, OnceLock};

use pyo3::prelude::*;

/// The tokio runtime every server and client of the process runs on.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(threads) = std::env::var("POLYSOCKET_WORKER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
        {
            builder.worker_threads(threads);
        }
        builder
            .thread_name("polysocket")
            .enable_all()
            .build()
            .expect("polysocket: cannot start the tokio runtime")
    })
}

/// Locks `mutex`, even if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `polysocket._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<server::NativeServer>()?;
    m.add_class::<dispatch::NativeAck>()?;
    m.add_class::<link::NativeLink>()?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<client::NativeClientAck>()?;
    Ok(())
}
