//! Number views: the residual stream, the logit lens, next-token probabilities, and the lesson pane.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use super::{bar, titled, titled_fit};
use crate::analysis::predictions::{entropy_bits, rank_of, top_k};
use crate::app::App;
use crate::text::visible;
use crate::ui::theme::{Theme, NAN_GLYPH};
use crate::ui::{fit, fit_label};

/// The residual stream at the cursor, block by block, and its final norm across positions.
pub fn residual(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(norms) = app.block_norms() else {
        return;
    };
    let c = app.cursor;
    let body = titled_fit(
        theme,
        &[
            format!("residual stream at position {c}"),
            format!("residual stream at {c}"),
            format!("position {c}"),
        ],
        &[
            "  the vectors add up, their norms ‖x‖ do not",
            "  vectors add, norms ‖x‖ do not",
        ],
        theme.dim(),
        area,
        buf,
    );
    let max = norms
        .iter()
        .flat_map(|b| [b.resid_pre[c], b.attn_out[c], b.mlp_out[c], b.resid_post[c]])
        .fold(1e-6f32, f32::max);
    // Wide: columns of 9 and a bar for ‖resid_post‖; narrow: columns of 6 and the number alone.
    let wide = body.width >= 56;
    let bar_w = usize::from(body.width.saturating_sub(50)).clamp(4, 40);
    let mut lines = vec![Line::styled(
        if wide {
            format!(
                "{:<10}{:>9} {:>9} {:>9}  ‖resid_post‖",
                "block", "‖pre‖", "+‖attn‖", "+‖mlp‖"
            )
        } else {
            format!(
                "{:<10}{:>6} {:>6} {:>6} {:>6}",
                "block", "‖pre‖", "+attn", "+mlp", "‖post‖"
            )
        },
        theme.dim(),
    )];
    for (l, b) in norms.iter().enumerate() {
        if !wide {
            lines.push(Line::from(format!(
                "blocks.{l:<3}{:>6.2} {:>6.2} {:>6.2} {:>6.2}",
                b.resid_pre[c], b.attn_out[c], b.mlp_out[c], b.resid_post[c]
            )));
            continue;
        }
        lines.push(Line::from(vec![
            Span::raw(format!(
                "blocks.{l:<3}{:>9.2} {:>9.2} {:>9.2}  ",
                b.resid_pre[c], b.attn_out[c], b.mlp_out[c]
            )),
            Span::styled(bar(b.resid_post[c] / max, bar_w), theme.bar()),
            Span::raw(format!(" {:.2}", b.resid_post[c])),
        ]));
    }
    let table_h = (lines.len() as u16 + 1).min(body.height);
    Paragraph::new(lines).render(Rect::new(body.x, body.y, body.width, table_h), buf);
    let rest = Rect::new(
        body.x,
        body.y + table_h,
        body.width,
        body.height.saturating_sub(table_h),
    );
    if rest.height >= 3 {
        if let Some(last) = norms.last() {
            let last_l = norms.len() - 1;
            let v = last.resid_post[c];
            let spark = titled(
                Line::styled(
                    fit::pick_or_empty(
                        &[
                            format!("‖blocks.{last_l}.hook_resid_post‖ across positions (cursor {c}: {v:.2})"),
                            format!("‖blocks.{last_l}.hook_resid_post‖ by position (cursor {c}: {v:.2})"),
                            format!("‖blocks.{last_l}.hook_resid_post‖ by position"),
                            "‖resid_post‖ by position".to_string(),
                        ],
                        usize::from(rest.width),
                    ),
                    theme.dim(),
                ),
                rest,
                buf,
            );
            // One bar per position; long prompts show the window around the cursor.
            let n = last.resid_post.len();
            let w = usize::from(spark.width);
            let start = crate::ui::heatmap::follow(c, w, n);
            let data: Vec<u64> = last.resid_post[start..n.min(start + w)]
                .iter()
                .map(|v| (v * 100.0) as u64)
                .collect();
            Sparkline::default()
                .data(&data)
                .style(theme.bar())
                .render(spark, buf);
        }
    }
}

