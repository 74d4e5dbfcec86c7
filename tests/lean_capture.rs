//! The tutor's lean capture: its worker keeps q, k and the residual stream, and computes a head's
//! maps, the heads grid's thumbnails, a position's logits, the losses, the head scores and the
//! residual norms when a view asks. Each is checked here against Hugging Face transformers' tensors
//! (the fixtures' references) or against a full capture of the same prompt, after a prompt, a
//! generated token and a removed one.

mod common;

use std::sync::Arc;

use candle_core::{Device, IndexOp, Tensor};
use common::{fixture_dir, ids_of, reference, rel_err, HF_FIXTURES};
use glassbox::analysis::heads::{head_scores, Criterion};
use glassbox::analysis::heatmap::{pattern_thumbnails, thumbnails_from_qk};
use glassbox::analysis::predictions::token_losses;
use glassbox::analysis::residual::{block_norms, BlockNorms, NormRecorder};
use glassbox::app::worker::{tutor_hooks, Answer, Query, Request, Response, Session, Snapshot};
use glassbox::model::attention_maps::head_maps;
use glassbox::model::{self, Hook, NamesFilter};

const TOL: f64 = 1e-4;

fn load(name: &str) -> model::LoadedModel {
    model::load(Some(fixture_dir(name).to_str().unwrap()), &Device::Cpu)
        .unwrap_or_else(|e| panic!("loading {name}: {e:?}"))
}

/// A head's scores and pattern recomputed from the q and k the tutor keeps equal transformers'
/// `hook_attn_scores` and `hook_pattern`, for every head of every fixture of both families, for all
/// query rows and for a chosen few.
#[test]
fn head_maps_from_q_and_k_match_transformers() {
    for name in HF_FIXTURES {
        let r = reference(name);
        let loaded = load(name);
        let cfg = loaded.model.config();
        let ids = ids_of(&r.tensors["input_ids"]);
        let filter = NamesFilter::parse(&tutor_hooks(cfg));
        let trace = loaded.model.trace(&ids, filter).unwrap();
        let capture = trace.capture();
        assert!(
            !capture.contains("blocks.0.attn.hook_pattern"),
            "{name}: the tutor's capture keeps no pattern"
        );
        let n = ids.len();
        let rows = [0u32, (n / 2) as u32, (n - 1) as u32];
        for l in 0..cfg.n_layers {
            let want_scores = &r.tensors[&format!("blocks.{l}.attn.hook_attn_scores")];
            let want_pattern = &r.tensors[&format!("blocks.{l}.attn.hook_pattern")];
            for h in 0..cfg.n_heads {
                let (scores, pattern) = head_maps(capture, cfg, l, h, None).unwrap();
                let ws = want_scores.i((0, h)).unwrap();
                let wp = want_pattern.i((0, h)).unwrap();
                let err = rel_err(&scores, &ws);
                assert!(err <= TOL, "{name} L{l}H{h} scores: {err:.2e}");
                let err = rel_err(&pattern, &wp);
                assert!(err <= TOL, "{name} L{l}H{h} pattern: {err:.2e}");
                // Some rows only: the same rows.
                let (s3, p3) = head_maps(capture, cfg, l, h, Some(&rows)).unwrap();
                let pick = Tensor::new(&rows, &Device::Cpu).unwrap();
                assert!(rel_err(&s3, &ws.index_select(&pick, 0).unwrap()) <= TOL);
                assert!(rel_err(&p3, &wp.index_select(&pick, 0).unwrap()) <= TOL);
            }
        }
        // A head or a position that is not there is an error, not a panic.
        assert!(head_maps(capture, cfg, 0, cfg.n_heads, None).is_err());
        assert!(head_maps(capture, cfg, 0, 0, Some(&[n as u32])).is_err());
    }
}

/// Thumbnails computed from q and k (only the sampled rows) equal those sampled from the full
/// pattern, and the norms a pass keeps equal those of its full residual hooks.
#[test]
fn thumbnails_and_norms_equal_the_full_capture() {
    for name in HF_FIXTURES {
        let loaded = load(name);
        let cfg = loaded.model.config();
        let ids = loaded
            .codec
            .encode("The keeper watched the boats come home.", true)
            .unwrap();
        let full = loaded.model.trace(&ids, NamesFilter::All).unwrap();
        let mut norms = NormRecorder::new(cfg.n_layers);
        let lean = loaded
            .model
            .trace_with(
                &ids,
                NamesFilter::parse(&tutor_hooks(cfg)),
                Some(&mut norms as &mut dyn Hook),
            )
            .unwrap();
        for l in 0..cfg.n_layers {
            for (rows, cols) in [(3, 5), (64, 64), (1, 1)] {
                let want = pattern_thumbnails(full.capture(), l, rows, cols).unwrap();
                let got = thumbnails_from_qk(lean.capture(), cfg, l, rows, cols).unwrap();
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!((g.rows, g.cols, &g.masked), (w.rows, w.cols, &w.masked));
                    for (a, b) in g.values.iter().zip(&w.values) {
                        assert!(
                            (a - b).abs() <= 1e-5,
                            "{name} L{l} {rows}×{cols}: {a} vs {b}"
                        );
                    }
                }
            }
        }
        let want = block_norms(full.capture(), cfg.n_layers).unwrap();
        assert_norms_close(name, norms.norms(), &want);
    }
}

