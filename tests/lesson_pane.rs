//! The lesson pane at the sizes learners use: every step of every lesson can be read to its last
//! words by scrolling with J, the scroll marker is honest (shown while text lies below, gone at the
//! end), and it sits on a rule or a border, never over the text.

use candle_core::Device;
use glassbox::app::lessons::Lessons;
use glassbox::app::worker::{serve_inline, start_inline, Session};
use glassbox::app::{App, View};
use glassbox::lesson::{self, progress::Progress};
use glassbox::model;
use glassbox::ui::theme::ColorMode;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "common/screen.rs"]
mod screen;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 36), (200, 50)];

/// The bundled model, every committed lesson, no progress file.
fn tutor() -> (App, Session) {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let (mut app, session) = start_inline(loaded, "The cat sat on the mat.").unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let (all, errors) = lesson::load_all(&dir);
    assert!(errors.is_empty(), "{errors:#?}");
    app.lessons = Lessons::new(all, errors, Progress::open(None));
    (app, session)
}

fn key(app: &mut App, session: &mut Session, c: char) {
    let requests = app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    serve_inline(app, session, requests).unwrap();
}

fn cell(buf: &Buffer, x: u16, y: u16) -> &str {
    buf[(x, y)].symbol()
}

/// The lesson pane's cells: the box whose top border names step `i`/`n` (a pane beside or under a
/// view), or, for the Lesson view, the columns left of the side column between header and status.
/// Returns (left, top, right, bottom), bottom and right inclusive.
fn pane_rect(buf: &Buffer, view: View, step: &str) -> (u16, u16, u16, u16) {
    let (w, h) = (buf.area.width, buf.area.height);
    let row = |y: u16| -> String { (0..w).map(|x| cell(buf, x, y)).collect() };
    if view == View::Lesson {
        // The side column (if any) starts at its top-left corner on the first row under the strip.
        let right = (1..h - 1)
            .find_map(|y| (0..w).find(|&x| cell(buf, x, y) == "┌"))
            .unwrap_or(w);
        return (0, 1, right - 1, h - 2);
    }
    for y in 0..h {
        let text = row(y);
        if !text.contains(step) {
            continue;
        }
        let Some(left) = (0..w).find(|&x| cell(buf, x, y) == "┌") else {
            continue;
        };
        let right = (left..w).find(|&x| cell(buf, x, y) == "┐").unwrap();
        let bottom = (y..h).find(|&b| cell(buf, left, b) == "└").unwrap();
        return (left, y, right, bottom);
    }
    panic!("no lesson pane naming {step} on\n{}", screen::text(buf));
}

