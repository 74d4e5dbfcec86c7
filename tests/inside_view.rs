//! The Inside view in the tutor: asked of the worker when opened, redrawn for the head and the
//! cursor, and drawn at 80×24 and 120×36 with the numbers the worker computed.

use candle_core::{Device, IndexOp};
use glassbox::app::worker::{Request, Session};
use glassbox::app::{App, View};
use glassbox::model;
use glassbox::ui::theme::ColorMode;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "common/screen.rs"]
mod screen;
use screen::{render, text};

const PROMPT: &str =
    "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";

fn started(loaded: model::LoadedModel, prompt: &str) -> (App, Session) {
    glassbox::app::worker::start_inline(loaded, prompt).unwrap()
}

fn key(app: &mut App, code: KeyCode) -> Vec<Request> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press(app: &mut App, session: &mut Session, code: KeyCode) {
    let requests = key(app, code);
    glassbox::app::worker::serve_inline(app, session, requests).unwrap();
}

/// The view's weight column is hook_pattern's row at the cursor, as a pass of the prompt records it.
fn assert_weights_match_the_snapshot(app: &App, session: &Session) {
    let answer = app.inside_current().expect("answered");
    let data = answer.data.as_ref().unwrap().as_ref().unwrap();
    let snap = app.snap.as_ref().unwrap();
    let filter = glassbox::model::NamesFilter::parse("blocks.*.attn.hook_pattern");
    let trace = session.loaded.model.trace(&snap.ids, filter).unwrap();
    let pattern = trace
        .capture()
        .require(&format!("blocks.{}.attn.hook_pattern", app.layer))
        .unwrap()
        .i((0, app.head, app.cursor))
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(data.keys.len(), app.cursor + 1);
    for t in &data.keys {
        assert_eq!(t.weight, pattern[t.key], "key {}", t.key);
    }
    assert_eq!(
        (data.layer, data.head, data.query),
        (app.layer, app.head, app.cursor)
    );
}

#[test]
fn opening_the_view_asks_the_worker_once_and_shows_computing_until_answered() {
    let (mut app, mut s) = started(model::load(None, &Device::Cpu).unwrap(), PROMPT);
    let requests = key(&mut app, KeyCode::Char('4'));
    assert_eq!(app.view, View::Inside);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(matches!(requests[0], Request::Inside(_)));
    assert!(
        app.waiting(),
        "the spinner turns while the answer is on its way"
    );
    let screen = text(&render(&app, ColorMode::Mono, 80, 24));
    assert!(screen.contains("computing"), "{screen}");
    // A key that changes nothing the view needs does not ask again.
    assert!(key(&mut app, KeyCode::Char('?')).is_empty());
    key(&mut app, KeyCode::Esc);
    glassbox::app::worker::serve_inline(&mut app, &mut s, requests).unwrap();
    assert!(!app.waiting());
    assert_weights_match_the_snapshot(&app, &s);

    // Another head, layer and query: asked and answered again.
    press(&mut app, &mut s, KeyCode::Down);
    press(&mut app, &mut s, KeyCode::Char(']'));
    press(&mut app, &mut s, KeyCode::Left);
    assert_weights_match_the_snapshot(&app, &s);
    // A generated token replaces the snapshot: the view asks about the new one.
    press(&mut app, &mut s, KeyCode::Char('n'));
    assert_weights_match_the_snapshot(&app, &s);
}

/// Every part of the view on both screens: the key table with the cursor's key, the masked future,
/// ‖z‖, the heads' writes and the MLP's neurons; the numbers drawn are the answer's.
#[test]
fn the_view_fits_80x24_and_120x36_with_the_answers_numbers() {
    let (mut app, mut s) = started(model::load(None, &Device::Cpu).unwrap(), PROMPT);
    press(&mut app, &mut s, KeyCode::Char('4'));
    // A query in the middle, so some keys are in the masked future.
    for _ in 0..20 {
        press(&mut app, &mut s, KeyCode::Left);
    }
    let data = app
        .inside_current()
        .and_then(|a| a.data.clone())
        .unwrap()
        .unwrap();
    let query = data.keys.last().unwrap().clone();
    for (w, h) in [(80, 24), (120, 36)] {
        let screen = text(&render(&app, ColorMode::Mono, w, h));
        for part in [
            "q·k",
            "score",
            "weight",
            "‖w·v‖",
            "‖z‖",
            "masked",
            "attn_out",
            "MLP",
        ] {
            assert!(screen.contains(part), "{w}×{h} lacks {part:?}:\n{screen}");
        }
        assert!(!screen.contains("computing"), "{w}×{h}:\n{screen}");
        // The query's own key row, with its numbers as the worker computed them.
        let row = screen
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", query.key)))
            .unwrap_or_else(|| panic!("{w}×{h}: no row for key {}:\n{screen}", query.key));
        assert!(row.contains(&format!("{:.3}", query.weight)), "{row}");
        assert!(row.contains(&format!("{:.2}", query.qk)), "{row}");
        assert!(
            screen.contains(&format!("‖z‖ {:.2}", data.z_norm)),
            "{screen}"
        );
        let top = &data.neurons[0];
        assert!(
            screen.contains(&format!("n{:<5}{:>7.2}", top.index, top.value)),
            "{w}×{h}: top neuron:\n{screen}"
        );
        for (hd, wr) in data.writes.iter().enumerate() {
            assert!(
                screen.contains(&format!("H{hd:<3}{:>7.2}", wr)),
                "{w}×{h}: head {hd}'s write:\n{screen}"
            );
        }
    }
}