/// The logit lens at the cursor: the top prediction after each block.
pub fn lens(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let c = app.cursor;
    let body = titled_fit(
        theme,
        &[
            format!("logit lens at position {c}"),
            format!("logit lens at {c}"),
            "logit lens".to_string(),
        ],
        &[
            "  ln_final + unembedding applied to the residual stream after each block",
            "  ln_final + unembedding after each block",
            "  after each block",
        ],
        theme.dim(),
        area,
        buf,
    );
    let current = app.snap.as_ref().and_then(|s| {
        app.lens
            .as_ref()
            .filter(|a| a.version == s.version && a.pos == app.cursor)
    });
    let Some(rows) = current.map(|a| &a.rows) else {
        Paragraph::new("computing…").render(body, buf);
        return;
    };
    // The hook and p columns, then the tokens in the room that is left.
    const HOOK_W: usize = 26;
    let room = usize::from(body.width).saturating_sub(HOOK_W + 9);
    // A deep model has more rows than fit: show a window that keeps the selected layer's row (moved
    // with [ ]) in view, and say how many rows are left out on each side.
    let fits = usize::from(body.height).saturating_sub(1).max(1);
    let selected = (app.layer + 1).min(rows.len().saturating_sub(1));
    let first = selected
        .saturating_sub(fits / 2)
        .min(rows.len().saturating_sub(fits));
    let shown = first..(first + fits).min(rows.len());
    let (above, below) = (shown.start, rows.len() - shown.end);
    let read_at = if above + below == 0 {
        "read at".to_string()
    } else {
        format!("read at ([ ] {above}↑ {below}↓)")
    };
    let mut lines = vec![Line::styled(
        format!(
            "{:<HOOK_W$} {:>6}  {}",
            read_at,
            "p",
            fit::pick_or_empty(
                &[
                    "top token, then the runners-up",
                    "top token, runners-up",
                    "top token",
                    "top"
                ],
                room
            )
        ),
        theme.dim(),
    )];
    for (i, (row, texts)) in rows.iter().enumerate() {
        if !shown.contains(&i) {
            continue;
        }
        let hook_style = if i == selected && above + below > 0 {
            theme.accent()
        } else {
            Style::default()
        };
        let Some(&(_, p)) = row.top.first() else {
            continue;
        };
        if p.is_nan() {
            // The tokens "ranked" first among NaN are arbitrary: show none.
            lines.push(Line::from(vec![
                Span::raw(format!("{:<HOOK_W$} {:>6}  ", row.hook, "—")),
                Span::styled(format!("{NAN_GLYPH} not a number"), theme.error()),
            ]));
            continue;
        }
        let top = fit_label(&visible(&texts[0]), room.min(14));
        // The runners-up that fit whole, in order; the rest are left off.
        let mut others = String::new();
        for t in texts.iter().skip(1).map(|t| visible(t)) {
            if fit::width(&top) + fit::width(&others) + 2 + fit::width(&t) > room {
                break;
            }
            others = format!("{others}  {t}");
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{:<HOOK_W$}", row.hook), hook_style),
            Span::raw(format!(" {p:>6.3}  ")),
            Span::styled(top, theme.accent()),
            Span::styled(others, theme.dim()),
        ]));
    }
    Paragraph::new(lines).render(body, buf);
}

