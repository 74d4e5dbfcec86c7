//! config.json for both families: real configs with keys set to edge values, removed, duplicated or
//! added, and sometimes raw bytes on top. Parsing returns a config or an error, never panics, and a
//! config it returns is one the model can be built from.

use std::path::Path;

use arbtest::arbitrary::{Result, Unstructured};
use candle_core::Device;
use glassbox::model::config::{Arch, Config, HfGpt2Config};
use glassbox::model::llama_config::HfLlamaConfig;

use super::mutate;

/// Every key either family reads.
const KEYS: &[&str] = &[
    "model_type",
    "n_embd",
    "n_head",
    "n_layer",
    "n_positions",
    "n_ctx",
    "vocab_size",
    "n_inner",
    "layer_norm_epsilon",
    "activation_function",
    "scale_attn_weights",
    "scale_attn_by_inverse_layer_idx",
    "tie_word_embeddings",
    "bos_token_id",
    "eos_token_id",
    "hidden_size",
    "intermediate_size",
    "num_attention_heads",
    "num_key_value_heads",
    "num_hidden_layers",
    "max_position_embeddings",
    "head_dim",
    "rms_norm_eps",
    "rope_theta",
    "rope_parameters",
    "rope_scaling",
    "hidden_act",
    "attention_bias",
    "mlp_bias",
];

/// JSON literals as text, so numbers past u64 or f64 and wrongly typed values can be written too.
const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "-1",
    "-0",
    "63",
    "64",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "2305843009213693952",
    "4611686018427387904",
    "18446744073709551615",
    "18446744073709551616",
    "1e3",
    "1.0",
    "1.5",
    "1e400",
    "-1e400",
    "1e-5",
    "0.0",
    "-1e-5",
    "-1.0",
    "1e308",
    "5e-324",
    "10000.0",
    "0.5",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    "[1,2]",
    "\"\"",
    "\"12\"",
    "\"gpt2\"",
    "\"llama\"",
    "\"mistral\"",
    "\"silu\"",
    "\"swish\"",
    "\"gelu\"",
    "\"gelu_new\"",
    "\"gelu_pytorch_tanh\"",
    "\"relu\"",
    "\"mish\"",
    "{\"rope_type\":\"default\",\"rope_theta\":500000.0}",
    "{\"rope_type\":\"default\",\"rope_theta\":1.0}",
    "{\"rope_type\":\"default\",\"rope_theta\":-5}",
    "{\"type\":\"linear\",\"factor\":2.0}",
    "{\"rope_type\":\"llama3\"}",
    "{\"rope_theta\":\"x\"}",
    "{\"type\":null}",
];

/// The configs the mutations start from.
fn bases() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<String> = [
        "tests/fixtures/tiny-a/config.json",
        "tests/fixtures/llama-a/config.json",
        "tests/fixtures/llama-c/config.json",
        "models/glassbox-tiny/config.json",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(root.join(p)).unwrap())
    .collect();
    out.push(
        r#"{"model_type":"llama","hidden_size":576,"intermediate_size":1536,"num_attention_heads":9,"num_key_value_heads":3,"num_hidden_layers":30,"vocab_size":49152,"head_dim":64,"rope_parameters":{"rope_type":"default","rope_theta":100000.0}}"#.into(),
    );
    out.push("{}".into());
    out
}

/// A value for `old` (its JSON text): an edge literal, a number near it, or random text.
fn literal(u: &mut Unstructured, old: Option<&str>) -> Result<String> {
    let near = old.and_then(|o| o.parse::<u64>().ok());
    Ok(match (u.int_in_range(0..=5)?, near) {
        (0, Some(n)) => mutate::edgy_u64(u, n)?.to_string(),
        (1, _) => serde_json::to_string(&mutate::odd_text(u)?).unwrap(),
        (2, _) => u.int_in_range(0u32..=2048)?.to_string(),
        _ => u.choose(LITERALS)?.to_string(),
    })
}

/// A config.json text: a base config with keys set, removed, duplicated or added.
fn config_text(u: &mut Unstructured, bases: &[String]) -> Result<Vec<u8>> {
    let base: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(u.choose(bases)?).unwrap();
    let mut entries: Vec<(String, String)> =
        base.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    for _ in 0..u.int_in_range(0..=6)? {
        match u.int_in_range(0..=5)? {
            0..=2 => {
                let key = u.choose(KEYS)?.to_string();
                let old = entries.iter().position(|(k, _)| *k == key);
                let value = literal(u, old.map(|i| entries[i].1.as_str()))?;
                match old {
                    Some(i) => entries[i].1 = value,
                    None => entries.push((key, value)),
                }
            }
            3 if !entries.is_empty() => {
                let i = u.choose_index(entries.len())?;
                entries.remove(i);
            }
            4 if !entries.is_empty() => {
                let i = u.choose_index(entries.len())?;
                let value = literal(u, Some(&entries[i].1.clone()))?;
                entries.push((entries[i].0.clone(), value));
            }
            _ => {
                let key = mutate::odd_text(u)?;
                entries.push((key, literal(u, None)?));
            }
        }
    }
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
        .collect();
    let mut text = format!("{{{}}}", body.join(",")).into_bytes();
    if u.ratio(1, 5)? {
        let len = text.len();
        mutate::bytes(u, &mut text, 0..len)?;
    }
    Ok(text)
}

