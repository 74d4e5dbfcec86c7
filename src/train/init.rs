//! Seeded weight initialisation.
//!
//! candle's CPU random generator cannot be seeded (`Device::set_seed` fails on CPU), so weights created
//! through a plain `VarMap` differ on every run. This backend creates each `Var` from the project's own
//! [`Rng`], streamed by the variable's name, and registers it in the `VarMap`, so the same seed gives the
//! same initial model whatever order the layers ask for their weights in.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::{var_builder::SimpleBackend, Init, VarBuilder, VarMap};

use crate::corpus::Rng;

/// A `VarMap` whose new variables are drawn from a seeded [`Rng`].
pub struct SeededVarMap {
    pub varmap: VarMap,
    seed: u64,
}

impl SeededVarMap {
    pub fn new(seed: u64) -> Self {
        Self {
            varmap: VarMap::new(),
            seed,
        }
    }

    /// A builder that creates trainable F32 variables in `self.varmap`.
    pub fn builder(&self, device: &Device) -> VarBuilder<'_> {
        VarBuilder::from_backend(Box::new(self), DType::F32, device.clone())
    }

    fn create(&self, shape: &Shape, name: &str, init: Init, dev: &Device) -> Result<Tensor> {
        let n = shape.elem_count();
        let mut rng = Rng::stream(self.seed, fnv1a(name));
        let values: Vec<f32> = match init {
            Init::Const(c) => vec![c as f32; n],
            Init::Randn { mean, stdev } => (0..n)
                .map(|_| (mean + stdev * normal(&mut rng)) as f32)
                .collect(),
            Init::Uniform { lo, up } => (0..n)
                .map(|_| (lo + (up - lo) * rng.unit()) as f32)
                .collect(),
            Init::Kaiming { .. } => {
                candle_core::bail!("{name}: Kaiming init is not supported by the seeded trainer")
            }
        };
        Tensor::from_vec(values, shape.clone(), dev)
    }
}

impl SimpleBackend for &SeededVarMap {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let data = self.varmap.data();
        let mut map = data
            .lock()
            .map_err(|_| candle_core::Error::Msg("the VarMap lock is poisoned".into()))?;
        if let Some(var) = map.get(name) {
            if var.shape() != &s {
                candle_core::bail!("{name}: shape {:?} requested, {:?} exists", s, var.shape());
            }
            return Ok(var.as_tensor().clone());
        }
        let var = Var::from_tensor(&self.create(&s, name, h, dev)?.to_dtype(dtype)?)?;
        let t = var.as_tensor().clone();
        map.insert(name.to_string(), var);
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("{name}: the seeded VarMap needs a shape to create a variable")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap
            .data()
            .lock()
            .is_ok_and(|m| m.contains_key(name))
    }
}

/// A standard normal draw (Box–Muller; one of the pair is discarded, which keeps the code obvious).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.unit(); // (0, 1]: ln stays finite
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// FNV-1a: a stable hash of a variable name (std's hasher is randomised per process).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_weights() -> Result<()> {
        let draw = |seed| -> Result<Vec<f32>> {
            let m = SeededVarMap::new(seed);
            let vb = m.builder(&Device::Cpu);
            let t = vb.get_with_hints(
                (4, 3),
                "w",
                Init::Randn {
                    mean: 0.,
                    stdev: 0.02,
                },
            )?;
            t.flatten_all()?.to_vec1()
        };
        assert_eq!(draw(1)?, draw(1)?);
        assert_ne!(draw(1)?, draw(2)?);
        Ok(())
    }
}
