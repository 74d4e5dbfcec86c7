//! Choosing the next token: greedy, or sampled with temperature, top-k and top-p, seeded.

use candle_core::{Result, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};

use super::finite::all_finite;

/// How to pick the next token. `temperature == 0` means greedy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingConfig {
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub seed: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_k: None,
            top_p: None,
            seed: 0,
        }
    }
}

impl SamplingConfig {
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    fn strategy(&self) -> Sampling {
        let temperature = self.temperature;
        if self.is_greedy() {
            return Sampling::ArgMax;
        }
        match (self.top_k, self.top_p) {
            (None, None) => Sampling::All { temperature },
            (Some(k), None) => Sampling::TopK { k, temperature },
            (None, Some(p)) => Sampling::TopP { p, temperature },
            (Some(k), Some(p)) => Sampling::TopKThenTopP { k, p, temperature },
        }
    }
}

/// A seeded sampler; the same seed and logits give the same tokens.
pub struct Sampler {
    inner: LogitsProcessor,
    config: SamplingConfig,
}

impl Sampler {
    pub fn new(config: SamplingConfig) -> Self {
        Self {
            inner: LogitsProcessor::from_sampling(config.seed, config.strategy()),
            config,
        }
    }

    pub fn config(&self) -> SamplingConfig {
        self.config
    }

    /// `logits: [d_vocab]` -> the chosen token id. Logits that are not all numbers are refused: an
    /// argmax over NaN picks an arbitrary token and the random sampler fails with its own message.
    /// [`crate::model::Trace::finite_logits`] also names where the NaN came from.
    pub fn sample(&mut self, logits: &Tensor) -> Result<u32> {
        if !all_finite(logits)? {
            candle_core::bail!(
                "cannot choose the next token: the model's output is not a number (NaN or infinity)"
            );
        }
        self.inner.sample(logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn greedy_takes_argmax_and_seeded_sampling_repeats() -> Result<()> {
        let logits = Tensor::new(&[0.1f32, 3.0, 0.2, 2.9], &Device::Cpu)?;
        assert_eq!(Sampler::new(SamplingConfig::default()).sample(&logits)?, 1);
        let cfg = SamplingConfig {
            temperature: 1.5,
            top_k: Some(3),
            top_p: Some(0.95),
            seed: 7,
        };
        let draw = |cfg| -> Result<Vec<u32>> {
            let mut s = Sampler::new(cfg);
            (0..20).map(|_| s.sample(&logits)).collect()
        };
        let a = draw(cfg)?;
        assert_eq!(a, draw(cfg)?);
        // top-k 3 never picks the smallest logit (index 0), and a high temperature picks more than one.
        assert!(a.iter().all(|&t| t != 0));
        assert!(a.iter().any(|&t| t != a[0]));
        Ok(())
    }

    #[test]
    fn logits_that_are_not_numbers_are_refused_greedy_or_sampled() -> Result<()> {
        let logits = Tensor::new(&[0.1f32, f32::NAN, 0.2], &Device::Cpu)?;
        let sampled = SamplingConfig {
            temperature: 1.0,
            ..SamplingConfig::default()
        };
        for cfg in [SamplingConfig::default(), sampled] {
            let err = Sampler::new(cfg).sample(&logits).unwrap_err().to_string();
            assert!(err.contains("not a number"), "{err}");
        }
        Ok(())
    }
}
