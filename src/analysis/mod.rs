//! Pure functions from captured activations to what the views show. The terminal and the PNG export
//! draw the same data.

pub mod attribution;
pub mod heads;
pub mod heatmap;
pub mod inside;
pub mod positions;
pub mod predictions;
pub mod residual;
pub mod rotary;
pub mod scaling;
pub mod training;

pub use heatmap::{Heatmap, Scale};
