//! Attention views: one head's pattern, every head at a glance, scores before softmax, and the
//! positional encodings.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

use super::{bar, computing, titled, titled_fit};
use crate::analysis::heatmap::{softmax_row, Heatmap};
use crate::app::{App, HeatmapHit, View};
use crate::text::visible;
use crate::ui::heatmap::HeatmapView;
use crate::ui::theme::{Theme, NAN_GLYPH};
use crate::ui::{fit, fit_label};

/// Width of the column listing the cursor row's weights.
const ROW_LIST_W: u16 = 28;

/// The selected head's pattern, and the cursor row's weights as numbers.
pub fn pattern(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(map) = app.head_map(View::Attention) else {
        let what = format!("L{}H{}'s pattern", app.layer, app.head);
        return computing(app, theme, &what, area, buf);
    };
    let (l, h) = (app.layer, app.head);
    let body = titled_fit(
        theme,
        &[
            format!("blocks.{l}.attn.hook_pattern  head {h}"),
            format!("L{l}H{h} hook_pattern"),
            format!("L{l}H{h}"),
        ],
        &[
            "  rows: queries · columns: keys they attend to · ↑↓ head [ ] layer",
            "  rows: queries · columns: keys they attend to",
            "  rows: queries · columns: keys",
            "  queries × keys",
        ],
        theme.dim(),
        area,
        buf,
    );
    map_with_row_list(app, theme, &map, body, buf, |cursor, map, width| {
        weights_list(map, cursor, width)
    });
}

/// A heatmap on the left and a list about the cursor row on the right (when there is room).
fn map_with_row_list(
    app: &App,
    theme: Theme,
    map: &Heatmap,
    area: Rect,
    buf: &mut Buffer,
    list: impl Fn(usize, &Heatmap, usize) -> Vec<Line<'static>>,
) {
    let (plot, side) = if area.width >= 64 {
        let [p, s] =
            Layout::horizontal([Constraint::Min(30), Constraint::Length(ROW_LIST_W)]).areas(area);
        (p, Some(s))
    } else {
        (area, None)
    };
    let mut view = HeatmapView::new(map, theme);
    view.cursor = Some(app.cursor);
    view.dense = app.dense;
    if let Some(p) = view.draw(plot, buf) {
        app.hits.borrow_mut().heatmap = Some(HeatmapHit {
            area: p.plot,
            row0: p.row0,
            rows_per_line: p.rows_per_line,
        });
    }
    if let Some(side) = side {
        let width = usize::from(side.width.saturating_sub(1));
        Paragraph::new(list(app.cursor, map, width)).render(
            Rect::new(side.x + 1, side.y, side.width - 1, side.height),
            buf,
        );
    }
}

/// "query 12 ·Zorva attends to:" and its keys by weight, largest first.
fn weights_list(map: &Heatmap, cursor: usize, width: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(format!(
        "query {cursor} {}",
        fit_label(&visible(&map.row_labels[cursor]), width.saturating_sub(8))
    ))];
    lines.push(Line::from("attends to (weight, key):"));
    let mut keys: Vec<(usize, f32)> = (0..map.cols)
        .filter_map(|k| map.get(cursor, k).map(|w| (k, w)))
        .collect();
    keys.sort_by(|a, b| b.1.total_cmp(&a.1));
    let nan = map.not_a_number_in_row(cursor);
    if nan > 0 {
        lines.push(Line::from(format!("{NAN_GLYPH} {nan} are not numbers")));
    }
    for (k, w) in keys.into_iter().take(40) {
        let label = fit_label(&visible(&map.col_labels[k]), width.saturating_sub(19));
        lines.push(Line::from(format!(
            "{w:.3} {:<6} {k:>3} {label}",
            bar(w, 6)
        )));
    }
    lines
}

