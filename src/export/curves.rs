//! Line charts for teaching: the training curve (loss and head scores against steps) and the scaling
//! family (loss against parameters and tokens on log axes, with the fitted power law).

use plotters::prelude::{DrawingBackend, RGBColor};

use super::colors::{BAR, INK, MUTED, RULE};
use super::figures::{Figure, TitleBlock};
use super::pen::{Align, DrawResult, Font, Pen};
use super::PlotOptions;
use crate::analysis::scaling::{short, Family, Series};
use crate::analysis::training::TrainLog;

const MARGIN: f64 = 18.0;
const PANEL_W: f64 = 520.0;
const PANEL_H: f64 = 260.0;
/// Room left of a panel for its tick labels and axis title, and under it.
const LEFT: f64 = 62.0;
const BELOW: f64 = 46.0;
const GAP: f64 = 26.0;

const ORANGE: RGBColor = RGBColor(221, 132, 82);
const GREEN: RGBColor = RGBColor(85, 168, 104);
const RED: RGBColor = RGBColor(196, 78, 82);

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mark {
    Line(u32),
    Dots,
}

#[derive(Debug, Clone)]
struct Curve {
    label: String,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    mark: Mark,
}

/// One panel: axes, curves, and vertical marker lines.
#[derive(Debug, Clone)]
struct Plot {
    title: String,
    x_label: String,
    y_label: String,
    /// log₁₀ on the x axis (the points stay in data units).
    x_log: bool,
    /// log₁₀ on the y axis.
    y_log: bool,
    x: (f64, f64),
    y: (f64, f64),
    curves: Vec<Curve>,
    /// (x, label) of vertical lines.
    marks: Vec<(f64, String)>,
}

impl Plot {
    fn tx(&self, x: f64) -> f64 {
        let (a, b) = self.x;
        let f = |v: f64| if self.x_log { v.log10() } else { v };
        (f(x) - f(a)) / (f(b) - f(a))
    }

    fn ty(&self, y: f64) -> f64 {
        let (a, b) = self.y;
        let f = |v: f64| if self.y_log { v.log10() } else { v };
        (f(y) - f(a)) / (f(b) - f(a))
    }

