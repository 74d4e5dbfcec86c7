//! The position what-if against computations that do not go through its hook.
//!
//! GPT-2 family: a model loaded from the same checkpoint with `wpe.weight` rewritten before loading
//! (all zeros, or its rows in reverse order, built here row by row) and run with no hook at all must
//! give the logits the hook gives, in a full pass and while stepping with the KV cache. Llama family
//! (no rotation): every layer's `hook_attn_scores` must be q·k/√d_head of the captured, unrotated
//! `hook_q` and `hook_k`, computed here in plain loops.

mod common;

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use common::{fixture_dir, rel_err};
use glassbox::model::{self, Gpt2, Hook, Model, NamesFilter, PositionEdit};

const TOL: f64 = 1e-5;

fn bundled_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/glassbox-tiny")
}

/// The checkpoint in `dir` loaded with its position table replaced by `edit(table)`.
fn with_wpe(dir: &std::path::Path, cfg: &model::Config, edit: impl Fn(&Tensor) -> Tensor) -> Model {
    let mut tensors =
        candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    let key = "transformer.wpe.weight";
    let table = tensors.remove(key).expect("a GPT-2 checkpoint has wpe");
    tensors.insert(key.into(), edit(&table));
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    Gpt2::load(vb, cfg, true).unwrap().into()
}

fn zeroed(w: &Tensor) -> Tensor {
    w.zeros_like().unwrap()
}

/// Row p of the result is row n−1−p of `w`, one row at a time.
fn reversed(w: &Tensor) -> Tensor {
    let n = w.dim(0).unwrap();
    let rows: Vec<Tensor> = (0..n).map(|p| w.i(n - 1 - p).unwrap()).collect();
    Tensor::stack(&rows, 0).unwrap()
}

/// Every position's logits of a plain run: [seq, vocab].
fn plain_logits(m: &Model, ids: &[u32]) -> Tensor {
    let t = m.trace(ids, NamesFilter::parse("logits")).unwrap();
    t.capture().require("logits").unwrap().i(0).unwrap()
}

fn gpt2_cases() -> Vec<std::path::PathBuf> {
    vec![fixture_dir("tiny-a"), fixture_dir("tiny-c"), bundled_dir()]
}

fn some_ids(vocab: usize, n: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 37 + 11) % vocab) as u32).collect()
}

#[test]
fn gpt2_edits_match_a_model_loaded_with_that_table() {
    for dir in gpt2_cases() {
        let loaded = model::load(Some(dir.to_str().unwrap()), &Device::Cpu).unwrap();
        let m = &loaded.model;
        let cfg = m.config().clone();
        let ids = some_ids(cfg.d_vocab, 9);
        for (edit, table) in [
            (PositionEdit::Zeroed, zeroed as fn(&Tensor) -> Tensor),
            (PositionEdit::Reversed, reversed),
        ] {
            let reference = plain_logits(&with_wpe(&dir, &cfg, table), &ids);
            let mut hook = m.position_edit(edit).unwrap();
            let got = m.run_with_hook(&ids, &mut hook).unwrap();
            let err = rel_err(&got, &reference);
            assert!(err <= TOL, "{} {edit:?}: {err:.2e}", dir.display());
            // The what-if changes something: the clean run is far from it.
            let clean = rel_err(&plain_logits(m, &ids), &reference);
            assert!(
                clean > 1e-3,
                "{} {edit:?}: clean run too close",
                dir.display()
            );
        }
    }
}

#[test]
fn gpt2_edits_hold_while_stepping_with_the_cache() {
    for dir in gpt2_cases() {
        let loaded = model::load(Some(dir.to_str().unwrap()), &Device::Cpu).unwrap();
        let m = &loaded.model;
        let cfg = m.config().clone();
        let ids = some_ids(cfg.d_vocab, 8);
        for (edit, table) in [
            (PositionEdit::Zeroed, zeroed as fn(&Tensor) -> Tensor),
            (PositionEdit::Reversed, reversed),
        ] {
            let reference = plain_logits(&with_wpe(&dir, &cfg, table), &ids);
            let mut hook = m.position_edit(edit).unwrap();
            let mut trace = m
                .trace_with(&ids[..3], NamesFilter::parse("logits"), Some(&mut hook))
                .unwrap();
            for &id in &ids[3..] {
                m.step_with(&mut trace, id, Some(&mut hook)).unwrap();
            }
            // Pop and step again: pop recomputes the new last position, with the hook.
            m.pop_with(&mut trace, Some(&mut hook)).unwrap();
            m.step_with(&mut trace, ids[7], Some(&mut hook)).unwrap();
            let got = trace.capture().require("logits").unwrap().i(0).unwrap();
            let err = rel_err(&got, &reference);
            assert!(err <= TOL, "{} {edit:?} stepped: {err:.2e}", dir.display());
            let last = rel_err(trace.next_logits(), &reference.i(7).unwrap());
            assert!(
                last <= TOL,
                "{} {edit:?} next logits: {last:.2e}",
                dir.display()
            );
        }
    }
}

