//! The Hugging Face Llama `config.json` (`model_type: "llama"`, `LlamaForCausalLM`), mirrored by a serde
//! struct and resolved into the same [`Config`] GPT-2 uses.
//!
//! Both layouts found in the wild are read: `rope_theta` at the top level (most hub checkpoints), and
//! transformers 5's `rope_parameters` object. A rope scaling we do not implement is an error, never a
//! silent difference.

use serde::Deserialize;

use super::config::{check_sizes, Activation, Arch, Config};

/// `rope_parameters` (transformers 5) or `rope_scaling` (earlier): which rotary variant and its base.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct HfRopeParameters {
    #[serde(default)]
    pub rope_type: Option<String>,
    /// Older configs call the type `type`.
    #[serde(default, rename = "type")]
    pub legacy_type: Option<String>,
    #[serde(default)]
    pub rope_theta: Option<f64>,
}

impl HfRopeParameters {
    fn kind(&self) -> &str {
        self.rope_type
            .as_deref()
            .or(self.legacy_type.as_deref())
            .unwrap_or("default")
    }
}

/// `config.json` as Hugging Face writes it for `model_type: "llama"` (the fields the architecture uses).
#[derive(Debug, Clone, Deserialize)]
pub struct HfLlamaConfig {
    pub model_type: String,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    pub num_hidden_layers: usize,
    pub vocab_size: usize,
    #[serde(default)]
    pub max_position_embeddings: Option<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "default_rms_eps")]
    pub rms_norm_eps: f64,
    #[serde(default)]
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_parameters: Option<HfRopeParameters>,
    #[serde(default)]
    pub rope_scaling: Option<HfRopeParameters>,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    /// transformers' LlamaConfig defaults to a separate lm_head.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
}

fn default_rms_eps() -> f64 {
    1e-6
}
fn default_act() -> String {
    "silu".into()
}

/// transformers' default rotary base.
const DEFAULT_ROPE_THETA: f64 = 10_000.0;
/// What to assume when a config names no context length (transformers' LlamaConfig default).
const DEFAULT_CONTEXT: usize = 2048;

