//! The model: loading, running and recording GPT-2- and Llama-family models. Knows nothing about the
//! terminal or PNG views.

pub mod attention_maps;
pub mod capture;
pub mod chat;
pub mod config;
pub mod device;
pub mod direct;
#[cfg(feature = "hub")]
pub mod download;
pub mod family;
pub(crate) mod fast_ops;
pub mod finite;
pub mod gguf;
pub mod gpt2;
pub mod hook;
pub mod hooks;
pub mod hub;
pub mod interventions;
mod kv_cache;
pub mod layers;
pub mod llama;
pub mod llama_config;
pub mod loader;
mod mapped_weights;
pub mod positions;
pub mod prompt;
pub mod rope;
pub mod sampling;
pub mod tokenizer;
pub mod trace;
pub mod weight_check;

pub use capture::Capture;
pub use config::{Arch, Config};
pub use family::Model;
pub use gpt2::Gpt2;
pub use hook::Hook;
pub use hooks::NamesFilter;
pub use llama::Llama;
pub use loader::{load, LoadedModel};
pub use positions::PositionEdit;
pub use trace::Trace;
