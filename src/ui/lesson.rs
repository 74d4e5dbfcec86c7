//! The lesson pane: the open step (its text scrolled with J/K, its task and hints kept in sight), or
//! a guide to the screen before any lesson is open.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::theme::Theme;
use super::{fit, markdown, tab_number};
use crate::app::{App, View};
use crate::lesson::task::Outcome;
use crate::model::loader::known::KnownModel;

/// The lesson pane inside a border (beside or under another view): the step's title in the top
/// border, the way on and the scroll marker in the bottom one, so every inner row is the step's.
pub fn framed(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    Block::bordered().render(area, buf);
    let inner = Block::bordered().inner(area);
    let content = Content::of(app, theme);
    let room = usize::from(area.width.saturating_sub(2));
    let (title, title_fits) = content.border_title(theme, room.saturating_sub(2));
    let mut text = content.text;
    if !title_fits {
        text.insert(0, content.title_line.clone());
    }
    buf.set_line(area.x + 1, area.y, &title, area.width.saturating_sub(2));
    let view8 = tab_number(View::Lesson);
    let scroll = body(app, text, content.foot, inner, buf);
    // Inside the corners, a rule's width from them.
    let bottom = Rect::new(
        area.x + 2,
        area.bottom().saturating_sub(1),
        area.width.saturating_sub(4),
        1,
    );
    if area.height >= 3 {
        way_on(
            &content.nav,
            &scroll.marker(Some(view8)),
            true,
            theme,
            bottom,
            buf,
        );
    }
}

/// The lesson pane as the whole view (8): the title is the text's first line, and the way on and
/// the scroll marker share the last row.
pub fn bare(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let content = Content::of(app, theme);
    let mut text = content.text;
    if app.lessons.current_step().is_some() {
        text.insert(0, content.title_line.clone());
    }
    if area.height < 2 {
        body(app, text, Vec::new(), area, buf);
        return;
    }
    let rows = Rect::new(area.x, area.y, area.width, area.height - 1);
    let scroll = body(app, text, content.foot, rows, buf);
    let bottom = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    way_on(
        &content.nav,
        &scroll.marker(None),
        false,
        theme,
        bottom,
        buf,
    );
}

/// What the pane shows: the step's text (scrolled), its task (kept in sight), the way on.
struct Content {
    /// Border titles, most telling first, and whether each names the step (else the step's title
    /// goes first in the text).
    titles: Vec<(Line<'static>, bool)>,
    title_line: Line<'static>,
    text: Vec<Line<'static>>,
    foot: Vec<Line<'static>>,
    /// The keys to the other steps, longest first.
    nav: Vec<&'static str>,
}

impl Content {
    fn of(app: &App, theme: Theme) -> Self {
        let lessons = &app.lessons;
        let (Some(lesson), Some(step)) = (lessons.lesson(), lessons.current_step()) else {
            return Content {
                titles: vec![(Line::styled(" Lesson ", theme.accent()), true)],
                title_line: Line::default(),
                text: intro(theme, !lessons.all.is_empty()),
                foot: Vec::new(),
                nav: Vec::new(),
            };
        };
        let (i, n) = (lessons.step + 1, lesson.steps.len());
        let name = lesson.meta.title.clone();
        let st = &step.title;
        let titles = vec![
            (
                Line::from(vec![
                    Span::styled(format!(" {name}"), theme.accent()),
                    Span::styled(format!(" · step {i}/{n}: {st} "), theme.dim()),
                ]),
                true,
            ),
            (
                Line::styled(format!(" step {i}/{n}: {st} "), theme.accent()),
                true,
            ),
            (
                Line::styled(format!(" {i}/{n}: {st} "), theme.accent()),
                true,
            ),
            (
                Line::styled(format!(" Lesson · step {i}/{n} "), theme.accent()),
                false,
            ),
            (
                Line::styled(format!(" step {i}/{n} "), theme.accent()),
                false,
            ),
            (Line::styled(format!(" {i}/{n} "), theme.accent()), false),
        ];
        let title_line = Line::from(vec![
            Span::styled(name.clone(), theme.accent()),
            Span::styled(format!(" · step {i}/{n}: {st}"), theme.dim()),
        ]);
        let mut text = Vec::new();
        if let Some(info) = app.info.as_ref().filter(|i| i.name != lesson.meta.model) {
            text.extend(other_model_note(app, lesson, &info.name, &theme));
        }
        text.extend(markdown::render(&step.body, theme));
        let nav = if i >= n {
            vec![
                "Last step. L: all lessons",
                "Last step · L: lessons",
                "L: lessons",
            ]
        } else {
            vec![
                "> next step · < back · L: all lessons",
                "> next · < back · L: lessons",
                "> next · < back",
                "> <",
            ]
        };
        Content {
            titles,
            title_line,
            text,
            foot: task_lines(app, theme),
            nav,
        }
    }

