//! Incremental steps (KV cache) must give exactly what a full recompute gives, for every hook.

mod common;

use candle_core::Device;
use common::{fixture_dir, rel_err, HF_FIXTURES as FIXTURES};
use glassbox::model::{self, NamesFilter};

const PROMPT: &str = "The cat sat on the mat, and then the cat slept.";

fn load(name: &str) -> model::LoadedModel {
    model::load(Some(fixture_dir(name).to_str().unwrap()), &Device::Cpu).unwrap()
}

fn assert_same(a: &model::Trace, b: &model::Trace, what: &str) {
    assert_eq!(a.ids(), b.ids(), "{what}: ids");
    let names_a: Vec<&str> = a.capture().names().collect();
    let names_b: Vec<&str> = b.capture().names().collect();
    assert_eq!(names_a, names_b, "{what}: hook names");
    for name in names_a {
        let x = a.capture().get(name).unwrap().unwrap();
        let y = b.capture().get(name).unwrap().unwrap();
        let err = rel_err(&x, &y);
        assert!(err <= 1e-5, "{what}: {name} differs by {err:.2e}");
    }
    let err = rel_err(a.next_logits(), b.next_logits());
    assert!(err <= 1e-5, "{what}: next-token logits differ by {err:.2e}");
}

#[test]
fn steps_equal_a_full_recompute() {
    for name in FIXTURES {
        let loaded = load(name);
        let ids = loaded.codec.encode(PROMPT, true).unwrap();
        let full = loaded.model.trace(&ids, NamesFilter::All).unwrap();
        for split in [1, ids.len() / 2, ids.len() - 1] {
            let mut stepped = loaded.model.trace(&ids[..split], NamesFilter::All).unwrap();
            for &id in &ids[split..] {
                loaded.model.step(&mut stepped, id).unwrap();
            }
            assert_eq!(stepped.capture().seq_len(), ids.len());
            assert_same(
                &stepped,
                &full,
                &format!("{name}, prompt of {split} then steps"),
            );
        }
    }
}

#[test]
fn removing_the_last_token_restores_the_shorter_prompt() {
    for name in FIXTURES {
        let loaded = load(name);
        let ids = loaded.codec.encode(PROMPT, true).unwrap();
        let n = ids.len();
        let shorter = loaded.model.trace(&ids[..n - 2], NamesFilter::All).unwrap();
        let mut t = loaded.model.trace(&ids, NamesFilter::All).unwrap();
        assert_eq!(loaded.model.pop(&mut t).unwrap(), ids[n - 1]);
        loaded.model.pop(&mut t).unwrap();
        assert_same(&t, &shorter, &format!("{name}, two tokens removed"));
        // And growing again after a pop is still exact.
        loaded.model.step(&mut t, ids[n - 2]).unwrap();
        let mut compacted = t.clone();
        compacted.capture_mut().compact().unwrap();
        let longer = loaded.model.trace(&ids[..n - 1], NamesFilter::All).unwrap();
        assert_same(&t, &longer, &format!("{name}, pop then step"));
        assert_same(&compacted, &longer, &format!("{name}, compacted"));
    }
}

#[test]
fn the_last_token_cannot_be_removed() {
    let loaded = load("tiny-a");
    let mut t = loaded.model.trace(&[0], NamesFilter::All).unwrap();
    assert!(loaded.model.pop(&mut t).is_err());
    assert_eq!(t.len(), 1);
}

#[test]
fn filter_records_only_what_was_asked_and_steps_keep_it() {
    let loaded = load("tiny-b");
    let ids = loaded.codec.encode(PROMPT, true).unwrap();
    let filter = NamesFilter::parse("blocks.*.attn.hook_pattern,logits");
    let mut t = loaded.model.trace(&ids[..4], filter).unwrap();
    loaded.model.step(&mut t, ids[4]).unwrap();
    let names: Vec<&str> = t.capture().names().collect();
    assert_eq!(
        names,
        [
            "blocks.0.attn.hook_pattern",
            "blocks.1.attn.hook_pattern",
            "blocks.2.attn.hook_pattern",
            "logits"
        ]
    );
    assert_eq!(
        t.capture().get("logits").unwrap().unwrap().dims(),
        &[1, 5, loaded.model.config().d_vocab]
    );
}

#[test]
fn a_prompt_longer_than_the_context_is_refused_with_both_numbers() {
    let loaded = load("tiny-c"); // n_positions 32
    let n_ctx = loaded.model.config().n_ctx;
    let ids = vec![1u32; n_ctx + 1];
    let err = loaded
        .model
        .trace(&ids, NamesFilter::All)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&(n_ctx + 1).to_string()) && err.contains(&n_ctx.to_string()),
        "{err}"
    );
    let mut t = loaded.model.trace(&ids[..n_ctx], NamesFilter::All).unwrap();
    assert!(loaded.model.step(&mut t, 1).is_err());
    assert_eq!(t.len(), n_ctx);
}