/// A layers × heads grid of small patterns; the selected head is marked, a click opens one.
pub fn heads(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let (n_layers, n_heads) = app.dims();
    if app.snap.is_none() {
        return;
    }
    let metric = app.head_metric.describe();
    // Grouped-query attention: the query heads sharing a key/value head are labelled kN below.
    let shared = match app
        .info
        .as_ref()
        .map(|i| (i.config.n_heads, i.config.n_kv_heads))
    {
        Some((q, kv)) if kv > 0 && kv < q => " · kN: the key/value head it shares",
        _ => "",
    };
    let body = titled_fit(
        theme,
        &["every head's pattern", "every head"],
        &[
            format!("  number: {metric} (i changes it) · Enter/click opens{shared}"),
            format!("  number: {metric} (i changes it){shared}"),
            format!("  number: {metric} (i changes it) · Enter/click opens"),
            format!("  number: {metric} (i changes it)"),
            format!("  {metric} (i changes it)"),
            format!("  {metric} (i)"),
        ],
        theme.dim(),
        area,
        buf,
    );
    let label_w = 4u16;
    if n_layers == 0 || body.width <= label_w + 2 || body.height < 2 {
        return;
    }
    let cell_w = (body.width - label_w) / n_heads as u16;
    if cell_w < 3 {
        Paragraph::new("too narrow for every head: widen the terminal").render(body, buf);
        return;
    }
    // Every layer when they fit; else a window of layers around the selected one (↑ ↓ [ ] move it),
    // with how many are above and below.
    let rows = usize::from(body.height - 1);
    let cell_h = (rows / n_layers).max(1) as u16;
    // A window keeps its last row for the "▼ more" line.
    let shown = if rows >= n_layers {
        n_layers
    } else {
        rows.saturating_sub(1).max(1)
    };
    let first = app.layer.saturating_sub(shown / 2).min(n_layers - shown);
    // Grouped-query attention: the query heads that share a key/value head are labelled by it.
    let kv = app
        .info
        .as_ref()
        .map_or(n_heads, |i| i.config.n_kv_heads.max(1));
    let group = n_heads / kv;
    for h in 0..n_heads {
        let x = body.x + label_w + h as u16 * cell_w;
        let label = if group > 1 && cell_w >= 7 {
            format!("H{h} k{}", h / group)
        } else {
            format!("H{h}")
        };
        buf.set_string(x, body.y, label, theme.dim());
    }
    let more = |n: usize, arrow: &str| format!("{arrow}{n}");
    if first > 0 {
        buf.set_string(body.x, body.y, more(first, "▲"), theme.accent());
    }
    let below = n_layers - first - shown;
    // None while the worker computes them; a prompt of one token has none to show.
    let scores = app.head_scores_by(app.head_metric);
    for l in first..first + shown {
        let y = body.y + 1 + (l - first) as u16 * cell_h;
        buf.set_string(body.x, y, format!("L{l}"), theme.dim());
        let px_rows = usize::from(cell_h) * 2;
        let Some(thumbs) = app.thumbnails(l, px_rows.max(1), usize::from(cell_w - 1)) else {
            let line = match app.fetch_error() {
                Some(e) => e,
                None => format!("{} computing…", crate::ui::panels::spinner(app.tick)),
            };
            let width = usize::from(body.width - label_w);
            buf.set_string(body.x + label_w, y, fit_label(&line, width), theme.dim());
            continue;
        };
        for (h, thumb) in thumbs.iter().enumerate() {
            let x = body.x + label_w + h as u16 * cell_w;
            let rect = Rect::new(x, y, cell_w - 1, cell_h);
            let mut view = HeatmapView::new(thumb, theme);
            view.fit = true;
            view.labels = false;
            view.legend = false;
            view.draw(rect, buf);
            let selected = (l, h) == (app.layer, app.head);
            let tag = match &scores {
                Some(scores) => scores
                    .get(l)
                    .and_then(|s| s.get(h))
                    .map_or(String::new(), |s| format!("{s:.2}")),
                // The scores are on their way.
                None => crate::ui::panels::spinner(app.tick).to_string(),
            };
            // Explicit colours: the label sits on the thumbnail's cells, whose colours it must not take.
            let style = if selected {
                theme.cursor().fg(Color::Reset).bg(Color::Reset)
            } else {
                theme.dim().bg(Color::Reset)
            };
            let tag = if selected { format!("▶{tag}") } else { tag };
            buf.set_string(
                x,
                y + cell_h - 1,
                fit_label(&tag, usize::from(cell_w - 1)),
                style,
            );
            app.hits.borrow_mut().heads.push((rect, l, h));
        }
    }
    if below > 0 {
        let y = body.y + 1 + shown as u16 * cell_h;
        if y < body.bottom() {
            buf.set_string(body.x, y, more(below, "▼"), theme.accent());
        }
    }
}

