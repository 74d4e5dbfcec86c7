//! Drawing the tutor. Reads the `App` and analysis data; never changes the model or runs it.
//!
//! Screen: a header with the model and the view tabs, the token strip, the selected view, a side
//! column (next-token probabilities and the lesson pane) when the terminal is wide, and a status line.

mod fit;
mod heatmap;
mod lesson;
mod lesson_list;
mod markdown;
pub(crate) mod panels;
pub mod theme;
mod views;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::app::{keymap::KEYS, App, Overlay, View};
pub use heatmap::{fit_label, HeatmapView};
use theme::Theme;

/// Below this the tutor shows a message instead of its views.
pub const MIN_SIZE: (u16, u16) = (30, 8);
/// From this width the next-token and lesson panes sit beside the view.
const SIDE_FROM: u16 = 110;
const SIDE_W: u16 = 40;

/// The tutor's whole screen.
pub struct Screen<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Widget for Screen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        *app.hits.borrow_mut() = Default::default();
        if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
            let msg = format!(
                "Terminal too small ({}×{}): glassbox needs {}×{}. Enlarge it, or press q to quit.",
                area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
            );
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .render(area, buf);
            return;
        }
        // A short screen gives the token strip fewer lines (it scrolls to the cursor), the view more.
        let strip_max = ((area.height - 2) / 4).clamp(1, 4);
        let strip_h = panels::token_strip_height(app, area.width).min(strip_max);
        let [header, strip, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(strip_h),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        panels::header(app, self.theme, header, buf);
        panels::token_strip(app, self.theme, strip, buf);
        let in_lesson = app.lessons.current.is_some();
        let (mut main, side) = if area.width >= SIDE_FROM {
            let side_w = if in_lesson && area.width >= 150 {
                50
            } else {
                SIDE_W
            };
            let [m, s] =
                Layout::horizontal([Constraint::Min(40), Constraint::Length(side_w)]).areas(body);
            (m, Some(s))
        } else {
            (body, None)
        };
        // Narrow screens keep an open lesson's text under the view, with the larger share, so its
        // steps stay readable.
        if side.is_none() && in_lesson && app.view != View::Lesson && body.height >= 16 {
            let [m, l] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(body);
            main = m;
            lesson::framed(app, self.theme, l, buf);
        }
        views::render(app, self.theme, main, buf);
        if let Some(side) = side {
            // The Lesson view shows the lesson whole: the side column keeps the next token only.
            let split = match (app.view, in_lesson) {
                (View::Lesson, _) => [100, 0],
                (_, true) => [40, 60],
                (_, false) => [55, 45],
            };
            let [next, lesson] = Layout::vertical([
                Constraint::Percentage(split[0]),
                Constraint::Percentage(split[1]),
            ])
            .areas(side);
            let block = Block::bordered().title(" Next token ");
            let inner = block.inner(next);
            block.render(next, buf);
            views::next_token(app, self.theme, inner, buf);
            if lesson.height > 0 {
                lesson::framed(app, self.theme, lesson, buf);
            }
        }
        panels::status(app, self.theme, status, buf);
        match &app.overlay {
            Overlay::None => {}
            Overlay::Editing(editor) => panels::editor(editor, app.chat, self.theme, body, buf),
            Overlay::LessonList(sel) => lesson_list::list(app, *sel, self.theme, body, buf),
            Overlay::Help { scroll } => help(app, self.theme, *scroll, body, buf),
        }
    }
}

/// The whole screen at `(w, h)` cells in true colour, drawn into a buffer (for pictures of the screen).
pub fn screen_buffer(app: &App, (w, h): (u16, u16)) -> Buffer {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    Screen {
        app,
        theme: Theme::new(theme::ColorMode::TrueColor),
    }
    .render(area, &mut buf);
    buf
}

