//! Colours: perceptual colour maps in true colour, a 256-colour fallback, and a glyph ramp when
//! NO_COLOR asks for no colour at all.

use ratatui::style::{Color, Modifier, Style};

/// What the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    TrueColor,
    Ansi256,
    /// No colour: heatmaps use the glyph ramp and numbers.
    Mono,
}

impl ColorMode {
    /// From the environment: NO_COLOR (any non-empty value) wins, then COLORTERM=truecolor|24bit.
    pub fn detect() -> Self {
        Self::from_env(
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("COLORTERM").ok().as_deref(),
        )
    }

    pub fn from_env(no_color: Option<&str>, colorterm: Option<&str>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            ColorMode::Mono
        } else if colorterm.is_some_and(|v| v.eq_ignore_ascii_case("truecolor") || v == "24bit") {
            ColorMode::TrueColor
        } else {
            ColorMode::Ansi256
        }
    }
}

/// Which colour map a value uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// 0..1 (probabilities): viridis, dark to bright.
    Sequential,
    /// Signed, centred on 0: blue for negative, white near 0, red for positive.
    Diverging,
}

/// The glyph ramp for NO_COLOR, from 0 to 1.
pub const RAMP: [char; 5] = [' ', '░', '▒', '▓', '█'];
/// A masked cell without colour.
pub const MASKED_GLYPH: char = '·';
/// A cell that is not a number (NaN or ±∞), with or without colour: apart from the ramp and the mask.
pub const NAN_GLYPH: char = '×';

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub mode: ColorMode,
}

impl Theme {
    pub fn new(mode: ColorMode) -> Self {
        Self { mode }
    }

    /// The colour for `t` in 0..=1 on a palette, in this terminal's colour depth.
    pub fn color(&self, palette: Palette, t: f32) -> Color {
        let t = f64::from(t.clamp(0.0, 1.0));
        let c = match palette {
            Palette::Sequential => colorous::VIRIDIS.eval_continuous(t),
            // RED_BLUE runs red -> blue; flip it so negative is blue.
            Palette::Diverging => colorous::RED_BLUE.eval_continuous(1.0 - t),
        };
        self.rgb(c.r, c.g, c.b)
    }

    pub fn rgb(&self, r: u8, g: u8, b: u8) -> Color {
        match self.mode {
            ColorMode::TrueColor => Color::Rgb(r, g, b),
            ColorMode::Ansi256 => Color::Indexed(ansi256(r, g, b)),
            ColorMode::Mono => Color::Reset,
        }
    }

    /// Cells above the diagonal, where the causal mask hides future keys.
    pub fn masked(&self) -> Color {
        self.rgb(48, 48, 52)
    }

    /// Cells whose value is NaN or ±∞: magenta, a colour neither viridis nor the red–blue map has,
    /// and never the mask's grey.
    pub fn not_a_number(&self) -> Color {
        self.rgb(255, 0, 255)
    }

    pub fn glyph(t: f32) -> char {
        let i = (t.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32).round() as usize;
        RAMP[i]
    }

    pub fn accent(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default().add_modifier(Modifier::BOLD),
            _ => Style::default()
                .fg(self.rgb(255, 200, 60))
                .add_modifier(Modifier::BOLD),
        }
    }

    pub fn dim(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default(),
            _ => Style::default().fg(self.rgb(140, 140, 150)),
        }
    }

    /// The cursor token and the cursor's heatmap row.
    pub fn cursor(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// Tokens the model generated (not typed).
    pub fn generated(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default().add_modifier(Modifier::UNDERLINED),
            _ => Style::default()
                .fg(self.rgb(120, 220, 140))
                .add_modifier(Modifier::UNDERLINED),
        }
    }

    pub fn bar(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default(),
            _ => Style::default().fg(self.rgb(90, 170, 250)),
        }
    }

    pub fn bar_alt(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default(),
            _ => Style::default().fg(self.rgb(250, 120, 90)),
        }
    }

    pub fn error(&self) -> Style {
        match self.mode {
            ColorMode::Mono => Style::default().add_modifier(Modifier::BOLD),
            _ => Style::default()
                .fg(self.rgb(255, 90, 90))
                .add_modifier(Modifier::BOLD),
        }
    }
}

/// The nearest xterm-256 colour: the 6×6×6 cube or the 24-step grey ramp, whichever is closer.
pub fn ansi256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let nearest = |v: u8| {
        (0..6)
            .min_by_key(|&i| (i32::from(LEVELS[i]) - i32::from(v)).abs())
            .unwrap_or(0)
    };
    let (ri, gi, bi) = (nearest(r), nearest(g), nearest(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let grey_level = ((u32::from(r) + u32::from(g) + u32::from(b)) / 3) as i32;
    let gi_ = ((grey_level - 8).max(0) / 10).min(23);
    let grey = (8 + 10 * gi_) as u8;
    let dist = |(x, y, z): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(x, r) + d(y, g) + d(z, b)
    };
    if dist((grey, grey, grey)) < dist(cube) {
        232 + gi_ as u8
    } else {
        16 + 36 * ri as u8 + 6 * gi as u8 + bi as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_and_truecolor_is_detected() {
        assert_eq!(
            ColorMode::from_env(Some("1"), Some("truecolor")),
            ColorMode::Mono
        );
        assert_eq!(
            ColorMode::from_env(Some(""), Some("truecolor")),
            ColorMode::TrueColor
        );
        assert_eq!(
            ColorMode::from_env(None, Some("24bit")),
            ColorMode::TrueColor
        );
        assert_eq!(ColorMode::from_env(None, None), ColorMode::Ansi256);
    }

    #[test]
    /// The same pairs as the screenshot rasterizer's test of the way back (`export::terminal`).
    fn ansi256_maps_primaries_and_greys() {
        assert_eq!(ansi256(0, 0, 0), 16);
        assert_eq!(ansi256(255, 255, 255), 231);
        assert_eq!(ansi256(255, 0, 0), 196);
        assert_eq!(ansi256(128, 128, 128), 244);
    }

    #[test]
    fn glyph_ramp_runs_from_blank_to_full() {
        assert_eq!(Theme::glyph(0.0), ' ');
        assert_eq!(Theme::glyph(1.0), '█');
        assert_eq!(Theme::glyph(0.5), '▒');
    }
}
