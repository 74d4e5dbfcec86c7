//! Our numbers against Hugging Face transformers: every fixture, every reference tensor.

mod common;

use candle_core::Device;
use common::{
    assert_matches_reference, fixture_dir, ids_of, reference, rel_err, HF_FIXTURES as FIXTURES,
};
use glassbox::model::{self, NamesFilter};

const TOL: f64 = 1e-4;

fn load(name: &str) -> model::LoadedModel {
    model::load(Some(fixture_dir(name).to_str().unwrap()), &Device::Cpu)
        .unwrap_or_else(|e| panic!("loading {name}: {e:?}"))
}

#[test]
fn tokenizer_prepends_bos_and_matches_python() {
    for name in FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let ids = loaded.codec.encode(&r.metadata["prompt"], true).unwrap();
        assert_eq!(ids, ids_of(&r.tensors["input_ids"]), "{name}");
        assert_eq!(Some(ids[0]), loaded.codec.bos_id(), "{name}: BOS first");
    }
}

#[test]
fn every_reference_tensor_matches_transformers() {
    for name in FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let n_layers = loaded.model.config().n_layers;
        let trace = loaded
            .model
            .trace(&ids_of(&r.tensors["input_ids"]), NamesFilter::All)
            .unwrap();
        let capture = trace.capture();

        // These must be in every reference: the minimum.
        let mut required = vec!["ln_final.hook_normalized".to_string(), "logits".to_string()];
        for l in 0..n_layers {
            required.push(format!("blocks.{l}.hook_resid_pre"));
            required.push(format!("blocks.{l}.attn.hook_pattern"));
        }
        for req in &required {
            assert!(r.tensors.contains_key(req), "{name}: reference lacks {req}");
        }

        // Hugging Face's own final state and the ablated logits have tests of their own below.
        let hf_only = |hook: &str| hook.starts_with("ln_final.hf_") || hook.starts_with("ablated.");
        let checked = assert_matches_reference(name, capture, &r, hf_only, TOL);
        assert!(
            checked >= required.len(),
            "{name}: only {checked} tensors compared"
        );
    }
}

#[test]
fn hf_final_hidden_state_is_ln_final_with_weight_and_bias() {
    // Hugging Face's last hidden state is after ln_f's affine; ours (TransformerLens') is before it.
    // Both must hold: normalized differs from the HF output, and the logit lens of the last residual
    // reproduces the logits.
    for name in FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let trace = loaded
            .model
            .trace(&ids_of(&r.tensors["input_ids"]), NamesFilter::All)
            .unwrap();
        let normalized = trace
            .capture()
            .get("ln_final.hook_normalized")
            .unwrap()
            .unwrap();
        if let Some(hf_out) = r.tensors.get("ln_final.hf_output") {
            assert!(
                rel_err(&normalized, hf_out) > 1e-2,
                "{name}: normalized equals HF output"
            );
        }
        let n_layers = loaded.model.config().n_layers;
        let resid = trace
            .capture()
            .get(&format!("blocks.{}.hook_resid_post", n_layers - 1))
            .unwrap()
            .unwrap(); // [1, seq, d]
        let seq = resid.dim(1).unwrap();
        for pos in [0, seq / 2, seq - 1] {
            let lens = loaded
                .model
                .logit_lens(&resid.get(0).unwrap().get(pos).unwrap())
                .unwrap();
            let want = r.tensors["logits"].get(0).unwrap().get(pos).unwrap();
            let err = rel_err(&lens, &want);
            assert!(err <= TOL, "{name} logit lens at {pos}: {err:.2e}");
        }
    }
}

#[test]
fn patterns_are_causal_distributions() {
    for name in FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let trace = loaded
            .model
            .trace(
                &ids_of(&r.tensors["input_ids"]),
                NamesFilter::parse("blocks.*.attn.hook_pattern"),
            )
            .unwrap();
        for l in 0..loaded.model.config().n_layers {
            let p = trace
                .capture()
                .get(&format!("blocks.{l}.attn.hook_pattern"))
                .unwrap()
                .unwrap()
                .squeeze(0)
                .unwrap()
                .to_vec3::<f32>()
                .unwrap(); // [h][q][k]
            for (h, rows) in p.iter().enumerate() {
                for (q, row) in rows.iter().enumerate() {
                    let sum: f32 = row.iter().sum();
                    assert!(
                        (sum - 1.0).abs() < 1e-5,
                        "{name} L{l}H{h} row {q} sums to {sum}"
                    );
                    assert!(
                        row[q + 1..].iter().all(|&w| w == 0.0),
                        "{name} L{l}H{h} row {q} sees the future"
                    );
                }
            }
        }
    }
}

/// Zero-ablating a head (the tutor's `a` key) gives the logits transformers gives with that head's
/// slice of the output projection's input (c_proj, o_proj) zeroed.
#[test]
fn ablated_logits_match_transformers() {
    for name in FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let (key, want) = r
            .tensors
            .iter()
            .find(|(k, _)| k.starts_with("ablated."))
            .unwrap_or_else(|| panic!("{name}: no ablated logits in the reference"));
        // "ablated.L{l}H{h}.logits"
        let lh = key
            .trim_start_matches("ablated.L")
            .trim_end_matches(".logits");
        let (l, h) = lh.split_once('H').unwrap();
        let (l, h): (usize, usize) = (l.parse().unwrap(), h.parse().unwrap());
        let ids = ids_of(&r.tensors["input_ids"]);
        let got = loaded
            .model
            .ablate_heads(&ids, &[(l, h)])
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let err = rel_err(&got, want);
        assert!(
            err <= TOL,
            "{name} L{l}H{h} ablated: relative error {err:.2e}"
        );
        // And it differs from the clean run, so the test can fail.
        let clean = rel_err(&got, &r.tensors["logits"]);
        assert!(
            clean > 1e-3,
            "{name}: ablating L{l}H{h} changed nothing ({clean:.2e})"
        );
    }
}

/// What a folder stored is said when it was not float32 (inspect prints it).
#[test]
fn half_precision_weights_are_named_as_stored() {
    assert_eq!(load("llama-a").stored_as, None);
    let b = load("llama-b").stored_as.unwrap();
    assert!(
        b.starts_with("safetensors BF16 (") && b.ends_with("converted to float32"),
        "{b}"
    );
    assert!(load("llama-c").stored_as.unwrap().contains("F16 ("));
}
