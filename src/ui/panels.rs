//! The frame around the views: header with tabs, token strip, status line, prompt editor.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::theme::Theme;
use super::{plain, tab_label};
use crate::app::{App, View};
use crate::text::visible;

/// One line: the program, the model, and the view tabs (only the current one when narrow).
pub fn header(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let model = match &app.info {
        Some(i) => format!(" glassbox · {} ", i.name),
        None => " glassbox ".to_string(),
    };
    buf.set_string(area.x, area.y, &model, theme.accent());
    let mut x = area.x + model.chars().count() as u16;
    let tabs: Vec<String> = View::ALL.iter().map(|&v| tab_label(v)).collect();
    // Each tab is its label between two spaces, and one space separates two tabs.
    let all_w: usize = tabs.iter().map(|t| t.chars().count() + 3).sum::<usize>() - 1;
    let room = usize::from(area.right().saturating_sub(x));
    let mut hits = app.hits.borrow_mut();
    if all_w <= room {
        for (view, label) in View::ALL.iter().zip(&tabs) {
            let text = format!(" {label} ");
            let style = if *view == app.view {
                theme.cursor()
            } else {
                theme.dim()
            };
            let w = text.chars().count() as u16;
            buf.set_string(x, area.y, &text, style);
            hits.tabs.push((Rect::new(x, area.y, w, 1), *view));
            x += w + 1;
        }
    } else {
        let text = format!(" {} (Tab) ", tab_label(app.view));
        if x + text.chars().count() as u16 > area.right() {
            x = area.x; // narrow: the view name matters more than the model name
        }
        buf.set_string(x, area.y, text, theme.cursor());
    }
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
        let w = (text.chars().count() as u16).min(width.saturating_sub(1).max(1));
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
        let w = (text.chars().count() as u16).min(area.width.saturating_sub(*x));
        let shown: String = text.chars().take(usize::from(w)).collect();
        buf.set_string(area.x + x, y, shown, style);
        hits.tokens.push((Rect::new(area.x + x, y, w.max(1), 1), i));
    }
}

/// The bottom line: where the cursor is, how generation works now, and what is running.
pub fn status(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    if let Some(snap) = &app.snap {
        let tok = snap
            .tokens
            .get(app.cursor)
            .map(|t| visible(t))
            .unwrap_or_default();
        spans.push(Span::raw(format!(
            " {}/{} {} │ L{}H{} │ T={} {} ",
            app.cursor,
            snap.ids.len(),
            super::fit_label(&format!("\"{tok}\""), 14),
            app.layer,
            app.head,
            app.temperature,
            if app.sampling { "sample" } else { "greedy" },
        )));
        if let Some((l, h)) = app.ablation {
            spans.push(Span::styled(
                format!("│ L{l}H{h} ablated "),
                theme.bar_alt(),
            ));
        }
    }
    if let Some(err) = &app.error {
        spans.push(Span::styled(format!("│ {err} "), theme.error()));
    } else if let Some(busy) = &app.busy {
        const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let frame = SPINNER[app.tick % SPINNER.len()];
        spans.push(Span::styled(format!("│ {frame} {busy} "), theme.accent()));
    } else if !app.status.is_empty() {
        spans.push(Span::styled(format!("│ {} ", app.status), theme.dim()));
    }
    let keys = if app.lessons.all.is_empty() {
        "│ ? keys  q quit"
    } else {
        "│ L lessons  ? keys  q quit"
    };
    spans.push(Span::styled(keys, theme.dim()));
    Paragraph::new(Line::from(spans))
        .style(Style::default())
        .render(area, buf);
}

/// The prompt editor, over the bottom of the view.
pub fn editor(text: &str, theme: Theme, area: Rect, buf: &mut Buffer) {
    let h = area.height.min(6);
    let rect = Rect::new(area.x, area.bottom() - h, area.width, h);
    Clear.render(rect, buf);
    let block = Block::bordered().title(" Edit the prompt · Enter runs it · Esc cancels ");
    let inner = block.inner(rect);
    block.render(rect, buf);
    let text = Paragraph::new(Line::from(vec![
        Span::raw(text),
        Span::styled("▏", theme.accent()),
    ]))
    .wrap(Wrap { trim: false });
    super::render_wrapped(text, inner, buf);
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
        app.overlay = crate::app::Overlay::Editing(text);
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
}