/// The Next view: the next-token distribution; in chat mode with the bare question's beside it, so
/// the same question can be compared with and without the chat template.
pub fn next_view(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some((bare, n_bare)) = app
        .bare_probs()
        .filter(|_| area.width >= 50 && area.height >= 6)
    else {
        return next_token(app, theme, area, buf);
    };
    let [left, gap, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    for y in gap.top()..gap.bottom() {
        buf.set_string(gap.x, y, "│", theme.dim());
    }
    let heading = |text: &str, area: Rect, buf: &mut Buffer| {
        let title = Line::styled(fit_label(text, usize::from(area.width)), theme.accent());
        titled(title.bold(), area, buf)
    };
    let left = heading("WITH the chat template", left, buf);
    next_token(app, theme, left, buf);
    let right = heading("WITHOUT it: the bare question", right, buf);
    bare_next(app, theme, right, buf, &bare, n_bare);
}

/// The bare question's next tokens (chat mode's comparison): the top-k after its last token.
fn bare_next(app: &App, theme: Theme, area: Rect, buf: &mut Buffer, probs: &[f32], n: usize) {
    let Some(info) = app.info.as_ref() else {
        return;
    };
    let label_w = 12;
    let mut lines = vec![Line::styled(
        fit_label(
            &format!("after its last token · {n} tokens"),
            usize::from(area.width),
        ),
        theme.accent(),
    )];
    if probs.iter().any(|p| p.is_nan()) {
        lines.push(Line::styled(
            format!("{NAN_GLYPH} the logits here are not numbers"),
            theme.error(),
        ));
        Paragraph::new(lines).render(area, buf);
        return;
    }
    lines.push(Line::styled(
        format!("entropy {:.2} bits", entropy_bits(probs)),
        theme.dim(),
    ));
    let k = usize::from(area.height.saturating_sub(lines.len() as u16 + 3)).clamp(1, 20);
    let bar_w = usize::from(area.width)
        .saturating_sub(label_w + 1 + 7)
        .clamp(3, 30);
    for (id, p) in top_k(probs, k) {
        let text = fit_label(&visible(&info.codec.token_label(id)), label_w);
        lines.push(Line::from(vec![
            Span::raw(format!("{} ", crate::text::pad_right(&text, label_w))),
            Span::styled(format!("{:<bar_w$}", bar(p, bar_w)), theme.bar_alt()),
            Span::raw(format!(" {p:.3}")),
        ]));
    }
    Paragraph::new(lines).render(area, buf);
}

/// Top-k next tokens after the cursor's token, the entropy, and the ablated run beside them.
pub fn next_token(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(info) = app.info.as_ref() else {
        return;
    };
    let Some(probs) = app.next_probs() else {
        let what = format!("the logits after position {}", app.cursor);
        return super::computing(app, theme, &what, area, buf);
    };
    let label_w = 12;
    let ablated = app.ablated_probs();
    let mode = if app.sampling.sample {
        "sampling"
    } else {
        "greedy"
    };
    let mut lines = vec![Line::from(vec![Span::styled(
        format!(
            "after position {} · T = {} · {mode}",
            app.cursor, app.sampling.temperature
        ),
        theme.accent(),
    )])];
    if probs.iter().any(|p| p.is_nan()) {
        // No ranking, no "NaN%", no "entropy 0.00 bits": say what happened and where it began.
        lines.push(Line::styled(
            format!("{NAN_GLYPH} the logits here are not numbers: no token can be ranked"),
            theme.error(),
        ));
        if let Some(at) = app.snap.as_ref().and_then(|s| s.non_finite.as_ref()) {
            lines.push(Line::styled(
                format!("first at {}, position {}", at.place(), at.position),
                theme.dim(),
            ));
        }
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: true })
            .render(area, buf);
        return;
    }
    lines.push(Line::styled(
        format!("entropy {:.2} bits", entropy_bits(&probs)),
        theme.dim(),
    ));
    if let (Some((l, h)), None) = (app.what_if.ablation, &ablated) {
        lines.push(Line::styled(
            format!("running with L{l}H{h} ablated…"),
            theme.dim(),
        ));
    }
    // The token that really comes next in the text, where there is one: what the model gave it, and
    // the loss it pays there (what training lowers), with the whole prompt's losses as a strip.
    let snap = app.snap.as_ref();
    let actual = snap.and_then(|s| s.ids.get(app.cursor + 1).copied());
    let losses = app.token_losses().unwrap_or_default();
    // Words for a wide panel, figures alone for the narrow one beside a heatmap.
    let wide = area.width >= 64;
    let mut loss_lines = Vec::new();
    if let (Some(id), Some(&loss)) = (actual, losses.get(app.cursor)) {
        let p1 = (-loss).exp();
        // Softmax keeps the order of the logits: rank them as they are, no distribution per frame.
        let rank = rank_of(&app.logits_row(app.cursor).unwrap_or_default(), id as usize);
        let figures = if wide {
            format!(" p {p1:.3} · rank {rank} · loss −ln p = {loss:.2}")
        } else {
            format!(" p {p1:.3} #{rank} loss {loss:.2}")
        };
        loss_lines.push(Line::from(vec![
            Span::styled(
                if wide { "next in the text " } else { "next " },
                theme.dim(),
            ),
            Span::styled(
                fit_label(&visible(&info.codec.token_label(id)), label_w),
                theme.accent(),
            ),
            Span::raw(figures),
        ]));
    }
    if !losses.is_empty() {
        let mean = losses.iter().sum::<f32>() / losses.len() as f32;
        let w = usize::from(area.width).max(1);
        loss_lines.push(loss_strip(&losses, app.cursor, w, theme));
        let text = if wide {
            format!(
                "mean loss {mean:.2} nats over {} predictions (perplexity {:.1})",
                losses.len(),
                mean.exp()
            )
        } else {
            format!("mean loss {mean:.2} · perplexity {:.0}", mean.exp())
        };
        loss_lines.push(Line::styled(text, theme.dim()));
    }
    let room = lines.len() + loss_lines.len() + 1;
    let k = usize::from(area.height.saturating_sub(room as u16)).clamp(1, 20);
    // What follows the bar must fit too: the probability, the text's mark and, with a head
    // ablated, "→ p" (at the side column's 38 cells the last digits were cut off).
    let tail = 1 + 6 + if wide { 14 } else { 2 } + if ablated.is_some() { 8 } else { 0 };
    let bar_w = usize::from(area.width)
        .saturating_sub(label_w + 8 + 8)
        .min(usize::from(area.width).saturating_sub(label_w + tail))
        .clamp(3, 30);
    for (id, p) in top_k(&probs, k) {
        let text = fit_label(&visible(&info.codec.token_label(id)), label_w);
        // The text's own next token is marked where it is among the most likely.
        let style = if Some(id) == actual {
            theme.accent()
        } else {
            ratatui::style::Style::default()
        };
        let mut spans = vec![
            Span::styled(
                format!("{} ", crate::text::pad_right(&text, label_w)),
                style,
            ),
            Span::styled(format!("{:<bar_w$}", bar(p, bar_w)), theme.bar()),
            Span::raw(format!(" {p:.3}")),
        ];
        if Some(id) == actual {
            let mark = if wide { " ◀ in the text" } else { " ◀" };
            spans.push(Span::styled(mark, theme.accent()));
        }
        if let Some(ab) = &ablated {
            spans.push(Span::styled(
                format!(" → {}", prob_text(ab[id as usize])),
                theme.bar_alt(),
            ));
        }
        lines.push(Line::from(spans));
    }
    if let (Some(ab), Some((l, h))) = (&ablated, app.what_if.ablation) {
        let (id, p) = top_k(ab, 1)[0];
        if p.is_nan() {
            lines.push(Line::styled(
                format!("L{l}H{h} off: the output is not a number"),
                theme.error(),
            ));
            Paragraph::new(lines).render(area, buf);
            return;
        }
        lines.push(Line::styled(
            format!(
                // Short enough for the panel's width at 100 columns.
                "L{l}H{h} off: top is {} ({p:.3})",
                visible(&info.codec.token_label(id))
            ),
            theme.bar_alt(),
        ));
    }
    lines.push(Line::default());
    lines.extend(loss_lines);
    Paragraph::new(lines).render(area, buf);
}