    /// The most telling border title that fits in `room`, and whether it names the step.
    fn border_title(&self, theme: Theme, room: usize) -> (Line<'static>, bool) {
        self.titles
            .iter()
            .find(|(l, _)| l.width() <= room)
            .cloned()
            .unwrap_or((Line::styled("", theme.dim()), false))
    }
}

/// The step's task, how it stands, the hints asked for: kept under the text, which scrolls.
fn task_lines(app: &App, theme: Theme) -> Vec<Line<'static>> {
    let lessons = &app.lessons;
    let mut foot = Vec::new();
    let Some(task) = lessons.current_step().and_then(|s| s.task.as_ref()) else {
        return foot;
    };
    let (mark, style) = match &lessons.outcome {
        Some(Outcome::Done(_)) => ("✓ ", theme.generated()),
        _ => ("▶ ", theme.accent()),
    };
    let mut goal = vec![
        Span::styled(format!("{mark}Task: "), style),
        Span::raw(task.goal.clone()),
    ];
    if lessons.hints_shown < task.hints.len() {
        goal.push(Span::styled(" (H: a hint)", theme.dim()));
    }
    foot.push(Line::from(goal));
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
    foot
}

/// Rows the text needs at least before the task is kept apart from it (else both scroll together).
const MIN_TEXT_ROWS: u16 = 3;

/// Where the text stands: lines above and below the rows shown.
#[derive(Debug, Clone, Copy)]
struct Scroll {
    above: u16,
    below: u16,
}

impl Scroll {
    /// The marker's variants, most telling first: which way more text lies and the key that shows
    /// it, and (in a border) the view that shows the step whole.
    fn marker(self, whole_view: Option<usize>) -> Vec<String> {
        let mut out = Vec::new();
        let whole: Vec<String> = match whole_view {
            Some(v) if self.above + self.below > 0 => {
                vec![
                    format!(" · {v}: read it whole"),
                    format!(" · {v}: whole"),
                    String::new(),
                ]
            }
            _ => vec![String::new()],
        };
        let lines = if self.below == 1 { "line" } else { "lines" };
        let (counted, plain, short) = match (self.above > 0, self.below > 0) {
            (false, false) => return out,
            (false, true) => (
                format!("{} more {lines} ▼ J", self.below),
                "more ▼ J".to_string(),
                "▼ J".to_string(),
            ),
            (true, true) => (
                format!("▲ K · {} more {lines} ▼ J", self.below),
                "▲ K · more ▼ J".to_string(),
                "▲ K ▼ J".to_string(),
            ),
            (true, false) => (
                "end · ▲ K: back".to_string(),
                "▲ K: back".to_string(),
                "▲ K".to_string(),
            ),
        };
        for w in &whole {
            out.push(format!("{counted}{w}"));
        }
        for w in &whole {
            out.push(format!("{plain}{w}"));
        }
        out.push(short);
        out
    }
}

