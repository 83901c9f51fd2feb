//! Dynamic namespaces: socket.io's `io.of(/regex/)` and `io.of((name, auth, next) => ..)`.

use napi::Env;
use napi::bindgen_prelude::Result;
use napi_derive::napi;
use polysocket::ParentNamespace;

use crate::payload::{Payload, args_of};
use crate::server::NativeServer;
use crate::socket::NativeSocket;
use crate::{JsFunction, invalid, lock};

/// A namespace name a client asks for, for a JavaScript predicate to accept or refuse.
#[napi(object)]
pub struct NamespaceCheck {
    /// The call to end with `namespaceCheckDone`.
    pub call: u32,
    /// The namespace the client asks for.
    pub name: String,
    /// The client's auth payload, as JSON.
    pub auth_json: String,
}

impl NativeServer {
    fn parent(&self, parent: u32) -> Result<ParentNamespace> {
        lock(&self.parents)
            .get(parent as usize)
            .cloned()
            .ok_or_else(|| invalid(format!("no parent namespace {parent}")))
    }

    fn add_parent(&self, parent: ParentNamespace) -> u32 {
        let mut parents = lock(&self.parents);
        parents.push(parent);
        u32::try_from(parents.len() - 1).unwrap_or(u32::MAX)
    }
}

#[napi]
impl NativeServer {
    /// A parent namespace for the names that match `pattern` (a JavaScript `RegExp`'s
    /// source, in `regex-lite` syntax); returns its number.
    #[napi]
    pub fn parent_of_regex(&self, pattern: String) -> Result<u32> {
        let parent = self.io.of_regex(&pattern).map_err(invalid)?;
        Ok(self.add_parent(parent))
    }

    /// A parent namespace for the names that `check` accepts (it answers with
    /// `namespaceCheckDone`); returns its number.
    #[napi]
    pub fn parent_of_predicate(&self, env: Env, check: JsFunction<NamespaceCheck>) -> u32 {
        let check = self.keep(&env, check);
        let pending = self.namespace_checks.clone();
        let parent = self.io.of_dynamic_async(move |name, auth| {
            let (call, answer) = pending.open();
            check.call(NamespaceCheck {
                call,
                name,
                auth_json: auth.to_json_lossy().to_string(),
            });
            async move { answer.await.unwrap_or(false) }
        });
        self.add_parent(parent)
    }

    /// Ends namespace check `call`.
    #[napi]
    pub fn namespace_check_done(&self, call: u32, accepted: bool) {
        self.namespace_checks.finish(call, accepted);
    }

    /// Calls `callback` with each socket that connects to a child of `parent`.
    #[napi]
    pub fn parent_on_connection(
        &self,
        env: Env,
        parent: u32,
        callback: JsFunction<NativeSocket>,
    ) -> Result<()> {
        let callback = self.keep(&env, callback);
        let dispatcher = self.dispatcher.clone();
        self.parent(parent)?.on_connection(move |socket| {
            callback.call(NativeSocket::for_connection(socket, &dispatcher));
        });
        Ok(())
    }

    /// Runs `callback` for each socket that tries to connect to a child of `parent`
    /// (answered with `middlewareDone`).
    #[napi]
    pub fn parent_use_middleware(
        &self,
        env: Env,
        parent: u32,
        callback: JsFunction<NativeSocket>,
    ) -> Result<()> {
        let middleware = self.middleware_caller(&env, callback);
        self.parent(parent)?.use_async_middleware(middleware);
        Ok(())
    }

    /// Emits to every socket of every child of `parent`.
    #[napi]
    pub fn parent_emit(&self, parent: u32, event: String, args: Payload) -> Result<()> {
        self.parent(parent)?
            .emit_args(&event, args_of(args)?)
            .map_err(invalid)
    }
}
