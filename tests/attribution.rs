//! Direct logit attribution: the components sum to the model's own logit, and each one matches
//! transformers (tools/make_attribution_reference.py, torch hooks on GPT2LMHeadModel and
//! LlamaForCausalLM) within 1e-4.

mod common;

use candle_core::{Device, IndexOp, Tensor};
use common::{fixture_dir, ids_of, reference_file, HF_FIXTURES};
use glassbox::analysis::attribution::{attribute_prompt, Attribution, Component, Target};
use glassbox::model;

const TOL: f64 = 1e-4;

fn load(name: &str) -> model::LoadedModel {
    model::load(Some(fixture_dir(name).to_str().unwrap()), &Device::Cpu)
        .unwrap_or_else(|e| panic!("loading {name}: {e:?}"))
}

/// ‖a − b‖ / ‖b‖.
fn rel(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let num: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    num.sqrt() / den.sqrt().max(1e-30)
}

fn vec_of(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn the_components_sum_to_the_models_own_logit() {
    for name in HF_FIXTURES {
        let m = load(name);
        let ids = m
            .codec
            .encode("the cat sat on the mat and the dog", true)
            .unwrap();
        let logits = m
            .model
            .forward(
                &Tensor::new(ids.as_slice(), &Device::Cpu)
                    .unwrap()
                    .unsqueeze(0)
                    .unwrap(),
            )
            .unwrap()
            .i(0)
            .unwrap(); // [seq, d_vocab], no hooks
        for pos in [0, ids.len() / 2, ids.len() - 1] {
            let row = logits.i(pos).unwrap().to_vec1::<f32>().unwrap();
            for target in [
                Target {
                    token: 5,
                    versus: None,
                },
                Target {
                    token: 7,
                    versus: Some(11),
                },
            ] {
                let a = attribute_prompt(&m.model, &ids, pos, target, None).unwrap();
                let want =
                    row[target.token as usize] - target.versus.map_or(0.0, |v| row[v as usize]);
                let err = ((a.total() - want) as f64).abs() / (want as f64).abs().max(1e-3);
                assert!(
                    err <= TOL,
                    "{name} pos {pos} {target:?}: sum {} vs logit {want}",
                    a.total()
                );
                let err = ((a.logit - want) as f64).abs() / (want as f64).abs().max(1e-3);
                assert!(
                    err <= TOL,
                    "{name}: the attribution's logit {} vs {want}",
                    a.logit
                );
            }
        }
    }
}

/// Our attribution against the reference's, for the reference's token `k` alone, or (None) for the
/// difference of its two tokens.
fn compare(
    name: &str,
    a: &Attribution,
    r: &std::collections::HashMap<String, Tensor>,
    k: Option<usize>,
) -> f64 {
    let pick = |key: &str| -> Option<Vec<f32>> {
        let t = r.get(&format!("{name}.{key}"))?;
        Some(match k {
            Some(k) => vec_of(&t.i(k).unwrap()),
            None => vec_of(&(t.i(0).unwrap() - t.i(1).unwrap()).unwrap()),
        })
    };
    let mut worst = 0f64;
    let mut check = |what: &str, ours: &[f32], theirs: Option<Vec<f32>>| {
        let theirs = theirs.unwrap_or_else(|| panic!("{name}: the reference has no {what}"));
        let e = rel(ours, &theirs);
        assert!(
            e <= TOL,
            "{name} {what} ({k:?}): rel err {e:e}\nours {ours:?}\ntheirs {theirs:?}"
        );
        worst = worst.max(e);
    };
    check("heads", &a.heads, pick("heads"));
    check("mlps", &a.mlps, pick("mlps"));
    check("embed", &[a.embed], pick("embed"));
    check("constant", &[a.constant], pick("constant"));
    check("logits", &[a.logit], pick("logits"));
    match (a.pos_embed, pick("pos_embed")) {
        (Some(p), theirs @ Some(_)) => check("pos_embed", &[p], theirs),
        (None, None) => {}
        (ours, theirs) => panic!("{name}: pos_embed {ours:?} vs {theirs:?}"),
    }
    match (&a.attn_bias, pick("attn_bias")) {
        (Some(b), theirs @ Some(_)) => check("attn_bias", b, theirs),
        (None, None) => {}
        (ours, theirs) => panic!("{name}: attn_bias {ours:?} vs {theirs:?}"),
    }
    worst
}

#[test]
fn every_component_matches_transformers() {
    let path = fixture_dir("attribution.safetensors");
    let r = reference_file(&path).tensors;
    let mut worst = 0f64;
    for name in HF_FIXTURES {
        let m = load(name);
        let ids = ids_of(&r[&format!("{name}.input_ids")]);
        let pos = r[&format!("{name}.pos")].to_scalar::<i64>().unwrap() as usize;
        let tokens: Vec<u32> = r[&format!("{name}.tokens")]
            .to_vec1::<i64>()
            .unwrap()
            .into_iter()
            .map(|t| t as u32)
            .collect();
        for (k, &token) in tokens.iter().enumerate() {
            let target = Target {
                token,
                versus: None,
            };
            let a = attribute_prompt(&m.model, &ids, pos, target, None).unwrap();
            worst = worst.max(compare(name, &a, &r, Some(k)));
        }
        let target = Target {
            token: tokens[0],
            versus: Some(tokens[1]),
        };
        let a = attribute_prompt(&m.model, &ids, pos, target, None).unwrap();
        worst = worst.max(compare(name, &a, &r, None));
        // The top component by |contribution| is the one the reference's numbers put first.
        let best = a.ranked()[0];
        assert_eq!(a.rank_of(best.0), Some(1));
        assert!(a.components().iter().all(|(_, v)| v.abs() <= best.1.abs()));
    }
    eprintln!("attribution against transformers: largest relative error {worst:e}");
}

#[test]
fn components_are_named_and_ranked() {
    let m = load("tiny-a");
    let ids = m.codec.encode("the cat sat", true).unwrap();
    let a = attribute_prompt(
        &m.model,
        &ids,
        ids.len() - 1,
        Target {
            token: 3,
            versus: None,
        },
        None,
    )
    .unwrap();
    let cfg = m.model.config();
    // embed, pos_embed, then per layer n_heads heads, b_O and the MLP.
    assert_eq!(a.components().len(), 2 + cfg.n_layers * (cfg.n_heads + 2));
    let ranked = a.ranked();
    assert!(ranked.windows(2).all(|w| w[0].1.abs() >= w[1].1.abs()));
    let head = Component::Head { layer: 1, head: 2 };
    assert_eq!(head.label(), "L1H2");
    assert_eq!(a.value_of(head), Some(a.head(1, 2)));
    assert_eq!(a.rank_of(ranked[3].0), Some(4));
    assert_eq!(Component::Mlp { layer: 0 }.label(), "MLP0");
    // Positions past the prompt and tokens outside the vocabulary are errors, not panics.
    assert!(attribute_prompt(
        &m.model,
        &ids,
        ids.len(),
        Target {
            token: 3,
            versus: None
        },
        None
    )
    .is_err());
    let beyond = cfg.d_vocab as u32;
    assert!(attribute_prompt(
        &m.model,
        &ids,
        0,
        Target {
            token: beyond,
            versus: None
        },
        None
    )
    .is_err());
}
