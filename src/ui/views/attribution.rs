//! The Lens view's second page: direct logit attribution at the cursor. A layers × heads grid with
//! the MLP as its last column (each cell the component's direct contribution to the target's logit,
//! red up, blue down, the number always printed so it reads without colour), beside (or, when
//! narrow, above) the components ranked by |contribution|.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{bar, titled_fit};
use crate::analysis::attribution::{target_label, Attribution, Component};
use crate::app::App;
use crate::text::visible;
use crate::ui::fit;
use crate::ui::heatmap::follow;
use crate::ui::theme::{ColorMode, Palette, Theme};

/// The narrowest ranked list worth drawing beside the grid.
const LIST_MIN: u16 = 22;

pub fn attribution(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let c = app.cursor;
    let token = app
        .snap
        .as_ref()
        .and_then(|s| s.tokens.get(c))
        .map(|t| format!("“{}”", visible(t)))
        .unwrap_or_default();
    let body = titled_fit(
        theme,
        &[
            format!("direct logit attribution at position {c} {token}"),
            format!("logit attribution at {c} {token}"),
            format!("attribution at {c}"),
        ],
        &[
            "  t target · v versus · i logit lens · ↑↓ [ ] select",
            "  t target · v versus · i lens",
            "  t · v · i",
        ],
        theme.dim(),
        area,
        buf,
    );
    let Some(answer) = app.attribution_current() else {
        let frame = crate::ui::panels::spinner(app.tick);
        let text = if app.candidates().is_empty() {
            "no next-token logits at this position".to_string()
        } else {
            format!("{frame} computing each head's and MLP's direct contribution…")
        };
        let text = fit::words(&text, usize::from(body.width));
        Paragraph::new(Line::styled(text, theme.accent())).render(body, buf);
        return;
    };
    let a = match &answer.data {
        Some(Ok(a)) => a,
        Some(Err(e)) => {
            crate::ui::panels::error_text(e, theme, body, buf);
            return;
        }
        None => return,
    };
    let label = |id: u32| {
        app.info
            .as_ref()
            .map_or_else(|| id.to_string(), |i| i.codec.token_label(id))
    };
    let what = target_label(
        &label(a.target.token),
        a.target.versus.map(label).as_deref(),
    );
    let body = summary(app, theme, a, &what, body, buf);
    if body.height == 0 {
        return;
    }
    let cell_w: u16 = if body.width >= 4 + 6 * (a.n_heads as u16 + 1) + LIST_MIN + 2 {
        6
    } else {
        5
    };
    let grid_w = (4 + cell_w * (a.n_heads as u16 + 1)).min(body.width);
    let room = body.width.saturating_sub(grid_w + 2);
    let (grid_area, list_area) = if room >= LIST_MIN {
        (
            Rect::new(body.x, body.y, grid_w, body.height),
            Rect::new(body.x + grid_w + 2, body.y, room, body.height),
        )
    } else {
        // Narrow: the grid above, the list below.
        let list_h = (body.height / 3).max(3).min(body.height);
        let grid_h = body.height - list_h;
        (
            Rect::new(body.x, body.y, body.width, grid_h),
            Rect::new(body.x, body.y + grid_h, body.width, list_h),
        )
    };
    grid(app, theme, a, cell_w, grid_area, buf);
    ranked(app, theme, a, list_area, buf);
}

/// The target and its logit, then the selected head and the legend; returns the area below.
fn summary(
    app: &App,
    theme: Theme,
    a: &Attribution,
    what: &str,
    area: Rect,
    buf: &mut Buffer,
) -> Rect {
    let w = usize::from(area.width);
    let first = fit::pick_or_empty(
        &[
            format!(
                "{what} = {:+.3} = Σ components {:+.3} + ln_final bias {:+.3}",
                a.logit,
                a.total() - a.constant,
                a.constant
            ),
            format!("{what} = {:+.3}", a.logit),
            what.to_string(),
        ],
        w,
    );
    let selected = Component::Head {
        layer: app.layer.min(a.n_layers.saturating_sub(1)),
        head: app.head.min(a.n_heads.saturating_sub(1)),
    };
    let n = a.components().len();
    let picked = match (a.value_of(selected), a.rank_of(selected)) {
        (Some(v), Some(r)) => format!("{} {v:+.3}, rank {r} of {n}", selected.label()),
        _ => String::new(),
    };
    let legend = if theme.mode == ColorMode::Mono {
        "+ pushes the target up, − down"
    } else {
        "red pushes the target up, blue down"
    };
    let second = fit::pick_or_empty(
        &[
            format!("{picked} · {legend} · cells: z·W_O of each head, the MLP's output"),
            format!("{picked} · {legend}"),
            picked.clone(),
        ],
        w,
    );
    let lines = vec![
        Line::styled(first, theme.accent()),
        Line::styled(second, theme.dim()),
    ];
    let h = area.height.min(2);
    Paragraph::new(lines).render(Rect::new(area.x, area.y, area.width, h), buf);
    Rect::new(area.x, area.y + h, area.width, area.height - h)
}

