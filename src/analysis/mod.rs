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

/// How many leading positions of a causal model's per-position results computed for `old` still
/// hold for `new`: every one when the ids are the same; else those before the first token that
/// differs, less the last of them (a pass that removes a token recomputes the new last position, so
/// its results are taken afresh). A token appended keeps all but the old last one's; the results
/// reading the token after a position (the loss) need that one again anyway.
pub fn positions_kept(old: &[u32], new: &[u32]) -> usize {
    let same = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    if same == old.len() && same == new.len() {
        return same;
    }
    same.saturating_sub(1)
}