/// Norms within float32 rounding of each other (two passes may order a sum differently).
fn assert_norms_close(name: &str, got: &[BlockNorms], want: &[BlockNorms]) {
    assert_eq!(got.len(), want.len(), "{name}: layers");
    for (g, w) in got.iter().zip(want) {
        for (a, b) in [
            (&g.resid_pre, &w.resid_pre),
            (&g.attn_out, &w.attn_out),
            (&g.mlp_out, &w.mlp_out),
            (&g.resid_post, &w.resid_post),
        ] {
            assert_eq!(a.len(), b.len(), "{name}: positions");
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-5 * y.max(1.0),
                    "{name}: norm {x} vs {y}"
                );
            }
        }
    }
}

/// Ask the session for one thing about its current snapshot.
fn fetch(session: &mut Session, snap: &Snapshot, query: Query) -> Answer {
    let request = Request::Fetch {
        version: snap.version,
        query: query.clone(),
    };
    let Ok(Response::Fetched(f)) = session.handle(request) else {
        panic!("no answer to {query:?}");
    };
    match f.answer {
        Some(Ok(a)) => a,
        other => panic!("{query:?}: {other:?}"),
    }
}

fn row(a: Answer) -> Arc<Vec<f32>> {
    match a {
        Answer::Row(r) => r,
        other => panic!("not a row: {other:?}"),
    }
}

fn ready(r: Response) -> Snapshot {
    match r {
        Response::Ready(s) => *s,
        Response::Failed(e) => panic!("{e}"),
        _ => panic!("not a snapshot"),
    }
}

/// What the worker answers equals a full capture of the same ids: every position's logits, the
/// losses, every head's map and score, the norms; after the prompt, two generated tokens and a
/// removed one (the losses and norms are kept up incrementally). A question about an older
/// snapshot gets no answer, so the app asks again.
#[test]
fn the_workers_answers_equal_a_full_capture_as_the_prompt_changes() {
    for name in ["tiny-a", "llama-a"] {
        let loaded = load(name);
        let reference = load(name);
        let cfg = reference.model.config().clone();
        let mut session = Session::new(loaded);
        // Words that repeat, so the induction scores have rows to count.
        let first = ready(
            session
                .handle(Request::Prompt(
                    "The keeper watched the boats. The keeper watched".into(),
                ))
                .unwrap(),
        );
        let greedy = glassbox::model::sampling::SamplingConfig::default();
        let changes = [
            None,
            Some(Request::Generate(greedy)),
            Some(Request::Generate(greedy)),
            Some(Request::Pop),
        ];
        for change in changes {
            let snap = &match change {
                None => first.clone(),
                Some(request) => ready(session.handle(request).unwrap()),
            };
            let full = reference.model.trace(&snap.ids, NamesFilter::All).unwrap();
            let c = full.capture();
            let logits = c.require("logits").unwrap().i(0).unwrap(); // [n, d_vocab]
            for pos in 0..snap.ids.len() {
                let got = row(fetch(&mut session, snap, Query::Logits { pos }));
                let got = Tensor::new(got.as_slice(), &Device::Cpu).unwrap();
                let err = rel_err(&got, &logits.i(pos).unwrap());
                assert!(err <= 1e-5, "{name} logits at {pos}: {err:.2e}");
            }
            let want = token_losses(&c.require("logits").unwrap(), &snap.ids).unwrap();
            let got = row(fetch(&mut session, snap, Query::Losses));
            assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-4, "{name} losses {got:?} vs {want:?}");
            }
            for criterion in [
                Criterion::PreviousToken,
                Criterion::FirstToken,
                Criterion::Induction,
            ] {
                let want = head_scores(c, &snap.ids, cfg.n_layers, criterion).unwrap();
                let Answer::HeadScores(got) =
                    fetch(&mut session, snap, Query::HeadScores(criterion))
                else {
                    panic!("not head scores");
                };
                for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                    assert!((g - w).abs() <= 1e-5, "{name} {criterion:?}");
                }
            }
            let Answer::Head { scores, pattern } = fetch(
                &mut session,
                snap,
                Query::Head {
                    layer: cfg.n_layers - 1,
                    head: cfg.n_heads - 1,
                },
            ) else {
                panic!("not a head");
            };
            let n = snap.ids.len();
            let got = Tensor::from_vec(pattern.to_vec(), (n, n), &Device::Cpu).unwrap();
            let want = c
                .require(&format!("blocks.{}.attn.hook_pattern", cfg.n_layers - 1))
                .unwrap()
                .i((0, cfg.n_heads - 1))
                .unwrap();
            assert!(rel_err(&got, &want) <= 1e-5, "{name} pattern");
            assert_eq!(scores.len(), n * n);
            let want = block_norms(c, cfg.n_layers).unwrap();
            assert_norms_close(name, &snap.norms, &want);
        }
        // Asked of a replaced snapshot: no answer.
        let Ok(Response::Fetched(f)) = session.handle(Request::Fetch {
            version: first.version,
            query: Query::Logits { pos: 0 },
        }) else {
            panic!("no reply");
        };
        assert!(
            f.answer.is_none(),
            "{name}: answered about a replaced snapshot"
        );
    }
}

