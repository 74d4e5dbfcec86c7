//! glassbox: see inside a Transformer language model.
//!
//! Data flows one way: checkpoint → [`model`] (run and capture) → [`analysis`] (view data) → views.

pub mod analysis;
pub mod app;
pub mod corpus;
pub mod dump;
pub mod error;
pub mod export;
pub mod fsutil;
pub mod interrupt;
pub mod lesson;
pub mod malloc;
pub mod model;
pub mod shell;
pub mod text;
pub mod textfile;
pub mod train;
pub mod ui;
