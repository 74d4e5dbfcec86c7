//! GGUF files (llama.cpp, Ollama, LM Studio): configuration, tokenizer and weights in one file.
//!
//! The file is memory-mapped and read with candle's GGUF reader; every tensor is dequantized to float32
//! (so hooks show exactly what transformers shows for the same file), and llama.cpp's permutation of the
//! q and k rows is undone, so `hook_q` and `hook_k` are in Hugging Face's rotate-half layout.

mod config;
mod tokenizer;

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, TensorInfo};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use color_eyre::eyre::{eyre, Result};
use rayon::prelude::*;

use super::config::Config;
use super::family::Model;
use super::llama::Llama;
use super::loader::{check_vocab, LoadedModel, ModelFiles};
use super::weight_check::bad_weights;
use crate::error::Hinted;
use config::{config, hf_config_json, Meta};

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
        if let Some(info) = content.tensor_infos.get(*gguf) {
            // An empty tensor, too: candle makes a slice of it from a dangling pointer that is not
            // aligned for the type, which a debug build aborts on (and is undefined behaviour).
            let what = match stored_size(info) {
                Some(0) => Some("no elements"),
                Some(n) if n <= bytes.len() => None,
                _ => Some("more than the file holds"),
            };
            if let Some(what) = what {
                return Err(eyre!(Hinted::new(
                    format!(
                        "{}: tensor {gguf} has dimensions {:?}, {what}",
                        file.display(),
                        info.shape.dims()
                    ),
                    "the file may be corrupt; download it again",
                )));
            }
        }
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

/// The bytes a tensor's dimensions and type take, or `None` past a usize. candle 0.11 computes this
/// unchecked when it reads the tensor (a header with huge dimensions panics a debug build and wraps
/// around in a release one), so it is checked here first.
fn stored_size(info: &TensorInfo) -> Option<usize> {
    let elements = info
        .shape
        .dims()
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))?;
    (elements / info.ggml_dtype.block_size()).checked_mul(info.ggml_dtype.type_size())
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

/// Whether a GGUF file's metadata holds a chat template (`tokenizer.chat_template`), read from its
/// header without dequantizing a weight; `None` when the header cannot be read (loading says why).
pub fn has_chat_template(path: &Path) -> Option<bool> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: mapped read-only for the header only, and dropped before this returns.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let content = read_content(&map).ok()?;
    Some(content.metadata.contains_key("tokenizer.chat_template"))
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
    let (codec, chat_template) = tokenizer::from_metadata(&content.metadata, &path)?;
    check_vocab(&codec, &cfg, &path, &path)?;
    let (tensors, counts) = read_tensors(&content, &map, &cfg, &path)?;
    drop(map);
    let mut named: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    named.sort_by_key(|(n, _)| natural_key(n));
    let bad_weights = bad_weights(&named)?;
    drop(named);
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
        bad_weights,
    })
}

/// A name as a key that sorts "layers.2" before "layers.10": digit runs compare as numbers.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut digits = c.to_string();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            key.push((
                std::mem::take(&mut text),
                digits.parse().unwrap_or(u64::MAX),
            ));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/fuzz.rs: a tensor whose size in bytes overflows a usize (one the config does
    /// not check, such as output.weight) made candle panic while computing that size.
    #[test]
    fn sizes_past_a_usize_are_refused_before_candle_reads_them() {
        use candle_core::quantized::GgmlDType;
        let info = |dims: Vec<usize>, ggml_dtype| TensorInfo {
            ggml_dtype,
            shape: dims.into(),
            offset: 0,
        };
        assert_eq!(stored_size(&info(vec![3, 4], GgmlDType::F32)), Some(48));
        assert_eq!(stored_size(&info(vec![64], GgmlDType::Q8_0)), Some(68));
        assert_eq!(stored_size(&info(vec![1 << 62, 4], GgmlDType::F32)), None);
        assert_eq!(
            stored_size(&info(vec![1 << 40, 1 << 40], GgmlDType::F16)),
            None
        );
    }

    /// Found by tests/fuzz.rs: a tensor with a dimension of 0 (one the config does not check, such
    /// as a bias or output.weight) made candle build a slice from an unaligned dangling pointer, and
    /// the debug build abort.
    #[test]
    fn an_empty_tensor_is_an_error_before_candle_reads_it() {
        use candle_core::quantized::gguf_file::VersionedMagic;
        use candle_core::quantized::GgmlDType;
        let hf = r#"{"model_type":"llama","hidden_size":8,"intermediate_size":16,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":10}"#;
        let cfg = Config::from_hf_llama(&serde_json::from_str(hf).unwrap()).unwrap();
        let content = Content {
            magic: VersionedMagic::GgufV3,
            metadata: HashMap::new(),
            tensor_infos: HashMap::from([(
                "output.weight".to_string(),
                TensorInfo {
                    ggml_dtype: GgmlDType::F32,
                    shape: vec![0, 8].into(),
                    offset: 0,
                },
            )]),
            tensor_data_offset: 0,
        };
        let e = read_tensors(&content, &[0u8; 64], &cfg, Path::new("m.gguf")).unwrap_err();
        assert!(e.to_string().contains("no elements"), "{e}");
    }

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

    #[test]
    fn names_sort_by_layer_number() {
        let mut names = ["model.layers.10.x", "model.norm.weight", "model.layers.2.x"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(
            names,
            ["model.layers.2.x", "model.layers.10.x", "model.norm.weight"]
        );
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
