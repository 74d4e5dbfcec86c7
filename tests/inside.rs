//! The Inside view's numbers against Hugging Face transformers' reference tensors (tests/fixtures):
//! q·k scaled and softmaxed by hand gives hook_attn_scores and hook_pattern; the keys' contributions
//! sum, as vectors, to hook_z; the heads' projected writes plus b_O sum to hook_attn_out; the MLP's
//! neurons are the largest of mlp.hook_post, whose projection is hook_mlp_out.

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, IndexOp, Tensor};
use common::{fixture_dir, ids_of, reference, rel_err, HF_FIXTURES, LLAMA_FIXTURES};
use glassbox::analysis::inside::{
    contributions, head_inside, head_results, kv_head, Sources, TOP_NEURONS,
};
use glassbox::model::{self, Arch, NamesFilter};

const TOL: f64 = 1e-4;

fn load(name: &str) -> model::LoadedModel {
    model::load(Some(fixture_dir(name).to_str().unwrap()), &Device::Cpu).unwrap()
}

fn vec1(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32).unwrap().to_vec1().unwrap()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 * (1.0 + b.abs())
}

/// Every head at three queries of every fixture: each number the view shows, computed again from the
/// reference tensors.
#[test]
fn each_key_term_matches_the_reference_scores_pattern_and_z() {
    for name in HF_FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let cfg = loaded.model.config().clone();
        let trace = loaded
            .model
            .trace(&ids_of(&r.tensors["input_ids"]), NamesFilter::All)
            .unwrap();
        let src = Sources(vec![trace.capture()]);
        let seq = trace.len();
        for layer in 0..cfg.n_layers {
            let (w_o, b_o) = loaded.model.w_o(layer).unwrap();
            let reference_of = |hook: &str| r.tensors[&format!("blocks.{layer}.{hook}")].clone();
            let (scores, pattern) = (
                reference_of("attn.hook_attn_scores"),
                reference_of("attn.hook_pattern"),
            );
            let (z, v) = (reference_of("attn.hook_z"), reference_of("attn.hook_v"));
            let attn_out = reference_of("hook_attn_out");
            let mut scale = 1.0;
            if cfg.scale_attn_weights {
                scale /= (cfg.d_head as f32).sqrt();
            }
            if cfg.scale_attn_by_layer {
                scale /= (layer + 1) as f32;
            }
            for head in 0..cfg.n_heads {
                for query in [0, seq / 2, seq - 1] {
                    let at = format!("{name} L{layer}H{head} q{query}");
                    let got =
                        head_inside(&src, &cfg, (&w_o, b_o.as_ref()), layer, head, query).unwrap();
                    assert_eq!(got.keys.len(), query + 1, "{at}: keys up to the query");
                    let want_scores = vec1(&scores.i((0, head, query)).unwrap());
                    let want_weights = vec1(&pattern.i((0, head, query)).unwrap());
                    // softmax(q·k · scale) over the keys, by hand.
                    let scaled: Vec<f32> = got.keys.iter().map(|t| t.qk * scale).collect();
                    let max = scaled.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let exp: Vec<f32> = scaled.iter().map(|s| (s - max).exp()).collect();
                    let sum: f32 = exp.iter().sum();
                    let kvh = kv_head(&cfg, head);
                    for (k, t) in got.keys.iter().enumerate() {
                        assert!(close(scaled[k], want_scores[k]), "{at} k{k}: q·k·scale");
                        assert!(close(t.score, want_scores[k]), "{at} k{k}: score");
                        assert!(close(exp[k] / sum, want_weights[k]), "{at} k{k}: softmax");
                        assert!(close(t.weight, want_weights[k]), "{at} k{k}: weight");
                        let v_norm = vec1(&v.i((0, k, kvh)).unwrap())
                            .iter()
                            .map(|x| x * x)
                            .sum::<f32>()
                            .sqrt();
                        assert!(
                            close(t.contribution, want_weights[k] * v_norm),
                            "{at} k{k}: ‖weight·v‖"
                        );
                    }
                    // The future is masked in the reference: weight 0 past the query.
                    assert!(want_weights[query + 1..].iter().all(|&w| w == 0.0), "{at}");

                    // The contributions, as vectors, sum to z.
                    let parts = contributions(&src, &cfg, layer, head, query).unwrap(); // [q+1, dh]
                    let want_z = z.i((0, query, head)).unwrap();
                    let err = rel_err(&parts.sum(0).unwrap(), &want_z);
                    assert!(err <= TOL, "{at}: Σ weight·v vs hook_z: {err:.2e}");
                    let z_norm = vec1(&want_z).iter().map(|x| x * x).sum::<f32>().sqrt();
                    assert!(close(got.z_norm, z_norm), "{at}: ‖z‖");

                    // The heads' writes plus b_O sum to attn_out.
                    let writes = head_results(&src, &w_o, layer, query).unwrap(); // [h, d]
                    let mut total = writes.sum(0).unwrap();
                    if let Some(b) = &b_o {
                        total = (total + b.to_dtype(DType::F32).unwrap()).unwrap();
                    }
                    let want_out = attn_out.i((0, query)).unwrap();
                    let err = rel_err(&total, &want_out);
                    assert!(
                        err <= TOL,
                        "{at}: Σ z·W_O + b_O vs hook_attn_out: {err:.2e}"
                    );
                    for (h, &w) in got.writes.iter().enumerate() {
                        let row = vec1(&writes.i(h).unwrap());
                        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                        assert!(close(w, norm), "{at}: ‖z_{h}·W_O[{h}]‖");
                    }
                    let out_norm = vec1(&want_out).iter().map(|x| x * x).sum::<f32>().sqrt();
                    assert!(close(got.attn_out_norm, out_norm), "{at}: ‖attn_out‖");
                }
            }
        }
    }
}

