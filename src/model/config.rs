//! The Hugging Face GPT-2 `config.json`, mirrored by a serde struct, resolved into the [`Config`] the model uses.
//!
//! Field names in [`Config`] follow TransformerLens (`d_model`, `n_heads`, `d_head`, `d_mlp`, `d_vocab`, `n_ctx`).

use serde::{Deserialize, Serialize};

/// `config.json` as Hugging Face writes it for `model_type: "gpt2"` (only the fields the architecture uses).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HfGpt2Config {
    #[serde(default)]
    pub model_type: Option<String>,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_layer: usize,
    #[serde(default)]
    pub n_positions: Option<usize>,
    /// Older GPT-2 configs name the context length `n_ctx`.
    #[serde(default)]
    pub n_ctx: Option<usize>,
    pub vocab_size: usize,
    #[serde(default)]
    pub n_inner: Option<usize>,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "default_activation")]
    pub activation_function: String,
    #[serde(default = "yes")]
    pub scale_attn_weights: bool,
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    #[serde(default)]
    pub eos_token_id: Option<u32>,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_activation() -> String {
    "gelu_new".into()
}
fn yes() -> bool {
    true
}

/// The MLP non-linearity, by its Hugging Face `activation_function` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation GPT-2 was trained with.
    GeluTanh,
    /// `gelu`: the exact erf form.
    GeluErf,
    Relu,
    /// `silu` / `swish`.
    Silu,
}

impl Activation {
    pub fn from_hf(name: &str) -> Option<Self> {
        Some(match name {
            "gelu_new" | "gelu_pytorch_tanh" => Self::GeluTanh,
            "gelu" => Self::GeluErf,
            "relu" => Self::Relu,
            "silu" | "swish" => Self::Silu,
            _ => return None,
        })
    }

    pub fn hf_name(self) -> &'static str {
        match self {
            Self::GeluTanh => "gelu_new",
            Self::GeluErf => "gelu",
            Self::Relu => "relu",
            Self::Silu => "silu",
        }
    }
}

/// The model family: which forward pass and which hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Arch {
    /// GPT-2: learned positions, LayerNorm, GELU MLP, fused q/k/v.
    #[default]
    Gpt2,
    /// Llama: rotary positions, RMSNorm, gated SiLU MLP, grouped-query attention.
    Llama,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Self::Gpt2 => "gpt2",
            Self::Llama => "llama",
        }
    }
}

/// The largest size a config may give (2^24): real models stay far below it (vocabularies of 256k,
/// MLPs of 53k, hidden sizes of 16k, a few hundred layers), and below it the products the model forms
/// (3 × d_model, heads × d_head, the element count of a [vocab, d_model] weight) cannot overflow.
pub const MAX_SIZE: usize = 1 << 24;

/// Each size must be above 0 and at most [`MAX_SIZE`]; the error names the first that is not.
pub fn check_sizes(sizes: &[(&str, usize)]) -> Result<(), String> {
    for &(name, v) in sizes {
        if v == 0 {
            return Err(format!("{name} is 0"));
        }
        if v > MAX_SIZE {
            return Err(format!(
                "{name} {v} is larger than any model's (at most {MAX_SIZE})"
            ));
        }
    }
    Ok(())
}

/// The resolved architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub arch: Arch,
    pub d_model: usize,
    pub n_heads: usize,
    /// Key/value heads: n_heads for multi-head attention, fewer under grouped-query attention (a
    /// divisor of n_heads; 1 is multi-query).
    pub n_kv_heads: usize,
    pub d_head: usize,
    pub n_layers: usize,
    pub d_mlp: usize,
    pub d_vocab: usize,
    /// Longest sequence the model was made for (GPT-2: what the position embedding covers).
    pub n_ctx: usize,
    /// The epsilon of every LayerNorm (GPT-2) or RMSNorm (Llama).
    pub ln_eps: f64,
    pub act: Activation,
    /// Divide attention scores by √d_head (GPT-2 always does; `scale_attn_weights: false` turns it off).
    pub scale_attn_weights: bool,
    /// Also divide layer l's scores by l + 1 (`scale_attn_by_inverse_layer_idx`).
    pub scale_attn_by_layer: bool,
    pub tie_embeddings: bool,
    pub bos_token_id: Option<u32>,
    /// The rotary embedding's base (Llama); `None` for learned positions.
    pub rope_theta: Option<f64>,
    /// Whether q, k, v and o have biases (GPT-2 always; Llama's `attention_bias`).
    pub attn_bias: bool,
    /// Whether the MLP's projections have biases (GPT-2 always; Llama's `mlp_bias`).
    pub mlp_bias: bool,
}

impl Config {
    /// What q·k is multiplied by in `layer` before the softmax: 1/√d_head for the Llama family; for
    /// GPT-2, 1/√d_head if `scale_attn_weights` and 1/(layer+1) if `scale_attn_by_layer`.
    pub fn score_scale(&self, layer: usize) -> f64 {
        let mut scale = 1.0;
        if self.arch == Arch::Llama || self.scale_attn_weights {
            scale /= (self.d_head as f64).sqrt();
        }
        if self.arch == Arch::Gpt2 && self.scale_attn_by_layer {
            scale /= (layer + 1) as f64;
        }
        scale
    }

