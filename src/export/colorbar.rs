//! The colour bar beside a heatmap (with tick values), and under it the legend for what is not on the
//! bar: masked cells, and cells that are not numbers.

use plotters::prelude::DrawingBackend;

use super::cells::{hatch, not_a_number};
use super::colors::{ColorScale, MASK_FILL, MUTED, RULE};
use super::pen::{Align, DrawResult, Font, Pen};
use crate::analysis::heatmap::{Heatmap, Scale};

/// What the masked cells are, in the legend.
pub const MASK_LABEL: &str = "future (masked)";
/// What the magenta crossed-out cells are, in the legend.
pub const NAN_LABEL: &str = "not a number (NaN/∞)";

/// One entry of the legend under the colour bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendKey {
    Masked,
    NotANumber,
}

impl LegendKey {
    fn label(self) -> &'static str {
        match self {
            Self::Masked => MASK_LABEL,
            Self::NotANumber => NAN_LABEL,
        }
    }
}

/// The keys that `maps` need, in the order they are drawn.
pub fn legend_keys<'m>(maps: impl IntoIterator<Item = &'m Heatmap> + Clone) -> Vec<LegendKey> {
    let mut keys = Vec::new();
    if maps.clone().into_iter().any(Heatmap::has_masked) {
        keys.push(LegendKey::Masked);
    }
    if maps.into_iter().any(|m| m.not_a_number() > 0) {
        keys.push(LegendKey::NotANumber);
    }
    keys
}

/// From one key's top to the next one's, for swatches `side` high.
pub fn key_step(side: f64) -> f64 {
    side * 1.75
}

/// The keys stacked from (x, y) down: a swatch drawn as those cells are, and its label beside it.
pub fn draw_legend<DB: DrawingBackend>(
    pen: &Pen<DB>,
    keys: &[LegendKey],
    (x, y): (i32, i32),
    side: i32,
    font: Font,
    hatch_gap: i32,
) -> DrawResult<DB> {
    for (i, key) in keys.iter().enumerate() {
        let ky = y + (key_step(f64::from(side)) * i as f64).round() as i32;
        match key {
            LegendKey::Masked => {
                pen.fill(x, ky, x + side, ky + side, MASK_FILL)?;
                hatch(pen, x, ky, x + side, ky + side, hatch_gap)?;
            }
            LegendKey::NotANumber => not_a_number(pen, x, ky, x + side, ky + side)?,
        }
        pen.frame(x, ky, x + side, ky + side, RULE)?;
        pen.text(
            key.label(),
            f64::from(x + side + side / 2),
            f64::from(ky) + f64::from(side) / 2.0,
            Font {
                color: MUTED,
                ..font
            },
            Align::Left,
        )?;
    }
    Ok(())
}

/// Width of the legend [`draw_legend`] draws.
pub fn legend_width(keys: &[LegendKey], side: f64, font: Font) -> f64 {
    keys.iter()
        .map(|k| side * 1.5 + font.width(k.label()))
        .fold(0.0, f64::max)
}

/// Tick values along the bar, low to high, with their labels.
pub fn ticks(colors: &ColorScale) -> Vec<(f32, String)> {
    let (lo, hi) = colors.range();
    let fmt = |v: f32| -> String {
        let text = match colors.scale {
            Scale::Unit => {
                let s = format!("{v:.2}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                s.to_string()
            }
            Scale::Signed { max_abs } if max_abs >= 10.0 => format!("{v:.0}"),
            Scale::Signed { max_abs } if max_abs >= 1.0 => format!("{v:.1}"),
            Scale::Signed { .. } => format!("{v:.2}"),
        };
        // A true minus sign; and no "-0".
        match text.strip_prefix('-') {
            Some(rest) if rest.chars().any(|c| c.is_ascii_digit() && c != '0') => {
                format!("−{rest}")
            }
            Some(rest) => rest.to_string(),
            None => text,
        }
    };
    if hi <= lo {
        return vec![(lo, fmt(lo))];
    }
    (0..5)
        .map(|i| lo + (hi - lo) * i as f32 / 4.0)
        .map(|v| (v, fmt(v)))
        .collect()
}

/// The width the tick labels need beside the bar.
pub fn label_width(colors: &ColorScale, font: Font) -> f64 {
    ticks(colors)
        .iter()
        .map(|(_, t)| font.width(t))
        .fold(0.0, f64::max)
}

/// A vertical bar from the top colour (high values) down to the bottom one, ticks on its right.
#[allow(clippy::too_many_arguments)]
pub fn draw_bar<DB: DrawingBackend>(
    pen: &Pen<DB>,
    colors: &ColorScale,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    font: Font,
    tick_len: i32,
) -> DrawResult<DB> {
    let h = h.max(2);
    for py in 0..h {
        let t = 1.0 - (py as f32 + 0.5) / h as f32;
        // Two pixels high, overlapping the next strip: no hairline seams in SVG viewers.
        pen.fill(x, y + py, x + w, y + py + 2, colors.at(t))?;
    }
    pen.frame(x, y, x + w, y + h, RULE)?;
    let (lo, hi) = colors.range();
    for (v, label) in ticks(colors) {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        let ty = y + ((1.0 - t) * (h - 1) as f32).round() as i32;
        pen.line(&[(x + w, ty), (x + w + tick_len, ty)], RULE, 1)?;
        let label_font = Font {
            color: MUTED,
            ..font
        };
        pen.text(
            &label,
            f64::from(x + w + tick_len + 3),
            f64::from(ty),
            label_font,
            Align::Left,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::colors::Cmap;

    #[test]
    fn ticks_span_the_range_with_plain_labels() {
        let unit = ColorScale {
            scale: Scale::Unit,
            cmap: Cmap::Viridis,
        };
        let labels: Vec<String> = ticks(&unit).into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0", "0.25", "0.5", "0.75", "1"]);
        let signed = ColorScale {
            scale: Scale::Signed { max_abs: 3.0 },
            cmap: Cmap::Viridis,
        };
        let labels: Vec<String> = ticks(&signed).into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["−3.0", "−1.5", "0.0", "1.5", "3.0"]);
    }
}
