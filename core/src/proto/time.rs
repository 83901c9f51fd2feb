//! The clock type the state machines take their `now` in.
//!
//! It is std's [`Instant`](std::time::Instant), except in the browser
//! (`wasm32-unknown-unknown`), where std has no clock and `Instant::now()` panics: there it
//! is `web_time::Instant`, the same API backed by `performance.now()`. The state machines
//! never read the clock themselves; the driver (tokio, the browser binding, a test's virtual
//! clock) passes `now` in.

#[cfg(not(all(target_family = "wasm", target_os = "unknown")))]
pub use std::time::Instant;
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
pub use web_time::Instant;
