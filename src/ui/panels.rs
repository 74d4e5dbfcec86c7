//! The frame around the views: header with tabs, token strip, status line, prompt editor.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::theme::{Theme, NAN_GLYPH};
use super::{fit, plain, tab_label, tab_number};
use crate::app::{App, Editor, View};
use crate::text::visible;

/// One line: the program, the model, and the view tabs. Each part shortens when the line is narrow
/// (every tab, then the current one; the model's size, then its name), the view name last.
pub fn header(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let models: Vec<String> = match &app.info {
        Some(i) => vec![
            format!(
                " glassbox · {} · {} parameters ",
                i.name,
                short_count(i.n_params)
            ),
            format!(" glassbox · {} ", i.name),
            format!(" {} ", i.name),
            " glassbox ".to_string(),
            String::new(),
        ],
        None => vec![" glassbox ".to_string(), String::new()],
    };
    let room = usize::from(area.width);
    let mut hits = app.hits.borrow_mut();
    // Every tab, when they fit beside the model's name (with the program's, when there is room):
    // with the views' names, then with their short names.
    for labels in [
        View::ALL.map(tab_label),
        View::ALL.map(|v| format!("{} {}", tab_number(v), v.short_title())),
    ] {
        // Each tab is its label between two spaces, and one space separates two tabs.
        let all_w: usize = labels.iter().map(|t| fit::width(t) + 3).sum::<usize>() - 1;
        let Some(model) = room
            .checked_sub(all_w)
            .and_then(|left| fit::pick(models.iter().take(3), left))
        else {
            continue;
        };
        buf.set_string(area.x, area.y, model, theme.accent());
        let mut x = area.x + fit::width(model) as u16;
        for (view, label) in View::ALL.iter().zip(&labels) {
            let text = format!(" {label} ");
            let style = if *view == app.view {
                theme.cursor()
            } else {
                theme.dim()
            };
            let w = fit::width(&text) as u16;
            buf.set_string(x, area.y, &text, style);
            hits.tabs.push((Rect::new(x, area.y, w, 1), *view));
            x += w + 1;
        }
        return;
    }
    // The current view alone, with as much of the model as fits beside it.
    let label = tab_label(app.view);
    for tab in [format!(" {label} (Tab) "), format!(" {label} ")] {
        let Some(model) = fit::pick(&models, room.saturating_sub(fit::width(&tab))) else {
            continue;
        };
        buf.set_string(area.x, area.y, model, theme.accent());
        let x = area.x + fit::width(model) as u16;
        buf.set_string(x, area.y, tab, theme.cursor());
        return;
    }
}

/// A count in three significant figures at most: 1,150,848 → "1.15M", 134,515,008 → "135M".
fn short_count(n: usize) -> String {
    let (value, unit) = match n {
        0..=999 => return n.to_string(),
        1_000..=999_999 => (n as f64 / 1e3, "k"),
        1_000_000..=999_999_999 => (n as f64 / 1e6, "M"),
        _ => (n as f64 / 1e9, "B"),
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$}{unit}")
}

/// Token boxes laid out in lines of `width`: (line, x, text) per token.
fn layout_tokens(app: &App, width: u16) -> Vec<(u16, u16, String)> {
    let Some(snap) = &app.snap else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(snap.tokens.len());
    let (mut line, mut x) = (0u16, 0u16);
    for tok in &snap.tokens {
        let mut text = visible(tok);
        if text.is_empty() {
            text = "∅".into();
        }
        let w = (crate::text::cells(&text) as u16).min(width.saturating_sub(1).max(1));
        if x > 0 && x + w > width {
            line += 1;
            x = 0;
        }
        out.push((line, x, text));
        x += w + 1;
    }
    out
}

/// Lines the token strip wants (1 to 4).
pub fn token_strip_height(app: &App, width: u16) -> u16 {
    let lines = layout_tokens(app, width).last().map_or(1, |t| t.0 + 1);
    lines.clamp(1, 4)
}

/// The prompt's tokens; the cursor token reversed, generated ones underlined, scrolled to the cursor.
pub fn token_strip(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(_) = &app.snap else {
        let msg = app.busy.as_deref().unwrap_or("no prompt");
        buf.set_string(area.x, area.y, msg, theme.dim());
        return;
    };
    let laid = layout_tokens(app, area.width);
    let cursor_line = laid.get(app.cursor).map_or(0, |t| t.0);
    let first = cursor_line.saturating_sub(area.height.saturating_sub(1));
    let mut hits = app.hits.borrow_mut();
    for (i, (line, x, text)) in laid.iter().enumerate() {
        if *line < first || *line >= first + area.height {
            continue;
        }
        let y = area.y + line - first;
        let style = if i == app.cursor {
            theme.cursor()
        } else if i >= app.prompt_len {
            theme.generated()
        } else if i % 2 == 0 {
            plain()
        } else {
            theme.dim()
        };
        let room = area.width.saturating_sub(*x);
        let w = (crate::text::cells(text) as u16).min(room);
        let shown = if crate::text::cells(text) > usize::from(room) {
            crate::text::fit_cells(text, usize::from(room))
        } else {
            text.clone()
        };
        buf.set_string(area.x + x, y, shown, style);
        hits.tokens.push((Rect::new(area.x + x, y, w.max(1), 1), i));
    }
}

