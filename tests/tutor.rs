//! The tutor without a terminal: key handling through `App`, the worker's `Session` answering in the
//! same thread, and rendering into ratatui's `TestBackend` (insta snapshots show symbols; colours are
//! checked cell by cell).

use candle_core::Device;
use glassbox::analysis::heatmap::attention_pattern;
use glassbox::app::worker::{Request, Session};
use glassbox::app::{App, Effect, Overlay, View};
use glassbox::model;
use glassbox::ui::theme::{ColorMode, Theme};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

#[path = "common/screen.rs"]
mod screen;
use screen::{render, text};

const PROMPT: &str =
    "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";

/// An app with the bundled model loaded and `prompt` run, and the session that serves it.
fn started(prompt: &str) -> (App, Session) {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    glassbox::app::worker::start_inline(loaded, prompt).unwrap()
}

/// Answer requests (and the follow-ups they cause) as the worker thread would.
fn serve(app: &mut App, session: &mut Session, queue: Vec<Request>) {
    glassbox::app::worker::serve_inline(app, session, queue).unwrap();
}

fn press(app: &mut App, session: &mut Session, code: KeyCode) {
    let requests = app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    serve(app, session, requests);
}

/// The screen's text once what a frame of this size asks for (the heads grid's thumbnails) has
/// been answered, as the event loop draws it a moment later.
fn settled(app: &mut App, session: &mut Session, mode: ColorMode, w: u16, h: u16) -> String {
    glassbox::app::worker::settle(app, session, |a| {
        render(a, mode, w, h);
    })
    .unwrap();
    text(&render(app, mode, w, h))
}

/// Every pattern and the logits of the prompt on screen, from a pass of their own: the reference
/// the tutor's answers are compared with.
fn full_capture(app: &App, session: &Session) -> glassbox::model::Capture {
    let snap = app.snap.as_ref().unwrap();
    let filter = glassbox::model::NamesFilter::parse("blocks.*.attn.hook_pattern, logits");
    let trace = session.loaded.model.trace(&snap.ids, filter).unwrap();
    trace.capture().clone()
}

#[test]
fn cursor_head_and_layer_keys_move_and_wrap() {
    let (mut app, mut s) = started(PROMPT);
    let n = app.n_tokens();
    assert_eq!(app.cursor, n - 1, "the cursor starts on the last token");
    press(&mut app, &mut s, KeyCode::Right);
    assert_eq!(app.cursor, n - 1, "it stops at the end");
    press(&mut app, &mut s, KeyCode::Left);
    press(&mut app, &mut s, KeyCode::Char('h'));
    assert_eq!(app.cursor, n - 3);
    press(&mut app, &mut s, KeyCode::Home);
    assert_eq!(app.cursor, 0);
    press(&mut app, &mut s, KeyCode::Left);
    assert_eq!(app.cursor, 0);

    let (layers, heads) = app.dims();
    press(&mut app, &mut s, KeyCode::Up);
    assert_eq!(app.head, heads - 1, "↑ from head 0 wraps to the last head");
    press(&mut app, &mut s, KeyCode::Char('j'));
    assert_eq!(app.head, 0);
    press(&mut app, &mut s, KeyCode::Char('['));
    assert_eq!(app.layer, layers - 1);
    press(&mut app, &mut s, KeyCode::Char(']'));
    assert_eq!(app.layer, 0);
}

#[test]
fn tab_cycles_every_view_and_digits_jump() {
    let (mut app, mut s) = started(PROMPT);
    let mut seen = vec![app.view];
    for _ in 1..View::ALL.len() {
        press(&mut app, &mut s, KeyCode::Tab);
        seen.push(app.view);
    }
    assert_eq!(seen, View::ALL.to_vec());
    press(&mut app, &mut s, KeyCode::Tab);
    assert_eq!(app.view, View::Attention);
    press(&mut app, &mut s, KeyCode::BackTab);
    assert_eq!(app.view, View::Lesson);
    press(&mut app, &mut s, KeyCode::Char('3'));
    assert_eq!(app.view, View::Scores);
}

