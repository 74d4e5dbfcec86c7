//! The Inside view: the selected head at the cursor's query, step by step (q·k, the scaled score, the
//! softmax weight, each key's share of z), how the layer's heads are joined and projected, and the
//! same layer's most active MLP neurons. The numbers are the worker's ([`HeadInside`]).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{bar, titled_fit};
use crate::analysis::inside::{score_scale, HeadInside, KeyTerm};
use crate::app::App;
use crate::text::visible;
use crate::ui::theme::Theme;
use crate::ui::{fit, fit_label};

/// Rows under the key table for the joined heads and the MLP, when there is room.
const BOTTOM_H: u16 = 7;
/// From this width the joined heads and the MLP sit side by side.
const SIDE_BY_SIDE: u16 = 72;

pub fn inside(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let (l, h, c) = (app.layer, app.head, app.cursor);
    let token = app
        .snap
        .as_ref()
        .and_then(|s| s.tokens.get(c))
        .map(|t| fit_label(&visible(t), 14))
        .unwrap_or_default();
    let scaled = app
        .info
        .as_ref()
        .map_or("q·k/√dₖ", |i| score_scale(&i.config, l).1);
    let body = titled_fit(
        theme,
        &[
            format!("inside L{l}H{h} at query {c} {token}"),
            format!("L{l}H{h} query {c} {token}"),
            format!("L{l}H{h} q{c}"),
        ],
        &[
            format!("  score = {scaled} · weight = softmax · z = Σ weight·v · ↑↓ head [ ] layer"),
            format!("  score = {scaled} · weight = softmax · z = Σ weight·v"),
            format!("  weight = softmax({scaled})"),
        ],
        theme.dim(),
        area,
        buf,
    );
    let Some(answer) = app.inside_current() else {
        let frame = crate::ui::panels::spinner(app.tick);
        let text = fit::words(
            &format!("{frame} computing q·k, the values and the neurons…"),
            usize::from(body.width),
        );
        Paragraph::new(Line::styled(text, theme.accent())).render(body, buf);
        return;
    };
    let data = match &answer.data {
        Some(Ok(data)) => data,
        Some(Err(e)) => {
            crate::ui::panels::error_text(e, theme, body, buf);
            return;
        }
        None => return,
    };
    let tokens = app
        .snap
        .as_ref()
        .map(|s| s.tokens.as_slice())
        .unwrap_or(&[]);
    // The key table first; the joined heads and the MLP below it, in full when at least 4 rows stay
    // for keys, else in two lines (a lesson's text under the view leaves a short screen).
    let bottom_h = if body.height >= BOTTOM_H + 6 {
        BOTTOM_H
    } else if body.height >= 10 {
        body.height - 6
    } else if body.height >= 6 {
        2
    } else {
        0
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(bottom_h)]).areas(body);
    let width = usize::from(top.width);
    let lines = key_table(data, tokens, theme, width, usize::from(top.height));
    Paragraph::new(lines).render(top, buf);
    if bottom.height == 0 {
        return;
    }
    if bottom.height <= 2 {
        Paragraph::new(compact_lines(
            data,
            tokens,
            theme,
            usize::from(bottom.width),
        ))
        .render(bottom, buf);
    } else if bottom.width >= SIDE_BY_SIDE {
        let [joined, gap, mlp] = Layout::horizontal([
            Constraint::Percentage(45),
            Constraint::Length(2),
            Constraint::Min(20),
        ])
        .areas(bottom);
        let _ = gap;
        let rows = usize::from(bottom.height);
        Paragraph::new(joined_lines(data, theme, usize::from(joined.width), rows))
            .render(joined, buf);
        Paragraph::new(mlp_lines(data, tokens, theme, usize::from(mlp.width), rows))
            .render(mlp, buf);
    } else {
        // Stacked: the joined heads' summary, then as many neurons as fit.
        let rows = usize::from(bottom.height);
        let w = usize::from(bottom.width);
        let mut lines = joined_lines(data, theme, w, 2.min(rows));
        lines.extend(mlp_lines(data, tokens, theme, w, rows - lines.len()));
        Paragraph::new(lines).render(bottom, buf);
    }
}