/// Every size from the smallest the tutor draws to a wide screen, with and without a lesson open:
/// nothing panics.
#[test]
fn the_view_draws_at_any_size() {
    let (mut app, mut s) = started(model::load(None, &Device::Cpu).unwrap(), PROMPT);
    press(&mut app, &mut s, KeyCode::Char('4'));
    for w in (30..=160).step_by(7) {
        for h in (8..=44).step_by(3) {
            let buf = render(&app, ColorMode::Mono, w, h);
            assert_eq!(buf.area.width, w);
        }
    }
}

/// A grouped-query Llama fixture: the view names the key/value head the selected head reads.
#[test]
fn a_grouped_query_model_names_the_shared_key_value_head() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama-a");
    let loaded = model::load(Some(dir.to_str().unwrap()), &Device::Cpu).unwrap();
    let cfg = loaded.model.config().clone();
    assert!(cfg.n_kv_heads < cfg.n_heads, "llama-a is grouped-query");
    let (mut app, mut s) = started(loaded, "The light must never go out.");
    press(&mut app, &mut s, KeyCode::Char('4'));
    press(&mut app, &mut s, KeyCode::Up); // the last head
    let data = app
        .inside_current()
        .and_then(|a| a.data.clone())
        .unwrap()
        .unwrap();
    let group = cfg.n_heads / cfg.n_kv_heads;
    assert_eq!(data.kv_head, (cfg.n_heads - 1) / group);
    assert!(data.rotated);
    let screen = text(&render(&app, ColorMode::Mono, 120, 36));
    assert!(
        screen.contains(&format!("kv head {}", data.kv_head)),
        "{screen}"
    );
}

/// With a lesson's text under the view at 80×24 the view has a few rows: the heaviest keys, ‖z‖,
/// and the joined heads and the MLP's neurons in a line each, as lesson 7's Neurons step describes.
#[test]
fn under_a_lesson_at_80x24_the_neurons_and_attn_out_stay_on_screen() {
    let (mut app, mut s) = started(model::load(None, &Device::Cpu).unwrap(), PROMPT);
    let (all, _) = glassbox::lesson::Source::Builtin.load();
    let (index, lesson) = glassbox::lesson::find(&all, "residual").unwrap();
    let step = lesson
        .steps
        .iter()
        .position(|s| s.title == "Neurons")
        .expect("lesson 7 has a Neurons step");
    app.lessons = glassbox::app::lessons::Lessons::new(all.clone(), Vec::new(), Default::default());
    let requests = app.open_lesson(index);
    glassbox::app::worker::serve_inline(&mut app, &mut s, requests).unwrap();
    let mut requests = app.go_to_step(step);
    // What the event loop does after any key: ask for what the view needs.
    requests.extend(app.follow_ups());
    glassbox::app::worker::serve_inline(&mut app, &mut s, requests).unwrap();
    assert_eq!(app.view, View::Inside);
    let data = app
        .inside_current()
        .and_then(|a| a.data.clone())
        .unwrap()
        .unwrap();
    let screen = text(&render(&app, ColorMode::Mono, 80, 24));
    let top = &data.neurons[0];
    for part in [
        format!(
            "L{} MLP neurons: n{} {:.2}",
            app.layer, top.index, top.value
        ),
        format!("attn_out ‖{:.2}‖", data.attn_out_norm),
        format!("‖z‖ {:.2}", data.z_norm),
        "Neurons".to_string(),
    ] {
        assert!(screen.contains(&part), "lacks {part:?}:\n{screen}");
    }
}

/// An answer about a snapshot the worker has replaced carries no data, and the app keeps waiting
/// for (and asks about) the current one.
#[test]
fn a_stale_question_gets_no_data_and_is_asked_again() {
    let (mut app, mut s) = started(model::load(None, &Device::Cpu).unwrap(), PROMPT);
    let requests = key(&mut app, KeyCode::Char('4'));
    let Some(Request::Inside(asked)) = requests.first().cloned() else {
        panic!("{requests:?}")
    };
    // A token generated before the worker reads the question: the question is now stale.
    let generate = key(&mut app, KeyCode::Char('n'));
    let ready = s.handle(generate[0].clone()).unwrap();
    let stale = s.handle(Request::Inside(asked)).unwrap();
    let glassbox::app::worker::Response::Inside(answer) = &stale else {
        panic!("not an Inside answer")
    };
    assert!(answer.data.is_none(), "asked of version {}", asked.version);
    let follow = app.on_response(stale);
    assert!(follow.is_empty());
    assert!(app.inside_current().is_none());
    let follow = app.on_response(ready);
    // Asked again of the new snapshot (besides the next-token panel's logits and losses).
    let inside: Vec<&Request> = follow
        .iter()
        .filter(|r| matches!(r, Request::Inside(_)))
        .collect();
    assert!(
        matches!(inside.as_slice(), [Request::Inside(k)] if k.version > asked.version),
        "{follow:?}"
    );
    glassbox::app::worker::serve_inline(&mut app, &mut s, follow).unwrap();
    assert_weights_match_the_snapshot(&app, &s);
}