    /// (value, label) of the y ticks: decades on a log axis, five even steps otherwise.
    fn y_ticks(&self) -> Vec<(f64, String)> {
        if self.y_log {
            let (a, b) = (
                self.y.0.log10().ceil() as i32,
                self.y.1.log10().floor() as i32,
            );
            return (a..=b)
                .map(|e| (10f64.powi(e), short(10f64.powi(e))))
                .collect();
        }
        // A round step (1, 2 or 5 times a power of ten) giving at most six ticks.
        let span = (self.y.1 - self.y.0).max(1e-9);
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * 10f64.powf((span / 6.0).log10().floor()))
            .find(|&st| span / st <= 6.0)
            .unwrap_or(span);
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        let first = (self.y.0 / step).ceil() as i64;
        let last = (self.y.1 / step + 1e-9).floor() as i64;
        (first..=last)
            .map(|k| {
                let v = k as f64 * step;
                (v, format!("{v:.decimals$}"))
            })
            .collect()
    }

    /// Ticks: decades on a log axis, five even steps otherwise.
    fn x_ticks(&self) -> Vec<(f64, String)> {
        if self.x_log {
            let (a, b) = (
                self.x.0.log10().ceil() as i32,
                self.x.1.log10().floor() as i32,
            );
            (a..=b)
                .map(|e| (10f64.powi(e), short(10f64.powi(e))))
                .collect()
        } else {
            (0..=4)
                .map(|i| {
                    let v = self.x.0 + (self.x.1 - self.x.0) * f64::from(i) / 4.0;
                    (v, format!("{v:.0}"))
                })
                .collect()
        }
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>, x0: f64, y0: f64, s: f64) -> DrawResult<DB> {
        let (w, h) = (PANEL_W * s, PANEL_H * s);
        let px = |x: f64| (x0 + self.tx(x).clamp(0.0, 1.0) * w).round() as i32;
        let py = |y: f64| (y0 + h - self.ty(y).clamp(0.0, 1.0) * h).round() as i32;
        let tick = Font::new(11.0 * s, MUTED);
        pen.text(
            &self.title,
            x0,
            y0 - 12.0 * s,
            Font::new(13.0 * s, INK).bold(),
            Align::Left,
        )?;
        // Axes and ticks.
        pen.line(
            &[
                (px(self.x.0), py(self.y.1)),
                (px(self.x.0), py(self.y.0)),
                (px(self.x.1), py(self.y.0)),
            ],
            RULE,
            1,
        )?;
        for (v, label) in self.x_ticks() {
            pen.line(
                &[
                    (px(v), py(self.y.0)),
                    (px(v), py(self.y.0) + (4.0 * s) as i32),
                ],
                RULE,
                1,
            )?;
            pen.text(
                &label,
                f64::from(px(v)),
                y0 + h + 14.0 * s,
                tick,
                Align::Center,
            )?;
        }
        for (v, label) in self.y_ticks() {
            pen.line(
                &[
                    (px(self.x.0) - (4.0 * s) as i32, py(v)),
                    (px(self.x.0), py(v)),
                ],
                RULE,
                1,
            )?;
            pen.text(&label, x0 - 7.0 * s, f64::from(py(v)), tick, Align::Right)?;
        }
        pen.text(
            &self.x_label,
            x0 + w / 2.0,
            y0 + h + 32.0 * s,
            Font::new(12.0 * s, MUTED),
            Align::Center,
        )?;
        pen.text(
            &self.y_label,
            x0 - 46.0 * s,
            y0 + h / 2.0,
            Font::new(12.0 * s, MUTED).upright(),
            Align::Center,
        )?;
        for (x, label) in &self.marks {
            pen.line(&[(px(*x), py(self.y.0)), (px(*x), py(self.y.1))], RED, 1)?;
            pen.text(
                label,
                f64::from(px(*x)) + 4.0 * s,
                // Half-way down, clear of the legend in the top corner.
                y0 + 0.45 * h,
                Font::new(11.0 * s, RED),
                Align::Left,
            )?;
        }
        for c in &self.curves {
            let pts: Vec<(i32, i32)> = c.points.iter().map(|&(x, y)| (px(x), py(y))).collect();
            match c.mark {
                Mark::Line(width) => pen.line(
                    &pts,
                    c.color,
                    (f64::from(width) * s).round().max(1.0) as u32,
                )?,
                Mark::Dots => {
                    let r = (4.0 * s).round() as i32;
                    for (x, y) in pts {
                        pen.fill(x - r, y - r, x + r, y + r, c.color)?;
                    }
                }
            }
        }
        // The legend, top right, one line per named curve.
        let font = Font::new(11.0 * s, INK);
        let mut ly = y0 + 10.0 * s;
        for c in self.curves.iter().filter(|c| !c.label.is_empty()) {
            let lx = x0 + w - 10.0 * s - font.width(&c.label);
            let (sx, sy) = ((lx - 24.0 * s) as i32, ly as i32);
            match c.mark {
                Mark::Line(_) => pen.line(
                    &[(sx, sy), (sx + (18.0 * s) as i32, sy)],
                    c.color,
                    (2.0 * s) as u32,
                )?,
                Mark::Dots => {
                    let r = (4.0 * s) as i32;
                    pen.fill(sx + 9 - r, sy - r, sx + 9 + r, sy + r, c.color)?;
                }
            }
            pen.text(&c.label, lx, ly, font, Align::Left)?;
            ly += 16.0 * s;
        }
        Ok(())
    }
}

/// Panels in a grid under a title.
pub struct CurvesFigure {
    title: TitleBlock,
    plots: Vec<Plot>,
    columns: usize,
    s: f64,
}