/// The colour of a contribution on the diverging map, scaled to the largest |contribution|.
fn colour(theme: Theme, a: &Attribution, v: f32) -> Option<(Color, Color)> {
    if theme.mode == ColorMode::Mono || !v.is_finite() {
        return None;
    }
    let max = a.max_abs();
    let t = if max > 0.0 { 0.5 + 0.5 * v / max } else { 0.5 };
    let bg = theme.color(Palette::Diverging, t);
    // Dark text on the pale middle, light text on the saturated ends.
    let fg = if (t - 0.5).abs() < 0.3 {
        theme.rgb(20, 20, 24)
    } else {
        theme.rgb(250, 250, 250)
    };
    Some((bg, fg))
}

/// Layers × heads with the MLP column; the rows and columns shown follow the selected head.
fn grid(app: &App, theme: Theme, a: &Attribution, cell_w: u16, area: Rect, buf: &mut Buffer) {
    if area.height < 2 {
        return;
    }
    let cw = usize::from(cell_w);
    let cols = a.n_heads + 1;
    let fit_cols = (usize::from(area.width).saturating_sub(4) / cw).clamp(1, cols);
    let (sel_l, sel_h) = (app.layer, app.head);
    let col0 = follow(sel_h, fit_cols, cols);
    let fit_rows = usize::from(area.height - 1).min(a.n_layers);
    let row0 = follow(sel_l, fit_rows, a.n_layers);
    let mut header = vec![Span::raw("    ")];
    for col in col0..col0 + fit_cols {
        let name = if col == a.n_heads {
            "MLP".to_string()
        } else {
            format!("H{col}")
        };
        header.push(Span::styled(format!("{name:>cw$}"), theme.dim()));
    }
    let mut lines = vec![Line::from(header)];
    let decimals = if cw >= 6 { 2 } else { 1 };
    for l in row0..row0 + fit_rows {
        let mut spans = vec![Span::styled(format!("L{l:<3}"), theme.dim())];
        for col in col0..col0 + fit_cols {
            let v = if col == a.n_heads {
                a.mlps[l]
            } else {
                a.head(l, col)
            };
            let text = if v.is_finite() {
                format!("{v:>w$.decimals$}", w = cw - 1)
            } else {
                format!("{:>w$}", "NaN", w = cw - 1)
            };
            let mut style = match colour(theme, a, v) {
                Some((bg, fg)) => Style::default().bg(bg).fg(fg),
                None => Style::default(),
            };
            if l == sel_l && col == sel_h {
                style = theme.cursor();
            }
            spans.push(Span::raw(" "));
            spans.push(Span::styled(text, style));
        }
        lines.push(Line::from(spans));
    }
    Paragraph::new(lines).render(area, buf);
}

/// The components by |contribution|, with signed bars; the selected head's row stands out.
fn ranked(app: &App, theme: Theme, a: &Attribution, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let selected = Component::Head {
        layer: app.layer,
        head: app.head,
    };
    let w = usize::from(area.width);
    let mut lines = vec![Line::styled(
        fit::pick_or_empty(&["largest by |contribution|", "largest", ""], w),
        theme.dim(),
    )];
    let bar_w = w.saturating_sub(3 + 10 + 8 + 1);
    let max = a.max_abs().max(f32::MIN_POSITIVE);
    for (i, (c, v)) in a
        .ranked()
        .into_iter()
        .take(usize::from(area.height).saturating_sub(1))
        .enumerate()
    {
        let style = if c == selected {
            theme.cursor()
        } else {
            Style::default()
        };
        let mut spans = vec![Span::styled(
            format!("{:>2} {:<9} {v:>+7.3} ", i + 1, c.label()),
            style,
        )];
        if bar_w > 0 && v.is_finite() {
            let fill = bar(v.abs() / max, bar_w);
            let bar_style = if v >= 0.0 {
                theme.bar_alt()
            } else {
                theme.bar()
            };
            spans.push(Span::styled(fill, bar_style));
        }
        lines.push(Line::from(spans));
    }
    Paragraph::new(lines).render(area, buf);
}
