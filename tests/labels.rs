//! Labels on a small screen shorten by words (full, abbreviated, dropped): at 80×24 and 40×10 every
//! word of the header, the view titles, the status line, the row lists beside the heatmaps and the
//! border titles is a whole word, each "(" is closed, and the header is not drawn over itself.
//!
//! "Whole word" means a word the tutor writes: one that appears when the same screen is drawn wide
//! enough for every label in full, or one of the shorter forms the labels fall back to (`SHORT`).

use std::collections::BTreeSet;

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

const PROMPT: &str =
    "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";

/// The words only the shorter forms of labels use.
const SHORT: &[&str] = &["▼", "more", "▲", "(Tab)", "lesson", "line", "lines"];

fn tutor() -> (App, Session) {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let (mut app, session) = start_inline(loaded, PROMPT).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let (all, errors) = lesson::load_all(&dir);
    app.lessons = Lessons::new(all, errors, Progress::open(None));
    (app, session)
}

fn press(app: &mut App, session: &mut Session, code: KeyCode) {
    let requests = app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    serve_inline(app, session, requests).unwrap();
}

fn row(buf: &Buffer, y: u16, xs: std::ops::Range<u16>) -> String {
    xs.map(|x| buf[(x, y)].symbol()).collect()
}

/// The words of `text`, box-drawing characters left out.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| "─│┌┐└┘".contains(c)).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Every word of the same screen drawn wide enough for the labels in full, and of the lessons' and
/// their steps' titles.
fn vocabulary(app: &App) -> BTreeSet<String> {
    let mut all: BTreeSet<String> = SHORT.iter().map(|s| s.to_string()).collect();
    for lesson in &app.lessons.all {
        all.extend(words(&lesson.meta.title));
        all.extend(lesson.steps.iter().flat_map(|s| words(&s.title)));
    }
    for (w, h) in [(250, 70), (200, 50), (120, 40)] {
        all.extend(words(&screen::text(&screen::render(
            app,
            ColorMode::Mono,
            w,
            h,
        ))));
    }
    all
}

/// A word the tutor writes, or a token label cut with its `…`.
fn whole(word: &str, vocabulary: &BTreeSet<String>) -> bool {
    if vocabulary.contains(word) {
        return true;
    }
    match word.strip_suffix('…') {
        Some(stem) => vocabulary.iter().any(|v| v.starts_with(stem)),
        None => false,
    }
}

fn check_labels(text: &str, vocabulary: &BTreeSet<String>, what: &str, screen: &str) {
    check_words(text, vocabulary, what, screen);
    assert_eq!(
        text.matches('(').count(),
        text.matches(')').count(),
        "{what}: a parenthesis left open in \"{}\":\n{screen}",
        text.trim()
    );
}

/// Whole words only (wrapped text may open a parenthesis on one row and close it on the next).
fn check_words(text: &str, vocabulary: &BTreeSet<String>, what: &str, screen: &str) {
    let words = words(text);
    for (i, word) in words.iter().enumerate() {
        // A scroll marker's count ("55 more lines ▼") is a number of the moment, not a label.
        let count = word.chars().all(|c| c.is_ascii_digit())
            && words.get(i + 1).is_some_and(|w| w == "more");
        if count {
            continue;
        }
        assert!(
            whole(word, vocabulary),
            "{what}: \"{word}\" is cut in \"{}\":\n{screen}",
            text.trim()
        );
    }
}