/// One cell per position, its height the loss the model pays there (▁ small … █ the largest on
/// screen), the cursor's cell highlighted; a window around the cursor when the prompt is wider.
fn loss_strip(losses: &[f32], cursor: usize, width: usize, theme: Theme) -> Line<'static> {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let n = losses.len();
    let start = cursor
        .saturating_sub(width / 2)
        .min(n.saturating_sub(width));
    let shown = &losses[start..n.min(start + width)];
    let max = shown
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .fold(0.0f32, f32::max);
    let spans = shown.iter().enumerate().map(|(i, &l)| {
        let level = if max > 0.0 && l.is_finite() {
            ((l / max) * 7.0).round().clamp(0.0, 7.0) as usize
        } else {
            0
        };
        let style = if start + i == cursor {
            theme.cursor()
        } else {
            theme.bar()
        };
        Span::styled(LEVELS[level].to_string(), style)
    });
    Line::from(spans.collect::<Vec<_>>())
}

/// A probability with three decimals, or "—" for one that is not a number.
fn prob_text(p: f32) -> String {
    if p.is_finite() {
        format!("{p:.3}")
    } else {
        "—".into()
    }
}

/// The lesson pane, as the whole view.
pub fn lesson(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    crate::ui::lesson::bare(app, theme, area, buf);
}