impl Config {
    /// Resolve and validate a Llama config. The error is a sentence about config.json; the caller
    /// adds the path.
    pub fn from_hf_llama(hf: &HfLlamaConfig) -> Result<Self, String> {
        if hf.model_type != "llama" {
            return Err(format!(
                "model_type is \"{}\"; glassbox runs model_type \"gpt2\" and \"llama\"",
                hf.model_type
            ));
        }
        let act = Activation::from_hf(&hf.hidden_act).ok_or_else(|| {
            format!(
                "hidden_act \"{}\" is not supported (use silu)",
                hf.hidden_act
            )
        })?;
        check_sizes(&[
            ("hidden_size", hf.hidden_size),
            ("intermediate_size", hf.intermediate_size),
            ("num_attention_heads", hf.num_attention_heads),
            ("num_hidden_layers", hf.num_hidden_layers),
            ("vocab_size", hf.vocab_size),
            ("num_key_value_heads", hf.num_key_value_heads.unwrap_or(1)),
            ("head_dim", hf.head_dim.unwrap_or(2)),
        ])?;
        let n_heads = hf.num_attention_heads;
        let n_kv_heads = hf.num_key_value_heads.unwrap_or(n_heads);
        if n_kv_heads == 0 || !n_heads.is_multiple_of(n_kv_heads) {
            return Err(format!(
                "num_key_value_heads {n_kv_heads} does not divide num_attention_heads {n_heads}"
            ));
        }
        let d_head = match hf.head_dim {
            Some(d) => d,
            None if hf.hidden_size.is_multiple_of(n_heads) => hf.hidden_size / n_heads,
            None => {
                return Err(format!(
                    "hidden_size {} is not divisible by num_attention_heads {n_heads} and head_dim is not set",
                    hf.hidden_size
                ))
            }
        };
        if d_head == 0 || d_head % 2 == 1 {
            return Err(format!(
                "head_dim {d_head} must be even: rotary embeddings turn pairs of dimensions"
            ));
        }
        let rope_theta = resolve_rope(hf)?;
        if hf.max_position_embeddings == Some(0) {
            return Err(
                "max_position_embeddings is 0: the model could not see a single token".into(),
            );
        }
        let cfg = Self {
            arch: Arch::Llama,
            d_model: hf.hidden_size,
            n_heads,
            n_kv_heads,
            d_head,
            n_layers: hf.num_hidden_layers,
            d_mlp: hf.intermediate_size,
            d_vocab: hf.vocab_size,
            n_ctx: hf.max_position_embeddings.unwrap_or(DEFAULT_CONTEXT),
            ln_eps: hf.rms_norm_eps,
            act,
            scale_attn_weights: true,
            scale_attn_by_layer: false,
            tie_embeddings: hf.tie_word_embeddings,
            bos_token_id: hf.bos_token_id,
            rope_theta: Some(rope_theta),
            attn_bias: hf.attention_bias,
            mlp_bias: hf.mlp_bias,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The rotary base, from `rope_parameters`, else the top-level `rope_theta`, else transformers' default.
/// Any rope type but the plain one is refused: it would change every q and k.
fn resolve_rope(hf: &HfLlamaConfig) -> Result<f64, String> {
    for (field, params) in [
        ("rope_parameters", &hf.rope_parameters),
        ("rope_scaling", &hf.rope_scaling),
    ] {
        if let Some(p) = params {
            let kind = p.kind();
            if kind != "default" {
                return Err(format!(
                    "{field} asks for rope type \"{kind}\"; glassbox implements only the plain rotary embedding (\"default\")"
                ));
            }
        }
    }
    let theta = hf
        .rope_parameters
        .as_ref()
        .and_then(|p| p.rope_theta)
        .or(hf.rope_theta)
        .unwrap_or(DEFAULT_ROPE_THETA);
    if !(theta.is_finite() && theta > 1.0) {
        return Err(format!("rope_theta {theta} must be a number above 1"));
    }
    Ok(theta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(json: &str) -> Result<Config, String> {
        Config::from_hf_llama(&serde_json::from_str(json).unwrap())
    }

    const BASE: &str = r#""model_type":"llama","hidden_size":576,"intermediate_size":1536,"num_attention_heads":9,"num_key_value_heads":3,"num_hidden_layers":30,"vocab_size":49152"#;

    #[test]
    fn smollm2_shape_resolves() {
        let c = resolve(&format!(
            r#"{{{BASE},"rope_theta":100000.0,"tie_word_embeddings":true,"max_position_embeddings":8192,"rms_norm_eps":1e-5}}"#
        ))
        .unwrap();
        assert_eq!((c.d_head, c.n_kv_heads, c.n_ctx), (64, 3, 8192));
        assert_eq!(c.rope_theta, Some(100000.0));
        // SmolLM2-135M has 134,515,008 parameters (tied embeddings).
        assert_eq!(c.n_params(), 134_515_008);
    }

    #[test]
    fn rope_parameters_and_head_dim_as_transformers_5_writes_them() {
        let c = resolve(&format!(
            r#"{{{BASE},"head_dim":32,"rope_parameters":{{"rope_type":"default","rope_theta":500000.0}}}}"#
        ))
        .unwrap();
        assert_eq!((c.d_head, c.rope_theta), (32, Some(500000.0)));
    }

    #[test]
    fn refuses_what_it_would_compute_differently() {
        let e = resolve(&format!(
            r#"{{{BASE},"rope_scaling":{{"rope_type":"llama3","factor":8.0}}}}"#
        ))
        .unwrap_err();
        assert!(e.contains("llama3"), "{e}");
        let e = resolve(&format!(
            "{{{}}}",
            BASE.replace("\"num_key_value_heads\":3", "\"num_key_value_heads\":4")
        ))
        .unwrap_err();
        assert!(e.contains("does not divide"), "{e}");
        let e = resolve(&format!("{{{}}}", BASE.replace("llama", "mistral"))).unwrap_err();
        assert!(e.contains("mistral"), "{e}");
    }

    /// Found by tests/fuzz.rs: an MLP of 2^62 resolved, and counting its parameters overflowed.
    #[test]
    fn refuses_sizes_past_what_can_be_counted() {
        let e = resolve(&format!(
            "{{{}}}",
            BASE.replace("1536", "4611686018427387904")
        ))
        .unwrap_err();
        assert!(e.contains("larger than any model's"), "{e}");
        let e = resolve(&format!(r#"{{{BASE},"max_position_embeddings":0}}"#)).unwrap_err();
        assert!(e.contains("max_position_embeddings is 0"), "{e}");
    }
}