/// A number in at most 7 cells: fewer decimals as it grows; NaN and ±∞ spelt out.
fn num(x: f32) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+∞" } else { "−∞" }.into()
    } else if x.abs() < 100.0 {
        format!("{x:.2}")
    } else if x.abs() < 10_000.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.0e}")
    }
}

/// Column widths of the key table at `width` cells: token, bar (0: none), and whether the q·k and
/// score columns are shown.
fn columns(width: usize) -> (usize, usize, bool) {
    // key 4 + token + q·k 7 + score 7 + weight 6 + ‖w·v‖ 7, a space before each but the first.
    const FIXED: usize = 4 + 1 + 8 + 8 + 7 + 8;
    if width >= FIXED + 8 + 7 {
        let token = (width - FIXED - 7).clamp(6, 14);
        let bar = (width - FIXED - token - 1).min(16);
        (token, bar, true)
    } else if width >= FIXED + 6 {
        ((width - FIXED).min(14), 0, true)
    } else {
        // key, token, weight, ‖w·v‖.
        ((width.saturating_sub(4 + 1 + 7 + 8)).max(3), 0, false)
    }
}

/// A row's text before and after the bar column (`bar_w` cells between them).
fn row_parts(cells: [&str; 6], (token_w, _, scores): (usize, usize, bool)) -> (String, String) {
    let [key, token, qk, score, weight, contrib] = cells;
    let mut before = format!("{key:>4} {}", pad(token, token_w));
    if scores {
        before.push_str(&format!(" {qk:>7} {score:>7}"));
    }
    before.push_str(&format!(" {weight:>6}"));
    (before, format!(" {contrib:>7}"))
}

/// `s` in exactly `w` cells: cut with `…` when longer (wide characters count twice).
fn pad(s: &str, w: usize) -> String {
    let mut out = String::new();
    if fit::width(s) <= w {
        out.push_str(s);
    } else {
        for c in s.chars() {
            let next = format!("{out}{c}");
            if fit::width(&next) + 1 > w {
                break;
            }
            out = next;
        }
        if w > 0 {
            out.push('…');
        }
    }
    let gap = w.saturating_sub(fit::width(&out));
    format!("{out}{}", " ".repeat(gap))
}