/// The neurons listed are the largest of the reference's mlp.hook_post at the query (Llama
/// fixtures hold it), and each one's prompt positions are where its column is largest.
#[test]
fn top_neurons_are_the_largest_of_the_reference_hook_post() {
    for name in LLAMA_FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let cfg = loaded.model.config().clone();
        let trace = loaded
            .model
            .trace(&ids_of(&r.tensors["input_ids"]), NamesFilter::All)
            .unwrap();
        let src = Sources(vec![trace.capture()]);
        let seq = trace.len();
        for layer in 0..cfg.n_layers {
            let (w_o, b_o) = loaded.model.w_o(layer).unwrap();
            let post = r.tensors[&format!("blocks.{layer}.mlp.hook_post")]
                .i(0)
                .unwrap(); // [seq, d_mlp]
            for query in [0, seq - 1] {
                let got = head_inside(&src, &cfg, (&w_o, b_o.as_ref()), layer, 0, query).unwrap();
                let row = vec1(&post.i(query).unwrap());
                let mut sorted = row.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                assert_eq!(got.neurons.len(), TOP_NEURONS.min(row.len()));
                for (i, n) in got.neurons.iter().enumerate() {
                    assert!(close(n.value, row[n.index]), "{name}: neuron {}", n.index);
                    assert!(close(n.value, sorted[i]), "{name}: rank {i}");
                    let column = vec1(&post.i((.., n.index)).unwrap());
                    let best = column.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    assert!(close(n.top[0].1, best), "{name}: n{} peak", n.index);
                    assert!(close(column[n.top[0].0], best));
                }
            }
        }
    }
}

/// GPT-2's mlp.hook_post (which the HF references do not hold) times c_proj, read from the
/// checkpoint file itself, gives the reference hook_mlp_out: the neurons shown are the ones the
/// MLP's output is made of.
#[test]
fn gpt2_hook_post_projects_to_the_reference_mlp_out() {
    for name in HF_FIXTURES {
        let loaded = load(name);
        let cfg = loaded.model.config().clone();
        if cfg.arch != Arch::Gpt2 {
            continue;
        }
        let r = reference(name);
        let mut weights: HashMap<String, Tensor> = HashMap::new();
        for entry in std::fs::read_dir(fixture_dir(name)).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            if file.starts_with("model") && file.ends_with(".safetensors") {
                for (k, t) in candle_core::safetensors::load(&path, &Device::Cpu).unwrap() {
                    let k = k.strip_prefix("transformer.").unwrap_or(&k).to_string();
                    weights.insert(k, t.to_dtype(DType::F32).unwrap());
                }
            }
        }
        let trace = loaded
            .model
            .trace(&ids_of(&r.tensors["input_ids"]), NamesFilter::All)
            .unwrap();
        for layer in 0..cfg.n_layers {
            let post = trace
                .capture()
                .require(&format!("blocks.{layer}.mlp.hook_post"))
                .unwrap()
                .i(0)
                .unwrap(); // [seq, d_mlp]
            let w = &weights[&format!("h.{layer}.mlp.c_proj.weight")]; // [d_mlp, d]
            let b = &weights[&format!("h.{layer}.mlp.c_proj.bias")]; // [d]
            let out = post
                .to_dtype(DType::F32)
                .unwrap()
                .matmul(w)
                .unwrap()
                .broadcast_add(b)
                .unwrap(); // [seq, d]
            let want = r.tensors[&format!("blocks.{layer}.hook_mlp_out")]
                .i(0)
                .unwrap();
            let err = rel_err(&out, &want);
            assert!(
                err <= TOL,
                "{name} L{layer}: hook_post·W_out + b_out: {err:.2e}"
            );
        }
    }
}