/// The text, scrolled to the learner's place (and no further than its end), above the task; the
/// lesson's furthest scroll is left in `app.hits` for J to stop at.
fn body(
    app: &App,
    mut text: Vec<Line<'static>>,
    foot: Vec<Line<'static>>,
    area: Rect,
    buf: &mut Buffer,
) -> Scroll {
    let measure = |lines: &[Line<'static>]| -> u16 {
        let n = Paragraph::new(lines.to_vec())
            .wrap(Wrap { trim: false })
            .line_count(area.width);
        u16::try_from(n).unwrap_or(u16::MAX)
    };
    let mut foot_h = measure(&foot);
    let mut foot = foot;
    if foot_h + MIN_TEXT_ROWS > area.height {
        // No room to keep the task apart: it follows the text and scrolls with it.
        text.append(&mut foot);
        foot_h = 0;
    }
    let text_area = Rect::new(area.x, area.y, area.width, area.height - foot_h);
    let text_h = measure(&text);
    let max_scroll = text_h.saturating_sub(text_area.height);
    let scroll = app.lessons.scroll.min(max_scroll);
    app.hits.borrow_mut().lesson_scroll_max = Some(max_scroll);
    // Through a scratch buffer: ratatui's wrapper can overrun the area on wide characters.
    let text = Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    super::render_wrapped(text, text_area, buf);
    if foot_h > 0 {
        super::render_wrapped(
            Paragraph::new(foot).wrap(Wrap { trim: false }),
            Rect::new(area.x, text_area.bottom(), area.width, foot_h),
            buf,
        );
    }
    Scroll {
        above: scroll,
        below: max_scroll - scroll,
    }
}

/// One row: the keys to the other steps on the left, the scroll marker on the right, a rule
/// between them. Each is the longest of its variants that fits; the marker keeps its words before
/// the way on keeps its length. In a border (`framed`) both stand a space off the border's line.
fn way_on(
    nav: &[&str],
    marker: &[String],
    framed: bool,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let pad_nav = |n: &str| match (n.is_empty(), framed) {
        (true, _) => String::new(),
        (false, true) => format!(" {n} "),
        (false, false) => format!("{n} "),
    };
    let pad_marker = |m: &str| match (m.is_empty(), framed) {
        (true, _) => String::new(),
        (false, true) => format!(" {m} "),
        (false, false) => format!(" {m}"),
    };
    let navs: Vec<String> = nav
        .iter()
        .map(|n| pad_nav(n))
        .chain([String::new()])
        .collect();
    let markers: Vec<String> = if marker.is_empty() {
        vec![String::new()]
    } else {
        marker.iter().map(|m| pad_marker(m)).collect()
    };
    // At least one cell of rule between the two.
    let fits = |n: &str, m: &str| {
        fit::width(n) + usize::from(!m.is_empty()) + fit::width(m) <= usize::from(area.width)
    };
    // First the marker in words ("more ▼ J") beside the longest way on that leaves room for it,
    // then the marker at its shortest (its last variant).
    let worded = &markers[..markers.len().saturating_sub(1).max(1)];
    let chosen = [worded, &markers[..]].into_iter().find_map(|markers| {
        navs.iter()
            .find_map(|n| markers.iter().find(|m| fits(n, m)).map(|m| (n, m)))
    });
    let Some((n, m)) = chosen else { return };
    buf.set_string(area.x, area.y, n, theme.dim());
    if m.is_empty() {
        return;
    }
    let mx = area.right() - fit::width(m) as u16;
    for x in area.x + fit::width(n) as u16..mx {
        buf[(x, area.y)].set_char('─').set_style(theme.dim());
    }
    buf.set_string(mx, area.y, m, theme.accent());
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

/// What the pane says above a lesson written for another model than the one open: for a real model
/// glassbox knows, how to open the lesson on it (and how to get the model when it is missing).
fn other_model_note(
    app: &App,
    lesson: &crate::lesson::Lesson,
    open: &str,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let wanted = &lesson.meta.model;
    let Some(known) = KnownModel::named(wanted) else {
        return vec![Line::styled(
            format!("(written for {wanted}; with {open} the numbers will differ)"),
            theme.dim(),
        )];
    };
    let mut lines = vec![Line::styled(
        format!(
            "This lesson runs on {}, and {open} is open. Quit (q) and run: glassbox --lesson {}",
            known.name, lesson.meta.id
        ),
        theme.accent(),
    )];
    if app.lessons.missing_models.iter().any(|m| m == wanted) {
        lines.push(Line::styled(
            format!(
                "{} is not downloaded yet: run {} from glassbox's source folder first.",
                known.name, known.fetch
            ),
            theme.accent(),
        ));
    }
    lines
}