impl CurvesFigure {
    /// The training curve of `log`: the loss (per batch, averaged over `smooth` steps, and held
    /// out) over a uniform guess, and the best head scores, with the induction head's onset marked.
    pub fn training(log: &TrainLog, d_vocab: usize, smooth: usize, opts: &PlotOptions) -> Self {
        let s = f64::from(opts.scale);
        let last = log.last_step() as f64;
        let uniform = (d_vocab as f64).ln();
        let onset = log.induction_onset();
        let marks: Vec<(f64, String)> = onset
            .iter()
            .map(|o| {
                (
                    o.step as f64,
                    format!("{} appears (step {})", o.head, o.step),
                )
            })
            .collect();
        let pts = |v: &[(usize, f32)]| v.iter().map(|&(x, y)| (x as f64, f64::from(y))).collect();
        let (induction, previous) = log.head_scores();
        let loss = Plot {
            title: "next-token loss".into(),
            x_label: "training step".into(),
            y_label: "loss (nats per token)".into(),
            x_log: false,
            y_log: false,
            x: (0.0, last),
            // A nat of headroom above the uniform guess, for the legend.
            y: (0.0, ((uniform + 1.0) / 2.0).ceil() * 2.0),
            curves: vec![
                Curve {
                    label: format!("uniform guess, ln {d_vocab}"),
                    points: vec![(0.0, uniform), (last, uniform)],
                    color: RULE,
                    mark: Mark::Line(1),
                },
                Curve {
                    label: format!("training batches (mean of {smooth} steps)"),
                    points: pts(&log.smoothed_train(smooth)),
                    color: BAR,
                    mark: Mark::Line(1),
                },
                Curve {
                    label: "held-out text".into(),
                    points: pts(&log.heldout()),
                    color: ORANGE,
                    mark: Mark::Line(2),
                },
            ],
            marks: marks.clone(),
        };
        let heads = Plot {
            title: "best head scores on the trainer's probes".into(),
            x_label: "training step".into(),
            y_label: "score".into(),
            x_log: false,
            y_log: false,
            x: (0.0, last),
            y: (0.0, 1.0),
            curves: vec![
                Curve {
                    label: "induction".into(),
                    points: pts(&induction),
                    color: ORANGE,
                    mark: Mark::Line(2),
                },
                Curve {
                    label: "previous-token".into(),
                    points: pts(&previous),
                    color: GREEN,
                    mark: Mark::Line(2),
                },
            ],
            marks,
        };
        let note = format!(
            "{} steps, {} tokens; final held-out loss {}",
            log.last_step(),
            short(log.tokens() as f64),
            log.final_heldout()
                .map_or("—".into(), |l| format!("{l:.3}"))
        );
        Self {
            title: TitleBlock::new("how the model was trained", opts, &[note]),
            plots: vec![loss, heads],
            columns: 1,
            s,
        }
    }

    /// The scaling family: final held-out loss against non-embedding parameters and against tokens,
    /// on log axes, with the fitted power laws.
    pub fn scaling(family: &Family, opts: &PlotOptions) -> Self {
        let s = f64::from(opts.scale);
        let ys = family
            .by_params
            .points
            .iter()
            .chain(&family.by_tokens.points)
            .map(|p| p.1);
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
        // Bounds on half-nats around the points, so the ticks read 2.5, 3.0, …
        let y = (
            ((lo - 0.1) * 2.0).floor().max(0.0) / 2.0,
            ((hi + 0.1) * 2.0).ceil() / 2.0,
        );
        let plot = |series: &Series, what: &str, x_label: &str| {
            let (a, b) = (
                series.points.first().map_or(1.0, |p| p.0),
                series.points.last().map_or(10.0, |p| p.0),
            );
            // Whole decades around the points.
            let x = (10f64.powf(a.log10().floor()), 10f64.powf(b.log10().ceil()));
            let mut curves = vec![Curve {
                label: "runs".into(),
                points: series.points.clone(),
                color: BAR,
                mark: Mark::Dots,
            }];
            if let Some(law) = series.law {
                let n = 60;
                curves.insert(
                    0,
                    Curve {
                        label: format!("L = {:.2}·x^−{:.3} (r² {:.2})", law.a, law.alpha, law.r2),
                        points: (0..=n)
                            .map(|i| {
                                let lx = x.0.log10()
                                    + (x.1.log10() - x.0.log10()) * f64::from(i) / f64::from(n);
                                (10f64.powf(lx), law.at(10f64.powf(lx)))
                            })
                            // Drawn only inside the axes, not flattened along their edges.
                            .filter(|&(_, l)| (y.0..=y.1).contains(&l))
                            .collect(),
                        color: ORANGE,
                        mark: Mark::Line(2),
                    },
                );
            }
            Plot {
                title: format!("{what} ({})", series.fixed),
                x_label: x_label.into(),
                y_label: "final held-out loss (nats)".into(),
                x_log: true,
                y_log: false,
                x,
                y,
                curves,
                marks: Vec::new(),
            }
        };
        let note = format!(
            "{} runs of glassbox train on its synthetic corpus; least squares on log–log axes. Small \
             runs show the trend, not the constants of large ones.",
            family.runs.len()
        );
        Self {
            title: TitleBlock::new("scaling: loss against size and data", opts, &[note]),
            plots: vec![
                plot(
                    &family.by_params,
                    "more parameters",
                    "non-embedding parameters N (log)",
                ),
                plot(&family.by_tokens, "more data", "training tokens D (log)"),
            ],
            columns: 2,
            s,
        }
    }

