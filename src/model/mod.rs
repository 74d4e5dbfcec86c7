//! The model: loading, running and recording GPT-2. Knows nothing about the terminal or PNG views.

pub mod capture;
pub mod config;
pub mod device;
#[cfg(feature = "hub")]
pub mod download;
pub(crate) mod fast_ops;
pub mod gpt2;
pub mod hooks;
pub mod hub;
mod kv_cache;
pub mod layers;
pub mod loader;
mod mapped_weights;
pub mod sampling;
pub mod sink;
pub mod tokenizer;
pub mod trace;

pub use capture::Capture;
pub use config::Config;
pub use gpt2::Gpt2;
pub use hooks::NamesFilter;
pub use loader::{load, LoadedModel};
pub use sink::HookSink;
pub use trace::Trace;
