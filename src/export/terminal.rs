//! What a terminal cell means in pixels: ratatui colours as RGB (xterm's palette), and the block and
//! box-drawing characters the screenshot rasterizer draws as rectangles instead of glyphs.

use ratatui::style::Color;

/// What `Color::Reset` means: a dark terminal with light text.
pub const DEFAULT_BG: [u8; 3] = [22, 22, 26];
pub const DEFAULT_FG: [u8; 3] = [208, 208, 212];

pub fn is_drawn_as_shape(ch: char) -> bool {
    matches!(ch, '▀'..='▕') || quadrants(ch).is_some() || box_arms(ch).is_some()
}

/// Quadrant blocks as a bit set: 1 upper left, 2 upper right, 4 lower left, 8 lower right.
pub fn quadrants(ch: char) -> Option<u8> {
    Some(match ch {
        '▖' => 4,
        '▗' => 8,
        '▘' => 1,
        '▙' => 1 | 4 | 8,
        '▚' => 1 | 8,
        '▛' => 1 | 2 | 4,
        '▜' => 1 | 2 | 8,
        '▝' => 2,
        '▞' => 2 | 4,
        '▟' => 2 | 4 | 8,
        _ => return None,
    })
}

/// Light (and two heavy) box-drawing characters as (up, down, left, right, heavy) arms from the
/// cell's centre. Rounded corners are drawn square.
pub fn box_arms(ch: char) -> Option<(bool, bool, bool, bool, bool)> {
    let (u, d, l, r) = match ch {
        '─' | '━' => (false, false, true, true),
        '│' | '┃' => (true, true, false, false),
        '┌' | '╭' => (false, true, false, true),
        '┐' | '╮' => (false, true, true, false),
        '└' | '╰' => (true, false, false, true),
        '┘' | '╯' => (true, false, true, false),
        '├' => (true, true, false, true),
        '┤' => (true, true, true, false),
        '┬' => (false, true, true, true),
        '┴' => (true, false, true, true),
        '┼' => (true, true, true, true),
        '╴' => (false, false, true, false),
        '╶' => (false, false, false, true),
        '╵' => (true, false, false, false),
        '╷' => (false, true, false, false),
        _ => return None,
    };
    Some((u, d, l, r, matches!(ch, '━' | '┃')))
}

/// `a` moved a fraction `t` of the way to `b`.
pub fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let m = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

/// A ratatui colour in RGB: named colours and indices 0–15 as xterm's defaults, 16–231 the 6×6×6
/// cube, 232–255 the grey ramp (the same tables as `ui::theme::ansi256`, read the other way).
pub fn rgb(color: Color, default: [u8; 3]) -> [u8; 3] {
    match color {
        Color::Reset => default,
        Color::Black => xterm(0),
        Color::Red => xterm(1),
        Color::Green => xterm(2),
        Color::Yellow => xterm(3),
        Color::Blue => xterm(4),
        Color::Magenta => xterm(5),
        Color::Cyan => xterm(6),
        Color::Gray => xterm(7),
        Color::DarkGray => xterm(8),
        Color::LightRed => xterm(9),
        Color::LightGreen => xterm(10),
        Color::LightYellow => xterm(11),
        Color::LightBlue => xterm(12),
        Color::LightMagenta => xterm(13),
        Color::LightCyan => xterm(14),
        Color::White => xterm(15),
        Color::Indexed(i) => xterm(i),
        Color::Rgb(r, g, b) => [r, g, b],
    }
}

fn xterm(i: u8) -> [u8; 3] {
    const BASIC: [[u8; 3]; 16] = [
        [0, 0, 0],
        [205, 0, 0],
        [0, 205, 0],
        [205, 205, 0],
        [0, 0, 238],
        [205, 0, 205],
        [0, 205, 205],
        [229, 229, 229],
        [127, 127, 127],
        [255, 0, 0],
        [0, 255, 0],
        [255, 255, 0],
        [92, 92, 255],
        [255, 0, 255],
        [0, 255, 255],
        [255, 255, 255],
    ];
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match i {
        0..=15 => BASIC[usize::from(i)],
        16..=231 => {
            let k = i - 16;
            [
                LEVELS[usize::from(k / 36)],
                LEVELS[usize::from(k / 6 % 6)],
                LEVELS[usize::from(k % 6)],
            ]
        }
        _ => {
            let g = 8 + 10 * (i - 232);
            [g, g, g]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xterm_colours_match_the_indices_the_theme_picks() {
        // The xterm-256 indices of these colours, as `ui::theme::ansi256` picks them (tested there):
        // the screenshot must paint each index close to the colour the theme meant.
        for ((r, g, b), i) in [
            ((0, 0, 0), 16),
            ((255, 255, 255), 231),
            ((255, 0, 0), 196),
            ((128, 128, 128), 244),
        ] {
            let back = xterm(i);
            let err = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs();
            assert!(err(back[0], r) < 12 && err(back[1], g) < 12 && err(back[2], b) < 12);
        }
        assert_eq!(rgb(Color::Indexed(196), DEFAULT_FG), [255, 0, 0]);
        assert_eq!(rgb(Color::Indexed(244), DEFAULT_FG), [128, 128, 128]);
    }
}