/// One line per key: the header, the keys that fit (the heaviest, in position order, when not all
/// do), the masked future, and ‖z‖.
fn key_table(
    data: &HeadInside,
    tokens: &[String],
    theme: Theme,
    width: usize,
    rows: usize,
) -> Vec<Line<'static>> {
    let cols = columns(width);
    let (_, bar_w, _) = cols;
    let token = |k: usize| visible(tokens.get(k).map(String::as_str).unwrap_or(""));
    let (before, after) = row_parts(["key", "token", "q·k", "score", "weight", "‖w·v‖"], cols);
    let bar_gap = if bar_w > 0 { bar_w + 1 } else { 0 };
    let mut lines = vec![Line::styled(
        format!("{before}{}{after}", " ".repeat(bar_gap)),
        theme.dim(),
    )];
    let masked = tokens.len().saturating_sub(data.query + 1);
    // Room for key rows: less the header, ‖z‖ and a line for the masked future.
    let room = rows.saturating_sub(2 + usize::from(masked > 0)).max(1);
    let shown: Vec<&KeyTerm> = if data.keys.len() <= room {
        data.keys.iter().collect()
    } else {
        let mut by_weight: Vec<&KeyTerm> = data.keys.iter().collect();
        by_weight.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.key.cmp(&b.key)));
        by_weight.truncate(room.saturating_sub(1).max(1));
        by_weight.sort_by_key(|t| t.key);
        by_weight
    };
    for t in &shown {
        let cells = [
            t.key.to_string(),
            token(t.key),
            num(t.qk),
            num(t.score),
            format!("{:.3}", t.weight),
            num(t.contribution),
        ];
        let style = if t.key == data.query {
            theme.accent()
        } else {
            Style::default()
        };
        let (before, after) = row_parts(cells.each_ref().map(String::as_str), cols);
        let mut spans = vec![Span::styled(before, style)];
        if bar_w > 0 {
            let drawn = bar(t.weight, bar_w);
            let gap = bar_w - drawn.chars().count().min(bar_w);
            spans.push(Span::raw(" "));
            spans.push(Span::styled(drawn, theme.bar()));
            spans.push(Span::raw(" ".repeat(gap)));
        }
        spans.push(Span::styled(after, style));
        lines.push(Line::from(spans));
    }
    let hidden = data.keys.len() - shown.len();
    if hidden > 0 {
        let rest: f32 = data
            .keys
            .iter()
            .filter(|t| !shown.iter().any(|s| s.key == t.key))
            .map(|t| t.weight)
            .sum();
        let text = fit::pick_or_empty(
            &[
                format!("     … {hidden} lighter keys: weight {rest:.3} in all"),
                format!("     … {hidden} more: {rest:.3}"),
                format!("… {hidden} more"),
            ],
            width,
        );
        lines.push(Line::styled(text, theme.dim()));
    }
    if masked > 0 {
        let (a, b) = (data.query + 1, tokens.len() - 1);
        let span = if a == b {
            format!("key {a}")
        } else {
            format!("keys {a}–{b}")
        };
        let text = fit::pick_or_empty(
            &[
                format!("     {span}: the future, masked (score −∞, weight 0)"),
                format!("     {span}: masked (future)"),
                format!("{span} masked"),
            ],
            width,
        );
        lines.push(Line::styled(text, theme.dim()));
    }
    let kv = if data.rotated || data.n_kv_heads < data.writes.len() {
        let group = data.writes.len() / data.n_kv_heads.max(1);
        let first = data.kv_head * group;
        let mut v = vec![
            format!(
                " · q·k after rotation · k, v from kv head {} (heads {first}–{} share it)",
                data.kv_head,
                first + group - 1
            ),
            format!(
                " · rotated q·k · kv head {} (heads {first}–{})",
                data.kv_head,
                first + group - 1
            ),
            format!(" · rotated q·k · kv head {}", data.kv_head),
            format!(" · kv head {}", data.kv_head),
        ];
        if group <= 1 {
            v.truncate(0);
            v.push(" · q·k after rotation".into());
            v.push(" · rotated".into());
        }
        v
    } else {
        Vec::new()
    };
    let z = format!("z = Σ weight·v   ‖z‖ {}", num(data.z_norm));
    let tail = fit::pick(
        kv.iter().map(String::as_str),
        width.saturating_sub(fit::width(&z)),
    )
    .unwrap_or("");
    lines.push(Line::from(vec![
        Span::styled(fit::words(&z, width), theme.accent()),
        Span::styled(tail.to_string(), theme.dim()),
    ]));
    lines
}

/// How the layer's heads are joined: each head's z·W_O, then their sum plus b_O, `hook_attn_out`.
fn joined_lines(data: &HeadInside, theme: Theme, width: usize, rows: usize) -> Vec<Line<'static>> {
    if rows == 0 {
        return Vec::new();
    }
    let mut lines = vec![Line::styled(
        fit::pick_or_empty(
            &[
                "each head's write: ‖z_h·W_O[h]‖",
                "each head's ‖z·W_O‖",
                "‖z·W_O‖",
            ],
            width,
        ),
        theme.dim(),
    )];
    let total = match data.bias_norm {
        Some(b) => vec![
            format!(
                "Σ + b_O (‖{}‖) = attn_out ‖{}‖",
                num(b),
                num(data.attn_out_norm)
            ),
            format!("attn_out ‖{}‖", num(data.attn_out_norm)),
        ],
        None => vec![
            format!("Σ = hook_attn_out ‖{}‖", num(data.attn_out_norm)),
            format!("attn_out ‖{}‖", num(data.attn_out_norm)),
        ],
    };
    let total = Line::styled(fit::pick_or_empty(&total, width), theme.accent());
    if rows == 1 {
        return lines;
    }
    if rows == 2 {
        return vec![total];
    }
    let room = rows - 2;
    let n = data.writes.len();
    let max = data.writes.iter().copied().fold(0.0f32, f32::max);
    let style = |h: usize| {
        if h == data.head {
            theme.accent()
        } else {
            Style::default()
        }
    };
    if n <= room {
        // One head a line, with a bar against the largest write.
        let bar_w = width.saturating_sub(12).min(12);
        for (h, &w) in data.writes.iter().enumerate() {
            let frac = if max > 0.0 { w / max } else { 0.0 };
            lines.push(Line::from(vec![
                Span::styled(format!("H{h:<3}{:>7} ", num(w)), style(h)),
                Span::styled(bar(frac, bar_w), theme.bar()),
            ]));
        }
    } else {
        // Several heads a line.
        let cell = 4 + 7 + 2;
        let per_line = (width / cell).max(1);
        let mut spans = Vec::new();
        for (h, &w) in data.writes.iter().enumerate() {
            if h > 0 && h % per_line == 0 {
                lines.push(Line::from(std::mem::take(&mut spans)));
                if lines.len() > room {
                    break;
                }
            }
            spans.push(Span::styled(format!("H{h:<3}{:>7}  ", num(w)), style(h)));
        }
        if !spans.is_empty() && lines.len() <= room {
            lines.push(Line::from(spans));
        }
        lines.truncate(room + 1);
    }
    lines.push(total);
    lines
}

