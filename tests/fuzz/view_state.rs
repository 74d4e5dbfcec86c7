//! What must hold of the tutor after every event: its view state, and where a frame drawn at any
//! size lets clicks land.

use glassbox::app::keymap::KEYS;
use glassbox::app::{App, Overlay};
use glassbox::ui::theme::{ColorMode, Theme};
use glassbox::ui::Screen;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

/// The tutor's state holds together: the cursor on a token, the selected layer, head and ablated
/// head in the model, the overlay and the open lesson step within their lists, a usable temperature,
/// and an answer of the current version about a position that exists.
pub fn assert_state_holds(app: &App, log: &[String]) {
    let fail = |what: String| -> ! {
        let step = app.lessons.current_step();
        panic!(
            "{what}\nafter: {}\nlesson {:?} step {} view {:?}",
            log.join(" · "),
            app.lessons.current,
            app.lessons.step,
            step.and_then(|s| s.view.as_ref())
        )
    };
    let (n_layers, n_heads) = app.dims();
    if app.info.is_some() {
        if app.layer >= n_layers || app.head >= n_heads {
            fail(format!(
                "L{}H{} selected in a model of {n_layers} layers × {n_heads} heads",
                app.layer, app.head
            ));
        }
        if let Some((l, h)) = app.what_if.ablation {
            if l >= n_layers || h >= n_heads {
                fail(format!("L{l}H{h} ablated in {n_layers} × {n_heads}"));
            }
        }
    } else if (app.layer, app.head) != (0, 0) {
        fail(format!(
            "L{}H{} selected before the model loaded",
            app.layer, app.head
        ));
    }
    let n = app.n_tokens();
    if let Some(snap) = &app.snap {
        if snap.tokens.len() != n {
            fail(format!("{} token texts for {n} ids", snap.tokens.len()));
        }
        if n > 0 && app.cursor >= n {
            fail(format!("cursor {} with {n} tokens", app.cursor));
        }
        if app.prompt_len > n {
            fail(format!("prompt_len {} with {n} tokens", app.prompt_len));
        }
        if let Some(lens) = app.lens.as_ref().filter(|l| l.version == snap.version) {
            if lens.pos >= n || lens.rows.len() != n_layers + 1 {
                fail(format!(
                    "lens at {} with {} rows for {n} tokens",
                    lens.pos,
                    lens.rows.len()
                ));
            }
        }
        let d_vocab = app.info.as_ref().map_or(0, |i| i.config.d_vocab);
        for (what, probs) in [
            ("clean", app.next_probs()),
            ("ablated", app.ablated_probs()),
        ] {
            if let Some(p) = probs.filter(|p| p.len() != d_vocab) {
                fail(format!(
                    "{what} probabilities over {} tokens of {d_vocab}",
                    p.len()
                ));
            }
        }
    } else if app.cursor != 0 {
        fail(format!("cursor {} with no tokens", app.cursor));
    }
    if !(app.sampling.temperature.is_finite() && app.sampling.temperature > 0.0) {
        fail(format!("temperature {}", app.sampling.temperature));
    }
    let n_lessons = app.lessons.all.len();
    match &app.overlay {
        Overlay::LessonList(sel) if *sel >= n_lessons.max(1) => {
            fail(format!("lesson {sel} selected of {n_lessons}"))
        }
        Overlay::Help { scroll } if usize::from(*scroll) > KEYS.len() => {
            fail(format!("help scrolled to {scroll}"))
        }
        _ => {}
    }
    if let Some(i) = app.lessons.current {
        let Some(lesson) = app.lessons.all.get(i) else {
            fail(format!("lesson {i} open of {n_lessons}"));
        };
        let Some(step) = lesson.steps.get(app.lessons.step) else {
            fail(format!(
                "step {} of {} open",
                app.lessons.step,
                lesson.steps.len()
            ));
        };
        let hints = step.task.as_ref().map_or(0, |t| t.hints.len());
        if app.lessons.hints_shown > hints {
            fail(format!(
                "{} of {hints} hints shown",
                app.lessons.hints_shown
            ));
        }
    }
}

/// Draw the screen at `size` and check where clicks will land: inside the screen, on tokens,
/// heads and rows that exist.
pub fn draw(app: &App, size: (u16, u16), mode: ColorMode, log: &[String]) {
    let area = Rect::new(0, 0, size.0, size.1);
    let mut buf = Buffer::empty(area);
    Screen {
        app,
        theme: Theme::new(mode),
    }
    .render(area, &mut buf);
    let fail = |what: String| -> ! { panic!("{what} at {size:?}\nafter: {}", log.join(" · ")) };
    let inside = |r: &Rect| r.right() <= area.right() && r.bottom() <= area.bottom();
    let hits = app.hits.borrow();
    let (n_layers, n_heads) = app.dims();
    for (r, i) in &hits.tokens {
        if !inside(r) || *i >= app.n_tokens() {
            fail(format!("token {i} clickable at {r:?}"));
        }
    }
    for (r, l, h) in &hits.heads {
        if !inside(r) || *l >= n_layers || *h >= n_heads {
            fail(format!("head L{l}H{h} clickable at {r:?}"));
        }
    }
    for (r, v) in &hits.tabs {
        if !inside(r) {
            fail(format!("tab {v:?} clickable at {r:?}"));
        }
    }
    if let Some(hit) = hits.heatmap {
        if !inside(&hit.area) || hit.rows_per_line == 0 {
            fail(format!("heatmap clickable at {hit:?}"));
        }
    }
}
