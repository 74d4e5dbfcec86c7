//! What a llama GGUF file describes: its metadata read with the file named in every error, resolved
//! into the same [`Config`] a config.json gives, and checked against the tensors' shapes.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use color_eyre::eyre::{eyre, Result};

use crate::error::{hinted, Hinted};
use crate::model::config::{check_sizes, Activation, Arch, Config};

/// The architectures whose GGUF files we read.
const SUPPORTED: &str = "llama (Llama, SmolLM2, TinyLlama and other Llama-shaped models)";

const CONVERT_HINT: &str = "the file may be corrupt or written by an unusual converter; convert the model again with llama.cpp's convert_hf_to_gguf.py";

/// A GGUF file's metadata, with the file named in every error.
pub(super) struct Meta<'a> {
    pub map: &'a HashMap<String, Value>,
    pub file: &'a Path,
}

impl Meta<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    fn bad(&self, key: &str, what: &str) -> color_eyre::Report {
        eyre!(Hinted::new(
            format!("{}: metadata {key} {what}", self.file.display()),
            CONVERT_HINT,
        ))
    }

    /// A size out of range, as [`check_sizes`] words it ("llama.block_count is 0").
    fn bad_sizes(&self, sentence: &str) -> color_eyre::Report {
        eyre!(Hinted::new(
            format!("{}: metadata {sentence}", self.file.display()),
            CONVERT_HINT,
        ))
    }

    fn usize(&self, key: &str) -> Result<Option<usize>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let n = match v {
            Value::U8(x) => Some(u64::from(*x)),
            Value::U16(x) => Some(u64::from(*x)),
            Value::U32(x) => Some(u64::from(*x)),
            Value::U64(x) => Some(*x),
            Value::I8(x) => u64::try_from(*x).ok(),
            Value::I16(x) => u64::try_from(*x).ok(),
            Value::I32(x) => u64::try_from(*x).ok(),
            Value::I64(x) => u64::try_from(*x).ok(),
            _ => None,
        };
        n.and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| self.bad(key, "is not a non-negative integer"))
    }

    fn required(&self, key: &str) -> Result<usize> {
        self.usize(key)?.ok_or_else(|| self.bad(key, "is missing"))
    }

    fn f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::F32(x)) => Ok(Some(f64::from(*x))),
            Some(Value::F64(x)) => Ok(Some(*x)),
            Some(_) => Err(self.bad(key, "is not a number")),
        }
    }

    fn string(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
    }
}