/// The rows a screen labels: the header, the status line, the view's title, the row list beside a
/// heatmap (above any lesson pane), and every row with a border in it.
fn check_screen(buf: &Buffer, app: &App, vocabulary: &BTreeSet<String>, what: &str) {
    let (w, h) = (buf.area.width, buf.area.height);
    let screen = screen::text(buf);
    let header = row(buf, 0, 0..w);
    check_labels(&header, vocabulary, &format!("{what}, header"), &screen);
    let tab = format!(
        "{} {}",
        // Digit keys 1 to 9, then 0 for the tenth view.
        (View::ALL.iter().position(|&v| v == app.view).unwrap() + 1) % 10,
        app.view.title()
    );
    assert!(
        header.contains(&tab),
        "{what}: the header lost \"{tab}\":\n{screen}"
    );
    check_labels(
        &row(buf, h - 1, 0..w),
        vocabulary,
        &format!("{what}, status"),
        &screen,
    );
    let heads = [
        "blocks.",
        "L0H0",
        "every head",
        "positional",
        "positions",
        "residual",
        "logit lens",
        "after position",
    ];
    let title = (1..h - 1).find(|&y| heads.iter().any(|s| row(buf, y, 0..w).starts_with(s)));
    if let Some(y) = title.filter(|_| app.view != View::Lesson) {
        // The title row, left of any side column.
        let right = (0..w).find(|&x| buf[(x, y)].symbol() == "┌").unwrap_or(w);
        check_labels(
            &row(buf, y, 0..right),
            vocabulary,
            &format!("{what}, title"),
            &screen,
        );
        if matches!(app.view, View::Attention | View::Scores) && right >= 64 {
            // The row list: the last 27 columns of the view, down to any lesson pane.
            for y in y + 1..h - 1 {
                if row(buf, y, 0..w).starts_with('┌') {
                    break;
                }
                let list = row(buf, y, right - 27..right);
                check_labels(&list, vocabulary, &format!("{what}, row list"), &screen);
            }
        }
    }
    for y in 1..h - 1 {
        let text = row(buf, y, 0..w);
        if text.contains('┌') || text.contains('└') {
            // Only the border's own text: from a corner to the next corner.
            let from = text.chars().position(|c| c == '┌' || c == '└').unwrap();
            let border: String = text.chars().skip(from).collect();
            let end = border
                .char_indices()
                .skip(1)
                .find(|&(_, c)| c == '┐' || c == '┘')
                .map_or(border.len(), |(i, c)| i + c.len_utf8());
            check_labels(
                &border[..end],
                vocabulary,
                &format!("{what}, border"),
                &screen,
            );
        }
    }
}

/// Every view, with and without a lesson open, the scaling removed, and the overlays.
#[test]
fn labels_shorten_by_words_at_80x24_and_40x10() {
    let (mut app, mut s) = tutor();
    let mut states = 0;
    for lesson_open in [false, true] {
        if lesson_open {
            let requests = app.open_lesson(3);
            serve_inline(&mut app, &mut s, requests).unwrap();
        }
        for view in View::ALL {
            app.view = view;
            for unscaled in [false, true] {
                if unscaled && view != View::Scores {
                    continue;
                }
                app.what_if.unscaled = unscaled;
                let vocabulary = vocabulary(&app);
                for (w, h) in [(80, 24), (40, 10)] {
                    let what = format!("{view:?} unscaled={unscaled} lesson={lesson_open} {w}×{h}");
                    let buf = screen::render(&app, ColorMode::Mono, w, h);
                    check_screen(&buf, &app, &vocabulary, &what);
                    states += 1;
                }
            }
            app.what_if.unscaled = false;
        }
    }
    // The overlays: their titles and the key help's rows.
    app.view = View::Attention;
    for (open, name) in [('?', "help"), ('L', "lesson list"), ('e', "editor")] {
        press(&mut app, &mut s, KeyCode::Char(open));
        let vocabulary = vocabulary(&app);
        for (w, h) in [(80, 24), (40, 10)] {
            let buf = screen::render(&app, ColorMode::Mono, w, h);
            let what = format!("{name} {w}×{h}");
            check_screen(&buf, &app, &vocabulary, &what);
            if name == "help" {
                // Inside the box: from its top-left corner to its top-right one.
                let top = (1..h)
                    .find(|&y| row(&buf, y, 0..w).contains("Keys"))
                    .unwrap();
                let l = (0..w).find(|&x| buf[(x, top)].symbol() == "┌").unwrap();
                let r = (l..w).find(|&x| buf[(x, top)].symbol() == "┐").unwrap();
                for y in top + 1..h - 1 {
                    let text = row(&buf, y, l + 1..r);
                    check_words(&text, &vocabulary, &what, &screen::text(&buf));
                }
            }
        }
        press(&mut app, &mut s, KeyCode::Esc);
    }
    assert!(states >= 30, "{states} screens checked");
}

/// At 40×10 the header keeps the view's name whole and draws nothing over it (the model's name used
/// to be written first and the tab over it, leaving "…x-tiny" behind).
#[test]
fn a_narrow_header_is_not_drawn_over_itself() {
    let (mut app, _) = tutor();
    for view in View::ALL {
        app.view = view;
        for w in [30, 40, 50, 60, 80] {
            let buf = screen::render(&app, ColorMode::Mono, w, 10);
            let header = row(&buf, 0, 0..w);
            let vocabulary = vocabulary(&app);
            check_labels(&header, &vocabulary, &format!("{view:?} at {w}"), &header);
            assert!(
                header.contains(view.title()),
                "{view:?} at {w}: \"{header}\""
            );
        }
    }
}