    /// A rotary embedding as curves: each dimension pair's wavelength (log), and the score of a query
    /// and an equal key against their distance over the context (log), the long-range decay.
    pub fn rotary(freqs: &[f64], n_ctx: usize, opts: &PlotOptions) -> Self {
        use crate::analysis::rotary::{decay, log_distances, wavelengths};
        let s = f64::from(opts.scale);
        let waves = wavelengths(freqs);
        let (lo, hi) = waves
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.1), b.max(p.1))
            });
        let last = waves.last().map_or(1.0, |p| p.0).max(1.0);
        let pairs = Plot {
            title: "how fast each dimension pair turns".into(),
            x_label: "dimension pair i".into(),
            y_label: "wavelength 2π/θᵢ (tokens, log)".into(),
            x_log: false,
            y_log: true,
            x: (0.0, last),
            y: (
                10f64.powf(lo.log10().floor()),
                10f64.powf(hi.log10().ceil()),
            ),
            curves: vec![Curve {
                label: String::new(),
                points: waves,
                color: BAR,
                mark: Mark::Line(2),
            }],
            marks: Vec::new(),
        };
        let max = n_ctx.max(2);
        let decay_plot = Plot {
            title: "score of a query and an equal key, by distance".into(),
            x_label: "distance Δ between the positions (tokens, log)".into(),
            y_label: "q·k relative to Δ = 0".into(),
            x_log: true,
            y_log: false,
            x: (1.0, max as f64),
            y: (-1.0, 1.0),
            curves: vec![
                Curve {
                    label: String::new(),
                    points: vec![(1.0, 0.0), (max as f64, 0.0)],
                    color: RULE,
                    mark: Mark::Line(1),
                },
                Curve {
                    label: "mean over pairs of cos(Δ·θᵢ)".into(),
                    points: decay(freqs, &log_distances(max, 400)),
                    color: ORANGE,
                    mark: Mark::Line(2),
                },
            ],
            marks: Vec::new(),
        };
        let note = format!(
            "{} pairs per head, θᵢ from {:.3} to {:.2e} radians per token; q·k depends only on the distance",
            freqs.len(),
            freqs.first().copied().unwrap_or(0.0),
            freqs.last().copied().unwrap_or(0.0)
        );
        Self {
            title: TitleBlock::new("what the rotation does to q·k", opts, &[note]),
            plots: vec![pairs, decay_plot],
            columns: 2,
            s,
        }
    }

    fn cell(&self) -> (f64, f64) {
        let s = self.s;
        (
            (LEFT + PANEL_W + GAP) * s,
            (22.0 + PANEL_H + BELOW + GAP) * s,
        )
    }
}

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        let s = self.s;
        let (cw, ch) = self.cell();
        let rows = self.plots.len().div_ceil(self.columns) as f64;
        let w = 2.0 * MARGIN * s + cw * self.columns as f64;
        let h = 2.0 * MARGIN * s + self.title.height() + 10.0 * s + ch * rows;
        (w.ceil() as u32, h.ceil() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB> {
        let s = self.s;
        let m = MARGIN * s;
        let (w, _) = self.size();
        self.title.draw(pen, m, m, f64::from(w) - 2.0 * m)?;
        let top = m + self.title.height() + 10.0 * s;
        let (cw, ch) = self.cell();
        for (i, p) in self.plots.iter().enumerate() {
            let (col, row) = ((i % self.columns) as f64, (i / self.columns) as f64);
            p.draw(pen, m + col * cw + LEFT * s, top + row * ch + 22.0 * s, s)?;
        }
        Ok(())
    }
}
