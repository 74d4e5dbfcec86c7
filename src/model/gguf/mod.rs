//! GGUF files (llama.cpp, Ollama, LM Studio): configuration, tokenizer and weights in one file.
//!
//! The file is memory-mapped and read with candle's GGUF reader; every tensor is dequantized to float32
//! (so hooks show exactly what transformers shows for the same file), and llama.cpp's permutation of the
//! q and k rows is undone, so `hook_q` and `hook_k` are in Hugging Face's rotate-half layout.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use color_eyre::eyre::{eyre, Result};
use rayon::prelude::*;

use super::config::{Activation, Arch, Config};
use super::family::Model;
use super::gguf_tokenizer;
use super::llama::Llama;
use super::loader::{check_vocab, LoadedModel, ModelFiles};
use crate::error::{hinted, Hinted};

/// The architectures whose GGUF files we read.
const SUPPORTED: &str = "llama (Llama, SmolLM2, TinyLlama and other Llama-shaped models)";

/// Whether `path` is a GGUF file: its name ends in .gguf or it starts with the GGUF magic.
pub fn is_gguf(path: &Path) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        return true;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"GGUF")
}

/// A GGUF file's metadata, with the file named in every error.
struct Meta<'a> {
    map: &'a HashMap<String, Value>,
    file: &'a Path,
}