/// The layer's most active neurons at the query, each with the prompt tokens that excite it most.
fn mlp_lines(
    data: &HeadInside,
    tokens: &[String],
    theme: Theme,
    width: usize,
    rows: usize,
) -> Vec<Line<'static>> {
    if rows == 0 {
        return Vec::new();
    }
    let l = data.layer;
    let mut lines = vec![Line::styled(
        fit::pick_or_empty(
            &[
                format!("L{l} MLP: top mlp.hook_post here · most active at"),
                format!("L{l} MLP neurons · most active at"),
                format!("L{l} MLP neurons"),
            ],
            width,
        ),
        theme.dim(),
    )];
    for n in data.neurons.iter().take(rows - 1) {
        let head = format!("n{:<5}{:>7} ", n.index, num(n.value));
        let mut rest = String::new();
        for &(p, _) in &n.top {
            let t = fit_label(
                &visible(tokens.get(p).map(String::as_str).unwrap_or("")),
                10,
            );
            let next = if rest.is_empty() {
                t
            } else {
                format!("{rest}  {t}")
            };
            if fit::width(&head) + fit::width(&next) > width {
                break;
            }
            rest = next;
        }
        lines.push(Line::from(vec![
            Span::styled(head, theme.accent()),
            Span::raw(rest),
        ]));
    }
    lines
}

/// The joined heads and the MLP in two lines: attn_out with the head that writes most, and the top
/// neurons' values.
fn compact_lines(
    data: &HeadInside,
    tokens: &[String],
    theme: Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let out = num(data.attn_out_norm);
    let loudest = data
        .writes
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(h, w)| (h, num(*w)));
    let joined = match loudest {
        Some((h, w)) => vec![
            format!("heads joined: attn_out ‖{out}‖ · H{h} writes most, ‖z·W_O‖ {w}"),
            format!("attn_out ‖{out}‖ · H{h} writes most ({w})"),
            format!("attn_out ‖{out}‖"),
        ],
        None => vec![format!("attn_out ‖{out}‖")],
    };
    // The top neuron with the tokens where it is most active, then the next ones' values.
    let mut mlp = format!("L{} MLP neurons:", data.layer);
    for (i, n) in data.neurons.iter().enumerate() {
        let mut next = format!("{mlp} n{} {}", n.index, num(n.value));
        if i == 0 {
            let tokens: Vec<String> = n
                .top
                .iter()
                .map(|&(p, _)| fit_label(&visible(tokens.get(p).map_or("", String::as_str)), 10))
                .collect();
            let with = format!("{next}, most active at {} ·", tokens.join(" "));
            if fit::width(&with) <= width {
                next = with;
            }
        } else if i > 1 {
            next = format!("{mlp} · n{} {}", n.index, num(n.value));
        }
        if fit::width(&next) > width {
            break;
        }
        mlp = next;
    }
    let mlp = mlp.trim_end_matches([' ', '·']).to_string();
    let mlp = if fit::width(&mlp) <= width {
        mlp
    } else {
        fit::words(&mlp, width)
    };
    vec![
        Line::styled(fit::pick_or_empty(&joined, width), theme.accent()),
        Line::styled(mlp, theme.dim()),
    ]
}