#[test]
fn generating_appends_the_greedy_token_and_backspace_removes_it() {
    let (mut app, mut s) = started(PROMPT);
    let n = app.n_tokens();
    let probs = app.next_probs().unwrap();
    let best = glassbox::analysis::predictions::argmax(&probs) as u32;
    press(&mut app, &mut s, KeyCode::Char('n'));
    let snap = app.snap.as_ref().unwrap();
    assert_eq!(snap.ids.len(), n + 1);
    assert_eq!(
        snap.ids[n], best,
        "greedy generation takes the most probable token"
    );
    assert_eq!(app.prompt_len, n, "the new token is marked generated");
    assert_eq!(app.cursor, n, "the cursor follows the new token");
    press(&mut app, &mut s, KeyCode::Backspace);
    assert_eq!(app.n_tokens(), n);
    assert_eq!(app.cursor, n - 1);
}

#[test]
fn generate_presses_while_the_model_works_are_queued_not_dropped() {
    let (mut app, mut s) = started("The dog bit the man.");
    let before = app.n_tokens();
    let n = || KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE);
    // Five presses before the worker answers the first: four wait, and the status line says so.
    let mut requests = Vec::new();
    for _ in 0..5 {
        requests.extend(app.on_key(n()));
    }
    assert_eq!((requests.len(), app.queued), (1, 4));
    let screen = text(&render(&app, ColorMode::Mono, 120, 36));
    assert!(screen.contains("generating… (4 more queued)"), "{screen}");
    // Backspace takes back a waiting press rather than a token.
    requests.extend(app.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)));
    assert_eq!(app.queued, 3);
    serve(&mut app, &mut s, requests);
    assert_eq!(
        app.n_tokens(),
        before + 4,
        "every press that was not taken back ran"
    );
    assert_eq!(app.queued, 0);
    assert!(app.busy.is_none());
}

#[test]
fn editing_the_prompt_runs_the_new_text() {
    let (mut app, mut s) = started(PROMPT);
    press(&mut app, &mut s, KeyCode::Char('e'));
    assert_eq!(
        app.overlay,
        Overlay::Editing(PROMPT.into()),
        "the editor opens on the current text"
    );
    for _ in 0.." Zorva".len() {
        press(&mut app, &mut s, KeyCode::Backspace);
    }
    for c in " the dog".chars() {
        press(&mut app, &mut s, KeyCode::Char(c));
    }
    press(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.overlay, Overlay::None);
    assert!(
        app.full_text().ends_with("The next day, the dog"),
        "{}",
        app.full_text()
    );
    assert_eq!(
        app.prompt_len,
        app.n_tokens(),
        "an edited prompt has no generated tokens"
    );
    // Esc leaves the prompt as it was.
    press(&mut app, &mut s, KeyCode::Char('e'));
    press(&mut app, &mut s, KeyCode::Char('x'));
    press(&mut app, &mut s, KeyCode::Esc);
    assert!(app.full_text().ends_with("the dog"));
}

#[test]
fn temperature_and_sampling_keys_change_the_distribution_shown() {
    let (mut app, mut s) = started(PROMPT);
    let p1 = app.next_probs().unwrap();
    press(&mut app, &mut s, KeyCode::Char('+'));
    assert!(app.sampling.temperature > 1.0);
    let hot = app.next_probs().unwrap();
    let ent = glassbox::analysis::predictions::entropy_bits;
    assert!(
        ent(&hot) > ent(&p1),
        "a higher temperature flattens the distribution"
    );
    press(&mut app, &mut s, KeyCode::Char('s'));
    assert!(app.sampling.sample);
    let requests = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    match requests.as_slice() {
        [Request::Generate(cfg)] => {
            assert_eq!(cfg.temperature, f64::from(app.sampling.temperature))
        }
        other => panic!("expected one Generate request, got {other:?}"),
    }
}

#[test]
fn ablating_a_head_reruns_the_model_and_changes_the_prediction() {
    let (mut app, mut s) = started(PROMPT);
    let clean = app.next_probs().unwrap();
    press(&mut app, &mut s, KeyCode::Char('a'));
    assert_eq!(app.what_if.ablation, Some((0, 0)));
    let ablated = app.ablated_probs().expect("the ablated run arrived");
    let diff: f32 = clean.iter().zip(&ablated).map(|(a, b)| (a - b).abs()).sum();
    assert!(
        diff > 1e-4,
        "zeroing a head changes the next-token distribution"
    );
    press(&mut app, &mut s, KeyCode::Char('a'));
    assert_eq!(app.what_if.ablation, None);
    assert!(app.ablated_probs().is_none());
}

