//! The Lens view's attribution page in the tutor: i opens it, the worker is asked once and the page
//! waits with a spinner until it answers; t and v change the target among the cursor's likely
//! tokens; the cursor moves the position; drawn at 80×24 and 120×36 with the worker's numbers.

use candle_core::Device;
use glassbox::analysis::attribution::{attribute_prompt, Target};
use glassbox::app::worker::{Request, Session};
use glassbox::app::{App, LensPage, View};
use glassbox::model;
use glassbox::ui::theme::ColorMode;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "common/screen.rs"]
mod screen;
use screen::{render, text};

const PROMPT: &str =
    "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";

fn key(app: &mut App, code: KeyCode) -> Vec<Request> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press(app: &mut App, session: &mut Session, code: KeyCode) {
    let requests = key(app, code);
    glassbox::app::worker::serve_inline(app, session, requests).unwrap();
}

/// The page's answer is the analysis at the cursor for the cursor's chosen likely tokens.
fn assert_matches_the_analysis(app: &App, s: &Session) {
    let answer = app.attribution_current().expect("answered");
    let a = answer.data.as_ref().unwrap().as_ref().unwrap();
    let ids = &app.snap.as_ref().unwrap().ids;
    let cands = app.candidates();
    let target = Target {
        token: cands[app.target.token],
        versus: app.target.versus.map(|i| cands[i]),
    };
    assert_eq!((a.pos, a.target), (app.cursor, target));
    let want = attribute_prompt(&s.loaded.model, ids, app.cursor, target, None).unwrap();
    assert_eq!(a, &want);
}

#[test]
fn i_opens_the_page_and_t_v_and_the_cursor_ask_again() {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let (mut app, mut s) = glassbox::app::worker::start_inline(loaded, PROMPT).unwrap();
    press(&mut app, &mut s, KeyCode::Char('7'));
    assert_eq!(app.view, View::Lens);
    let requests = key(&mut app, KeyCode::Char('i'));
    assert_eq!(app.lens_page, LensPage::Attribution);
    assert_eq!(app.panel_name(), "attribution");
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(matches!(requests[0], Request::Attribution(_)));
    assert!(
        app.waiting(),
        "the spinner turns while the answer is on its way"
    );
    let screen = text(&render(&app, ColorMode::Mono, 80, 24));
    assert!(screen.contains("computing"), "{screen}");
    // A key that changes nothing the page needs does not ask again.
    assert!(key(&mut app, KeyCode::Char('?')).is_empty());
    key(&mut app, KeyCode::Esc);
    glassbox::app::worker::serve_inline(&mut app, &mut s, requests).unwrap();
    assert!(!app.waiting());
    assert_matches_the_analysis(&app, &s);

    // The target: the second most likely token, then against the first.
    press(&mut app, &mut s, KeyCode::Char('t'));
    assert_eq!(app.target.token, 1);
    assert_matches_the_analysis(&app, &s);
    press(&mut app, &mut s, KeyCode::Char('v'));
    assert_eq!(app.target.versus, Some(0));
    let a = app
        .attribution_current()
        .unwrap()
        .data
        .clone()
        .unwrap()
        .unwrap();
    assert!(a.target.versus.is_some());
    assert_matches_the_analysis(&app, &s);
    // The position follows the cursor.
    press(&mut app, &mut s, KeyCode::Left);
    assert_eq!(app.attribution_current().unwrap().key.pos, app.cursor);
    assert_matches_the_analysis(&app, &s);
    // i goes back to the logit lens.
    press(&mut app, &mut s, KeyCode::Char('i'));
    assert_eq!(app.lens_page, LensPage::Lens);
    assert!(app.attribution_wanted().is_none());
    // t elsewhere only says where it works.
    press(&mut app, &mut s, KeyCode::Char('t'));
    assert!(app.status.contains("attribution page"), "{}", app.status);
}

