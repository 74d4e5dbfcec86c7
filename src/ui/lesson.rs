//! The lesson pane (the open step, its task and hints) and the lesson list.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::markdown;
use super::theme::Theme;
use crate::app::App;
use crate::lesson::task::Outcome;

/// The open lesson step, or a guide to the screen when no lesson is open.
pub fn pane(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let lessons = &app.lessons;
    let (Some(lesson), Some(step)) = (lessons.lesson(), lessons.current_step()) else {
        Paragraph::new(intro(theme, !lessons.all.is_empty()))
            .wrap(Wrap { trim: false })
            .render(area, buf);
        return;
    };
    let mut text = vec![Line::from(vec![
        Span::styled(lesson.meta.title.clone(), theme.accent()),
        Span::styled(
            format!(
                " · step {}/{}: {}",
                lessons.step + 1,
                lesson.steps.len(),
                step.title
            ),
            theme.dim(),
        ),
    ])];
    if let Some(info) = app.info.as_ref().filter(|i| i.name != lesson.meta.model) {
        text.push(Line::styled(
            format!(
                "(written for {}; with {} the numbers will differ)",
                lesson.meta.model, info.name
            ),
            theme.dim(),
        ));
    }
    text.extend(markdown::render(&step.body, theme));
    // The task and the way on stay at the bottom; the text above scrolls (J/K) when it is long.
    let mut foot = Vec::new();
    if let Some(task) = &step.task {
        let (mark, style) = match &lessons.outcome {
            Some(Outcome::Done(_)) => ("✓ ", theme.generated()),
            _ => ("▶ ", theme.accent()),
        };
        foot.push(Line::from(vec![
            Span::styled(format!("{mark}Task: "), style),
            Span::raw(task.goal.clone()),
        ]));
        match &lessons.outcome {
            Some(Outcome::Done(why)) => {
                foot.push(Line::styled(format!("  Done: {why}"), theme.generated()))
            }
            Some(Outcome::NotYet(why)) => foot.push(Line::styled(format!("  {why}"), theme.dim())),
            None => {}
        }
        for hint in task.hints.iter().take(lessons.hints_shown) {
            foot.push(Line::styled(format!("  Hint: {hint}"), theme.dim()));
        }
        if lessons.hints_shown < task.hints.len() {
            foot.push(Line::styled("  (H: a hint)", theme.dim()));
        }
    }
    let last = lessons.step + 1 >= lesson.steps.len();
    foot.push(Line::styled(
        if last {
            "Last step. L: all lessons"
        } else {
            "> next step · < back · L: all lessons"
        },
        theme.dim(),
    ));
    let foot_h = wrapped_height(&foot, area.width).min(area.height.saturating_sub(3));
    let text_area = Rect::new(area.x, area.y, area.width, area.height - foot_h);
    let text_h = wrapped_height(&text, area.width);
    let max_scroll = text_h.saturating_sub(text_area.height);
    let scroll = lessons.scroll.min(max_scroll);
    let text = Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    super::render_wrapped(text, text_area, buf);
    // Long text: a marker on the text's last line says how to scroll (drawn over it, right-aligned).
    if max_scroll > 0 && text_area.height > 1 {
        let more = if scroll < max_scroll {
            " ▼ J: more"
        } else {
            " ▲ K: back"
        };
        let w = (more.chars().count() as u16).min(area.width);
        let y = text_area.y + text_area.height - 1;
        let tag = Rect::new(area.right() - w, y, w, 1);
        Clear.render(tag, buf);
        Paragraph::new(Line::styled(more, theme.accent())).render(tag, buf);
    }
    super::render_wrapped(
        Paragraph::new(foot).wrap(Wrap { trim: false }),
        Rect::new(area.x, area.y + area.height - foot_h, area.width, foot_h),
        buf,
    );
}

/// Lines `lines` take when wrapped at `width` (word wrapping can only add lines, so this estimate
/// by characters is a lower bound that is exact for most text).
fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let w = usize::from(width.max(1));
    lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(w) as u16)
        .sum()
}

fn intro(theme: Theme, have_lessons: bool) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled("What you are looking at", theme.accent()),
        Line::from("The top line is your prompt cut into tokens, the pieces the model reads. The highlighted one is the cursor: ← → move it."),
        Line::default(),
        Line::from("Attention: each row is a token (a query) and shows how much it looks at every earlier token (the keys). Bright = much. ↑ ↓ and [ ] pick another head or layer."),
        Line::default(),
        Line::from("Next token: what the model predicts after the cursor. Enter adds the most likely token; s switches to sampling, + - change the temperature."),
        Line::default(),
        Line::from("Tab walks through the other views. ? lists every key."),
    ];
    if have_lessons {
        lines.push(Line::default());
        lines.push(Line::styled(
            "Press L for the lessons: start with lesson 1.",
            theme.accent(),
        ));
    }
    lines
}

/// The lesson list, over the view: titles, summaries and progress.
pub fn list(app: &App, sel: usize, theme: Theme, area: Rect, buf: &mut Buffer) {
    let w = area.width.min(90);
    let h = area.height;
    let rect = Rect::new(area.x + (area.width - w) / 2, area.y, w, h);
    Clear.render(rect, buf);
    let mut lines = Vec::new();
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
            Default::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} {:>2}. {}", i + 1, lesson.meta.title), style),
            Span::styled(format!("  {done}/{n_tasks} tasks"), theme.dim()),
        ]));
        if i == sel {
            lines.push(Line::styled(
                format!("      {}", lesson.meta.summary),
                theme.dim(),
            ));
        }
    }
    for e in &app.lessons.errors {
        lines.push(Line::styled(format!("✗ {e}"), theme.error()));
    }
    if app.lessons.all.is_empty() {
        lines.push(Line::from("No lessons found (lessons/*.md)."));
    }
    let block = Block::bordered().title(" Lessons · ↑↓ choose · Enter opens · Esc closes ");
    let inner = block.inner(rect);
    block.render(rect, buf);
    super::render_wrapped(Paragraph::new(lines).wrap(Wrap { trim: false }), inner, buf);
}
