//! The native half of the `polysocket` npm package: polysocket's server, driven from
//! JavaScript. `index.js` builds socket.io's API on top; this crate only translates values
//! and callbacks, all protocol work stays in the `polysocket` crate.
//!
//! Event arguments cross the boundary as socket.io does on the wire: a JSON text in which
//! each binary value is a `{"_placeholder":true,"num":n}` object, plus the list of binary
//! attachments (Node `Buffer`s).

mod calls;
mod client;
mod cluster;
mod config;
mod dispatch;
mod dynamic;
mod payload;
mod server;
mod socket;

use std::sync::{Arc, Mutex};

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Error, Status};

pub use client::{ClientNotice, ManagerEvent, NativeClient, NativeClientSocket};
pub use dispatch::NoticeBatch;
pub use payload::Payload;
pub use server::NativeServer;
pub use socket::NativeSocket;

/// Locks `mutex`, even if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn invalid(message: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, message.to_string())
}

/// A JavaScript callback that can be let go: a stored threadsafe function keeps Node's
/// event loop alive, so it is released when its source ends (server closed, socket gone).
pub(crate) struct Callback<T: 'static + napi::bindgen_prelude::ToNapiValue>(
    Arc<Mutex<Option<JsFunction<T>>>>,
);

/// A JavaScript function called with one `T` (no error-first argument).
pub(crate) type JsFunction<T> = ThreadsafeFunction<T, (), T, Status, false>;

impl<T: 'static + napi::bindgen_prelude::ToNapiValue> Clone for Callback<T> {
    fn clone(&self) -> Self {
        Callback(self.0.clone())
    }
}

impl<T: 'static + napi::bindgen_prelude::ToNapiValue> Callback<T> {
    fn new(function: JsFunction<T>) -> Callback<T> {
        Callback(Arc::new(Mutex::new(Some(function))))
    }

    /// A callback with no function yet ([`Callback::replace`] sets one).
    fn empty() -> Callback<T> {
        Callback(Arc::new(Mutex::new(None)))
    }

    /// Calls `function` from now on, releasing the one before.
    fn replace(&self, function: JsFunction<T>) {
        *lock(&self.0) = Some(function);
    }

    fn call(&self, value: T) {
        if let Some(function) = lock(&self.0).as_ref() {
            function.call(value, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Whether the function keeps Node's event loop alive (call on Node's thread). These are
    /// Node-API's `napi_ref/unref_threadsafe_function`, which napi-rs deprecates in favour
    /// of cloning; cloning counts users, it does not say whether the loop is held.
    #[allow(deprecated)]
    fn set_held(&self, env: &napi::Env, held: bool) {
        if let Some(function) = lock(&self.0).as_mut() {
            let _ = if held {
                function.refer(env)
            } else {
                function.unref(env)
            };
        }
    }

    fn release(&self) {
        lock(&self.0).take();
    }
}
