//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{Device, Tensor};

/// The random checkpoints made by tools/make_fixtures.py, each with reference tensors from transformers.
pub const FIXTURES: [&str; 3] = ["tiny-a", "tiny-b", "tiny-c"];

/// Random Llama-family checkpoints (tools/make_llama_fixtures.py): grouped-query, multi-head with
/// biases in bfloat16 shards, multi-query with an explicit head_dim in float16.
pub const LLAMA_FIXTURES: [&str; 3] = ["llama-a", "llama-b", "llama-c"];

/// Every Hugging Face folder fixture, both families.
pub const HF_FIXTURES: [&str; 6] = [
    "tiny-a", "tiny-b", "tiny-c", "llama-a", "llama-b", "llama-c",
];

pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Reference tensors and their metadata.
pub struct Reference {
    pub tensors: HashMap<String, Tensor>,
    pub metadata: HashMap<String, String>,
}

pub fn reference(name: &str) -> Reference {
    reference_file(&fixture_dir(name).join("reference.safetensors"))
}

/// Reference tensors and metadata from any safetensors file.
pub fn reference_file(path: &std::path::Path) -> Reference {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).unwrap();
    Reference {
        tensors,
        metadata: meta.metadata().clone().unwrap_or_default(),
    }
}

/// ‖a − b‖ / ‖b‖ over finite entries, after checking both have −∞ in the same places.
pub fn rel_err(ours: &Tensor, reference: &Tensor) -> f64 {
    assert_eq!(ours.dims(), reference.dims(), "shapes differ");
    let a = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = reference.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let (mut num, mut den) = (0f64, 0f64);
    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
        if y.is_infinite() || x.is_infinite() {
            assert_eq!(x, y, "infinite entries differ at flat index {i}");
            continue;
        }
        num += ((x - y) as f64).powi(2);
        den += (y as f64).powi(2);
    }
    num.sqrt() / den.sqrt().max(1e-30)
}

/// Token ids stored as an int64 tensor (`input_ids` [1, seq]).
pub fn ids_of(t: &Tensor) -> Vec<u32> {
    let ids = t.flatten_all().unwrap().to_vec1::<i64>().unwrap();
    ids.into_iter().map(|i| i as u32).collect()
}

/// Every hook tensor of a reference (all but `input_ids` and what `skip` names) against the capture:
/// within `tol` relative error. Returns how many were compared.
pub fn assert_matches_reference(
    name: &str,
    capture: &glassbox::model::Capture,
    reference: &Reference,
    skip: impl Fn(&str) -> bool,
    tol: f64,
) -> usize {
    let mut checked = 0;
    for (hook, want) in &reference.tensors {
        if hook == "input_ids" || skip(hook) {
            continue;
        }
        let got = capture
            .get(hook)
            .unwrap_or_else(|| panic!("{name}: we do not capture {hook}"))
            .unwrap();
        let err = rel_err(&got, want);
        assert!(
            err <= tol,
            "{name} {hook}: relative error {err:.2e} > {tol:.0e}"
        );
        checked += 1;
    }
    checked
}

/// Tokenizer cases as the fixture scripts write them: `[{"text": …, "ids": […]}, …]`.
pub fn token_cases(json: &str) -> Vec<(String, Vec<u32>)> {
    let cases: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
    cases
        .iter()
        .map(|c| {
            let ids = c["ids"].as_array().unwrap();
            (
                c["text"].as_str().unwrap().to_string(),
                ids.iter().map(|v| v.as_u64().unwrap() as u32).collect(),
            )
        })
        .collect()
}