/// The bottom line: where the cursor is, how generation works now, what is running, and the keys
/// to more. When narrow the place loses its token and temperature, the message shortens by words,
/// and the keys shorten last to the one that says where a hidden lesson is.
pub fn status(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    // An open lesson that this screen has no room for beside the view: say where it is.
    let hidden = app.lessons.current.is_some() && app.hits.borrow().lesson_scroll_max.is_none();
    let keys: Vec<String> = if hidden {
        let n = tab_number(View::Lesson);
        vec![
            format!("│ {n} lesson  L lessons  ? keys  q quit"),
            format!("│ {n} lesson  ? keys  q quit"),
            format!("│ {n} lesson  ? keys"),
            format!("│ {n} lesson"),
        ]
    } else if app.lessons.all.is_empty() {
        vec!["│ ? keys  q quit".into(), "│ ? keys".into()]
    } else {
        vec![
            "│ L lessons  ? keys  q quit".into(),
            "│ ? keys  q quit".into(),
            "│ ? keys".into(),
        ]
    };
    let message = message(app, theme);
    let keys_min = keys.last().map_or(0, |k| fit::width(k));
    // Room kept for the shortest keys, and for some of the message, while the place is chosen.
    let keep = keys_min
        + message
            .as_ref()
            .map_or(0, |(m, _)| (fit::width(m) + 3).min(24));
    let mut spans = Vec::new();
    if let Some(snap) = &app.snap {
        let tok = snap
            .tokens
            .get(app.cursor)
            .map(|t| visible(t))
            .unwrap_or_default();
        let (c, n, l, h, t) = (
            app.cursor,
            snap.ids.len(),
            app.layer,
            app.head,
            app.sampling.temperature,
        );
        let mode = if app.sampling.sample {
            "sample"
        } else {
            "greedy"
        };
        let tok = super::fit_label(&format!("\"{tok}\""), 14);
        let places = [
            format!(" {c}/{n} {tok} │ L{l}H{h} │ T={t} {mode} "),
            format!(" {c}/{n} │ L{l}H{h} │ T={t} {mode} "),
            format!(" {c}/{n} │ L{l}H{h} "),
        ];
        // The shortest place stays even when the message must shorten for it.
        let width = usize::from(area.width);
        let place = fit::pick(&places, width.saturating_sub(keep))
            .or_else(|| fit::pick(&places[2..], width.saturating_sub(keys_min)));
        spans.push(Span::raw(place.cloned().unwrap_or_default()));
        if let Some((l, h)) = app.what_if.ablation {
            spans.push(Span::styled(
                format!("│ L{l}H{h} ablated "),
                theme.bar_alt(),
            ));
        }
        // The prompt is a question inside the chat template.
        if app.chat {
            spans.push(Span::styled("│ chat ", theme.bar_alt()));
        }
        // What the views show: the run the snapshot was made with.
        if let Some(label) = app.positions_label(snap.positions) {
            spans.push(Span::styled(format!("│ {label} "), theme.bar_alt()));
        }
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = usize::from(area.width).saturating_sub(used);
    if let Some((message, style)) = message {
        // "│ " before it and a space after; the shortest keys still after that.
        let text = fit::words(&message, room.saturating_sub(3 + keys_min));
        if !text.is_empty() {
            spans.push(Span::styled(format!("│ {text} "), style));
        }
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let keys = fit::pick_or_empty(&keys, usize::from(area.width).saturating_sub(used));
    spans.push(Span::styled(keys, theme.dim()));
    Paragraph::new(Line::from(spans))
        .style(Style::default())
        .render(area, buf);
}

/// The spinner's frame at event-loop tick `tick`.
pub fn spinner(tick: usize) -> char {
    const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    SPINNER[tick % SPINNER.len()]
}

/// The status line's message, if any, most pressing first, and its style.
fn message(app: &App, theme: Theme) -> Option<(String, Style)> {
    let non_finite = app.snap.as_ref().and_then(|s| s.non_finite.as_ref());
    let weights = app.info.as_ref().and_then(|i| i.weight_warnings.first());
    if let Some(err) = &app.error {
        return Some((err.clone(), theme.error()));
    }
    if let Some(busy) = &app.busy {
        let frame = spinner(app.tick);
        let queued = match app.queued {
            0 => String::new(),
            n => format!(" ({n} more queued)"),
        };
        return Some((format!("{frame} {busy}{queued}"), theme.accent()));
    }
    if let Some(at) = non_finite {
        // Kept until the prompt changes: every number this state shows comes after it.
        let mut text = format!(
            "{NAN_GLYPH} not a number from {}, position {}",
            at.place(),
            at.position
        );
        if let Some(w) = weights {
            text = format!("{text} │ {w}");
        }
        return Some((text, theme.error()));
    }
    if let Some(e) = &app.lessons.save_error {
        return Some((format!("progress not saved: {e}"), theme.error()));
    }
    if let Some(notice) = app
        .lessons
        .notice
        .as_ref()
        .filter(|_| !app.lessons.notice_seen)
    {
        // Until the learner's first key; the lesson list keeps the whole story.
        return Some((format!("{} (L: more)", notice.short), theme.error()));
    }
    if !app.status.is_empty() {
        return Some((app.status.clone(), theme.dim()));
    }
    weights.map(|w| (w.clone(), theme.error()))
}

/// The prompt editor, over the bottom of the view.
/// In chat mode it edits the question, which the chat template is put around again.
pub fn editor(editor: &Editor, chat: bool, theme: Theme, area: Rect, buf: &mut Buffer) {
    let h = area.height.min(6);
    let rect = Rect::new(area.x, area.bottom() - h, area.width, h);
    Clear.render(rect, buf);
    let text = editor.text();
    let at = text
        .char_indices()
        .nth(editor.cursor())
        .map_or(text.len(), |(i, _)| i);
    let (before, after) = text.split_at(at);
    let mut rest = after.chars();
    // The character under the cursor in reverse video, or a bar after the last one.
    let cursor = match rest.next() {
        Some(c) => Span::styled(c.to_string(), theme.cursor()),
        None => Span::styled("▏", theme.accent()),
    };
    // Scroll a long prompt so the cursor's line is in the box (measured by ratatui's own wrapping).
    let (inner_w, inner_h) = (rect.width.saturating_sub(2), rect.height.saturating_sub(2));
    let upto = Paragraph::new(Line::from(vec![Span::raw(before), Span::raw("▏")]))
        .wrap(Wrap { trim: false })
        .line_count(inner_w);
    let scroll = upto.saturating_sub(usize::from(inner_h)) as u16;
    let titles: &[&str] = if chat {
        &[
            " Edit the question (the chat template goes around it) · Enter runs it · Esc cancels ",
            " Edit the question (in the chat template) · Enter runs it · Esc cancels ",
            " Edit the question · Enter runs it · Esc cancels ",
            " Edit · Enter runs · Esc cancels ",
            " Edit the question ",
        ]
    } else {
        &[
            " Edit the prompt · Enter runs it · Esc cancels · Ctrl-U clears ",
            " Edit the prompt · Enter runs it · Esc cancels ",
            " Edit · Enter runs · Esc cancels ",
            " Edit the prompt ",
        ]
    };
    let block = Block::bordered().title(fit::pick_or_empty(
        titles,
        usize::from(rect.width.saturating_sub(2)),
    ));
    let inner = block.inner(rect);
    block.render(rect, buf);
    let text = Paragraph::new(Line::from(vec![
        Span::raw(before),
        cursor,
        Span::raw(rest.as_str()),
    ]))
    .wrap(Wrap { trim: false })
    .scroll((scroll, 0));
    super::render_wrapped(text, inner, buf);
}

/// A worker's error in place of a view's body, wrapped to its width.
pub fn error_text(e: &str, theme: Theme, body: Rect, buf: &mut Buffer) {
    let lines: Vec<Line> = fit::wrap(e, usize::from(body.width).max(1))
        .into_iter()
        .map(|s| Line::styled(s, theme.error()))
        .collect();
    Paragraph::new(lines).render(body, buf);
}

#[cfg(test)]
mod tests {
    use crate::app::App;

    /// Found by tests/fuzz.rs: a prompt of zero-width characters before a run of wide characters
    /// made ratatui's word wrapper write past the editor, and the tutor panicked.
    #[test]
    fn the_editor_draws_any_text_at_any_width() {
        let mut app = App::new(String::new());
        let text = format!(
            "{}{}4\u{14}N8\n1",
            "\u{200b}\u{200d}\u{feff}\u{202e}".repeat(58),
            "漢字かなカナ".repeat(12)
        );
        app.overlay = crate::app::Overlay::Editing(text.as_str().into());
        crate::ui::screen_buffer(&app, (121, 94));
        for w in 30..=130 {
            crate::ui::screen_buffer(&app, (w, 30));
        }
    }

    /// Found by tests/fuzz.rs: the header counted the tabs without the spaces between them, so at
    /// some widths the last tab ran past the right edge (cut off, and clickable off screen).
    #[test]
    fn the_tabs_fit_the_width_they_are_drawn_in() {
        let app = App::new(String::new());
        for w in 80..=120 {
            let buf = crate::ui::screen_buffer(&app, (w, 24));
            let hits = app.hits.borrow();
            for (r, v) in &hits.tabs {
                assert!(r.right() <= buf.area.right(), "{v:?} at {r:?} in width {w}");
            }
        }
    }
    #[test]
    fn counts_are_short() {
        let cases = [
            (7, "7"),
            (1_150_848, "1.15M"),
            (134_515_008, "135M"),
            (81_912, "81.9k"),
            (6_738_415_616, "6.74B"),
        ];
        for (n, want) in cases {
            assert_eq!(super::short_count(n), want);
        }
    }
}
