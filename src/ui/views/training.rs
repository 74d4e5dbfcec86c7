//! How the model was made: its training curve (the loss, the held-out loss and the step where the
//! induction head appears), and the scaling family's losses against size and data on log axes.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};

use super::titled_fit;
use crate::analysis::scaling::{short, Series};
use crate::analysis::training::TrainLog;
use crate::app::App;
use crate::ui::fit;
use crate::ui::theme::Theme;

/// The training loss is noisy batch to batch: the curve is its mean over this many steps.
const SMOOTH_STEPS: usize = 50;

/// Draw a message where a chart would be.
fn say(text: impl Into<String>, theme: Theme, area: Rect, buf: &mut Buffer) {
    Paragraph::new(Line::styled(text.into(), theme.dim()))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// The Training view: the loaded model's train_log.csv.
pub fn training(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(info) = app.info.as_ref() else {
        return;
    };
    let Some(training) = app.training.as_ref() else {
        let body = titled_fit(theme, &["training"], &[""], theme.dim(), area, buf);
        return say("reading the training log…", theme, body, buf);
    };
    let log = match &training.log {
        Some(Ok(log)) => log,
        Some(Err(e)) => {
            let body = titled_fit(theme, &["training"], &[""], theme.dim(), area, buf);
            return say(
                format!("cannot read the training log: {e}"),
                theme,
                body,
                buf,
            );
        }
        None => {
            let body = titled_fit(theme, &["training"], &[""], theme.dim(), area, buf);
            return say(
                format!(
                    "{} has no train_log.csv: only a model that `glassbox train` made keeps its \
                     training curve. Open the bundled model to see one, or Tab to Scaling.",
                    info.name
                ),
                theme,
                body,
                buf,
            );
        }
    };
    let held = log.final_heldout();
    let tail = [
        format!(
            "  {} steps · {} tokens · held-out {}",
            log.last_step(),
            short(log.tokens() as f64),
            held.map_or("—".into(), |l| format!("{l:.2}"))
        ),
        format!("  {} steps", log.last_step()),
    ];
    let body = titled_fit(
        theme,
        &[format!("how {} was trained", info.name), "training".into()],
        &tail,
        theme.dim(),
        area,
        buf,
    );
    let uniform = (info.config.d_vocab as f64).ln();
    // Room above the uniform guess, so its line stays clear of the axis title.
    let top = ((uniform + 1.0) / 2.0).ceil() * 2.0;
    let onset = log.induction_onset();
    // The text under the charts: at most 4 lines, shorter words when the long ones do not fit.
    let words = caption(
        &onset_words(log, uniform),
        body.width,
        (body.height / 3).min(4),
    );
    let text_h = words.len() as u16;
    let [loss_area, score_area, legend_area, text_area] = Layout::vertical([
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Length(1),
        Constraint::Length(text_h),
    ])
    .areas(body);
    legend(theme, onset.is_some(), legend_area, buf);

    let last = log.last_step() as f64;
    let train = pairs(&log.smoothed_train(SMOOTH_STEPS));
    let heldout = pairs(&log.heldout());
    let guess = [(0.0, uniform), (last, uniform)];
    let onset_line = onset
        .as_ref()
        .map(|o| [(o.step as f64, 0.0), (o.step as f64, top)]);
    let mut sets = vec![
        line(&guess, "uniform guess ln V", theme.dim(), Marker::Dot),
        line(&train, "train (mean of 50)", theme.bar(), Marker::Braille),
        line(&heldout, "held-out", theme.accent(), Marker::Braille),
    ];
    if let Some(l) = onset_line.as_ref() {
        sets.push(line(l, "", theme.bar_alt(), Marker::Braille));
    }
    let x_axis = step_axis(last, theme);
    let top_w = format!("{top:.0}").len();
    Chart::new(sets)
        .x_axis(x_axis.clone())
        .y_axis(
            Axis::default()
                .title(Span::styled("nats", theme.dim()))
                .style(theme.dim())
                .bounds([0.0, top])
                .labels(["0".to_string(), format!("{top:.0}")]),
        )
        // The legend is one line under both charts: a box would hide the curves on a small screen.
        .legend_position(None)
        .render(loss_area, buf);

    let (induction, previous) = log.head_scores();
    let (induction, previous) = (pairs(&induction), pairs(&previous));
    let mut sets = vec![
        line(
            &induction,
            "induction head",
            theme.accent(),
            Marker::Braille,
        ),
        line(
            &previous,
            "previous-token head",
            theme.bar(),
            Marker::Braille,
        ),
    ];
    let score_onset = onset
        .as_ref()
        .map(|o| [(o.step as f64, 0.0), (o.step as f64, 1.0)]);
    if let Some(l) = score_onset.as_ref() {
        sets.push(line(l, "", theme.bar_alt(), Marker::Braille));
    }
    Chart::new(sets)
        .x_axis(x_axis)
        .y_axis(
            Axis::default()
                .title(Span::styled("score", theme.dim()))
                .style(theme.dim())
                .bounds([0.0, 1.0])
                // As wide as the loss axis's labels, so the two charts' steps line up.
                .labels([
                    format!("{:>w$}", 0, w = top_w),
                    format!("{:>w$}", 1, w = top_w),
                ]),
        )
        .legend_position(None)
        .render(score_area, buf);

    Paragraph::new(words).render(text_area, buf);
}

/// The first of `variants` (longest first) that wraps into `max_lines` lines of `width`; when none
/// does, the last cut to that many lines with "…", so a cut never goes unmarked.
fn caption(variants: &[String], width: u16, max_lines: u16) -> Vec<Line<'static>> {
    let (room, max) = (usize::from(width.max(2)), usize::from(max_lines));
    if max == 0 {
        return Vec::new();
    }
    let lines = variants
        .iter()
        .map(|v| fit::wrap(v, room))
        .find(|lines| lines.len() <= max)
        .unwrap_or_else(|| {
            let mut lines = fit::wrap(variants.last().map_or("", String::as_str), room);
            lines.truncate(max);
            if let Some(last) = lines.last_mut() {
                let keep: String = last.chars().take(room - 1).collect();
                *last = fit::words(&keep, room - 1) + "…";
            }
            lines
        });
    lines.into_iter().map(Line::from).collect()
}