/// The ablated run's logits at any position equal a run with that head zeroed, and a head that is
/// not there is a one-line answer, not a failure of the worker.
#[test]
fn ablated_logits_equal_a_run_with_the_head_zeroed() {
    let loaded = load("tiny-a");
    let reference = load("tiny-a");
    let mut session = Session::new(loaded);
    let snap = ready(
        session
            .handle(Request::Prompt("The keeper watched the boats".into()))
            .unwrap(),
    );
    let heads = vec![(1, 2)];
    let mut zero = glassbox::model::interventions::ZeroAblation::new(&heads);
    let want = reference.model.run_with_hook(&snap.ids, &mut zero).unwrap(); // [n, d_vocab]
    for pos in 0..snap.ids.len() {
        let got = row(fetch(
            &mut session,
            &snap,
            Query::AblatedLogits {
                heads: heads.clone(),
                pos,
            },
        ));
        let got = Tensor::new(got.as_slice(), &Device::Cpu).unwrap();
        assert!(rel_err(&got, &want.i(pos).unwrap()) <= 1e-5, "at {pos}");
    }
    let Ok(Response::Fetched(f)) = session.handle(Request::Fetch {
        version: snap.version,
        query: Query::AblatedLogits {
            heads: vec![(9, 0)],
            pos: 0,
        },
    }) else {
        panic!("no reply");
    };
    let err = f.answer.unwrap().unwrap_err();
    assert!(err.contains('9') && !err.contains('\n'), "{err}");
}

/// With a position what-if (rotation off on a Llama, W_pos zeroed on GPT-2), a head's maps are those
/// of a pass with that what-if: the recorded q and k are the ones the pass really used.
#[test]
fn head_maps_follow_the_position_what_if() {
    use glassbox::model::PositionEdit;
    for name in ["tiny-a", "llama-a"] {
        let loaded = load(name);
        let reference = load(name);
        let cfg = reference.model.config().clone();
        let mut session = Session::new(loaded);
        ready(
            session
                .handle(Request::Prompt("The keeper watched the boats".into()))
                .unwrap(),
        );
        let snap = ready(
            session
                .handle(Request::Positions(Some(PositionEdit::Zeroed)))
                .unwrap(),
        );
        let mut edit = reference.model.position_edit(PositionEdit::Zeroed).unwrap();
        let full = reference
            .model
            .trace_with(
                &snap.ids,
                NamesFilter::parse("blocks.*.attn.hook_pattern"),
                Some(&mut edit as &mut dyn Hook),
            )
            .unwrap();
        let plain = reference
            .model
            .trace(&snap.ids, NamesFilter::parse("blocks.*.attn.hook_pattern"))
            .unwrap();
        let n = snap.ids.len();
        let mut differs = false;
        for layer in 0..cfg.n_layers {
            let Answer::Head { pattern, .. } =
                fetch(&mut session, &snap, Query::Head { layer, head: 0 })
            else {
                panic!("not a head");
            };
            let got = Tensor::from_vec(pattern.to_vec(), (n, n), &Device::Cpu).unwrap();
            let hook = format!("blocks.{layer}.attn.hook_pattern");
            let want = full.capture().require(&hook).unwrap().i((0, 0)).unwrap();
            assert!(rel_err(&got, &want) <= 1e-5, "{name} L{layer}");
            let as_trained = plain.capture().require(&hook).unwrap().i((0, 0)).unwrap();
            differs |= rel_err(&got, &as_trained) > 1e-3;
        }
        assert!(differs, "{name}: the what-if changed no pattern");
    }
}
