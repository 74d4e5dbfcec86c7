//! The views the tabs switch between.

mod attention;
mod attribution;
mod inside;
mod rotary;
mod stats;
mod training;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::theme::Theme;
use crate::app::{App, View};
pub use stats::{lesson, next_token};

pub fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    if app.snap.is_none() {
        let msg = match (&app.error, &app.busy) {
            (Some(e), _) => e.clone(),
            (None, Some(b)) => b.clone(),
            _ => "no prompt".into(),
        };
        Paragraph::new(msg)
            .wrap(Wrap { trim: true })
            .render(area, buf);
        return;
    }
    match app.view {
        View::Attention => attention::pattern(app, theme, area, buf),
        View::Heads => attention::heads(app, theme, area, buf),
        View::Scores => attention::scores(app, theme, area, buf),
        View::Inside => inside::inside(app, theme, area, buf),
        View::Positions => attention::positions(app, theme, area, buf),
        View::Residual => stats::residual(app, theme, area, buf),
        View::Lens => match app.lens_page {
            crate::app::LensPage::Lens => stats::lens(app, theme, area, buf),
            crate::app::LensPage::Attribution => attribution::attribution(app, theme, area, buf),
        },
        View::Next => stats::next_view(app, theme, area, buf),
        View::Training => match app.training_page {
            crate::app::TrainingPage::Curve => training::training(app, theme, area, buf),
            crate::app::TrainingPage::Scaling => training::scaling(app, theme, area, buf),
        },
        View::Lesson => lesson(app, theme, area, buf),
    }
}

/// What a view draws while the worker computes what it shows (`what`), or why it could not.
fn computing(app: &App, theme: Theme, what: &str, area: Rect, buf: &mut Buffer) {
    let line = match app.fetch_error() {
        Some(e) => format!("cannot show {what}: {e}"),
        None => format!("{} computing {what}…", super::panels::spinner(app.tick)),
    };
    Paragraph::new(line)
        .style(theme.dim())
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// A view's title that shortens by words: the first of `heads` (accent) that fits the width, then
/// the first of `tails` (in `tail_style`) that fits beside it; returns the area below it.
fn titled_fit(
    theme: Theme,
    heads: &[impl AsRef<str>],
    tails: &[impl AsRef<str>],
    tail_style: ratatui::style::Style,
    area: Rect,
    buf: &mut Buffer,
) -> Rect {
    let title = super::fit::title(
        heads,
        theme.accent(),
        tails,
        tail_style,
        usize::from(area.width),
    );
    titled(title, area, buf)
}

/// A title line at the top of a view; returns the area below it.
fn titled(title: Line, area: Rect, buf: &mut Buffer) -> Rect {
    title.render(Rect::new(area.x, area.y, area.width, 1), buf);
    Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(1),
    )
}

/// A horizontal bar of `frac` (0..1) of `width` cells, in eighths.
pub fn bar(frac: f32, width: usize) -> String {
    const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    let cells = frac.clamp(0.0, 1.0) * width as f32;
    let full = cells.floor() as usize;
    let mut s: String = "█".repeat(full);
    let rest = ((cells - full as f32) * 8.0).round() as usize;
    if rest > 0 && full < width {
        s.push(EIGHTHS[rest - 1]);
    }
    s
}