#[test]
fn help_opens_and_any_key_closes_it_and_q_quits() {
    let (mut app, mut s) = started(PROMPT);
    press(&mut app, &mut s, KeyCode::Char('?'));
    assert_eq!(app.overlay, Overlay::Help { scroll: 0 });
    assert!(text(&render(&app, ColorMode::TrueColor, 100, 30)).contains("ablate the selected head"));
    press(&mut app, &mut s, KeyCode::Char('x'));
    assert!(app.overlay == Overlay::None && !app.quit);
    // On 80 × 24 the list does not fit: ↓ scrolls to its end, ↑ back, and the box stays open.
    press(&mut app, &mut s, KeyCode::Char('?'));
    let short = |app: &App| text(&render(app, ColorMode::TrueColor, 80, 24));
    assert!(short(&app).contains("Keys · ↑↓ scroll") && !short(&app).contains("q / Esc / Ctrl-C"));
    // The cut list says so at its bottom border, and at the end that there is more above.
    assert!(short(&app).contains("more lines ▼"), "{}", short(&app));
    for _ in 0..30 {
        press(&mut app, &mut s, KeyCode::Down);
    }
    assert!(!short(&app).contains("more lines ▼") && short(&app).contains(" ▲ "));
    assert!(
        matches!(app.overlay, Overlay::Help { scroll } if scroll > 0)
            && short(&app).contains("q / Esc / Ctrl-C  quit")
    );
    assert!(!short(&app).contains("move the cursor token"));
    for _ in 0..30 {
        press(&mut app, &mut s, KeyCode::Up);
    }
    assert!(short(&app).contains("move the cursor token"));
    press(&mut app, &mut s, KeyCode::Esc);
    assert!(app.overlay == Overlay::None && !app.quit);
    press(&mut app, &mut s, KeyCode::Char('?'));
    press(&mut app, &mut s, KeyCode::Char('q'));
    assert!(app.quit);
    let (mut app, _) = started(PROMPT);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn the_lens_view_asks_for_and_shows_the_logit_lens() {
    let (mut app, mut s) = started(PROMPT);
    press(&mut app, &mut s, KeyCode::Char('7'));
    let answer = app.lens.as_ref().expect("lens rows for the cursor");
    let rows = &answer.rows;
    assert_eq!(answer.pos, app.cursor);
    assert_eq!(rows.len(), app.dims().0 + 1);
    // The last row reads the final residual stream: it is the model's own prediction.
    let model_top = glassbox::analysis::predictions::argmax(&app.next_probs().unwrap()) as u32;
    assert_eq!(rows.last().unwrap().0.top[0].0, model_top);
    let screen = text(&render(&app, ColorMode::TrueColor, 120, 40));
    assert!(screen.contains("blocks.3.hook_resid_post"), "{screen}");
}

#[test]
fn heatmap_cells_use_the_colour_map_and_mask_the_future() {
    let (app, s) = started("The dog bit the man.");
    let buf = render(&app, ColorMode::TrueColor, 120, 40);
    let snap = app.snap.as_ref().unwrap();
    let map = attention_pattern(&full_capture(&app, &s), 0, 0, &snap.tokens).unwrap();
    let hit = app.hits.borrow().heatmap.expect("the heatmap was placed");
    // One row per line, and a fixed number of columns per key: find the cursor's line.
    let line = hit.area.y + (app.cursor - hit.row0) as u16;
    let cols_per_key = if 2 * map.cols <= usize::from(hit.area.width) {
        2
    } else {
        1
    };
    let theme = Theme::new(ColorMode::TrueColor);
    let best = map.argmax_in_row(app.cursor).unwrap();
    let best_x = hit.area.x + (best * cols_per_key) as u16;
    let expected = theme.color(
        glassbox::ui::theme::Palette::Sequential,
        map.get(app.cursor, best).unwrap(),
    );
    assert_eq!(buf[(best_x, line)].bg, expected, "the strongest key's cell");
    // Row 0 sees only key 0: key 1 on row 0 is masked.
    assert_eq!(hit.row0, 0, "a short prompt fits");
    let row0_line = hit.area.y;
    let masked_x = hit.area.x + cols_per_key as u16;
    assert_eq!(buf[(masked_x, row0_line)].bg, theme.masked());
    assert_ne!(theme.masked(), expected);
    assert!(matches!(expected, Color::Rgb(..)));
}

#[test]
fn without_colour_the_heatmap_uses_the_glyph_ramp() {
    let (app, _) = started("The dog bit the man.");
    let buf = render(&app, ColorMode::Mono, 120, 40);
    let screen = text(&buf);
    assert!(screen.contains('█') || screen.contains('▓'), "{screen}");
    assert!(screen.contains('·'), "masked cells are dotted");
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            assert!(
                matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset),
                "no colour at ({x},{y}): {c:?}"
            );
        }
    }
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_panic() {
    let (app, _) = started(PROMPT);
    let screen = text(&render(&app, ColorMode::TrueColor, 20, 5));
    assert!(screen.contains("too small"), "{screen}");
    for (w, h) in [(30, 8), (40, 12), (80, 24), (200, 60), (1, 1)] {
        for view in View::ALL {
            let mut app = started(PROMPT).0;
            app.view = view;
            render(&app, ColorMode::TrueColor, w, h);
            render(&app, ColorMode::Mono, w, h);
        }
    }
}