    /// Resolve and validate. The error is a sentence about config.json; the caller adds the path.
    pub fn from_hf(hf: &HfGpt2Config) -> Result<Self, String> {
        if let Some(kind) = hf.model_type.as_deref() {
            if kind != "gpt2" {
                return Err(format!(
                    "model_type is \"{kind}\"; glassbox runs GPT-2-family models (model_type \"gpt2\")"
                ));
            }
        }
        let act = Activation::from_hf(&hf.activation_function).ok_or_else(|| {
            format!(
                "activation_function \"{}\" is not supported (use gelu_new, gelu_pytorch_tanh, gelu, relu or silu)",
                hf.activation_function
            )
        })?;
        check_sizes(&[
            ("n_embd", hf.n_embd),
            ("n_head", hf.n_head),
            ("n_layer", hf.n_layer),
            ("vocab_size", hf.vocab_size),
            ("n_inner", hf.n_inner.unwrap_or(1)),
        ])?;
        if !hf.n_embd.is_multiple_of(hf.n_head) {
            return Err(format!(
                "n_embd {} is not divisible by n_head {}",
                hf.n_embd, hf.n_head
            ));
        }
        let n_ctx = hf
            .n_positions
            .or(hf.n_ctx)
            .ok_or("neither n_positions nor n_ctx is set")?;
        // The context is not capped: it multiplies nothing that could overflow.
        if n_ctx == 0 {
            return Err("n_positions is 0: the model could not see a single token".into());
        }
        let d_mlp = match hf.n_inner {
            Some(m) => m,
            None => hf
                .n_embd
                .checked_mul(4)
                .ok_or_else(|| format!("n_embd {} is too large", hf.n_embd))?,
        };
        let cfg = Self {
            arch: Arch::Gpt2,
            d_model: hf.n_embd,
            n_heads: hf.n_head,
            n_kv_heads: hf.n_head,
            d_head: hf.n_embd / hf.n_head,
            n_layers: hf.n_layer,
            d_mlp,
            d_vocab: hf.vocab_size,
            n_ctx,
            ln_eps: hf.layer_norm_epsilon,
            act,
            scale_attn_weights: hf.scale_attn_weights,
            scale_attn_by_layer: hf.scale_attn_by_inverse_layer_idx,
            tie_embeddings: hf.tie_word_embeddings,
            bos_token_id: hf.bos_token_id,
            rope_theta: None,
            attn_bias: true,
            mlp_bias: true,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// What every family's config must satisfy before a model is built from it: no size of 0, a
    /// usable epsilon, and weights whose sizes fit in memory arithmetic (a config.json or GGUF header
    /// with absurd sizes is an error here, not an overflow later). The error is a sentence.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("the hidden size", self.d_model),
            ("the head count", self.n_heads),
            ("the key/value head count", self.n_kv_heads),
            ("the head size", self.d_head),
            ("the layer count", self.n_layers),
            ("the MLP size", self.d_mlp),
            ("the vocabulary", self.d_vocab),
            ("the context length", self.n_ctx),
        ] {
            if v == 0 {
                return Err(format!("{name} is 0"));
            }
        }
        if !(self.ln_eps.is_finite() && self.ln_eps >= 0.0) {
            return Err(format!(
                "the normalization epsilon {} must be a number of at least 0",
                self.ln_eps
            ));
        }
        if let Some(theta) = self.rope_theta.filter(|t| !(t.is_finite() && *t > 1.0)) {
            return Err(format!("the rotary base {theta} must be a number above 1"));
        }
        if self.checked_n_params().is_none() {
            return Err(format!(
                "its sizes (hidden {}, MLP {}, vocabulary {}, {} layers, {} heads of {}) describe more parameters than this computer can count",
                self.d_model, self.d_mlp, self.d_vocab, self.n_layers, self.n_heads, self.d_head
            ));
        }
        Ok(())
    }

    /// The `config.json` Hugging Face would write for this architecture (used when saving a trained model).
    pub fn to_hf(&self) -> HfGpt2Config {
        HfGpt2Config {
            model_type: Some("gpt2".into()),
            n_embd: self.d_model,
            n_head: self.n_heads,
            n_layer: self.n_layers,
            n_positions: Some(self.n_ctx),
            n_ctx: Some(self.n_ctx),
            vocab_size: self.d_vocab,
            n_inner: (self.d_mlp != 4 * self.d_model).then_some(self.d_mlp),
            layer_norm_epsilon: self.ln_eps,
            activation_function: self.act.hf_name().into(),
            scale_attn_weights: self.scale_attn_weights,
            scale_attn_by_inverse_layer_idx: self.scale_attn_by_layer,
            tie_word_embeddings: self.tie_embeddings,
            bos_token_id: self.bos_token_id,
            eos_token_id: self.bos_token_id,
        }
    }

