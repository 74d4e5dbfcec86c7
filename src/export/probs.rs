//! The next-token distribution at one position as a horizontal bar chart: the k most probable
//! tokens, each bar labelled with its probability, entropy and temperature in the title.

use plotters::prelude::DrawingBackend;

use super::colors::{BAR, INK, MUTED, RULE};
use super::figures::{Figure, TitleBlock};
use super::pen::{Align, DrawResult, Font, Pen};
use super::PlotOptions;
use crate::analysis::predictions::{entropy_bits, top_k};
use crate::text::visible;

/// What the chart shows: the candidates for the token after `position`.
#[derive(Debug, Clone, PartialEq)]
pub struct NextTokens {
    /// The position whose logits were read (the prediction is for the token after it).
    pub position: usize,
    /// The token at `position`.
    pub token: String,
    /// (token text, probability), most probable first.
    pub candidates: Vec<(String, f32)>,
    /// Entropy of the whole distribution (all tokens, not only the candidates shown).
    pub entropy_bits: f32,
    pub temperature: f32,
}

impl NextTokens {
    /// From a full probability vector (softmax of one position's logits at `temperature`);
    /// `token_str` names a token id.
    pub fn from_probs(
        probs: &[f32],
        top: usize,
        position: usize,
        token: String,
        temperature: f32,
        token_str: impl Fn(u32) -> String,
    ) -> Self {
        Self {
            position,
            token,
            candidates: top_k(probs, top)
                .into_iter()
                .map(|(id, p)| (token_str(id), p))
                .collect(),
            entropy_bits: entropy_bits(probs),
            temperature,
        }
    }
}

pub struct ProbsFigure<'a> {
    data: &'a NextTokens,
    title: TitleBlock,
    labels: Vec<String>,
    label_w: f64,
    s: f64,
}

const MARGIN: f64 = 18.0;
const BAR_AREA: f64 = 460.0;

impl<'a> ProbsFigure<'a> {
    pub fn new(data: &'a NextTokens, opts: &PlotOptions) -> Self {
        let s = f64::from(opts.scale);
        let heading = format!(
            "next-token probabilities after position {} “{}”",
            data.position,
            visible(&data.token)
        );
        let note = format!(
            "temperature {} · entropy {:.2} bits · top {} of the vocabulary (· is a space)",
            data.temperature,
            data.entropy_bits,
            data.candidates.len()
        );
        let font = label_font(s);
        let labels: Vec<String> = data
            .candidates
            .iter()
            .map(|(t, _)| font.fit(&format!("“{}”", visible(t)), 200.0 * s))
            .collect();
        let label_w = labels.iter().map(|l| font.width(l)).fold(0.0, f64::max);
        Self {
            data,
            title: TitleBlock::new(&heading, opts, &[note]),
            labels,
            label_w,
            s,
        }
    }

    fn row_h(&self) -> f64 {
        26.0 * self.s
    }

    fn chart_top(&self) -> f64 {
        MARGIN * self.s + self.title.height() + 14.0 * self.s
    }
}

fn label_font(s: f64) -> Font {
    Font::new(14.0 * s, INK)
}

impl Figure for ProbsFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let s = self.s;
        let w = 2.0 * MARGIN * s + self.label_w + 10.0 * s + BAR_AREA * s + 60.0 * s;
        let rows = self.data.candidates.len().max(1) as f64;
        let h = self.chart_top() + rows * self.row_h() + 40.0 * s + MARGIN * s;
        (w.max(560.0 * s).ceil() as u32, h.ceil() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB> {
        let s = self.s;
        let m = MARGIN * s;
        let (page_w, _) = self.size();
        self.title.draw(pen, m, m, f64::from(page_w) - 2.0 * m)?;
        let x0 = m + self.label_w + 10.0 * s;
        let width = BAR_AREA * s;
        let top = self.chart_top();
        let bottom = top + self.data.candidates.len().max(1) as f64 * self.row_h();
        // Gridlines and the probability axis (0 to 100 %: bars of different charts compare).
        let tick_font = Font::new(11.0 * s, MUTED);
        for i in 0..=4 {
            let x = (x0 + width * f64::from(i) / 4.0).round() as i32;
            let grid = if i == 0 { RULE } else { GRID };
            pen.line(&[(x, top as i32), (x, bottom as i32)], grid, 1)?;
            pen.text(
                &format!("{}%", i * 25),
                f64::from(x),
                bottom + 10.0 * s,
                tick_font,
                Align::Center,
            )?;
        }
        pen.text(
            "probability of being the next token",
            x0 + width / 2.0,
            bottom + 28.0 * s,
            Font::new(12.0 * s, MUTED),
            Align::Center,
        )?;
        let font = label_font(s);
        let value_font = Font::new(12.0 * s, INK);
        for (i, ((_, p), label)) in self.data.candidates.iter().zip(&self.labels).enumerate() {
            let y = top + i as f64 * self.row_h();
            let cy = y + self.row_h() / 2.0;
            pen.text(label, x0 - 8.0 * s, cy, font, Align::Right)?;
            let bar_w = (f64::from(p.clamp(0.0, 1.0)) * width).round() as i32;
            let (by0, by1) = (
                (y + 4.0 * s).round() as i32,
                (y + self.row_h() - 4.0 * s) as i32,
            );
            pen.fill(x0 as i32, by0, x0 as i32 + bar_w, by1, BAR)?;
            pen.text(
                &percent(*p),
                x0 + f64::from(bar_w) + 6.0 * s,
                cy,
                value_font,
                Align::Left,
            )?;
        }
        Ok(())
    }
}

/// Light gridlines behind the bars.
const GRID: plotters::style::RGBColor = plotters::style::RGBColor(228, 228, 232);

/// "87.3%", or "<0.1%" for what would round to nothing.
fn percent(p: f32) -> String {
    let pct = p * 100.0;
    if pct > 0.0 && pct < 0.05 {
        "<0.1%".into()
    } else {
        format!("{pct:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_the_most_probable_first() {
        let probs = [0.1, 0.6, 0.3];
        let d = NextTokens::from_probs(&probs, 2, 4, "x".into(), 1.0, |id| format!("t{id}"));
        assert_eq!(
            d.candidates,
            vec![("t1".to_string(), 0.6), ("t2".to_string(), 0.3)]
        );
        assert!(d.entropy_bits > 1.0);
        assert_eq!(percent(0.8734), "87.3%");
        assert_eq!(percent(0.0001), "<0.1%");
    }
}