/// The configuration a llama GGUF file describes, checked against its tensors' shapes.
pub(super) fn config(meta: &Meta, shapes: &HashMap<String, Vec<usize>>) -> Result<Config> {
    let arch = meta.string("general.architecture").unwrap_or("(none)");
    if arch != "llama" {
        return hinted(
            format!(
                "{}: architecture \"{arch}\" is not supported",
                meta.file.display()
            ),
            format!("glassbox reads GGUF files of architecture {SUPPORTED}"),
        );
    }
    let key = |k: &str| format!("llama.{k}");
    let d_model = meta.required(&key("embedding_length"))?;
    let n_layers = meta.required(&key("block_count"))?;
    let n_heads = meta.required(&key("attention.head_count"))?;
    let n_kv_heads = meta
        .usize(&key("attention.head_count_kv"))?
        .unwrap_or(n_heads);
    let d_mlp = meta.required(&key("feed_forward_length"))?;
    let n_ctx = meta.usize(&key("context_length"))?.unwrap_or(2048);
    if n_ctx == 0 {
        return Err(meta.bad(&key("context_length"), "is 0"));
    }
    if let Some(kind) = meta.string(&key("rope.scaling.type")) {
        if kind != "none" {
            return hinted(
                format!(
                    "{}: rope scaling \"{kind}\" is not supported",
                    meta.file.display()
                ),
                "glassbox implements only the plain rotary embedding",
            );
        }
    }
    let d_head_meta = meta.usize(&key("rope.dimension_count"))?;
    check_sizes(&[
        (&key("embedding_length"), d_model),
        (&key("block_count"), n_layers),
        (&key("attention.head_count"), n_heads),
        (&key("attention.head_count_kv"), n_kv_heads),
        (&key("feed_forward_length"), d_mlp),
        (&key("rope.dimension_count"), d_head_meta.unwrap_or(2)),
    ])
    .map_err(|e| meta.bad_sizes(&e))?;
    if !n_heads.is_multiple_of(n_kv_heads) {
        return Err(meta.bad(
            &key("attention.head_count_kv"),
            &format!("({n_kv_heads}) does not divide the head count ({n_heads})"),
        ));
    }
    let d_head = d_head_meta.unwrap_or(d_model / n_heads);
    if d_head == 0 || d_head % 2 == 1 {
        return Err(meta.bad(&key("rope.dimension_count"), "must be even and above 0"));
    }
    let embed = shapes
        .get("token_embd.weight")
        .ok_or_else(|| meta.bad("token_embd.weight", "(the token embedding) is missing"))?;
    let d_vocab = embed.first().copied().unwrap_or(0);
    // The blocks the tensors hold must be block_count: past it they would be left out without a word
    // (a truncated model that still runs), and a huge count must not become a huge list below.
    let blocks = shapes
        .keys()
        .filter_map(|n| {
            n.strip_prefix("blk.")?
                .split_once('.')?
                .0
                .parse::<usize>()
                .ok()
        })
        .max()
        .map_or(0, |last| last + 1);
    if blocks != n_layers {
        return hinted(
            format!(
                "{}: the tensors hold {blocks} blocks (blk.0 to blk.{}), but {} is {n_layers}",
                meta.file.display(),
                blocks.saturating_sub(1),
                key("block_count")
            ),
            "the metadata disagrees with the weights; convert the model again",
        );
    }
    let rope_theta = meta.f64(&key("rope.freq_base"))?.unwrap_or(10_000.0);
    if !(rope_theta.is_finite() && rope_theta > 1.0) {
        return Err(meta.bad(&key("rope.freq_base"), "must be a number above 1"));
    }
    let cfg = Config {
        arch: Arch::Llama,
        d_model,
        n_heads,
        n_kv_heads,
        d_head,
        n_layers,
        d_mlp,
        d_vocab,
        n_ctx,
        ln_eps: meta
            .f64(&key("attention.layer_norm_rms_epsilon"))?
            .unwrap_or(1e-5),
        act: Activation::Silu,
        scale_attn_weights: true,
        scale_attn_by_layer: false,
        tie_embeddings: !shapes.contains_key("output.weight"),
        bos_token_id: meta.usize("tokenizer.ggml.bos_token_id")?.map(|b| b as u32),
        rope_theta: Some(rope_theta),
        attn_bias: shapes.contains_key("blk.0.attn_q.bias"),
        mlp_bias: shapes.contains_key("blk.0.ffn_up.bias"),
    };
    cfg.validate()
        .map_err(|e| meta.bad("llama.*", &format!("is unusable: {e}")))?;
    check_shapes(&cfg, meta, shapes)?;
    Ok(cfg)
}

/// Every shape the metadata implies, so a mismatch names the tensor and not a candle internal. Layer
/// by layer, so a block count far past the tensors in the file fails at the first missing one.
fn check_shapes(cfg: &Config, meta: &Meta, shapes: &HashMap<String, Vec<usize>>) -> Result<()> {
    let (d_model, d_mlp) = (cfg.d_model, cfg.d_mlp);
    // validate() has checked that the parameter count, and so each of these, fits in a usize.
    let (q, kv) = (cfg.n_heads * cfg.d_head, cfg.n_kv_heads * cfg.d_head);
    let check = |name: &str, want: &[usize]| -> Result<()> {
        match shapes.get(name) {
            None => hinted(
                format!("{}: tensor {name} is missing", meta.file.display()),
                "the file is incomplete or not a llama model",
            ),
            Some(got) if got != want => hinted(
                format!(
                    "{}: tensor {name} has shape {got:?}, but the metadata implies {want:?}",
                    meta.file.display()
                ),
                "the metadata disagrees with the weights; convert the model again",
            ),
            Some(_) => Ok(()),
        }
    };
    check("token_embd.weight", &[cfg.d_vocab, d_model])?;
    for l in 0..cfg.n_layers {
        let t = |n: &str| format!("blk.{l}.{n}.weight");
        check(&t("attn_q"), &[q, d_model])?;
        check(&t("attn_k"), &[kv, d_model])?;
        check(&t("attn_v"), &[kv, d_model])?;
        check(&t("attn_output"), &[d_model, q])?;
        check(&t("ffn_gate"), &[d_mlp, d_model])?;
        check(&t("ffn_up"), &[d_mlp, d_model])?;
        check(&t("ffn_down"), &[d_model, d_mlp])?;
        check(&t("attn_norm"), &[d_model])?;
        check(&t("ffn_norm"), &[d_model])?;
    }
    check("output_norm.weight", &[d_model])
}