#[test]
fn the_page_shows_the_grid_the_ranking_and_the_target_at_both_sizes() {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let (mut app, mut s) = glassbox::app::worker::start_inline(loaded, PROMPT).unwrap();
    press(&mut app, &mut s, KeyCode::Char('7'));
    press(&mut app, &mut s, KeyCode::Char('i'));
    let a = app
        .attribution_current()
        .unwrap()
        .data
        .clone()
        .unwrap()
        .unwrap();
    let top: Vec<_> = a.ranked().into_iter().take(3).collect();
    for (w, h) in [(80, 24), (120, 36)] {
        for mode in [ColorMode::Mono, ColorMode::TrueColor] {
            let screen = text(&render(&app, mode, w, h));
            assert!(screen.contains("attribution at"), "{w}×{h}\n{screen}");
            assert!(
                screen.contains("logit “·K”"),
                "{w}×{h}: the target is named\n{screen}"
            );
            assert!(screen.contains("MLP"), "{w}×{h}: the MLP column\n{screen}");
            for (c, v) in &top {
                let row = format!("{} ", c.label());
                assert!(screen.contains(&row), "{w}×{h}: {row} ranked\n{screen}");
                assert!(
                    screen.contains(&format!("{v:+.3}")),
                    "{w}×{h}: {v:+.3}\n{screen}"
                );
            }
            // The grid's cell of the selected head L0H0, at one decimal at least.
            assert!(screen.contains("L0 "), "{screen}");
        }
    }
}

#[test]
fn x_on_the_page_exports_the_attribution_figure() {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let (mut app, mut s) = glassbox::app::worker::start_inline(loaded, PROMPT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    press(&mut app, &mut s, KeyCode::Char('7'));
    // The logit lens page is a picture of the screen; the attribution page is the figure.
    let lens = glassbox::shell::export_view(&app, dir.path()).unwrap();
    assert!(lens.ends_with("glassbox-lens.png"), "{}", lens.display());
    press(&mut app, &mut s, KeyCode::Char('i'));
    let path = glassbox::shell::export_view(&app, dir.path()).unwrap();
    let name = format!("glassbox-attribution-{}.png", app.cursor);
    assert!(path.ends_with(&name), "{}", path.display());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // A different size from the screen picture: a figure, not a screenshot.
    let size = |p: &std::path::Path| image::image_dimensions(p).unwrap();
    assert_ne!(size(&path), size(&lens));
}

/// A lesson can open the page (panel = "attribution") and ask the learner to visit it: the task
/// says how to reach it from the logit lens, and i there completes it.
#[test]
fn a_lesson_opens_the_page_and_a_visit_task_waits_for_it() {
    use glassbox::lesson::task::Outcome;
    let text = format!(
        "+++\nid = \"dla\"\ntitle = \"Effects\"\nsummary = \"s\"\nmodel = \"glassbox-tiny\"\nprompt = \"{PROMPT}\"\n+++\n\n\
         ## Shown\nThe page.\n\n```view\npanel = \"attribution\"\n```\n\n\
         ## Visit\nBack to the lens, then here again.\n\n```view\npanel = \"lens\"\n```\n\n\
         ```task\nkind = \"visit\"\ngoal = \"Open the attribution page.\"\npanel = \"attribution\"\n```\n"
    );
    let lesson = glassbox::lesson::Lesson::parse(std::path::Path::new("dla.md"), &text).unwrap();
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let (mut app, mut s) = glassbox::app::worker::start_inline(loaded, PROMPT).unwrap();
    app.lessons =
        glassbox::app::lessons::Lessons::new(vec![lesson], Vec::new(), Default::default());
    let requests = app.open_lesson(0);
    glassbox::app::worker::serve_inline(&mut app, &mut s, requests).unwrap();
    assert_eq!(
        (app.view, app.lens_page),
        (View::Lens, LensPage::Attribution)
    );
    assert_eq!(app.panel_name(), "attribution");
    // The second step names the lens: the logit lens shows, and the task waits for i.
    let requests = app.go_to_step(1);
    glassbox::app::worker::serve_inline(&mut app, &mut s, requests).unwrap();
    assert_eq!((app.view, app.lens_page), (View::Lens, LensPage::Lens));
    app.check_task();
    match &app.lessons.outcome {
        Some(Outcome::NotYet(m)) => assert!(m.contains("press i"), "{m}"),
        other => panic!("{other:?}"),
    }
    press(&mut app, &mut s, KeyCode::Char('i'));
    assert!(
        matches!(app.lessons.outcome, Some(Outcome::Done(_))),
        "{:?}",
        app.lessons.outcome
    );
}