/// q·k/√d_head for every head, query and key (GQA: query head h reads key head h / (h / kv)), with
/// −∞ above the diagonal: [1, h, t, t].
fn scores_by_hand(q: &Tensor, k: &Tensor) -> Tensor {
    let q = q.i(0).unwrap().to_vec3::<f32>().unwrap(); // [t, h, dh]
    let k = k.i(0).unwrap().to_vec3::<f32>().unwrap(); // [t, kv, dh]
    let (t, h, dh, kv) = (q.len(), q[0].len(), q[0][0].len(), k[0].len());
    let mut out = vec![f32::NEG_INFINITY; h * t * t];
    for head in 0..h {
        let kh = head / (h / kv);
        for i in 0..t {
            for j in 0..=i {
                let dot: f32 = (0..dh).map(|d| q[i][head][d] * k[j][kh][d]).sum();
                out[(head * t + i) * t + j] = dot / (dh as f32).sqrt();
            }
        }
    }
    Tensor::from_vec(out, (1, h, t, t), &Device::Cpu).unwrap()
}

#[test]
fn llama_without_rotation_scores_unrotated_q_and_k() {
    for name in common::LLAMA_FIXTURES {
        let loaded = model::load(Some(fixture_dir(name).to_str().unwrap()), &Device::Cpu).unwrap();
        let m = &loaded.model;
        let cfg = m.config().clone();
        let ids = some_ids(cfg.d_vocab, 7);
        let names = "blocks.*.attn.hook_q, blocks.*.attn.hook_k, blocks.*.attn.hook_attn_scores";
        let mut hook = m.position_edit(PositionEdit::Zeroed).unwrap();
        // Stepped, so the keys in the cache are the unrotated ones too.
        let mut trace = m
            .trace_with(&ids[..4], NamesFilter::parse(names), Some(&mut hook))
            .unwrap();
        for &id in &ids[4..] {
            m.step_with(&mut trace, id, Some(&mut hook)).unwrap();
        }
        let plain = m.trace(&ids, NamesFilter::parse(names)).unwrap();
        for l in 0..cfg.n_layers {
            let get = |t: &model::Trace, what: &str| {
                let c = t.capture();
                c.require(&format!("blocks.{l}.attn.{what}"))
                    .unwrap()
                    .to_dtype(DType::F32)
                    .unwrap()
            };
            let want = scores_by_hand(&get(&trace, "hook_q"), &get(&trace, "hook_k"));
            let err = rel_err(&get(&trace, "hook_attn_scores"), &want);
            assert!(err <= TOL, "{name} L{l}: {err:.2e}");
            // With rotation the same computation does not give the model's scores.
            let want = scores_by_hand(&get(&plain, "hook_q"), &get(&plain, "hook_k"));
            let err = rel_err(&get(&plain, "hook_attn_scores"), &want);
            assert!(
                err > 1e-3,
                "{name} L{l}: rotation changes nothing? {err:.2e}"
            );
        }
    }
}

#[test]
fn llama_refuses_reversed_positions() {
    let loaded = model::load(Some(fixture_dir("llama-a").to_str().unwrap()), &Device::Cpu).unwrap();
    assert!(!loaded.model.can_edit_positions(PositionEdit::Reversed));
    assert!(loaded.model.can_edit_positions(PositionEdit::Zeroed));
    let e = loaded
        .model
        .position_edit(PositionEdit::Reversed)
        .unwrap_err();
    assert!(e.to_string().contains("rotates q and k"), "{e}");
}

#[test]
fn the_hook_wants_only_its_points() {
    let loaded = model::load(Some(fixture_dir("tiny-a").to_str().unwrap()), &Device::Cpu).unwrap();
    let hook = loaded.model.position_edit(PositionEdit::Zeroed).unwrap();
    let cfg = loaded.model.config();
    let wanted: Vec<String> = model::hooks::hooks_in_order(cfg)
        .filter(|&p| hook.wants(p))
        .map(|p| p.name())
        .collect();
    assert_eq!(wanted, ["hook_pos_embed"]);
}

