//! Broken GGUF files: truncated, not GGUF, unknown types, metadata that disagrees with the tensors.

use super::*;
use candle_core::quantized::gguf_file;
use std::path::Path;

/// A GGUF fixture rewritten with some metadata changed (None removes the key), its tensors as they are.
fn gguf_variant(to: &Path, change: &[(&str, Option<gguf_file::Value>)]) {
    let src = fixture_dir("gguf").join("small-f32.gguf");
    let mut file = std::fs::File::open(&src).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut metadata = content.metadata.clone();
    for (key, value) in change {
        match value {
            Some(v) => metadata.insert(key.to_string(), v.clone()),
            None => metadata.remove(*key),
        };
    }
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let tensors: Vec<(&str, candle_core::quantized::QTensor)> = names
        .iter()
        .map(|n| {
            let t = content
                .tensor(&mut file, n, &candle_core::Device::Cpu)
                .unwrap();
            (n.as_str(), t)
        })
        .collect();
    let meta: Vec<(&str, &gguf_file::Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &candle_core::quantized::QTensor)> =
        tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut out = std::fs::File::create(to).unwrap();
    gguf_file::write(&mut out, &meta, &tensor_refs).unwrap();
}

pub fn cases(lab: &Lab) -> Vec<Case> {
    use gguf_file::Value;
    let good = std::fs::read(fixture_dir("gguf").join("small-f32.gguf")).unwrap();
    lab.write("header.gguf", &good[..100]);
    lab.write("short.gguf", &good[..good.len() * 3 / 4]);
    lab.write("text.gguf", "not a model\n");
    // An unknown tensor type: the dtype field of output_norm.weight's tensor info set to 99.
    let mut odd = good.clone();
    let name = b"output_norm.weight";
    let pos = odd.windows(name.len()).rposition(|w| w == name).unwrap();
    let dtype_at = pos + name.len() + 4 + 8; // n_dims (u32), one dimension (u64)
    odd[dtype_at..dtype_at + 4].copy_from_slice(&99u32.to_le_bytes());
    lab.write("odd-type.gguf", odd);
    let variant = |file: &str, change: &[(&str, Option<Value>)]| {
        gguf_variant(&lab.path(file), change);
    };
    let string = |s: &str| Some(Value::String(s.into()));
    variant("qwen.gguf", &[("general.architecture", string("qwen2"))]);
    variant("no-tokenizer.gguf", &[("tokenizer.ggml.tokens", None)]);
    variant(
        "sentencepiece.gguf",
        &[("tokenizer.ggml.model", string("llama"))],
    );
    variant(
        "wide.gguf",
        &[("llama.embedding_length", Some(Value::U32(48)))],
    );
    variant(
        "heads.gguf",
        &[("llama.attention.head_count_kv", Some(Value::U32(3)))],
    );
    variant("no-layers.gguf", &[("llama.block_count", None)]);
    variant("align.gguf", &[("general.alignment", Some(Value::U32(0)))]);
    variant(
        "fewer-blocks.gguf",
        &[("llama.block_count", Some(Value::U32(1)))],
    );
    variant(
        "huge-blocks.gguf",
        &[("llama.block_count", Some(Value::U32(u32::MAX)))],
    );
    variant(
        "no-context.gguf",
        &[("llama.context_length", Some(Value::U32(0)))],
    );
    let rows = [
        ("header.gguf", "not a readable GGUF file"),
        ("short.gguf", "cannot read tensor"),
        ("text.gguf", "not a readable GGUF file"),
        ("odd-type.gguf", "unknown dtype"),
        ("qwen.gguf", "architecture \"qwen2\" is not supported"),
        ("no-tokenizer.gguf", "has no tokenizer"),
        (
            "sentencepiece.gguf",
            "tokenizer.ggml.model \"llama\" is not supported",
        ),
        ("wide.gguf", "has shape"),
        ("heads.gguf", "does not divide"),
        ("no-layers.gguf", "llama.block_count is missing"),
        ("align.gguf", "general.alignment must be above 0"),
        (
            "fewer-blocks.gguf",
            "the tensors hold 2 blocks (blk.0 to blk.1), but llama.block_count is 1",
        ),
        (
            "huge-blocks.gguf",
            "llama.block_count 4294967295 is larger than any model's",
        ),
        ("no-context.gguf", "llama.context_length is 0"),
    ];
    let cases: Vec<Case> = rows
        .iter()
        .map(|(file, needle)| {
            // The file is named too, so the user knows which one.
            dump_model(lab, file, &lab.arg(file), &[file, needle])
        })
        .collect();
    cases
}