/// The configuration in Hugging Face's names, for exports that carry config.json.
pub(super) fn hf_config_json(cfg: &Config) -> String {
    serde_json::json!({
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": cfg.d_model,
        "intermediate_size": cfg.d_mlp,
        "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.n_kv_heads,
        "head_dim": cfg.d_head,
        "num_hidden_layers": cfg.n_layers,
        "vocab_size": cfg.d_vocab,
        "max_position_embeddings": cfg.n_ctx,
        "rms_norm_eps": cfg.ln_eps,
        "rope_theta": cfg.rope_theta,
        "hidden_act": "silu",
        "attention_bias": cfg.attn_bias,
        "mlp_bias": cfg.mlp_bias,
        "tie_word_embeddings": cfg.tie_embeddings,
        "bos_token_id": cfg.bos_token_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-layer llama's metadata and shapes, with `change` applied to the metadata.
    fn resolve(change: &[(&str, Value)]) -> Result<Config> {
        let mut map: HashMap<String, Value> = [
            ("general.architecture", Value::String("llama".into())),
            ("llama.embedding_length", Value::U32(8)),
            ("llama.block_count", Value::U32(1)),
            ("llama.attention.head_count", Value::U32(2)),
            ("llama.feed_forward_length", Value::U32(16)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in change {
            map.insert(k.to_string(), v.clone());
        }
        let mut shapes: HashMap<String, Vec<usize>> = [
            ("token_embd.weight", vec![10, 8]),
            ("output_norm.weight", vec![8]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (n, s) in [
            ("attn_q", vec![8, 8]),
            ("attn_k", vec![8, 8]),
            ("attn_v", vec![8, 8]),
            ("attn_output", vec![8, 8]),
            ("ffn_gate", vec![16, 8]),
            ("ffn_up", vec![16, 8]),
            ("ffn_down", vec![8, 16]),
            ("attn_norm", vec![8]),
            ("ffn_norm", vec![8]),
        ] {
            shapes.insert(format!("blk.0.{n}.weight"), s);
        }
        let meta = Meta {
            map: &map,
            file: Path::new("m.gguf"),
        };
        config(&meta, &shapes)
    }

    #[test]
    fn a_consistent_header_resolves() {
        let c = resolve(&[]).unwrap();
        assert_eq!((c.n_layers, c.n_heads, c.d_head, c.d_vocab), (1, 2, 4, 10));
    }

    /// Found by tests/fuzz.rs: a negative rotary base loaded (the folder loader refused it), and a
    /// huge block count listed every layer's tensors before looking for the first one, until memory
    /// ran out; huge head counts overflowed while computing shapes.
    #[test]
    fn header_values_past_the_tensors_are_errors() {
        let e = resolve(&[("llama.rope.freq_base", Value::F32(-1.0))]).unwrap_err();
        assert!(
            format!("{e}").contains("freq_base must be a number above 1"),
            "{e}"
        );
        let e = resolve(&[("llama.block_count", Value::U64(1 << 40))]).unwrap_err();
        assert!(
            format!("{e}").contains("block_count 1099511627776 is larger than any model's"),
            "{e}"
        );
        let e = resolve(&[
            ("llama.attention.head_count", Value::U64(1 << 62)),
            ("llama.attention.head_count_kv", Value::U64(1)),
            ("llama.rope.dimension_count", Value::U32(8)),
        ])
        .unwrap_err();
        assert!(format!("{e}").contains("larger than any model's"), "{e}");
    }
}
