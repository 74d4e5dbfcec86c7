//! Direct logit attribution as a figure: the layers × heads grid with the MLP column (the heatmap the
//! tutor's attribution page draws) above the components with the largest |contribution| as signed
//! bars, red pushing the target up and blue pushing it down.

use plotters::prelude::DrawingBackend;

use super::colors::{Cmap, ColorScale, INK, MUTED, RULE};
use super::figures::{Figure, TitleBlock};
use super::pen::{Align, DrawResult, Font, Pen};
use super::PlotOptions;
use crate::analysis::attribution::Attribution;
use crate::analysis::heatmap::Scale;

/// How many components the bars list.
pub const TOP_BARS: usize = 12;

const MARGIN: f64 = 18.0;
const HALF: f64 = 240.0;

/// The ranked list: one signed bar per component, from a zero line in the middle.
pub struct RankedBars {
    title: TitleBlock,
    bars: Vec<(String, f32)>,
    max_abs: f32,
    colors: ColorScale,
    s: f64,
}

impl RankedBars {
    pub fn new(a: &Attribution, opts: &PlotOptions) -> Self {
        let s = f64::from(opts.scale);
        let bars: Vec<(String, f32)> = a
            .ranked()
            .into_iter()
            .take(TOP_BARS)
            .map(|(c, v)| (c.label(), v))
            .collect();
        let max_abs = bars
            .iter()
            .map(|(_, v)| v.abs())
            .filter(|v| v.is_finite())
            .fold(0.0f32, f32::max);
        let heading = format!("the {} largest direct contributions", bars.len());
        let note = format!(
            "the model's logit{} {:+.3} = the sum of every component {:+.3} + the final norm's bias {:+.3}",
            if a.target.versus.is_some() { " difference" } else { "" },
            a.logit,
            a.total() - a.constant,
            a.constant
        );
        Self {
            title: TitleBlock::new(
                &heading,
                &PlotOptions {
                    model: None,
                    prompt: None,
                    ..opts.clone()
                },
                &[note],
            ),
            bars,
            max_abs,
            colors: ColorScale {
                scale: Scale::Signed { max_abs: 1.0 },
                cmap: Cmap::Viridis,
            },
            s,
        }
    }

    fn row_h(&self) -> f64 {
        24.0 * self.s
    }

    fn top(&self) -> f64 {
        MARGIN * self.s + self.title.height() + 10.0 * self.s
    }
}

impl Figure for RankedBars {
    fn size(&self) -> (u32, u32) {
        let s = self.s;
        let w = 2.0 * MARGIN * s + 90.0 * s + 2.0 * HALF * s + 70.0 * s;
        let h = self.top() + self.bars.len().max(1) as f64 * self.row_h() + 40.0 * s + MARGIN * s;
        (w.ceil() as u32, h.ceil() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB> {
        let s = self.s;
        let m = MARGIN * s;
        let (page_w, _) = self.size();
        self.title.draw(pen, m, m, f64::from(page_w) - 2.0 * m)?;
        let zero = m + 90.0 * s + HALF * s;
        let top = self.top();
        let bottom = top + self.bars.len().max(1) as f64 * self.row_h();
        pen.line(
            &[(zero as i32, top as i32), (zero as i32, bottom as i32)],
            RULE,
            1,
        )?;
        let tick = Font::new(11.0 * s, MUTED);
        for (x, v) in [
            (zero - HALF * s, -self.max_abs),
            (zero, 0.0),
            (zero + HALF * s, self.max_abs),
        ] {
            pen.text(
                &minus(format!("{v:+.2}")),
                x,
                bottom + 10.0 * s,
                tick,
                Align::Center,
            )?;
        }
        pen.text(
            "direct contribution (logits): red pushes the target up, blue down",
            zero,
            bottom + 28.0 * s,
            Font::new(12.0 * s, MUTED),
            Align::Center,
        )?;
        let label = Font::new(14.0 * s, INK);
        let value_font = Font::new(12.0 * s, INK);
        for (i, (name, v)) in self.bars.iter().enumerate() {
            let y = top + i as f64 * self.row_h();
            let cy = y + self.row_h() / 2.0;
            pen.text(name, m + 80.0 * s, cy, label, Align::Right)?;
            let frac = if self.max_abs > 0.0 && v.is_finite() {
                f64::from(v / self.max_abs)
            } else {
                0.0
            };
            let end = zero + frac * HALF * s;
            let color = self.colors.at(if *v >= 0.0 { 0.9 } else { 0.1 });
            let (x0, x1) = if end >= zero {
                (zero, end)
            } else {
                (end, zero)
            };
            let (y0, y1) = ((y + 4.0 * s) as i32, (y + self.row_h() - 4.0 * s) as i32);
            pen.fill(x0.round() as i32, y0, x1.round() as i32, y1, color)?;
            let (tx, align) = if *v >= 0.0 {
                (x1 + 6.0 * s, Align::Left)
            } else {
                (x0 - 6.0 * s, Align::Right)
            };
            // A negative bar's number sits left of it, over the label column only if it is long.
            let tx = if *v < 0.0 && frac < -0.8 {
                x1 + 6.0 * s
            } else {
                tx
            };
            let align = if *v < 0.0 && frac < -0.8 {
                Align::Left
            } else {
                align
            };
            pen.text(&minus(format!("{v:+.3}")), tx, cy, value_font, align)?;
        }
        Ok(())
    }
}

/// A number with the typographic minus, as the heatmap's cells print it.
fn minus(text: String) -> String {
    text.replace('-', "−")
}