/// The text of the pane's rows (borders left out), a line per row.
fn pane_text(buf: &Buffer, (l, t, r, b): (u16, u16, u16, u16)) -> String {
    (t..=b)
        .map(|y| {
            (l..=r)
                .map(|x| cell(buf, x, y))
                .collect::<String>()
                .trim_matches(|c: char| c.is_whitespace() || "│┌┐└┘".contains(c))
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every ▲ or ▼ in the pane lies on a rule or a border: left of it, before the pane's edge, there is
/// a `─` (a marker written over text has letters there instead).
fn markers_on_rules(buf: &Buffer, (l, t, r, b): (u16, u16, u16, u16), what: &str) {
    for y in t..=b {
        for x in l..=r {
            if !matches!(cell(buf, x, y), "▲" | "▼") {
                continue;
            }
            let ruled = (l..x).rev().any(|x| cell(buf, x, y) == "─");
            assert!(
                ruled,
                "{what}: a marker over text at ({x}, {y}):\n{}",
                screen::text(buf)
            );
        }
    }
}

/// The last `n` words of a step's Markdown as the pane shows them (emphasis and code marks gone).
fn last_words(body: &str, n: usize) -> String {
    let words: Vec<String> = body
        .split_whitespace()
        .map(|w| w.replace(['*', '`'], ""))
        .filter(|w| !w.is_empty())
        .collect();
    words[words.len().saturating_sub(n)..].join(" ")
}

/// Words of `text` with runs of whitespace as one space.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_step_reads_to_its_last_words_at_every_size_with_an_honest_marker() {
    let (mut app, mut session) = tutor();
    let lessons = app.lessons.all.clone();
    let mut scrolled = 0;
    for (li, lesson) in lessons.iter().enumerate() {
        for (si, step) in lesson.steps.iter().enumerate() {
            let requests = app.open_lesson(li);
            serve_inline(&mut app, &mut session, requests).unwrap();
            let requests = app.go_to_step(si);
            serve_inline(&mut app, &mut session, requests).unwrap();
            let own = app.view;
            let tail = last_words(&step.body, 3);
            let place = format!("{}/{}", si + 1, lesson.steps.len());
            for (w, h) in SIZES {
                for view in [own, View::Lesson] {
                    let what = format!("{} step {place}, view {view:?}, {w}×{h}", lesson.meta.id);
                    app.view = view;
                    app.lessons.scroll = 0;
                    let mut buf = screen::render(&app, ColorMode::Mono, w, h);
                    let first = pane_rect(&buf, view, &place);
                    let overflows = pane_text(&buf, first).contains('▼');
                    let mut presses = 0;
                    loop {
                        let rect = pane_rect(&buf, view, &place);
                        markers_on_rules(&buf, rect, &what);
                        let before = app.lessons.scroll;
                        key(&mut app, &mut session, 'J');
                        if app.lessons.scroll == before {
                            break;
                        }
                        presses += 1;
                        assert!(presses < 100, "{what}: J never reaches the end");
                        buf = screen::render(&app, ColorMode::Mono, w, h);
                    }
                    scrolled += usize::from(presses > 0);
                    let end = pane_text(&buf, pane_rect(&buf, view, &place));
                    assert!(
                        squeeze(&end).contains(&tail),
                        "{what}: the last words \"{tail}\" are not in the pane at the end:\n{end}"
                    );
                    assert_eq!(
                        overflows,
                        presses > 0,
                        "{what}: the ▼ marker shows exactly when J has text to show:\n{end}"
                    );
                    assert!(!end.contains('▼'), "{what}: ▼ at the end:\n{end}");
                }
            }
            app.view = own;
        }
    }
    assert!(
        scrolled > 0,
        "no step was long enough to scroll: the test proves nothing"
    );
}

/// J stops at the end of the text as last drawn, so K comes back at once (it used to count on
/// without end, and K took as many presses to undo them).
#[test]
fn scrolling_stops_at_the_end_and_k_comes_back_at_once() {
    let (mut app, mut session) = tutor();
    let requests = app.open_lesson(0);
    serve_inline(&mut app, &mut session, requests).unwrap();
    app.view = View::Lesson;
    screen::render(&app, ColorMode::Mono, 40, 10);
    for _ in 0..50 {
        key(&mut app, &mut session, 'J');
    }
    let end = app.lessons.scroll;
    let max = app.hits.borrow().lesson_scroll_max.unwrap();
    assert!(end > 0 && end == max, "scroll {end}, end of text {max}");
    key(&mut app, &mut session, 'K');
    assert_eq!(app.lessons.scroll, end.saturating_sub(3));
    // The marker at the end points back up, and K is its key.
    let buf = screen::render(&app, ColorMode::Mono, 40, 10);
    key(&mut app, &mut session, 'J');
    let text = screen::text(&screen::render(&app, ColorMode::Mono, 40, 10));
    assert!(text.contains("▲ K"), "{text}");
    assert!(screen::text(&buf).contains("▼ J"), "{}", screen::text(&buf));
}

/// A screen too short for the pane under the view says where the lesson is; one that shows the pane
/// does not.
#[test]
fn a_lesson_with_no_room_on_screen_is_pointed_to() {
    let (mut app, mut session) = tutor();
    let requests = app.open_lesson(0);
    serve_inline(&mut app, &mut session, requests).unwrap();
    app.view = View::Attention;
    let status = |app: &App, w: u16, h: u16| -> String {
        let text = screen::text(&screen::render(app, ColorMode::Mono, w, h));
        text.lines().last().unwrap_or_default().to_string()
    };
    assert!(
        status(&app, 40, 10).contains("0 lesson"),
        "{}",
        status(&app, 40, 10)
    );
    assert!(
        !status(&app, 80, 24).contains("0 lesson"),
        "{}",
        status(&app, 80, 24)
    );
    app.view = View::Lesson;
    assert!(
        !status(&app, 40, 10).contains("0 lesson"),
        "{}",
        status(&app, 40, 10)
    );
}

/// H shows the hint it adds, also on a screen so short that the task and its hints follow the text
/// (and the new hint is what pushes them there).
#[test]
fn a_new_hint_is_shown_on_a_short_screen() {
    let (mut app, mut session) = tutor();
    let (index, lesson) = lesson::find(&app.lessons.all, "attention").unwrap();
    let step = lesson
        .steps
        .iter()
        .position(|s| s.task.as_ref().is_some_and(|t| t.hints.len() >= 2))
        .unwrap();
    let hints = lesson.steps[step].task.as_ref().unwrap().hints.clone();
    let requests = app.open_lesson(index);
    serve_inline(&mut app, &mut session, requests).unwrap();
    let requests = app.go_to_step(step);
    serve_inline(&mut app, &mut session, requests).unwrap();
    for (i, hint) in hints.iter().take(2).enumerate() {
        screen::render(&app, ColorMode::Mono, 80, 24);
        key(&mut app, &mut session, 'H');
        let text = screen::text(&screen::render(&app, ColorMode::Mono, 80, 24));
        let flat = text
            .lines()
            .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
            .collect::<Vec<_>>()
            .join(" ");
        // The hint's first words, as the pane wraps them.
        let start: String = hint
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains(&start),
            "hint {}: {start:?} not on screen:\n{text}",
            i + 1
        );
    }
}