/// Scores before softmax for the selected head, with the causal mask, and the cursor row's softmax.
pub fn scores(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(map) = app.head_map(View::Scores) else {
        let what = format!("L{}H{}'s scores", app.layer, app.head);
        return computing(app, theme, &what, area, buf);
    };
    let d_head = app.info.as_ref().map_or(1, |i| i.config.d_head);
    let (l, h) = (app.layer, app.head);
    let (tails, style) = if app.what_if.unscaled {
        (
            vec![
                "  what-if: NO 1/√dₖ scaling (u restores it)".to_string(),
                "  NO 1/√dₖ scaling (u restores it)".to_string(),
                "  NO 1/√dₖ scaling (u: undo)".to_string(),
                "  NO 1/√dₖ (u)".to_string(),
            ],
            theme.bar_alt(),
        )
    } else {
        // On a rotary model the scores are of q and k after their rotation (hook_rot_q, hook_rot_k).
        let q_k = if rotary(app) { "rotated q·k" } else { "q·k" };
        (
            vec![
                format!("  {q_k}/√dₖ, dₖ = {d_head} · u: remove the scaling"),
                format!("  {q_k}/√dₖ, dₖ = {d_head} · u: unscale"),
                format!("  {q_k}/√dₖ, dₖ = {d_head}"),
                format!("  q·k/√dₖ, dₖ = {d_head}"),
            ],
            theme.dim(),
        )
    };
    let body = titled_fit(
        theme,
        &[
            format!("blocks.{l}.attn.hook_attn_scores  head {h}"),
            format!("L{l}H{h} hook_attn_scores"),
            format!("L{l}H{h} scores"),
        ],
        &tails,
        style,
        area,
        buf,
    );
    map_with_row_list(app, theme, &map, body, buf, |cursor, map, width| {
        let probs = softmax_row(map.row(cursor));
        let nan = map.not_a_number_in_row(cursor);
        let line = |variants: &[String]| Line::from(fit::pick_or_empty(variants, width));
        let mut lines = vec![line(&[
            format!("query {cursor}: score → softmax"),
            format!("query {cursor}: softmax"),
            format!("query {cursor}"),
        ])];
        if nan > 0 {
            lines.push(line(&[
                format!("{NAN_GLYPH} {nan} scores: not numbers"),
                format!("{NAN_GLYPH} {nan} not numbers"),
                format!("{NAN_GLYPH} {nan}"),
            ]));
        }
        if probs.iter().any(|p| p.is_nan()) {
            // A NaN or +∞ score takes the whole row's softmax with it (a stray −∞ only gets 0).
            lines.push(line(&[
                "so no weight here is a number".into(),
                "so no weight is a number".into(),
                "no weight is a number".into(),
            ]));
            return lines;
        }
        let max = probs.iter().copied().fold(0f32, f32::max);
        lines.push(line(&if max > 0.95 {
            vec![
                format!("largest weight {max:.3} (saturated)"),
                format!("largest {max:.3} (saturated)"),
                format!("max {max:.3}, saturated"),
                format!("max {max:.3}"),
            ]
        } else {
            vec![format!("largest weight {max:.3}"), format!("max {max:.3}")]
        }));
        let mut keys: Vec<usize> = (0..map.cols)
            .filter(|&k| map.get(cursor, k).is_some())
            .collect();
        keys.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        for k in keys.into_iter().take(40) {
            let s = map.get(cursor, k).unwrap_or(f32::NAN);
            let label = fit_label(&visible(&map.col_labels[k]), width.saturating_sub(17));
            lines.push(Line::from(format!("{s:>7.2} → {:.3} {label}", probs[k])));
        }
        let masked = map.cols.saturating_sub(cursor + 1);
        lines.push(line(&[
            format!("{masked} future keys masked (−∞ → 0)"),
            format!("{masked} future keys: −∞ → 0"),
            format!("{masked} masked (−∞ → 0)"),
            format!("{masked} masked"),
        ]));
        lines
    });
}

/// Whether the loaded model encodes positions by rotating q and k.
fn rotary(app: &App) -> bool {
    matches!(
        app.info.as_ref().map(|i| &i.positions),
        Some(crate::app::worker::PositionEncoding::Rotary(_))
    )
}

/// W_pos, the cosine similarity between positions, and the sinusoidal encoding, side by side.
pub fn positions(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(maps) = app.position_maps() else {
        return;
    };
    let how: &[&str] = if rotary(app) {
        &[
            "  rows: positions · cols: dim pairs · q, k turn by these",
            "  rows: positions · cols: dim pairs",
            "  rows: positions",
        ]
    } else {
        &[
            "  rows: positions · attention alone ignores order: these add it",
            "  rows: positions · these add the order",
            "  rows: positions",
        ]
    };
    let body = titled_fit(
        theme,
        &["positional encodings", "positions"],
        how,
        theme.dim(),
        area,
        buf,
    );
    let parts = Layout::horizontal([Constraint::Ratio(1, 3); 3])
        .spacing(1)
        .split(body);
    // A rotary model has two maps (cos, sin); its third column draws the curves they make.
    if let Some(crate::app::worker::PositionEncoding::Rotary(freqs)) =
        app.info.as_ref().map(|i| &i.positions)
    {
        let n_ctx = app.info.as_ref().map_or(1, |i| i.config.n_ctx);
        super::rotary::curves(freqs, n_ctx, theme, parts[2], buf);
    }
    for (map, part) in maps.iter().zip(parts.iter()) {
        let inner = titled(
            Line::styled(
                fit::title_text(&map.title, usize::from(part.width)),
                theme.dim(),
            ),
            *part,
            buf,
        );
        let caption = format!("{} × {}", map.rows, map.cols);
        let inner = titled(Line::styled(caption, theme.dim()), inner, buf);
        let mut view = HeatmapView::new(map, theme);
        view.fit = true;
        view.labels = false;
        view.draw(inner, buf);
    }
}