impl Meta<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    fn bad(&self, key: &str, what: &str) -> color_eyre::Report {
        eyre!(Hinted::new(
            format!("{}: metadata {key} {what}", self.file.display()),
            "the file may be corrupt or written by an unusual converter; convert the model again with llama.cpp's convert_hf_to_gguf.py",
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
fn config(meta: &Meta, shapes: &HashMap<String, Vec<usize>>) -> Result<Config> {
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
    if d_model == 0 || n_layers == 0 || n_heads == 0 || n_kv_heads == 0 || d_mlp == 0 {
        return Err(meta.bad("llama.*", "gives a size of 0"));
    }
    if !n_heads.is_multiple_of(n_kv_heads) {
        return Err(meta.bad(
            &key("attention.head_count_kv"),
            &format!("({n_kv_heads}) does not divide the head count ({n_heads})"),
        ));
    }
    let d_head = match meta.usize(&key("rope.dimension_count"))? {
        Some(d) => d,
        None => d_model / n_heads,
    };
    if d_head == 0 || d_head % 2 == 1 {
        return Err(meta.bad(&key("rope.dimension_count"), "must be even and above 0"));
    }
    let embed = shapes
        .get("token_embd.weight")
        .ok_or_else(|| meta.bad("token_embd.weight", "(the token embedding) is missing"))?;
    let d_vocab = embed.first().copied().unwrap_or(0);
    // Every shape the metadata implies, so a mismatch names the tensor and not a candle internal.
    let mut expect = vec![("token_embd.weight".to_string(), vec![d_vocab, d_model])];
    for l in 0..n_layers {
        let t = |n: &str| format!("blk.{l}.{n}.weight");
        expect.extend([
            (t("attn_q"), vec![n_heads * d_head, d_model]),
            (t("attn_k"), vec![n_kv_heads * d_head, d_model]),
            (t("attn_v"), vec![n_kv_heads * d_head, d_model]),
            (t("attn_output"), vec![d_model, n_heads * d_head]),
            (t("ffn_gate"), vec![d_mlp, d_model]),
            (t("ffn_up"), vec![d_mlp, d_model]),
            (t("ffn_down"), vec![d_model, d_mlp]),
            (t("attn_norm"), vec![d_model]),
            (t("ffn_norm"), vec![d_model]),
        ]);
    }
    expect.push(("output_norm.weight".into(), vec![d_model]));
    for (name, want) in &expect {
        match shapes.get(name) {
            None => {
                return hinted(
                    format!("{}: tensor {name} is missing", meta.file.display()),
                    "the file is incomplete or not a llama model",
                )
            }
            Some(got) if got != want => {
                return hinted(
                    format!(
                        "{}: tensor {name} has shape {got:?}, but the metadata implies {want:?}",
                        meta.file.display()
                    ),
                    "the metadata disagrees with the weights; convert the model again",
                )
            }
            Some(_) => {}
        }
    }
    Ok(Config {
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
        rope_theta: Some(meta.f64(&key("rope.freq_base"))?.unwrap_or(10_000.0)),
        attn_bias: shapes.contains_key("blk.0.attn_q.bias"),
        mlp_bias: shapes.contains_key("blk.0.ffn_up.bias"),
    })
}

/// The Hugging Face name of a llama.cpp tensor, or `None` for one we do not use.
fn hf_name(gguf: &str) -> Option<String> {
    let simple = match gguf {
        "token_embd.weight" => return Some("model.embed_tokens.weight".into()),
        "output_norm.weight" => return Some("model.norm.weight".into()),
        "output.weight" => return Some("lm_head.weight".into()),
        _ => gguf,
    };
    let rest = simple.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (part, kind) = rest.rsplit_once('.')?;
    let hf = match part {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{kind}"))
}

/// Undo llama.cpp's `permute` of q or k rows (convert_hf_to_gguf.py): within each head it interleaves
/// the two halves that Hugging Face's rotate-half layout keeps apart. w: [heads·d_head, ...].
fn unpermute(w: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let dims = w.dims().to_vec();
    let rows = dims[0];
    let rest: usize = dims[1..].iter().product();
    // [heads, d_head/2, 2, rest] -> [heads, 2, d_head/2, rest]
    w.reshape((heads, rows / heads / 2, 2, rest))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape(dims)
}

/// Read, dequantize and rename every tensor we use. Returns the tensors and a count per stored type.
fn read_tensors(
    content: &Content,
    bytes: &[u8],
    cfg: &Config,
    file: &Path,
) -> Result<(HashMap<String, Tensor>, BTreeMap<String, usize>)> {
    let names: Vec<(&String, String)> = content
        .tensor_infos
        .keys()
        .filter_map(|n| hf_name(n).map(|hf| (n, hf)))
        .collect();
    let read = |(gguf, hf): &(&String, String)| -> Result<(String, Tensor, String)> {
        let mut reader = Cursor::new(bytes);
        let q = content
            .tensor(&mut reader, gguf, &Device::Cpu)
            .map_err(|e| {
                eyre!(Hinted::new(
                    format!("{}: cannot read tensor {gguf}: {e}", file.display()),
                    "the file may be truncated or corrupt; download it again",
                ))
            })?;
        let stored = format!("{:?}", q.dtype());
        let mut t = q.dequantize(&Device::Cpu)?.to_dtype(DType::F32)?;
        if gguf.contains(".attn_q.") {
            t = unpermute(&t, cfg.n_heads)?;
        } else if gguf.contains(".attn_k.") {
            t = unpermute(&t, cfg.n_kv_heads)?;
        }
        Ok((hf.clone(), t, stored))
    };
    // Tensors are independent: dequantize them on every core.
    let read: Vec<(String, Tensor, String)> =
        names.par_iter().map(read).collect::<Result<Vec<_>>>()?;
    let mut counts = BTreeMap::new();
    let mut tensors = HashMap::with_capacity(read.len());
    for (name, t, stored) in read {
        *counts.entry(stored).or_insert(0) += 1;
        tensors.insert(name, t);
    }
    Ok((tensors, counts))
}

/// The configuration in Hugging Face's names, for exports that carry config.json.
fn hf_config_json(cfg: &Config) -> String {
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

/// candle's GGUF reader, with its one unchecked case turned into an error: candle 0.11 divides by the
/// file's `general.alignment` without checking it, so an alignment of 0 panics. The panic is caught
/// (quietly: a damaged file deserves one line, not a crash report) and reported as what it is.
fn read_content(bytes: &[u8]) -> std::result::Result<Content, String> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let read = std::panic::catch_unwind(|| Content::read(&mut Cursor::new(bytes)));
    std::panic::set_hook(quiet);
    match read {
        Ok(Ok(content)) => Ok(content),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("its header is inconsistent (general.alignment must be above 0)".into()),
    }
}

/// Load a GGUF file found by `loader::resolve`.
pub fn load(files: ModelFiles, device: &Device) -> Result<LoadedModel> {
    let path = files.weights[0].clone();
    let file = std::fs::File::open(&path).map_err(|e| {
        eyre!(Hinted::new(
            format!("cannot open {}: {e}", path.display()),
            "check the path and its permissions",
        ))
    })?;
    // SAFETY: mapped read-only while loading; every tensor is copied out (dequantized) before the map is
    // dropped. Changing the file while it loads is the only hazard, as with any mmap.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| {
        eyre!(Hinted::new(
            format!("cannot map {}: {e}", path.display()),
            "the file must be a regular, readable file",
        ))
    })?;
    let content = read_content(&map).map_err(|e| {
        eyre!(Hinted::new(
            format!("{} is not a readable GGUF file: {e}", path.display()),
            "the file may be truncated or corrupt; download it again",
        ))
    })?;
    let meta = Meta {
        map: &content.metadata,
        file: &path,
    };
    let shapes: HashMap<String, Vec<usize>> = content
        .tensor_infos
        .iter()
        .map(|(n, info)| (n.clone(), info.shape.dims().to_vec()))
        .collect();
    let cfg = config(&meta, &shapes)?;
    let (codec, chat_template) = gguf_tokenizer::from_metadata(&content.metadata, &path)?;
    check_vocab(&codec, &cfg, &path, &path)?;
    let (tensors, counts) = read_tensors(&content, &map, &cfg, &path)?;
    drop(map);
    let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
    let model = Llama::load(vb, &cfg).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        eyre!(Hinted::new(
            format!(
                "{}: the weights do not fit the metadata: {first}",
                path.display()
            ),
            "convert the model again with llama.cpp's convert_hf_to_gguf.py",
        ))
    })?;
    let stored_as = counts
        .iter()
        .map(|(t, n)| format!("{t} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(LoadedModel {
        model: Model::from(model),
        codec,
        config_json: hf_config_json(&cfg),
        stored_as: Some(format!("GGUF {stored_as}, dequantized to float32")),
        chat_template,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_hugging_face() {
        assert_eq!(
            hf_name("blk.12.attn_q.weight").as_deref(),
            Some("model.layers.12.self_attn.q_proj.weight")
        );
        assert_eq!(
            hf_name("blk.0.ffn_norm.weight").as_deref(),
            Some("model.layers.0.post_attention_layernorm.weight")
        );
        assert_eq!(hf_name("output.weight").as_deref(), Some("lm_head.weight"));
        assert_eq!(hf_name("rope_freqs.weight"), None);
    }

    /// llama.cpp's permute, written out as in convert_hf_to_gguf.py, then ours undoes it.
    #[test]
    fn unpermute_inverts_llama_cpp_permute() -> candle_core::Result<()> {
        let (heads, d_head, cols) = (2, 4, 3);
        let rows = heads * d_head;
        let w = Tensor::arange(0f32, (rows * cols) as f32, &Device::Cpu)?.reshape((rows, cols))?;
        // permute: reshape(heads, 2, d_head/2, cols).swapaxes(1, 2)
        let permuted = w
            .reshape((heads, 2, d_head / 2, cols))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((rows, cols))?;
        assert_ne!(permuted.to_vec2::<f32>()?, w.to_vec2::<f32>()?);
        let back = unpermute(&permuted, heads)?;
        assert_eq!(back.to_vec2::<f32>()?, w.to_vec2::<f32>()?);
        Ok(())
    }
}
