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

/// The temperatures sampling computes faithfully besides 0 (greedy). candle divides f32 logits by
/// the temperature: a tiny one makes them infinite and the softmax NaN, a huge one rounds to infinity.
/// Well inside both, below 0.01 sampling is all but greedy and above 100 all but uniform.
pub const TEMPERATURES: std::ops::RangeInclusive<f64> = 0.01..=100.0;

/// A sampling setting that cannot be used: which one (`temperature`, `top_k`, `top_p`), its value,
/// what is wrong with it ("is out of range") and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct BadSetting {
    pub name: &'static str,
    pub value: String,
    pub problem: &'static str,
    pub fix: String,
}

impl SamplingConfig {
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    /// Every setting in its range, and top-k / top-p only with sampling (greedy decoding would
    /// ignore them without a word).
    pub fn check(&self) -> std::result::Result<(), BadSetting> {
        const OUT_OF_RANGE: &str = "is out of range";
        let bad = |name, value: String, problem, fix: String| {
            Err(BadSetting {
                name,
                value,
                problem,
                fix,
            })
        };
        let t = self.temperature;
        if !(t == 0.0 || TEMPERATURES.contains(&t)) {
            let (lo, hi) = TEMPERATURES.into_inner();
            let fix = format!("use 0 (greedy), or from {lo} to {hi} to sample (e.g. 0.8)");
            return bad("temperature", shown(t), OUT_OF_RANGE, fix);
        }
        if self.top_k == Some(0) {
            let fix = "keep at least the most likely token: 1 or more".into();
            return bad("top_k", "0".into(), OUT_OF_RANGE, fix);
        }
        if let Some(p) = self.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
            let fix = "use a probability above 0 and at most 1, e.g. 0.95".into();
            return bad("top_p", shown(p), OUT_OF_RANGE, fix);
        }
        let unused = match (self.top_k, self.top_p) {
            (Some(k), _) => Some(("top_k", k.to_string())),
            (None, Some(p)) => Some(("top_p", shown(p))),
            (None, None) => None,
        };
        if let Some((name, value)) = unused.filter(|_| self.is_greedy()) {
            let problem = "has no effect: the temperature is 0, so every token is the most likely";
            let fix = "give a temperature above 0 as well, e.g. 0.8".into();
            return bad(name, value, problem, fix);
        }
        Ok(())
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

/// A number as a user would have typed it: 0.8, -1, NaN, but 1e-300 rather than 300 digits.
fn shown(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        x.to_string()
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
    fn settings_out_of_range_are_named() {
        let sampled = SamplingConfig {
            temperature: 0.8,
            ..SamplingConfig::default()
        };
        assert_eq!(sampled.check(), Ok(()));
        assert_eq!(SamplingConfig::default().check(), Ok(()));
        let name = |c: SamplingConfig| c.check().unwrap_err().name;
        for t in [-1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300] {
            let c = SamplingConfig {
                temperature: t,
                ..sampled
            };
            assert_eq!(name(c), "temperature", "{t}");
        }
        let k0 = SamplingConfig {
            top_k: Some(0),
            ..sampled
        };
        assert_eq!(name(k0), "top_k");
        for p in [0.0, -0.5, 1.5, f64::NAN] {
            let c = SamplingConfig {
                top_p: Some(p),
                ..sampled
            };
            assert_eq!(name(c), "top_p", "{p}");
        }
        // Greedy decoding would ignore top-p: asking for it without a temperature is a mistake.
        let greedy_p = SamplingConfig {
            top_p: Some(0.9),
            ..SamplingConfig::default()
        };
        assert_eq!(name(greedy_p), "top_p");
    }

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