#[test]
fn clicking_a_token_moves_the_cursor() {
    let (mut app, _) = started(PROMPT);
    render(&app, ColorMode::TrueColor, 120, 40);
    let (rect, index) = app.hits.borrow().tokens[3];
    app.on_mouse(ratatui::crossterm::event::MouseEvent {
        kind: ratatui::crossterm::event::MouseEventKind::Down(
            ratatui::crossterm::event::MouseButton::Left,
        ),
        column: rect.x,
        row: rect.y,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.cursor, index);
}

#[test]
fn screens_snapshot() {
    let (mut app, mut s) = started(PROMPT);
    insta::assert_snapshot!(
        "attention_120x40",
        text(&render(&app, ColorMode::TrueColor, 120, 40))
    );
    insta::assert_snapshot!(
        "attention_80x24",
        text(&render(&app, ColorMode::TrueColor, 80, 24))
    );
    insta::assert_snapshot!(
        "attention_mono_80x24",
        text(&render(&app, ColorMode::Mono, 80, 24))
    );
    for (key, name) in [
        ('2', "heads"),
        ('3', "scores"),
        ('4', "inside"),
        ('5', "positions"),
        ('6', "residual"),
        ('7', "lens"),
        ('i', "attribution"),
        ('8', "next"),
        ('9', "training"),
        ('i', "scaling"),
    ] {
        press(&mut app, &mut s, KeyCode::Char(key));
        insta::assert_snapshot!(
            name,
            settled(&mut app, &mut s, ColorMode::TrueColor, 120, 40)
        );
    }
}

#[test]
fn the_training_view_draws_the_bundled_models_log_and_the_scaling_family() {
    let (mut app, mut s) = started(PROMPT);
    press(&mut app, &mut s, KeyCode::Char('9'));
    assert_eq!(app.view, View::Training);
    assert_eq!(app.panel_name(), "training");
    // The onset the view names is the log's own, read independently here.
    let log = glassbox::analysis::training::TrainLog::read(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/glassbox-tiny/train_log.csv"
    )))
    .unwrap();
    let onset = log.induction_onset().unwrap();
    for (w, h) in [(80, 24), (120, 36)] {
        let screen = text(&render(&app, ColorMode::TrueColor, w, h));
        let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
        let appears = format!(
            "induction head {} appears at step {}",
            onset.head, onset.step
        );
        assert!(flat.contains(&appears), "{w}x{h}: {screen}");
        assert!(flat.contains("held-out 1.50"), "{w}x{h}: {screen}");
        assert!(screen.contains("━ induction"), "{w}x{h}: {screen}");
    }
    // i turns to the scaling family, and lessons see it as its own panel.
    press(&mut app, &mut s, KeyCode::Char('i'));
    assert_eq!(app.panel_name(), "scaling");
    let family = glassbox::analysis::scaling::Family::read(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/scaling"
    )))
    .unwrap();
    // What lesson 2 and the page say of the family: four sizes on the same 4.1M tokens, one size on
    // three budgets, and a loss that falls with both (positive exponents).
    assert_eq!(family.by_params.points.len(), 4, "{:?}", family.by_params);
    assert_eq!(family.by_params.fixed, "4.1M tokens");
    assert_eq!(family.by_tokens.points.len(), 3, "{:?}", family.by_tokens);
    assert!(family.by_tokens.law.unwrap().alpha > 0.0);
    let alpha = family.by_params.law.unwrap().alpha;
    assert!(alpha > 0.0);
    for (w, h) in [(80, 24), (120, 36)] {
        let screen = text(&render(&app, ColorMode::TrueColor, w, h));
        let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("^−{alpha:.3}")), "{w}x{h}: {screen}");
        assert!(
            flat.contains(&format!("{} runs of glassbox train", family.runs.len())),
            "{w}x{h}: {screen}"
        );
    }
    press(&mut app, &mut s, KeyCode::Char('i'));
    assert_eq!(app.panel_name(), "training");
}