    /// Number of parameters, counted as the checkpoint stores them (tied unembedding counted once);
    /// `usize::MAX` for sizes [`Config::validate`] refuses.
    pub fn n_params(&self) -> usize {
        self.checked_n_params().unwrap_or(usize::MAX)
    }

    /// The parameter count, or `None` when it does not fit in a usize.
    fn checked_n_params(&self) -> Option<usize> {
        // Written out with + and *; every step is checked.
        #[derive(Clone, Copy)]
        struct N(Option<usize>);
        impl std::ops::Add for N {
            type Output = N;
            fn add(self, o: N) -> N {
                N(self.0.zip(o.0).and_then(|(a, b)| a.checked_add(b)))
            }
        }
        impl std::ops::Mul for N {
            type Output = N;
            fn mul(self, o: N) -> N {
                N(self.0.zip(o.0).and_then(|(a, b)| a.checked_mul(b)))
            }
        }
        let n = |x: usize| N(Some(x));
        let (d, m, v, l) = (
            n(self.d_model),
            n(self.d_mlp),
            n(self.d_vocab),
            n(self.n_layers),
        );
        let unembed = if self.tie_embeddings { n(0) } else { v * d };
        let total = if self.arch == Arch::Llama {
            let q = n(self.n_heads) * n(self.d_head);
            let kv = n(self.n_kv_heads) * n(self.d_head);
            let attn_bias = if self.attn_bias {
                q + n(2) * kv + d
            } else {
                n(0)
            };
            let attn = d * q + n(2) * d * kv + q * d + attn_bias;
            let mlp_bias = if self.mlp_bias { n(2) * m + d } else { n(0) };
            let mlp = n(3) * d * m + mlp_bias;
            let norms = n(2) * d;
            v * d + l * (attn + mlp + norms) + d + unembed
        } else {
            let embed = v * d + n(self.n_ctx) * d;
            let attn = d * n(3) * d + n(3) * d + d * d + d;
            let mlp = d * m + m + m * d + d;
            let lns = n(4) * d;
            embed + l * (attn + mlp + lns) + n(2) * d + unembed
        };
        total.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(json: &str) -> HfGpt2Config {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn gpt2_small_resolves_with_defaults() {
        let c = Config::from_hf(&hf(
            r#"{"n_embd":768,"n_head":12,"n_layer":12,"n_positions":1024,"vocab_size":50257}"#,
        ))
        .unwrap();
        assert_eq!((c.d_head, c.d_mlp, c.n_ctx), (64, 3072, 1024));
        assert_eq!(c.act, Activation::GeluTanh);
        assert!(c.scale_attn_weights && c.tie_embeddings);
        // GPT-2 small has 124,439,808 parameters.
        assert_eq!(c.n_params(), 124_439_808);
    }

    #[test]
    fn rejects_unknown_activation_and_bad_heads() {
        let e = Config::from_hf(&hf(
            r#"{"n_embd":64,"n_head":4,"n_layer":1,"n_positions":8,"vocab_size":10,"activation_function":"mish"}"#,
        ))
        .unwrap_err();
        assert!(e.contains("mish"), "{e}");
        let e = Config::from_hf(&hf(
            r#"{"n_embd":65,"n_head":4,"n_layer":1,"n_positions":8,"vocab_size":10}"#,
        ))
        .unwrap_err();
        assert!(e.contains("65") && e.contains("4"), "{e}");
    }

    /// Found by tests/fuzz.rs: these resolved (or overflowed while resolving) and then failed or
    /// panicked later, when the model was built or its parameters counted.
    #[test]
    fn rejects_sizes_the_model_cannot_be_built_with() {
        for (json, needle) in [
            (
                r#"{"n_embd":64,"n_head":4,"n_layer":1,"n_positions":0,"vocab_size":10}"#,
                "n_positions is 0",
            ),
            (
                r#"{"n_embd":4611686018427387904,"n_head":1,"n_layer":1,"n_positions":8,"vocab_size":10}"#,
                "larger than any model's",
            ),
            (
                r#"{"n_embd":64,"n_head":4,"n_layer":1,"n_positions":8,"vocab_size":10,"n_inner":2305843009213693952}"#,
                "larger than any model's",
            ),
            (
                r#"{"n_embd":64,"n_head":4,"n_layer":1,"n_positions":8,"vocab_size":10,"layer_norm_epsilon":-1.0}"#,
                "epsilon",
            ),
        ] {
            let e = Config::from_hf(&hf(json)).unwrap_err();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn to_hf_round_trips() {
        let c = Config::from_hf(&hf(
            r#"{"n_embd":48,"n_head":3,"n_layer":2,"n_positions":32,"vocab_size":300,"activation_function":"relu","scale_attn_weights":false,"tie_word_embeddings":false,"bos_token_id":0}"#,
        ))
        .unwrap();
        assert_eq!(Config::from_hf(&c.to_hf()).unwrap(), c);
    }
}
