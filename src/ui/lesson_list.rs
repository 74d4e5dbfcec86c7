//! The lesson list, over the view: titles, summaries and progress.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::fit;
use super::theme::Theme;
use crate::app::App;

/// The lesson list, over the view: titles, summaries and progress, wrapped by words under their
/// column, scrolled so the chosen lesson is in sight.
pub fn list(app: &App, sel: usize, theme: Theme, area: Rect, buf: &mut Buffer) {
    let w = area.width.min(90);
    let h = area.height;
    let rect = Rect::new(area.x + (area.width - w) / 2, area.y, w, h);
    Clear.render(rect, buf);
    let inner_w = usize::from(w.saturating_sub(2));
    // Lines under a first-line prefix, later lines indented as far.
    let hanging = |prefix: &str, text: &str, style: Style| -> Vec<Line<'static>> {
        let indent = " ".repeat(fit::width(prefix));
        fit::wrap(text, inner_w.saturating_sub(indent.len()))
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let lead = if i == 0 {
                    prefix.to_string()
                } else {
                    indent.clone()
                };
                Line::styled(format!("{lead}{part}"), style)
            })
            .collect()
    };
    let mut lines = Vec::new();
    // Before the list, so it is seen even when the list is long.
    if let Some(notice) = &app.lessons.notice {
        lines.extend(hanging("! ", &notice.full, theme.error()));
    }
    let mut chosen = 0..0;
    for (i, lesson) in app.lessons.all.iter().enumerate() {
        let n_tasks = lesson.steps.iter().filter(|s| s.task.is_some()).count();
        let done = app.lessons.done_count(lesson);
        let mark = if app.lessons.is_completed(lesson) {
            "✓"
        } else if done > 0 {
            "…"
        } else {
            " "
        };
        let style = if i == sel {
            theme.cursor()
        } else {
            Style::default()
        };
        let first = lines.len();
        let mut title = hanging(&format!("{mark} {:>2}. ", i + 1), &lesson.meta.title, style);
        // The task count after the title's last line, shorter where it must be, else under it.
        // A lesson on another model than the one open says which (the pane says how to open it).
        let on = app
            .info
            .as_ref()
            .filter(|info| info.name != lesson.meta.model)
            .map(|_| format!(" · {}", lesson.meta.model))
            .unwrap_or_default();
        let counts = [
            format!("  {done}/{n_tasks} tasks{on}"),
            format!("  {done}/{n_tasks} tasks"),
            format!("  {done}/{n_tasks}"),
        ];
        let last_w = title.last().map_or(0, Line::width);
        match (
            fit::pick(&counts, inner_w.saturating_sub(last_w)),
            title.last_mut(),
        ) {
            (Some(count), Some(last)) => last.push_span(Span::styled(count.clone(), theme.dim())),
            _ => title.push(Line::styled(format!("    {}", counts[0]), theme.dim())),
        }
        lines.extend(title);
        if i == sel {
            lines.extend(hanging("      ", &lesson.meta.summary, theme.dim()));
            chosen = first..lines.len();
        }
    }
    for e in &app.lessons.errors {
        lines.extend(hanging("✗ ", &e.to_string(), theme.error()));
    }
    if app.lessons.all.is_empty() {
        lines.push(Line::from(
            "No lessons found: GLASSBOX_LESSONS names a folder without NN-name.md files.",
        ));
    }
    let rows = usize::from(h.saturating_sub(2));
    let scroll = chosen.end.saturating_sub(rows).min(chosen.start);
    let mut block = Block::bordered().title(fit::pick_or_empty(
        &[
            " Lessons · ↑↓ choose · Enter opens · Esc closes ",
            " Lessons · Enter opens · Esc closes ",
            " Lessons · Enter opens ",
            " Lessons ",
        ],
        inner_w,
    ));
    let (above, below) = (scroll > 0, scroll + rows < lines.len());
    let more = match (above, below) {
        (true, true) => Some(" ▲ more ▼ "),
        (false, true) => Some(" more ▼ "),
        (true, false) => Some(" ▲ more "),
        (false, false) => None,
    };
    if let Some(more) = more.filter(|m| fit::width(m) <= inner_w) {
        block = block.title_bottom(Line::styled(more, theme.accent()).right_aligned());
    }
    Paragraph::new(lines)
        .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
        .block(block)
        .render(rect, buf);
}