#[test]
fn every_view_exports_a_png_that_does_not_overwrite_the_last() {
    let (mut app, mut s) = started("The dog bit the man.");
    let dir = tempfile::tempdir().unwrap();
    for view in View::ALL {
        app.view = view;
        // x, and what the figure needs answered (the heads grid's thumbnails at its size), as the
        // event loop does before it writes the file.
        let out = app.on_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
        serve(&mut app, &mut s, out);
        let out = app.fetches();
        serve(&mut app, &mut s, out);
        assert_eq!(app.take_effects(), [Effect::ExportPng { dir: ".".into() }]);
        let path = glassbox::shell::export_view(&app, dir.path()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{}", path.display());
    }
    app.view = View::Attention;
    let again = glassbox::shell::export_view(&app, dir.path()).unwrap();
    assert!(
        again.ends_with("glassbox-attention-L0H0-2.png"),
        "{}",
        again.display()
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        View::ALL.len() + 1
    );
}

#[test]
fn x_asks_the_event_loop_for_a_png_and_the_app_writes_nothing() {
    let (mut app, mut s) = started("The dog bit the man.");
    let before = std::fs::read_dir(".").unwrap().count();
    press(&mut app, &mut s, KeyCode::Char('x'));
    assert_eq!(std::fs::read_dir(".").unwrap().count(), before);
    let effects = app.take_effects();
    assert_eq!(effects, [Effect::ExportPng { dir: ".".into() }]);
    assert!(app.take_effects().is_empty(), "taken once");
    // Carried out into a folder, as the event loop does in the working folder.
    let dir = tempfile::tempdir().unwrap();
    let effect = Effect::ExportPng {
        dir: dir.path().to_path_buf(),
    };
    glassbox::shell::carry_out(&mut app, vec![effect]);
    assert_eq!(
        app.status,
        format!(
            "wrote {}",
            dir.path().join("glassbox-attention-L0H0.png").display()
        )
    );
    let effect = Effect::ExportPng {
        dir: dir.path().join("missing"),
    };
    glassbox::shell::carry_out(&mut app, vec![effect]);
    assert!(
        app.error.as_deref().is_some_and(|e| e.contains("missing")),
        "{:?}",
        app.error
    );
}

#[test]
fn the_heads_view_shows_the_chosen_score() {
    let (mut app, mut s) = started(PROMPT);
    press(&mut app, &mut s, KeyCode::Char('2'));
    let screen = text(&render(&app, ColorMode::TrueColor, 120, 40));
    assert!(screen.contains("previous-token score"), "{screen}");
    press(&mut app, &mut s, KeyCode::Char('i'));
    press(&mut app, &mut s, KeyCode::Char('i'));
    let screen = settled(&mut app, &mut s, ColorMode::TrueColor, 120, 40);
    assert!(screen.contains("induction score"), "{screen}");
    // The number under the selected head is its induction score on this prompt, as computed.
    let snap = app.snap.as_ref().unwrap();
    let scores = glassbox::lesson::task::head_scores(
        &full_capture(&app, &s),
        &snap.ids,
        app.dims().0,
        glassbox::lesson::task::Criterion::Induction,
    )
    .unwrap();
    assert!(
        screen.contains(&format!("▶{:.2}", scores[0][0])),
        "{screen}"
    );
}

/// Where a token follows the cursor, the Next view gives the loss the model pays on it (as the
/// analysis computes it), marks it in the list, and draws every position's loss with their mean.
#[test]
fn the_next_view_shows_the_loss_on_the_token_that_comes_next() {
    let (mut app, mut s) = started("The cat was happy. The cats were happy.");
    press(&mut app, &mut s, KeyCode::Char('8'));
    press(&mut app, &mut s, KeyCode::Home);
    press(&mut app, &mut s, KeyCode::Right);
    let snap = app.snap.as_ref().unwrap();
    let logits = full_capture(&app, &s).get("logits").unwrap().unwrap();
    let losses = glassbox::analysis::predictions::token_losses(&logits, &snap.ids).unwrap();
    let loss = losses[app.cursor];
    let mean = losses.iter().sum::<f32>() / losses.len() as f32;
    let screen = text(&render(&app, ColorMode::Mono, 120, 36));
    assert!(
        screen.contains(&format!("p {:.3}", (-loss).exp()))
            && screen.contains(&format!("loss −ln p = {loss:.2}")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!(
            "mean loss {mean:.2} nats over {} predictions",
            losses.len()
        )),
        "{screen}"
    );
    // Kept across snapshots: after a generated token and a removed one, the cached losses equal a
    // full recomputation.
    for key in [KeyCode::Char('n'), KeyCode::Char('n'), KeyCode::Backspace] {
        press(&mut app, &mut s, key);
        let snap = app.snap.as_ref().unwrap();
        let logits = full_capture(&app, &s).get("logits").unwrap().unwrap();
        let full = glassbox::analysis::predictions::token_losses(&logits, &snap.ids).unwrap();
        let cached = app.token_losses().unwrap();
        assert_eq!(cached.len(), full.len());
        for (a, b) in cached.iter().zip(&full) {
            assert!((a - b).abs() < 1e-5, "{cached:?} vs {full:?}");
        }
    }
    // The last token has nothing after it in the text: no loss line, the strip and mean stay.
    press(&mut app, &mut s, KeyCode::End);
    let screen = text(&render(&app, ColorMode::Mono, 120, 36));
    assert!(!screen.contains("next in the text"), "{screen}");
    assert!(screen.contains("mean loss"), "{screen}");
}

/// The Heads view labels the query heads that share a key/value head (grouped-query attention), and
/// pages through layers that do not fit, keeping the selected one in view.
#[test]
fn the_heads_view_marks_shared_key_value_heads_and_pages_by_layer() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama-a");
    let loaded = model::load(Some(dir.to_str().unwrap()), &Device::Cpu).unwrap();
    let (mut app, mut s) = glassbox::app::worker::start_inline(loaded, "one two three").unwrap();
    press(&mut app, &mut s, KeyCode::Char('2'));
    // 4 query heads over 2 key/value heads: H0 and H1 share k0, H2 and H3 share k1.
    let screen = text(&render(&app, ColorMode::Mono, 120, 36));
    for label in ["H0 k0", "H1 k0", "H2 k1", "H3 k1"] {
        assert!(screen.contains(label), "{label}:\n{screen}");
    }
    // The bundled model has no shared heads: no k labels.
    let (mut tiny, mut t) = started("one two three");
    press(&mut tiny, &mut t, KeyCode::Char('2'));
    assert!(!text(&render(&tiny, ColorMode::Mono, 120, 36)).contains(" k0"));
    // Too short for its 4 layers : a window that follows the selected layer.
    let short = text(&render(&tiny, ColorMode::Mono, 120, 8));
    assert!(short.contains("L0") && short.contains('▼'), "{short}");
    for _ in 0..3 {
        press(&mut tiny, &mut t, KeyCode::Char(']'));
    }
    let short = text(&render(&tiny, ColorMode::Mono, 120, 8));
    assert!(
        short.contains("L3") && short.contains('▲') && !short.contains("L0 "),
        "{short}"
    );
}