/// Lesson 6's "attention is a bag", exactly: with no position embedding the first layer's last
/// query sees only which tokens come before it, so a sentence and its word-swapped version give each
/// word the same weight there. With the learned positions they do not, and neither does the second
/// layer without positions (the causal mask lets order in: each earlier token saw another prefix).
#[test]
fn without_positions_the_first_layer_weighs_words_not_places() {
    let loaded = model::load(Some(bundled_dir().to_str().unwrap()), &Device::Cpu).unwrap();
    let m = &loaded.model;
    // Each word's weight in the last row, for every head: (head, word) -> weight.
    let weights = |prompt: &str, edit: Option<PositionEdit>, layer: usize| {
        let name = format!("blocks.{layer}.attn.hook_pattern");
        let name = name.as_str();
        let ids = loaded.codec.encode(prompt, true).unwrap();
        let mut hook = edit.map(|e| m.position_edit(e).unwrap());
        let t = m
            .trace_with(
                &ids,
                NamesFilter::parse(name),
                hook.as_mut().map(|h| h as &mut dyn Hook),
            )
            .unwrap();
        let p = t.capture().require(name).unwrap().i(0).unwrap(); // [h, t, t]
        let last = p.i((.., ids.len() - 1)).unwrap().to_vec2::<f32>().unwrap(); // [h, t]
        let mut by_word = std::collections::BTreeMap::new();
        for (h, row) in last.iter().enumerate() {
            for (&id, &w) in ids.iter().zip(row) {
                *by_word.entry((h, id)).or_insert(0f32) += w;
            }
        }
        by_word
    };
    let (a, b) = ("The dog bit the man. The", "The man bit the dog. The");
    let zeroed = Some(PositionEdit::Zeroed);
    let most_apart = |x: &std::collections::BTreeMap<(usize, u32), f32>,
                      y: &std::collections::BTreeMap<(usize, u32), f32>| {
        assert_eq!(x.len(), y.len());
        x.iter().map(|(k, w)| (w - y[k]).abs()).fold(0f32, f32::max)
    };
    let same = most_apart(&weights(a, zeroed, 0), &weights(b, zeroed, 0));
    assert!(same < 1e-5, "layer 0 without positions: {same}");
    let learned = most_apart(&weights(a, None, 0), &weights(b, None, 0));
    assert!(
        learned > 1e-2,
        "layer 0 with positions: the orders weigh words alike ({learned})"
    );
    let later = most_apart(&weights(a, zeroed, 1), &weights(b, zeroed, 1));
    assert!(
        later > 1e-2,
        "layer 1 without positions: the orders weigh words alike ({later})"
    );
}

/// In the tutor: p cycles learned → zeroed → reversed → learned; each snapshot is the run with
/// that what-if (its logits those of a plain pass with the hook), the loss strip follows it (no loss
/// kept from the other run of the same ids), and a generated token is stepped with it.
#[test]
fn the_tutor_shows_the_run_with_positions_changed() {
    use glassbox::app::worker::{serve_inline, start_inline};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let reference = model::load(None, &Device::Cpu).unwrap();
    let (mut app, mut session) = start_inline(loaded, "The dog bit the man. The").unwrap();
    let ids = app.snap.as_ref().unwrap().ids.clone();
    let clean_losses = app.token_losses().unwrap();
    let press = |app: &mut glassbox::app::App, session: &mut glassbox::app::worker::Session, c| {
        let out = app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        serve_inline(app, session, out).unwrap();
    };
    for want in [
        Some(PositionEdit::Zeroed),
        Some(PositionEdit::Reversed),
        None,
    ] {
        press(&mut app, &mut session, 'p');
        let snap = app.snap.as_ref().unwrap();
        assert_eq!(snap.positions, want);
        assert_eq!(snap.ids, ids);
        let got = tutor_logits(&app, &mut session);
        let m = &reference.model;
        let expected = match want {
            Some(e) => m
                .run_with_hook(&ids, &mut m.position_edit(e).unwrap())
                .unwrap(),
            None => plain_logits(m, &ids),
        };
        assert!(rel_err(&got, &expected) <= TOL, "{want:?}");
        let losses = app.token_losses().unwrap();
        let fresh = glassbox::analysis::predictions::token_losses(&got.unsqueeze(0).unwrap(), &ids)
            .unwrap();
        let close = |a: &[f32], b: &[f32]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-4)
        };
        assert!(
            close(&losses, &fresh),
            "{want:?}: the loss strip is another run's"
        );
        assert_eq!(want.is_none(), close(&losses, &clean_losses), "{want:?}");
    }
    // Zeroed again, then a generated token: stepped with the what-if.
    press(&mut app, &mut session, 'p');
    press(&mut app, &mut session, 'n');
    let snap = app.snap.as_ref().unwrap();
    assert_eq!(snap.positions, Some(PositionEdit::Zeroed));
    let m = &reference.model;
    let expected = m
        .run_with_hook(
            &snap.ids,
            &mut m.position_edit(PositionEdit::Zeroed).unwrap(),
        )
        .unwrap();
    let got = tutor_logits(&app, &mut session);
    assert!(rel_err(&got, &expected) <= TOL);
}