/// One line naming the curves in their colours; shorter names on a narrow screen.
fn legend(theme: Theme, onset: bool, area: Rect, buf: &mut Buffer) {
    // (long name, short name, style), in the order of the charts.
    let all = [
        ("━ held-out loss", "━ held-out", theme.accent()),
        ("━ training batches", "━ train", theme.bar()),
        ("• ln V", "• ln V", theme.dim()),
        ("│", "│", theme.dim()),
        ("━ induction", "━ induction", theme.accent()),
        ("━ previous-token", "━ prev-token", theme.bar()),
        ("⡇ onset", "⡇ onset", theme.bar_alt()),
    ];
    let long_w: usize = all.iter().map(|(t, _, _)| t.chars().count() + 2).sum();
    let long = long_w <= usize::from(area.width);
    let parts: Vec<(&str, Style)> = all
        .iter()
        .map(|&(l, s, style)| (if long { l } else { s }, style))
        .collect();
    let spans: Vec<Span> = parts
        .iter()
        .filter(|(t, _)| onset || !t.contains("onset"))
        .flat_map(|&(t, style)| [Span::styled(t, style), Span::raw("  ")])
        .collect();
    Line::from(spans).render(area, buf);
}

/// What the charts show, in words, longest first: the fall of the loss and the phase change.
fn onset_words(log: &TrainLog, uniform: f64) -> Vec<String> {
    let first = log.rows.first().map_or(0.0, |r| r.train_loss);
    let held = log
        .final_heldout()
        .map_or("—".to_string(), |l| format!("{l:.2}"));
    let mut long = format!(
        "The loss fell from {first:.1} (a uniform guess over the vocabulary is ln V = {uniform:.1}) \
         to {held} on held-out text. Below it: the scores of the best induction and previous-token \
         heads."
    );
    let short = match log.induction_onset() {
        Some(o) => {
            let before = o
                .before
                .map(|(s, v)| format!("{v:.2} at step {s} → "))
                .unwrap_or_default();
            long += &format!(
                " The induction head {} appears at step {} ({before}{:.2}; peak {:.2}): the \
                 vertical line.",
                o.head, o.step, o.score, o.peak
            );
            format!(
                "Loss {first:.1} → {held} held out. The induction head {} appears at step {} \
                 (the vertical line).",
                o.head, o.step
            )
        }
        None => {
            long += " No induction head formed in this run.";
            format!("Loss {first:.1} → {held} held out. No induction head formed.")
        }
    };
    vec![long, short]
}