/// What the model relies on in a resolved config, checked without the code under test: every size
/// above 0, heads that divide as the family needs, a usable epsilon and rotary base, and weights
/// whose sizes can be computed.
pub fn assert_config_holds(c: &Config, source: &str) {
    let sizes = [
        ("d_model", c.d_model),
        ("n_heads", c.n_heads),
        ("n_kv_heads", c.n_kv_heads),
        ("d_head", c.d_head),
        ("n_layers", c.n_layers),
        ("d_mlp", c.d_mlp),
        ("d_vocab", c.d_vocab),
        ("n_ctx", c.n_ctx),
    ];
    for (name, v) in sizes {
        assert!(v > 0, "{name} is 0 in {c:?}\nfrom {source}");
    }
    assert!(
        c.n_heads.is_multiple_of(c.n_kv_heads),
        "n_kv_heads does not divide n_heads: {c:?}\nfrom {source}"
    );
    assert!(
        c.ln_eps.is_finite() && c.ln_eps >= 0.0,
        "epsilon {} in {c:?}\nfrom {source}",
        c.ln_eps
    );
    // Sizes in f64, so nothing here can overflow (the model computes them exactly, in usize); f64 is
    // precise enough to tell a count that fits from one that does not.
    let [d, m, v, h, kvh, dh, ctx, layers] = [
        c.d_model,
        c.d_mlp,
        c.d_vocab,
        c.n_heads,
        c.n_kv_heads,
        c.d_head,
        c.n_ctx,
        c.n_layers,
    ]
    .map(|x| x as f64);
    let (q, kv) = (h * dh, kvh * dh);
    let unembed = if c.tie_embeddings { 0.0 } else { v * d };
    let total = match c.arch {
        Arch::Gpt2 => {
            assert_eq!(
                c.n_heads.checked_mul(c.d_head),
                Some(c.d_model),
                "n_heads × d_head is not d_model: {c:?}\nfrom {source}"
            );
            assert_eq!(c.n_kv_heads, c.n_heads, "{c:?}\nfrom {source}");
            let block = (4.0 * d * d + 4.0 * d) + (2.0 * d * m + m + d) + 4.0 * d;
            v * d + ctx * d + layers * block + 2.0 * d + unembed
        }
        Arch::Llama => {
            assert!(
                c.d_head.is_multiple_of(2),
                "odd d_head: {c:?}\nfrom {source}"
            );
            let theta = c.rope_theta.unwrap_or(f64::NAN);
            assert!(theta.is_finite() && theta > 1.0, "{c:?}\nfrom {source}");
            let bias = if c.attn_bias { q + 2.0 * kv + d } else { 0.0 };
            let mlp_bias = if c.mlp_bias { 2.0 * m + d } else { 0.0 };
            let block = (2.0 * d * q + 2.0 * d * kv + bias) + (3.0 * d * m + mlp_bias) + 2.0 * d;
            v * d + layers * block + d + unembed
        }
    };
    assert!(
        total <= usize::MAX as f64,
        "the weights of {c:?} have more elements than usize holds\nfrom {source}"
    );
    let _ = c.n_params();
}

fn check_gpt2(bytes: &[u8], source: &str) -> bool {
    let Ok(hf) = serde_json::from_slice::<HfGpt2Config>(bytes) else {
        return false;
    };
    let Ok(c) = Config::from_hf(&hf) else {
        return false;
    };
    {
        assert_config_holds(&c, source);
        // What `train` saves must read back as the same config.
        assert_eq!(
            Config::from_hf(&c.to_hf()).as_ref(),
            Ok(&c),
            "to_hf does not round-trip\nfrom {source}"
        );
    }
    true
}

fn check_llama(bytes: &[u8], source: &str) -> bool {
    let Ok(hf) = serde_json::from_slice::<HfLlamaConfig>(bytes) else {
        return false;
    };
    let Ok(c) = Config::from_hf_llama(&hf) else {
        return false;
    };
    assert_config_holds(&c, source);
    true
}

/// The target: parse as both families; now and then load the folder through the loader, with the
/// tiny-a fixture's tokenizer and weights beside the config.
pub fn target(u: &mut Unstructured, bases: &[String], dir: &Path) -> Result<bool> {
    let bytes = config_text(u, bases)?;
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let accepted = check_gpt2(&bytes, &source) | check_llama(&bytes, &source);
    if u.ratio(1, 16)? {
        std::fs::write(dir.join("config.json"), &bytes).unwrap();
        if let Ok(loaded) = glassbox::model::load(Some(dir.to_str().unwrap()), &Device::Cpu) {
            assert_config_holds(loaded.model.config(), &source);
        }
    }
    Ok(accepted)
}

/// A folder with tiny-a's tokenizer and weights, for the loader.
pub fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-a");
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    dir
}

pub fn base_configs() -> Vec<String> {
    bases()
}