/// Every position's logits as the tutor's worker answers a view that asks for them: [seq, d_vocab].
fn tutor_logits(
    app: &glassbox::app::App,
    session: &mut glassbox::app::worker::Session,
) -> candle_core::Tensor {
    use glassbox::app::worker::{Answer, Query, Request, Response};
    let snap = app.snap.as_ref().unwrap();
    let rows: Vec<candle_core::Tensor> = (0..snap.ids.len())
        .map(|pos| {
            let request = Request::Fetch {
                version: snap.version,
                query: Query::Logits { pos },
            };
            let Ok(Response::Fetched(f)) = session.handle(request) else {
                panic!("no answer for the logits at {pos}");
            };
            let Some(Ok(Answer::Row(row))) = f.answer else {
                panic!("no logits at {pos}: {:?}", f.answer.map(|a| a.err()));
            };
            candle_core::Tensor::new(row.as_slice(), &Device::Cpu).unwrap()
        })
        .collect();
    candle_core::Tensor::stack(&rows, 0).unwrap()
}

/// `lessons check` against a rotary model: a step that reverses positions, or asks for it, is
/// reported; zeroing (rotation off) is not.
#[test]
fn lessons_check_reports_reversed_positions_on_a_rotary_model() {
    use glassbox::lesson::{check::check_against, Lesson};
    let loaded = model::load(Some(fixture_dir("llama-a").to_str().unwrap()), &Device::Cpu).unwrap();
    let lesson = |mode: &str| {
        let text = format!(
            "+++\nid = \"x\"\ntitle = \"x\"\nsummary = \"x\"\nprompt = \"a b c\"\nmodel = \"llama-a\"\n+++\n\
             ## S\n```view\npositions = \"{mode}\"\n```\n\n```task\nkind = \"positions\"\nmode = \"{mode}\"\ngoal = \"g\"\n```\n"
        );
        Lesson::parse(std::path::Path::new("x.md"), &text).unwrap()
    };
    let problems = check_against(&lesson("reversed"), &loaded);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    for p in &problems {
        assert!(p.message.contains("no learned position table"), "{p:?}");
    }
    assert!(check_against(&lesson("zeroed"), &loaded).is_empty());
}

/// On a rotary model p goes learned → zeroed (rotation off) → learned: there is no table to reverse,
/// and the status line says so.
#[test]
fn on_a_rotary_model_p_turns_the_rotation_off_and_on() {
    use glassbox::app::worker::{serve_inline, start_inline};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let loaded = model::load(Some(fixture_dir("llama-a").to_str().unwrap()), &Device::Cpu).unwrap();
    let (mut app, mut session) = start_inline(loaded, "a b c d").unwrap();
    let mut press = |app: &mut glassbox::app::App| {
        let out = app.on_key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::NONE));
        serve_inline(app, &mut session, out).unwrap();
    };
    press(&mut app);
    assert_eq!(
        app.snap.as_ref().unwrap().positions,
        Some(PositionEdit::Zeroed)
    );
    assert_eq!(
        app.positions_label(Some(PositionEdit::Zeroed)),
        Some("rotation off")
    );
    assert!(app.status.contains("rotation off"), "{}", app.status);
    press(&mut app);
    assert_eq!(app.snap.as_ref().unwrap().positions, None);
    assert!(
        app.status.contains("no position table to reverse"),
        "{}",
        app.status
    );
    assert!(app.error.is_none(), "{:?}", app.error);
}