/// The Scaling view: the family's final held-out losses against parameters and against tokens.
pub fn scaling(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let body = titled_fit(
        theme,
        &[
            "scaling: loss against size and data",
            "scaling laws",
            "scaling",
        ],
        &["  log axes · fitted L = a·x^(−α)", "  log axes"],
        theme.dim(),
        area,
        buf,
    );
    let Some(training) = app.training.as_ref() else {
        return say("reading the scaling family…", theme, body, buf);
    };
    let family = match &training.family {
        Ok(f) => f,
        Err(e) => return say(format!("no scaling family to draw: {e}"), theme, body, buf),
    };
    let words = caption(&scaling_words(family), body.width, (body.height / 3).min(6));
    let text_h = words.len() as u16;
    let [charts, text_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(text_h)]).areas(body);
    // Side by side when there is room for two readable charts, stacked otherwise.
    let [left, right] = if charts.width >= 70 {
        Layout::horizontal([Constraint::Ratio(1, 2); 2])
            .spacing(2)
            .areas(charts)
    } else {
        Layout::vertical([Constraint::Ratio(1, 2); 2]).areas(charts)
    };
    let (lo, hi) = loss_bounds(&[&family.by_params, &family.by_tokens]);
    log_chart(
        &family.by_params,
        &format!("N params · {}", family.by_params.fixed),
        (lo, hi),
        theme,
        left,
        buf,
    );
    log_chart(
        &family.by_tokens,
        &format!("D tokens · {}", family.by_tokens.fixed),
        (lo, hi),
        theme,
        right,
        buf,
    );
    Paragraph::new(words).render(text_area, buf);
}

/// The family in words, longest first.
fn scaling_words(family: &crate::analysis::scaling::Family) -> Vec<String> {
    let law = |s: &Series, x: &str| match s.law {
        Some(l) => format!("L ≈ {:.2}·{x}^−{:.3} (r² {:.2})", l.a, l.alpha, l.r2),
        None => "no fit".into(),
    };
    let (n, d) = (law(&family.by_params, "N"), law(&family.by_tokens, "D"));
    vec![
        format!(
            "Final held-out loss of {} runs of glassbox train: a power law, straight on log axes, in N \
             (parameters outside the embeddings) {n} and in tokens D {d}. A few small runs show the \
             trend, not the constants that Kaplan's and Chinchilla's far larger runs measured.",
            family.runs.len()
        ),
        format!("{} runs of glassbox train: {n}; {d}.", family.runs.len()),
    ]
}

/// Loss bounds shared by both charts, with a margin, so their heights compare.
fn loss_bounds(series: &[&Series]) -> (f64, f64) {
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    ((lo - 0.1).max(0.0).floor(), (hi + 0.1).ceil())
}

/// One series on a log₁₀ x axis: the runs as points, the fitted law as a line.
fn log_chart(
    s: &Series,
    title: &str,
    (lo, hi): (f64, f64),
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let lx: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (x.log10(), y)).collect();
    let (x0, x1) = (
        lx.first().map_or(0.0, |p| p.0).floor(),
        lx.last().map_or(1.0, |p| p.0).ceil(),
    );
    let fit: Vec<(f64, f64)> = s.law.map_or(Vec::new(), |law| {
        (0..=40)
            .map(|i| {
                let lx = x0 + (x1 - x0) * f64::from(i) / 40.0;
                (lx, law.at(10f64.powf(lx)))
            })
            .filter(|&(_, y)| (lo..=hi).contains(&y))
            .collect()
    });
    let sets = vec![
        line(&fit, "", theme.dim(), Marker::Braille),
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(theme.accent())
            .data(&lx),
    ];
    let labels: Vec<String> = (x0 as i32..=x1 as i32)
        .map(|e| short(10f64.powi(e)))
        .collect();
    Chart::new(sets)
        .x_axis(
            Axis::default()
                .title(Span::styled(title.to_string(), theme.dim()))
                .style(theme.dim())
                .bounds([x0, x1])
                .labels(labels),
        )
        .y_axis(
            Axis::default()
                .style(theme.dim())
                .bounds([lo, hi])
                .labels([format!("{lo:.0}"), format!("{hi:.0}")]),
        )
        .render(area, buf);
}

fn pairs<T: Copy + Into<f64>>(points: &[(usize, T)]) -> Vec<(f64, f64)> {
    points.iter().map(|&(s, v)| (s as f64, v.into())).collect()
}

fn line<'a>(
    data: &'a [(f64, f64)],
    name: &'static str,
    style: Style,
    marker: Marker,
) -> Dataset<'a> {
    let d = Dataset::default()
        .marker(marker)
        .graph_type(GraphType::Line)
        .style(style)
        .data(data);
    if name.is_empty() {
        d
    } else {
        d.name(name)
    }
}

fn step_axis(last: f64, theme: Theme) -> Axis<'static> {
    Axis::default()
        .title(Span::styled("step", theme.dim()))
        .style(theme.dim())
        .bounds([0.0, last])
        .labels([
            "0".to_string(),
            format!("{}", last / 2.0),
            format!("{last}"),
        ])
}
