//! The Positions view's third column for a rotary model: how fast each dimension pair turns, and how
//! the score of a matching query and key falls with their distance.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

use super::titled;
use crate::analysis::rotary::{decay, log_distances, wavelengths};
use crate::analysis::scaling::short;
use crate::ui::fit;
use crate::ui::theme::Theme;

/// Two small charts stacked in `area`: wavelength per pair (log), and the decay over distance (log).
pub fn curves(freqs: &[f64], n_ctx: usize, theme: Theme, area: Rect, buf: &mut Buffer) {
    let [top, bottom] = Layout::vertical([Constraint::Ratio(1, 2); 2])
        .spacing(1)
        .areas(area);
    // Wavelengths span decades (6 tokens to millions): plot log₁₀ of them.
    let waves: Vec<(f64, f64)> = wavelengths(freqs)
        .into_iter()
        .map(|(i, w)| (i, w.log10()))
        .collect();
    let (lo, hi) = waves
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (lo, hi) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
    let inner = titled(
        Line::styled(
            fit::title_text("wavelength per pair (tokens)", usize::from(top.width)),
            theme.dim(),
        ),
        top,
        buf,
    );
    let last = waves.last().map_or(1.0, |p| p.0).max(1.0);
    Chart::new(vec![Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(theme.accent())
        .data(&waves)])
    .x_axis(
        Axis::default()
            .style(theme.dim())
            .bounds([0.0, last])
            .labels(["0".to_string(), format!("{last:.0}")]),
    )
    .y_axis(
        Axis::default()
            .style(theme.dim())
            .bounds([lo, hi])
            .labels([short(10f64.powf(lo)), short(10f64.powf(hi))]),
    )
    .render(inner, buf);

    // The decay over the model's whole context, on a log axis of distance.
    let dist = log_distances(n_ctx, 120);
    let curve: Vec<(f64, f64)> = decay(freqs, &dist)
        .into_iter()
        .map(|(d, s)| (d.log10(), s))
        .collect();
    let inner = titled(
        Line::styled(
            fit::title_text("q·k of q = k at distance Δ", usize::from(bottom.width)),
            theme.dim(),
        ),
        bottom,
        buf,
    );
    let x1 = (n_ctx.max(2) as f64).log10();
    let zero = [(0.0, 0.0), (x1, 0.0)];
    Chart::new(vec![
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme.dim())
            .data(&zero),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.accent())
            .data(&curve),
    ])
    .x_axis(
        Axis::default()
            .title(Span::styled("Δ", theme.dim()))
            .style(theme.dim())
            .bounds([0.0, x1])
            .labels(["1".to_string(), short(n_ctx as f64)]),
    )
    .y_axis(
        Axis::default()
            .style(theme.dim())
            .bounds([-0.5, 1.0])
            .labels(["-.5", " 1"]),
    )
    .render(inner, buf);
}
