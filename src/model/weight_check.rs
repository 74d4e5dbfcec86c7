//! Weights that are not numbers: one pass over a model's weights as it loads, naming each tensor that
//! holds a NaN or an infinity, so the warning points at the file rather than at what the model says.
//!
//! The loaders hand over every tensor the model took (a folder's through [`Recorded`], a GGUF file's
//! from its table); the check runs on every core and costs one read of the weights: 50–90 ms for
//! SmolLM2's 135M float32 values on two busy cores, where the whole load took 0.73–0.76 s.
//! Nothing here prints: the warnings travel on the loaded model, for a command to print or the tutor
//! to show in its status line.

use std::fmt;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use rayon::prelude::*;

use super::finite::{all_finite, Count};

/// A weight holding NaN or infinite values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadWeight {
    /// The tensor's name in the checkpoint (Hugging Face naming; a GGUF tensor's after renaming).
    pub name: String,
    pub count: Count,
}

impl fmt::Display for BadWeight {
    /// "weight transformer.h.0.attn.c_attn.weight has 1 NaN value"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "weight {} has {}", self.name, self.count)
    }
}

/// The tensors of `weights` that hold a NaN or an infinity, in the order given (a name seen twice,
/// such as a tied embedding, counts once).
pub fn bad_weights(weights: &[(String, Tensor)]) -> Result<Vec<BadWeight>> {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&(String, Tensor)> = weights
        .iter()
        .filter(|(name, _)| seen.insert(name.as_str()))
        .collect();
    let found: Vec<Option<BadWeight>> = unique
        .par_iter()
        .map(|(name, t)| {
            if all_finite(t)? {
                return Ok(None);
            }
            Ok(Some(BadWeight {
                name: name.clone(),
                count: Count::of_tensor(t)?,
            }))
        })
        .collect::<Result<_>>()?;
    Ok(found.into_iter().flatten().collect())
}

/// The warning lines for `bad`: the first few tensors by name, then how many more.
pub fn warning_lines(bad: &[BadWeight]) -> Vec<String> {
    const SHOWN: usize = 3;
    let mut lines: Vec<String> = bad.iter().take(SHOWN).map(|b| b.to_string()).collect();
    if bad.len() > SHOWN {
        lines.push(format!(
            "{} more weights hold NaN or infinite values",
            bad.len() - SHOWN
        ));
    }
    lines
}

/// The tensors a [`Recorded`] backend has handed out, by name, shared with the loader.
pub(crate) type Taken = Arc<Mutex<Vec<(String, Tensor)>>>;

/// A weights backend that keeps a handle (not a copy) on every tensor it hands out, so the loader can
/// check them once the model is built.
pub(crate) struct Recorded<B> {
    inner: B,
    taken: Taken,
}

impl<B> Recorded<B> {
    /// The backend, and the list it fills as the model loads.
    pub fn new(inner: B) -> (Self, Taken) {
        let taken = Arc::new(Mutex::new(Vec::new()));
        let me = Self {
            inner,
            taken: Arc::clone(&taken),
        };
        (me, taken)
    }

    fn keep(&self, name: &str, t: &Tensor) {
        if let Ok(mut list) = self.taken.lock() {
            list.push((name.to_string(), t.clone()));
        }
    }
}

impl<B: SimpleBackend> SimpleBackend for Recorded<B> {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let t = self.inner.get(s, name, h, dtype, dev)?;
        self.keep(name, &t);
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        let t = self.inner.get_unchecked(name, dtype, dev)?;
        self.keep(name, &t);
        Ok(t)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.inner.contains_tensor(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_weights_with_nan_or_infinity_are_named_in_order() -> Result<()> {
        let dev = Device::Cpu;
        let w = |v: &[f32]| Tensor::new(v, &dev);
        let weights = vec![
            ("a".to_string(), w(&[1.0, 2.0])?),
            ("b".to_string(), w(&[f32::NAN, 2.0])?),
            ("b".to_string(), w(&[f32::NAN, 2.0])?),
            ("c".to_string(), w(&[f32::INFINITY, f32::NAN, f32::NAN])?),
        ];
        let bad = bad_weights(&weights)?;
        let text: Vec<String> = bad.iter().map(|b| b.to_string()).collect();
        assert_eq!(
            text,
            [
                "weight b has 1 NaN value",
                "weight c has 2 NaN and 1 infinite values"
            ]
        );
        let many: Vec<BadWeight> = (0..5).map(|_| bad[0].clone()).collect();
        let lines = warning_lines(&many);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[3], "2 more weights hold NaN or infinite values");
        Ok(())
    }
}
