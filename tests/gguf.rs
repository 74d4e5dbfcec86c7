//! GGUF files against transformers loading the same file: every quantisation type we read, the q/k
//! permutation undone (the patterns show it layer by layer), and the tokenizer built from the metadata.

mod common;

use std::path::PathBuf;

use candle_core::Device;
use common::{assert_matches_reference, ids_of, rel_err, token_cases};
use glassbox::model::{self, NamesFilter};

/// Relative error allowed against transformers' float32 run on the same dequantized weights.
const TOL: f64 = 1e-4;

const FILES: [&str; 7] = [
    "small-f32",
    "small-f16",
    "small-bf16",
    "small-q8_0",
    "small-q4_0",
    "small-q4_1",
    "mixed-k",
];

fn gguf_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf")
}

fn load(name: &str) -> model::LoadedModel {
    let path = gguf_dir().join(format!("{name}.gguf"));
    model::load(Some(path.to_str().unwrap()), &Device::Cpu)
        .unwrap_or_else(|e| panic!("loading {name}.gguf: {e:?}"))
}

fn reference(name: &str) -> common::Reference {
    common::reference_file(&gguf_dir().join(format!("{name}.reference.safetensors")))
}

#[test]
fn every_type_matches_transformers_on_the_same_file() {
    for name in FILES {
        let r = reference(name);
        let loaded = load(name);
        let trace = loaded
            .model
            .trace(&ids_of(&r.tensors["input_ids"]), NamesFilter::All)
            .unwrap();
        let checked = assert_matches_reference(name, trace.capture(), &r, |_| false, TOL);
        // At least one layer's pattern and the logits.
        assert!(checked >= 2, "{name}: only {checked} tensors compared");
    }
}

#[test]
fn the_tokenizer_is_the_one_transformers_builds_from_the_file() {
    for name in ["small-q8_0", "mixed-k"] {
        let r = reference(name);
        let loaded = load(name);
        let cases = token_cases(&r.metadata["tokenizer_cases"]);
        assert!(cases.len() >= 5);
        for (text, want) in cases {
            let got = loaded.codec.encode(&text, false).unwrap();
            assert_eq!(got, want, "{name}: {text:?}");
            assert_eq!(loaded.codec.decode(&got), text, "{name}: decode {text:?}");
        }
        // The file says add_bos_token = false: transformers adds no BOS, nor do we.
        assert!(!loaded.codec.prepends_bos(), "{name}");
    }
}

#[test]
fn inspect_says_what_the_file_stored() {
    let loaded = load("mixed-k");
    let stored = loaded.stored_as.as_deref().unwrap();
    for t in ["Q4K", "Q5K", "Q6K", "Q8_0", "F32"] {
        assert!(stored.contains(t), "{t} not in {stored}");
    }
    let cfg = loaded.model.config();
    assert_eq!((cfg.n_heads, cfg.n_kv_heads, cfg.d_head), (4, 2, 64));
    assert_eq!(
        load("small-f32").stored_as.as_deref(),
        Some("GGUF F32 (20), dequantized to float32")
    );
}

/// A step with the KV cache equals a full recompute on a GGUF model too (grouped-query attention).
#[test]
fn stepping_a_gguf_model_equals_a_full_recompute() {
    let loaded = load("small-q4_1");
    let ids = loaded
        .codec
        .encode("The light must never go out.", false)
        .unwrap();
    let full = loaded.model.trace(&ids, NamesFilter::All).unwrap();
    let mut stepped = loaded.model.trace(&ids[..3], NamesFilter::All).unwrap();
    for &id in &ids[3..] {
        loaded.model.step(&mut stepped, id).unwrap();
    }
    for name in full.capture().names() {
        let err = rel_err(
            &stepped.capture().require(name).unwrap(),
            &full.capture().require(name).unwrap(),
        );
        assert!(err <= 1e-5, "{name}: {err:.2e}");
    }
}
