//! Pictures of the terminal: a ratatui [`Buffer`] rasterized cell by cell with the embedded DejaVu Sans
//! Mono and the cells' own colours, so screenshots come from the project's code, not a terminal.
//!
//! Block elements (`▀ █ ▌ ▏ …`), shades (`░ ▒ ▓`) and light box-drawing lines are drawn as rectangles,
//! so heatmaps and borders are crisp and join up between cells; every other character is a glyph.

use std::path::Path;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use color_eyre::eyre::Result;
use ratatui::buffer::{Buffer, Cell};
use ratatui::style::Modifier;

use super::fonts::{self, MonoFaces};
use super::output::write_bytes;
use super::terminal::{box_arms, is_drawn_as_shape, mix, quadrants, rgb};
use crate::error::hinted;

pub use super::terminal::{DEFAULT_BG, DEFAULT_FG};

/// Pixel width of one cell; the height follows from the font (about twice the width).
pub const CELL_W: u32 = 10;

/// An RGB image, row-major.
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Image {
    fn fill(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: [u8; 3]) {
        let (w, h) = (self.width as i32, self.height as i32);
        for y in y0.max(0)..y1.min(h) {
            for x in x0.max(0)..x1.min(w) {
                let i = (y * w + x) as usize * 3;
                self.rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    /// Blend `c` over the pixel with coverage `a` (0..1): anti-aliased glyph edges.
    fn blend(&mut self, x: i32, y: i32, c: [u8; 3], a: f32) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            return;
        }
        let i = (y * self.width as i32 + x) as usize * 3;
        let a = a.clamp(0.0, 1.0);
        for (px, &over) in self.rgb[i..i + 3].iter_mut().zip(&c) {
            let under = f32::from(*px);
            *px = (under + (f32::from(over) - under) * a).round() as u8;
        }
    }
}

/// The terminal's cell grid in pixels and the font scale that makes DejaVu Sans Mono's advance
/// exactly one cell wide.
struct Grid {
    cell_w: u32,
    cell_h: u32,
    scale: PxScale,
    baseline: f32,
}

impl Grid {
    fn new(face: &FontRef<'static>) -> Self {
        let advance = face.h_advance_unscaled(face.glyph_id('M'));
        let px = CELL_W as f32 * face.height_unscaled() / advance.max(1.0);
        let scale = PxScale::from(px);
        let scaled = face.as_scaled(scale);
        let cell_h = px.ceil() as u32 + 1;
        let baseline = (cell_h as f32 - px) / 2.0 + scaled.ascent();
        Self {
            cell_w: CELL_W,
            cell_h,
            scale,
            baseline,
        }
    }
}

/// The buffer as an image: `CELL_W` pixels a column, about twice that a row.
pub fn rasterize(buf: &Buffer) -> Result<Image> {
    let faces = fonts::mono()?;
    let grid = Grid::new(&faces.regular);
    let area = buf.area;
    let mut img = Image {
        width: u32::from(area.width) * grid.cell_w,
        height: u32::from(area.height) * grid.cell_h,
        rgb: vec![0; usize::from(area.width) * usize::from(area.height) * 3],
    };
    img.rgb = DEFAULT_BG
        .iter()
        .copied()
        .cycle()
        .take(img.width as usize * img.height as usize * 3)
        .collect();
    // Backgrounds and block shapes first, glyphs after: a wide glyph may spill into the next cell.
    for pass in 0..2 {
        for row in 0..area.height {
            for col in 0..area.width {
                let cell = &buf[(area.x + col, area.y + row)];
                let x = i32::from(col) * grid.cell_w as i32;
                let y = i32::from(row) * grid.cell_h as i32;
                if pass == 0 {
                    paint_background(&mut img, cell, &grid, x, y);
                } else {
                    paint_glyph(&mut img, cell, &grid, &faces, x, y);
                }
            }
        }
    }
    Ok(img)
}

/// The buffer as PNG bytes.
pub fn buffer_png(buf: &Buffer) -> Result<Vec<u8>> {
    let img = rasterize(buf)?;
    // Screenshots are committed: spend a little more time for a smaller file.
    super::output::encode_png_with(&img.rgb, img.width, img.height, png::Compression::High)
}

/// Write the buffer as a PNG file (atomically); the path must end in .png.
pub fn save_buffer_png(buf: &Buffer, path: &Path) -> Result<()> {
    if super::output::check_target(path)? != super::Format::Png {
        return hinted(
            format!("cannot save a screenshot as {}", path.display()),
            "screenshots are PNG: use a name ending in .png",
        );
    }
    write_bytes(path, &buffer_png(buf)?)
}

/// The cell's foreground and background after modifiers (reversed swaps them, dim fades the text).
fn colors(cell: &Cell) -> ([u8; 3], [u8; 3]) {
    let mut fg = rgb(cell.fg, DEFAULT_FG);
    let mut bg = rgb(cell.bg, DEFAULT_BG);
    if cell.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    if cell.modifier.contains(Modifier::DIM) {
        fg = mix(bg, fg, 0.55);
    }
    if cell.modifier.contains(Modifier::HIDDEN) {
        fg = bg;
    }
    (fg, bg)
}

fn paint_background(img: &mut Image, cell: &Cell, grid: &Grid, x: i32, y: i32) {
    let (fg, bg) = colors(cell);
    let (w, h) = (grid.cell_w as i32, grid.cell_h as i32);
    img.fill(x, y, x + w, y + h, bg);
    let Some(ch) = cell.symbol().chars().next() else {
        return;
    };
    // Fractions of the cell, in eighths: (left, top, right, bottom) of the foreground part.
    let part = |l: i32, t: i32, r: i32, b: i32| {
        (x + w * l / 8, y + h * t / 8, x + w * r / 8, y + h * b / 8)
    };
    let rect = match ch {
        '▀' => Some(part(0, 0, 8, 4)),
        '▔' => Some(part(0, 0, 8, 1)),
        '▁'..='█' => {
            let eighths = ch as i32 - '▁' as i32 + 1;
            Some(part(0, 8 - eighths, 8, 8))
        }
        '▉'..='▏' => {
            let eighths = 7 - (ch as i32 - '▉' as i32);
            Some(part(0, 0, eighths, 8))
        }
        '▐' => Some(part(4, 0, 8, 8)),
        '▕' => Some(part(7, 0, 8, 8)),
        _ => None,
    };
    if let Some((x0, y0, x1, y1)) = rect {
        img.fill(x0, y0, x1, y1, fg);
        return;
    }
    let shade = match ch {
        '░' => Some(0.25),
        '▒' => Some(0.5),
        '▓' => Some(0.75),
        _ => None,
    };
    if let Some(t) = shade {
        img.fill(x, y, x + w, y + h, mix(bg, fg, t));
        return;
    }
    if let Some(quads) = quadrants(ch) {
        let (hw, hh) = (w / 2, h / 2);
        for (k, (qx, qy)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
            if quads & (1 << k) != 0 {
                let (x0, y0) = (x + qx * hw, y + qy * hh);
                let (x1, y1) = (
                    if qx == 1 { x + w } else { x + hw },
                    if qy == 1 { y + h } else { y + hh },
                );
                img.fill(x0, y0, x1, y1, fg);
            }
        }
        return;
    }
    if let Some((up, down, left, right, heavy)) = box_arms(ch) {
        let t = if heavy { 2 } else { 1 };
        let (cx, cy) = (x + w / 2, y + h / 2);
        if left {
            img.fill(x, cy, cx + t, cy + t, fg);
        }
        if right {
            img.fill(cx, cy, x + w, cy + t, fg);
        }
        if up {
            img.fill(cx, y, cx + t, cy + t, fg);
        }
        if down {
            img.fill(cx, cy, cx + t, y + h, fg);
        }
    }
}

fn paint_glyph(img: &mut Image, cell: &Cell, grid: &Grid, faces: &MonoFaces, x: i32, y: i32) {
    let Some(ch) = cell.symbol().chars().next() else {
        return;
    };
    let (fg, _) = colors(cell);
    if cell.modifier.contains(Modifier::UNDERLINED) {
        let uy = y + grid.cell_h as i32 - 2;
        img.fill(x, uy, x + grid.cell_w as i32, uy + 1, fg);
    }
    if ch == ' ' || is_drawn_as_shape(ch) {
        return;
    }
    let face = if cell.modifier.contains(Modifier::BOLD) {
        &faces.bold
    } else {
        &faces.regular
    };
    // DejaVu Sans Mono lacks some symbols (⏎, ₖ, …): take them from DejaVu Sans.
    let face = if face.glyph_id(ch).0 == 0 {
        &faces.fallback
    } else {
        face
    };
    let glyph = face
        .glyph_id(ch)
        .with_scale_and_position(grid.scale, point(x as f32, y as f32 + grid.baseline));
    if let Some(outline) = face.outline_glyph(glyph) {
        let b = outline.px_bounds();
        outline.draw(|gx, gy, cov| {
            img.blend(
                b.min.x as i32 + gx as i32,
                b.min.y as i32 + gy as i32,
                fg,
                cov,
            );
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    #[test]
    fn half_blocks_split_the_cell_and_reversed_swaps_colours() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        buf[(0, 0)].set_symbol("▀").set_style(
            Style::default()
                .fg(Color::Rgb(255, 0, 0))
                .bg(Color::Rgb(0, 0, 255)),
        );
        buf[(1, 0)].set_symbol(" ").set_style(
            Style::default()
                .fg(Color::Rgb(0, 255, 0))
                .add_modifier(Modifier::REVERSED),
        );
        let img = rasterize(&buf).unwrap();
        let px = |x: u32, y: u32| {
            let i = ((y * img.width + x) * 3) as usize;
            [img.rgb[i], img.rgb[i + 1], img.rgb[i + 2]]
        };
        assert_eq!(px(2, 1), [255, 0, 0], "upper half is the foreground");
        assert_eq!(
            px(2, img.height - 2),
            [0, 0, 255],
            "lower half the background"
        );
        assert_eq!(
            px(CELL_W + 3, 5),
            [0, 255, 0],
            "reversed: fg fills the cell"
        );
    }

    #[test]
    fn glyphs_leave_ink() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 1, 1));
        buf[(0, 0)].set_symbol("A");
        let img = rasterize(&buf).unwrap();
        assert!(img.rgb.chunks(3).any(|p| p[0] > 150), "the glyph is drawn");
    }
}