/// Every key, in a box over the view; `scroll` lines down when the box is shorter than the list.
/// A narrow box wraps the descriptions by words under their column.
fn help(app: &App, theme: Theme, scroll: u16, area: Rect, buf: &mut Buffer) {
    let key_w = KEYS
        .iter()
        .map(|k| k.keys.chars().count())
        .max()
        .unwrap_or(0);
    let what_w = KEYS
        .iter()
        .map(|k| k.what.chars().count())
        .max()
        .unwrap_or(0);
    // Borders, the key column, two spaces, the longest description: nothing wraps at 80 columns.
    let w = area.width.min((key_w + what_w + 4) as u16);
    let inner_w = usize::from(w.saturating_sub(2));
    let what_room = inner_w.saturating_sub(key_w + 2).max(1);
    let mut lines: Vec<Line> = Vec::new();
    for k in KEYS {
        for (i, part) in fit::wrap(k.what, what_room).into_iter().enumerate() {
            let keys = if i == 0 { k.keys } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{keys:>key_w$}  "), theme.accent()),
                Span::raw(part),
            ]));
        }
    }
    let footer = |scrolls: bool| {
        let text = if scrolls {
            "↑ ↓ scroll, any other key closes this help"
        } else {
            "any key closes this help"
        };
        fit::wrap(text, inner_w)
    };
    let fits = lines.len() + footer(false).len() + 2 <= usize::from(area.height);
    let title = if fits {
        " Keys "
    } else {
        " Keys · ↑↓ scroll "
    };
    for part in footer(!fits) {
        lines.push(Line::styled(part, theme.dim()));
    }
    let n = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let h = area.height.min(n.saturating_add(2));
    let rect = Rect::new(area.x + (area.width - w) / 2, area.y, w, h);
    Clear.render(rect, buf);
    let max_scroll = n.saturating_sub(h.saturating_sub(2));
    app.hits.borrow_mut().help_scroll_max = Some(max_scroll);
    // The bottom border says how much is left, as the lesson pane does, so a cut list is never silent.
    let shown = scroll.min(max_scroll);
    let below = max_scroll - shown;
    let mark = match (shown, below) {
        (_, 1) => " 1 more line ▼ ".to_string(),
        (_, b) if b > 1 => format!(" {b} more lines ▼ "),
        (s, _) if s > 0 => " ▲ ".to_string(),
        _ => String::new(),
    };
    Paragraph::new(lines)
        .scroll((shown, 0))
        .block(
            Block::bordered()
                .title(title)
                .title_bottom(Line::styled(mark, theme.dim()).right_aligned()),
        )
        .render(rect, buf);
}

/// Render a wrapping paragraph into `area`. ratatui 0.29's word wrapper can make a line a grapheme or
/// two wider than the area when it breaks a word of wide characters (after a zero-width space, for
/// one), and then writes past the buffer and panics; so the paragraph is drawn into a wider scratch
/// copy of the area and only what lies inside the area is copied back.
pub(crate) fn render_wrapped(paragraph: Paragraph, area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    // Symbols wider than the area are skipped, so a line overflows by at most twice its width.
    let room = u16::MAX - area.x;
    let wide = Rect {
        width: area.width.saturating_mul(3).saturating_add(8).min(room),
        ..area
    };
    let mut scratch = Buffer::empty(wide);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            scratch[(x, y)] = buf[(x, y)].clone();
        }
    }
    paragraph.render(area, &mut scratch);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            buf[(x, y)] = scratch[(x, y)].clone();
        }
    }
}

/// The label of a view tab.
fn tab_label(view: View) -> String {
    format!("{} {}", tab_number(view), view.title())
}

/// The number of `view`'s tab (its digit key: 1 to 9, then 0 for the tenth).
fn tab_number(view: View) -> usize {
    (View::ALL.iter().position(|&v| v == view).unwrap_or(0) + 1) % 10
}

/// Plain style helper used by panels.
fn plain() -> Style {
    Style::default()
}
