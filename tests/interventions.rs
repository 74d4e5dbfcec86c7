//! Ablation and activation patching as hooks, against transformers with torch forward hooks doing the
//! same (tools/make_llama_fixtures.py writes `interventions.safetensors` for tiny-a and llama-a).

mod common;

use candle_core::{Device, IndexOp, Tensor};
use common::{fixture_dir, ids_of, reference_file, rel_err};
use glassbox::model::{self, NamesFilter};

const TOL: f64 = 1e-4;
const FIXTURES: [&str; 2] = ["tiny-a", "llama-a"];

struct Case {
    loaded: model::LoadedModel,
    r: common::Reference,
    clean: Vec<u32>,
    corrupted: Vec<u32>,
    /// The positions the reference keeps logits for (the patched ones).
    rows: Vec<u32>,
}

fn case(name: &str) -> Case {
    let dir = fixture_dir(name);
    let loaded = model::load(Some(dir.to_str().unwrap()), &Device::Cpu).unwrap();
    let r = reference_file(&dir.join("interventions.safetensors"));
    let rows: Vec<u32> = serde_json::from_str(&r.metadata["logits_positions"]).unwrap();
    Case {
        clean: ids_of(&r.tensors["clean_ids"]),
        corrupted: ids_of(&r.tensors["corrupted_ids"]),
        loaded,
        r,
        rows,
    }
}

impl Case {
    /// Our logits [seq, vocab] at the reference's rows, as [1, rows, vocab].
    fn rows_of(&self, logits: &Tensor) -> Tensor {
        let idx = Tensor::new(self.rows.as_slice(), &Device::Cpu).unwrap();
        logits.index_select(&idx, 0).unwrap().unsqueeze(0).unwrap()
    }

    fn check(&self, name: &str, key: &str, got: &Tensor) -> f64 {
        let want = &self.r.tensors[key];
        let err = rel_err(&self.rows_of(got), want);
        assert!(err <= TOL, "{name} {key}: relative error {err:.2e}");
        err
    }
}

#[test]
fn clean_and_corrupted_runs_match() {
    for name in FIXTURES {
        let c = case(name);
        let m = &c.loaded.model;
        let clean = m.trace(&c.clean, NamesFilter::parse("logits")).unwrap();
        let got = clean.capture().require("logits").unwrap().i(0).unwrap();
        c.check(name, "clean.logits", &got);
        let got = m.trace(&c.corrupted, NamesFilter::parse("logits")).unwrap();
        let got = got.capture().require("logits").unwrap().i(0).unwrap();
        c.check(name, "corrupted.logits", &got);
    }
}

#[test]
fn activation_patching_matches_torch_hooks() {
    for name in FIXTURES {
        let c = case(name);
        let positions: Vec<usize> = serde_json::from_str(&c.r.metadata["patch_positions"]).unwrap();
        let corrupted = c.r.tensors["corrupted.logits"].clone();
        let mut patched = 0;
        for key in c.r.tensors.keys().filter(|k| k.starts_with("patch.")) {
            let hook = key.trim_start_matches("patch.").trim_end_matches(".logits");
            let got = c
                .loaded
                .model
                .patch(&c.clean, &c.corrupted, hook, &positions)
                .unwrap_or_else(|e| panic!("{name} patching {hook}: {e:?}"));
            c.check(name, key, &got);
            // The patch changed something, so this test can fail.
            let moved = rel_err(&c.rows_of(&got), &corrupted);
            assert!(moved > 1e-4, "{name}: patching {hook} changed nothing");
            patched += 1;
        }
        assert!(patched >= 6, "{name}: only {patched} patches checked");
    }
}

#[test]
fn zero_and_mean_ablation_match_torch_hooks() {
    for name in FIXTURES {
        let c = case(name);
        let reference = ids_of(&c.r.tensors["mean.reference_ids"]);
        let mut checked = 0;
        for key in c.r.tensors.keys() {
            let (kind, lh) = match key.split_once(".L") {
                Some((kind @ ("zero" | "mean"), rest)) => (kind, rest.trim_end_matches(".logits")),
                _ => continue,
            };
            let (l, h) = lh.split_once('H').unwrap();
            let head = (l.parse::<usize>().unwrap(), h.parse::<usize>().unwrap());
            let m = &c.loaded.model;
            let got = if kind == "zero" {
                m.ablate_heads(&c.clean, &[head]).unwrap()
            } else {
                let mut ablation = m
                    .mean_ablation(std::slice::from_ref(&reference), &[head])
                    .unwrap();
                m.run_with_hook(&c.clean, &mut ablation).unwrap()
            };
            c.check(name, key, &got);
            checked += 1;
        }
        assert!(checked >= 4, "{name}: only {checked} ablations checked");
    }
}

/// An intervention composes with recording: the capture holds what the pass really computed.
#[test]
fn an_intervention_composes_with_recording() {
    let c = case("llama-a");
    let m = &c.loaded.model;
    let head = (1, 0);
    let full = m.ablate_heads(&c.clean, &[head]).unwrap(); // [seq, vocab]
    let mut ablation = model::interventions::ZeroAblation::new(&[head]);
    let trace = m
        .trace_with(
            &c.clean,
            NamesFilter::parse("logits, blocks.1.attn.hook_z"),
            Some(&mut ablation),
        )
        .unwrap();
    let got = trace.capture().require("logits").unwrap().i(0).unwrap();
    assert!(rel_err(&got, &full) <= 1e-5);
    let z = trace.capture().require("blocks.1.attn.hook_z").unwrap(); // [1, seq, h, dh]
    let head_z = z
        .i((.., .., 0, ..))
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap();
    assert_eq!(
        head_z.to_scalar::<f32>().unwrap(),
        0.0,
        "the recorded hook_z is the ablated one"
    );
}

#[test]
fn bad_patches_are_refused_with_the_reason() {
    let c = case("tiny-a");
    let m = &c.loaded.model;
    let e = m.patch(&c.clean, &c.corrupted, "blocks.9.hook_resid_pre", &[1]);
    assert!(format!("{:?}", e.unwrap_err()).contains("no hook named"));
    let e = m.patch(&c.clean, &c.corrupted, "blocks.0.hook_resid_pre", &[99]);
    assert!(format!("{:?}", e.unwrap_err()).contains("position 99"));
    let e = m.patch(
        &c.clean,
        &c.corrupted[..5],
        "blocks.0.attn.hook_pattern",
        &[1],
    );
    assert!(format!("{:?}", e.unwrap_err()).contains("same length"));
    let e = m.ablate_heads(&c.clean, &[(0, 7)]);
    assert!(format!("{:?}", e.unwrap_err()).contains("no head L0H7"));
}
