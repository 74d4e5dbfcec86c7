//! Broken weights and configs: corrupt, truncated and odd safetensors (huge and zero sizes, wrong shapes
//! and types), config.json values that cannot describe the checkpoint, missing or broken files.

use super::*;
use std::path::Path;

pub fn cases(lab: &Lab) -> Vec<Case> {
    let weights = |d: &Path| d.join("model.safetensors");
    let v = |name: &str, change: &dyn Fn(&Path)| lab.variant(name, "tiny-a", change);
    let rows: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "truncated weights",
            v("truncated", &|d| {
                let bytes = std::fs::read(weights(d)).unwrap();
                std::fs::write(weights(d), &bytes[..bytes.len() / 2]).unwrap();
            }),
            vec!["truncated/model.safetensors"],
        ),
        (
            "a header that is not JSON",
            v("corrupt", &|d| {
                std::fs::write(weights(d), b"\x10\0\0\0\0\0\0\0{not json}}}}}}}").unwrap()
            }),
            vec!["corrupt/model.safetensors is not a readable safetensors file"],
        ),
        (
            "an empty weights file",
            v("empty-weights", &|d| {
                std::fs::write(weights(d), b"").unwrap()
            }),
            vec!["empty-weights/model.safetensors is not a readable"],
        ),
        (
            "a header size of 2^62",
            v("huge-header", &|d| {
                let mut bytes = std::fs::read(weights(d)).unwrap();
                bytes[..8].copy_from_slice(&(1u64 << 62).to_le_bytes());
                std::fs::write(weights(d), bytes).unwrap();
            }),
            vec!["huge-header/model.safetensors", "header too large"],
        ),
        (
            "a header size of 0",
            v("zero-header", &|d| {
                let mut bytes = std::fs::read(weights(d)).unwrap();
                bytes[..8].copy_from_slice(&0u64.to_le_bytes());
                std::fs::write(weights(d), bytes).unwrap();
            }),
            vec!["zero-header/model.safetensors is not a readable"],
        ),
        (
            "a tensor of 2^62 × 4 elements",
            v("huge-shape", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| {
                    t["shape"] = json!([1u64 << 62, 4])
                })
            }),
            vec!["huge-shape/model.safetensors is not a readable"],
        ),
        (
            "a tensor with no elements",
            v("zero-shape", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| t["shape"] = json!([0]))
            }),
            vec!["zero-shape/model.safetensors"],
        ),
        (
            "a tensor of the wrong shape",
            v("wrong-shape", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| {
                    t["shape"] = json!([32, 2])
                })
            }),
            vec!["shape mismatch for transformer.ln_f.weight"],
        ),
        (
            "integer weights",
            v("int-weights", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| t["dtype"] = json!("I32"))
            }),
            vec!["tensor transformer.ln_f.weight is stored as I32"],
        ),
        (
            "byte weights",
            v("u8-weights", &|d| {
                edit_tensor(d, "transformer.ln_f.weight", |t| {
                    t["dtype"] = json!("U8");
                    t["shape"] = json!([256]);
                })
            }),
            vec!["stored as U8"],
        ),
        (
            "fewer layers in config.json than in the weights",
            v("fewer-layers", &|d| edit_config(d, json!({"n_layer": 1}))),
            vec!["holds 2 blocks (h.0 to h.1)", "says n_layer 1"],
        ),
        (
            "more layers in config.json than in the weights",
            v("more-layers", &|d| edit_config(d, json!({"n_layer": 3}))),
            vec!["holds 2 blocks", "says n_layer 3"],
        ),
        (
            "n_layer 0",
            v("zero-layers", &|d| edit_config(d, json!({"n_layer": 0}))),
            vec!["config.json: n_layer is 0"],
        ),
        (
            "n_layer 10^12",
            v("huge-layers", &|d| {
                edit_config(d, json!({"n_layer": 1_000_000_000_000u64}))
            }),
            vec!["n_layer 1000000000000 is larger than any model's"],
        ),
        (
            "n_embd 2^62 (3 × n_embd would overflow)",
            v("huge-embd", &|d| {
                edit_config(d, json!({"n_embd": 1u64 << 62, "n_head": 1}))
            }),
            vec!["n_embd 4611686018427387904 is larger than any model's"],
        ),
        (
            "n_layer -1",
            v("negative-layers", &|d| {
                edit_config(d, json!({"n_layer": -1}))
            }),
            vec!["is not a GPT-2 config", "-1"],
        ),
        (
            "n_layer 1.5",
            v("fractional-layers", &|d| {
                edit_config(d, json!({"n_layer": 1.5}))
            }),
            vec!["is not a GPT-2 config"],
        ),
        (
            "heads that do not divide n_embd",
            v("three-heads", &|d| edit_config(d, json!({"n_head": 3}))),
            vec!["n_embd 64 is not divisible by n_head 3"],
        ),
        (
            "n_positions 0",
            v("no-context", &|d| {
                edit_config(d, json!({"n_positions": 0, "n_ctx": 0}))
            }),
            vec!["n_positions is 0"],
        ),
        (
            "a config.json n_embd that disagrees with the weights",
            v("narrow", &|d| edit_config(d, json!({"n_embd": 32}))),
            vec!["narrow/config.json"],
        ),
        (
            "a vocabulary smaller than the tokenizer's",
            v("small-vocab", &|d| {
                edit_config(d, json!({"vocab_size": 100}))
            }),
            vec!["tokenizer.json has 400 tokens", "vocabulary has 100"],
        ),
        (
            "an unknown model_type",
            v("bert", &|d| edit_config(d, json!({"model_type": "bert"}))),
            vec!["model_type \"bert\" is not supported"],
        ),
        (
            "config.json that is not JSON",
            v("bad-json", &|d| {
                std::fs::write(d.join("config.json"), "{").unwrap()
            }),
            vec!["bad-json/config.json is not valid JSON"],
        ),
        (
            "no config.json",
            v("no-config", &|d| {
                std::fs::remove_file(d.join("config.json")).unwrap()
            }),
            vec!["no-config/config.json is missing"],
        ),
        (
            "no tokenizer.json",
            v("no-tokenizer", &|d| {
                std::fs::remove_file(d.join("tokenizer.json")).unwrap()
            }),
            vec!["no-tokenizer/tokenizer.json is missing"],
        ),
        (
            "a tokenizer.json that is not a tokenizer",
            v("bad-tokenizer", &|d| {
                std::fs::write(d.join("tokenizer.json"), "{}").unwrap()
            }),
            vec!["cannot read tokenizer", "bad-tokenizer/tokenizer.json"],
        ),
        (
            "only a pickle",
            v("pickle", &|d| {
                std::fs::remove_file(weights(d)).unwrap();
                std::fs::write(d.join("pytorch_model.bin"), b"pickle").unwrap();
            }),
            vec!["has only pytorch_model.bin"],
        ),
    ];
    let mut cases: Vec<Case> = rows
        .iter()
        .map(|(what, model, needles)| dump_model(lab, what, model, needles))
        .collect();
    // Llama: the same holes under its own names.
    let lv = |name: &str, change: &dyn Fn(&Path)| lab.variant(name, "llama-a", change);
    let llama_rows: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "Llama: fewer layers in config.json than in the weights",
            lv("llama-fewer", &|d| {
                edit_config(d, json!({"num_hidden_layers": 1}))
            }),
            vec![
                "holds 2 blocks (model.layers.0 to model.layers.1)",
                "num_hidden_layers 1",
            ],
        ),
        (
            "Llama: head_dim 2^62",
            lv("llama-head-dim", &|d| {
                edit_config(d, json!({"head_dim": 1u64 << 62}))
            }),
            vec!["head_dim 4611686018427387904 is larger"],
        ),
        (
            "Llama: key/value heads that do not divide the heads",
            lv("llama-kv", &|d| {
                edit_config(d, json!({"num_key_value_heads": 3}))
            }),
            vec!["num_key_value_heads 3 does not divide num_attention_heads 4"],
        ),
        (
            "Llama: a context of 0",
            lv("llama-no-context", &|d| {
                edit_config(d, json!({"max_position_embeddings": 0}))
            }),
            vec!["max_position_embeddings is 0"],
        ),
        (
            "Llama: a rope scaling it would compute differently",
            lv("llama-rope", &|d| {
                edit_config(
                    d,
                    json!({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}),
                )
            }),
            vec!["rope type \"llama3\""],
        ),
    ];
    cases.extend(
        llama_rows
            .iter()
            .map(|(what, model, needles)| dump_model(lab, what, model, needles)),
    );
    cases
}
