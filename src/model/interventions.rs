//! What-ifs as hooks: zero and mean ablation of attention heads, and activation patching.
//!
//! Each is a [`Hook`] that returns a replacement at the points it wants, so it works the same for every
//! model family, in a full pass and while stepping with the KV cache, and composes with a recorder
//! ([`super::hook::Chain`]). The functions at the bottom are the experiments a learner runs with them.

use candle_core::{DType, IndexOp, Result, Tensor};
use color_eyre::eyre::WrapErr;

use super::family::Model;
use super::hook::{Hook, Recorder};
use super::hooks::{BlockHook, HookPoint, Layout, NamesFilter};
use super::Capture;
use crate::error::hinted;

/// A head: (layer, head).
pub type Head = (usize, usize);

/// Zero-ablation, as a TransformerLens hook on `hook_z` does it: the head still attends (its pattern
/// is unchanged) but writes nothing to the residual stream.
#[derive(Debug, Clone)]
pub struct ZeroAblation {
    heads: Vec<Head>,
}

impl ZeroAblation {
    pub fn new(heads: &[Head]) -> Self {
        Self {
            heads: heads.to_vec(),
        }
    }
}

impl Hook for ZeroAblation {
    fn wants(&self, point: HookPoint) -> bool {
        matches!(point, HookPoint::Block(l, BlockHook::Z) if self.heads.iter().any(|&(hl, _)| hl == l))
    }

    fn hook(&mut self, point: HookPoint, _start: usize, z: Tensor) -> Result<Tensor> {
        let HookPoint::Block(layer, _) = point else {
            return Ok(z);
        };
        let h = z.dim(2)?; // z: [b, t, h, dh]
        let keep: Vec<f32> = (0..h)
            .map(|i| {
                if self.heads.contains(&(layer, i)) {
                    0.0
                } else {
                    1.0
                }
            })
            .collect();
        let keep = Tensor::from_vec(keep, (1, 1, h, 1), z.device())?.to_dtype(z.dtype())?;
        z.broadcast_mul(&keep) // [b, t, h, dh]
    }
}

/// Mean-ablation: each head's `hook_z` replaced, at every position, by its mean over a reference run.
#[derive(Debug, Clone)]
pub struct MeanAblation {
    /// (head, its mean hook_z [d_head]).
    means: Vec<(Head, Tensor)>,
}

impl Hook for MeanAblation {
    fn wants(&self, point: HookPoint) -> bool {
        matches!(point, HookPoint::Block(l, BlockHook::Z) if self.means.iter().any(|&((hl, _), _)| hl == l))
    }

    fn hook(&mut self, point: HookPoint, _start: usize, z: Tensor) -> Result<Tensor> {
        let HookPoint::Block(layer, _) = point else {
            return Ok(z);
        };
        let (b, t, _, dh) = z.dims4()?; // z: [b, t, h, dh]
        let mut z = z.contiguous()?;
        for ((l, head), mean) in &self.means {
            if *l == layer {
                let fill = mean.reshape((1, 1, 1, dh))?.broadcast_as((b, t, 1, dh))?;
                z = z.slice_assign(&[0..b, 0..t, *head..*head + 1, 0..dh], &fill.contiguous()?)?;
            }
        }
        Ok(z)
    }
}

/// Activation patching: at one hook point, the values at some positions replaced by another run's.
#[derive(Debug, Clone)]
pub struct Patch {
    point: HookPoint,
    positions: Vec<usize>,
    /// The other run's whole activation at `point`: [1, seq, ...], or [1, head, seq, seq].
    source: Tensor,
}

impl Patch {
    pub fn new(point: HookPoint, positions: &[usize], source: Tensor) -> Self {
        Self {
            point,
            positions: positions.to_vec(),
            source,
        }
    }
}

impl Hook for Patch {
    fn wants(&self, point: HookPoint) -> bool {
        point == self.point
    }

    /// value holds positions start..start+n on its position axis; each patched position in that range
    /// gets the source's row. An attention row only has the keys that exist so far (n_keys), so the
    /// source's row is cut to them.
    fn hook(&mut self, point: HookPoint, start: usize, value: Tensor) -> Result<Tensor> {
        let axis = point.layout().position_axis();
        let n = value.dim(axis)?;
        let mut value = value.contiguous()?;
        for &p in &self.positions {
            if p < start || p >= start + n {
                continue;
            }
            let mut row = self.source.narrow(axis, p, 1)?;
            let mut ranges: Vec<std::ops::Range<usize>> =
                value.dims().iter().map(|&d| 0..d).collect();
            ranges[axis] = p - start..p - start + 1;
            if let Layout::Attention { .. } = point.layout() {
                row = row.narrow(3, 0, value.dim(3)?)?;
            }
            value = value.slice_assign(&ranges, &row.to_dtype(value.dtype())?.contiguous()?)?;
        }
        Ok(value)
    }
}

