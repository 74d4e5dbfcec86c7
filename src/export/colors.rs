//! Colours of exported figures: the same colorous maps the terminal uses (viridis for 0..1, red–blue
//! centred on 0 for signed values), masked-cell and not-a-number colours that no map contains, and
//! ink colours.

use plotters::style::RGBColor;

use crate::analysis::heatmap::{Heatmap, Scale};

/// Sequential colour maps for 0..1 values (attention weights, probabilities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Cmap {
    /// Dark purple to yellow; the tutor's map. Readable in greyscale and by colour-blind readers.
    #[default]
    Viridis,
    /// Black through red to pale yellow.
    Magma,
    /// Blue to yellow, designed for colour-vision deficiencies.
    Cividis,
    /// White (0) to black (1), for black-and-white print.
    Greys,
}

impl Cmap {
    fn gradient(self) -> colorous::Gradient {
        match self {
            Cmap::Viridis => colorous::VIRIDIS,
            Cmap::Magma => colorous::MAGMA,
            Cmap::Cividis => colorous::CIVIDIS,
            Cmap::Greys => colorous::GREYS,
        }
    }
}

/// How a heatmap's values become colours: its scale decides the map (a signed scale always uses the
/// diverging map, since a sequential map would hide where zero is); `cmap` is the sequential one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorScale {
    pub scale: Scale,
    pub cmap: Cmap,
}

impl ColorScale {
    pub fn of(map: &Heatmap, cmap: Cmap) -> Self {
        Self {
            scale: map.scale,
            cmap,
        }
    }

    /// The colour at `t` in 0..=1 along the bar (0 = the low end of [`Heatmap::range`]).
    pub fn at(&self, t: f32) -> RGBColor {
        let t = f64::from(t.clamp(0.0, 1.0));
        let c = match self.scale {
            Scale::Unit => self.cmap.gradient().eval_continuous(t),
            // Same as the terminal theme: RED_BLUE runs red -> blue; flip it so negative is blue.
            Scale::Signed { .. } => colorous::RED_BLUE.eval_continuous(1.0 - t),
        };
        RGBColor(c.r, c.g, c.b)
    }

    /// The colour of a cell's value (see [`Heatmap::normalized`]).
    pub fn value(&self, map: &Heatmap, v: f32) -> RGBColor {
        self.at(map.normalized(v))
    }

    /// The (low, high) values at the ends of the bar.
    pub fn range(&self) -> (f32, f32) {
        match self.scale {
            Scale::Unit => (0.0, 1.0),
            Scale::Signed { max_abs } => (-max_abs, max_abs),
        }
    }
}

/// Page background.
pub const PAPER: RGBColor = RGBColor(255, 255, 255);
/// Titles and labels.
pub const INK: RGBColor = RGBColor(34, 34, 38);
/// Secondary text (subtitles, tick labels, notes).
pub const MUTED: RGBColor = RGBColor(96, 96, 104);
/// Frames and tick marks.
pub const RULE: RGBColor = RGBColor(150, 150, 158);
/// Masked (future) cells: a light grey with darker hatching. No map above has a flat light grey with
/// lines through it, so the masked triangle never reads as "weight 0".
pub const MASK_FILL: RGBColor = RGBColor(234, 234, 236);
pub const MASK_HATCH: RGBColor = RGBColor(178, 178, 184);
/// Cells whose value is NaN or ±∞: magenta, which none of the maps above contains, crossed out in a
/// dark ink (see [`super::cells::not_a_number`]).
pub const NAN_FILL: RGBColor = RGBColor(255, 0, 255);
pub const NAN_MARK: RGBColor = RGBColor(40, 0, 40);
/// Probability bars.
pub const BAR: RGBColor = RGBColor(59, 117, 175);

/// Black or white, whichever reads better on `bg` (WCAG relative luminance).
pub fn text_on(bg: RGBColor) -> RGBColor {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(bg.0) + 0.7152 * lin(bg.1) + 0.0722 * lin(bg.2);
    // Contrast with black is (l + 0.05) / 0.05, with white 1.05 / (l + 0.05); equal at l ≈ 0.179.
    if l > 0.179 {
        RGBColor(0, 0, 0)
    } else {
        RGBColor(255, 255, 255)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_scale_uses_the_chosen_map_and_signed_the_diverging_one() {
        let unit = ColorScale {
            scale: Scale::Unit,
            cmap: Cmap::Viridis,
        };
        let top = colorous::VIRIDIS.eval_continuous(1.0);
        assert_eq!(unit.at(1.0), RGBColor(top.r, top.g, top.b));
        let signed = ColorScale {
            scale: Scale::Signed { max_abs: 2.0 },
            cmap: Cmap::Greys,
        };
        let low = signed.at(0.0);
        assert!(low.2 > low.0, "negative values are blue: {low:?}");
        assert_eq!(signed.range(), (-2.0, 2.0));
    }

    #[test]
    fn text_contrasts_with_its_cell() {
        assert_eq!(text_on(RGBColor(253, 231, 37)), RGBColor(0, 0, 0));
        assert_eq!(text_on(RGBColor(68, 1, 84)), RGBColor(255, 255, 255));
    }
}