impl Model {
    /// Check that every head exists; the error names the first that does not.
    pub fn check_heads(&self, heads: &[Head]) -> color_eyre::Result<()> {
        let c = self.config();
        if let Some((l, h)) = heads
            .iter()
            .find(|&&(l, h)| l >= c.n_layers || h >= c.n_heads)
        {
            return hinted(
                format!(
                    "there is no head L{l}H{h}: the model has {} layers of {} heads",
                    c.n_layers, c.n_heads
                ),
                "count layers and heads from 0",
            );
        }
        Ok(())
    }

    /// Every position's logits with `heads` zero-ablated: [seq, d_vocab].
    pub fn ablate_heads(&self, ids: &[u32], heads: &[Head]) -> color_eyre::Result<Tensor> {
        self.check_heads(heads)?;
        self.run_with_hook(ids, &mut ZeroAblation::new(heads))
    }

    /// A mean-ablation of `heads` whose means come from running `reference` prompts: each head's
    /// hook_z averaged over every position of every reference prompt.
    pub fn mean_ablation(
        &self,
        reference: &[Vec<u32>],
        heads: &[Head],
    ) -> color_eyre::Result<MeanAblation> {
        self.check_heads(heads)?;
        if reference.iter().all(Vec::is_empty) {
            return hinted(
                "mean ablation needs at least one reference prompt with tokens",
                "pass the prompts whose average activation should replace the heads'",
            );
        }
        let mut layers: Vec<usize> = heads.iter().map(|&(l, _)| l).collect();
        layers.sort_unstable();
        layers.dedup();
        let names: Vec<String> = layers
            .iter()
            .map(|&l| HookPoint::Block(l, BlockHook::Z).name())
            .collect();
        let filter = NamesFilter::names(&names);
        // Sum of hook_z over every reference position, per layer: [h, dh].
        let mut sums: Vec<Option<Tensor>> = vec![None; layers.len()];
        let mut count = 0usize;
        for ids in reference.iter().filter(|ids| !ids.is_empty()) {
            let mut capture = Capture::default();
            let mut rec = Recorder {
                filter: &filter,
                capture: &mut capture,
            };
            self.record(ids, &mut rec)
                .wrap_err("running a reference prompt for mean ablation")?;
            for (slot, name) in sums.iter_mut().zip(&names) {
                let z = capture.require(name)?.to_dtype(DType::F32)?.i(0)?.sum(0)?; // [h, dh]
                *slot = Some(match slot.take() {
                    Some(s) => (s + z)?,
                    None => z,
                });
            }
            count += ids.len();
        }
        let mut means = Vec::with_capacity(heads.len());
        for &(l, h) in heads {
            let i = layers.iter().position(|&x| x == l).unwrap_or_default();
            let sum = sums[i]
                .as_ref()
                .ok_or_else(|| color_eyre::eyre::eyre!("no reference activations"))?;
            means.push(((l, h), (sum.i(h)? / count as f64)?));
        }
        Ok(MeanAblation { means })
    }

    /// Activation patching: run `clean`, then `corrupted` with the hook `name` at `positions` replaced
    /// by the clean run's values there. Returns the corrupted run's logits, patched: [seq, d_vocab].
    pub fn patch(
        &self,
        clean: &[u32],
        corrupted: &[u32],
        name: &str,
        positions: &[usize],
    ) -> color_eyre::Result<Tensor> {
        let Some(point) = HookPoint::parse(name, self.config()) else {
            return hinted(
                format!("this model has no hook named {name}"),
                "use a TransformerLens hook name, such as blocks.0.hook_resid_pre",
            );
        };
        let shorter = clean.len().min(corrupted.len());
        if let Some(&p) = positions.iter().find(|&&p| p >= shorter) {
            return hinted(
                format!(
                    "position {p} is outside the prompts ({} clean and {} corrupted tokens)",
                    clean.len(),
                    corrupted.len()
                ),
                "patch positions both prompts have",
            );
        }
        if point.layout() != Layout::Positional && clean.len() != corrupted.len() {
            return hinted(
                format!(
                    "{name} can only be patched between prompts of the same length ({} and {} tokens)",
                    clean.len(),
                    corrupted.len()
                ),
                "make the corrupted prompt as long as the clean one",
            );
        }
        let filter = NamesFilter::names(&[name]);
        let mut capture = Capture::default();
        let mut rec = Recorder {
            filter: &filter,
            capture: &mut capture,
        };
        self.record(clean, &mut rec)
            .wrap_err("running the clean prompt")?;
        let source = capture.require(name)?;
        self.run_with_hook(corrupted, &mut Patch::new(point, positions, source))
    }
}
