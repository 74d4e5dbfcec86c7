//! The matrix itself: one rectangle per cell (or per pixel when there are more cells than pixels),
//! the masked cells hatched, cells that are not numbers crossed out in magenta, and optionally each
//! cell's value printed in a contrasting colour.

use plotters::prelude::DrawingBackend;

use super::colors::{text_on, ColorScale, MASK_FILL, MASK_HATCH, NAN_FILL, NAN_MARK};
use super::pen::{Align, DrawResult, Font, Pen};
use crate::analysis::heatmap::{Cell, Heatmap, Scale};

/// Where the matrix goes, in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

/// Which source rows (or columns) are drawn, and where each one's band starts and ends. With more
/// cells than pixels, every pixel shows the nearest cell (the same sampling as the terminal's
/// thumbnails); otherwise every cell is drawn and bands tile the length exactly.
pub struct Bands {
    pub src: Vec<usize>,
    pub edges: Vec<i32>,
}

impl Bands {
    pub fn new(n: usize, start: i32, len: i32) -> Self {
        let len = len.max(1) as usize;
        let m = n.min(len).max(1);
        let src = (0..m).map(|i| i * n / m).collect();
        let edges = (0..=m)
            .map(|i| start + ((i * len) as f64 / m as f64).round() as i32)
            .collect();
        Self { src, edges }
    }

    /// Every cell has its own band.
    pub fn complete(&self, n: usize) -> bool {
        self.src.len() == n
    }

    /// The middle of source cell `i`'s band (cells are evenly spaced, so this works when sampled too).
    pub fn center_of(&self, i: usize, n: usize) -> f64 {
        let start = f64::from(self.edges[0]);
        let len = f64::from(self.edges[self.edges.len() - 1]) - start;
        start + (i as f64 + 0.5) * len / n.max(1) as f64
    }
}

/// Text for a value printed in a cell: two decimals without the leading zero for weights (".42"),
/// one decimal for signed values.
pub fn value_text(map: &Heatmap, v: f32) -> String {
    match map.scale {
        Scale::Unit if v >= 0.995 => "1".into(),
        Scale::Unit if v < 0.005 => "0".into(),
        Scale::Unit => format!("{v:.2}").trim_start_matches('0').to_string(),
        Scale::Signed { .. } => format!("{v:.1}").replace('-', "−"),
    }
}

/// The widest value text a map can print, for sizing cells.
pub fn widest_value(map: &Heatmap) -> &'static str {
    match map.scale {
        Scale::Unit => ".00",
        Scale::Signed { max_abs } if max_abs >= 99.95 => "−000.0",
        Scale::Signed { max_abs } if max_abs >= 9.95 => "−00.0",
        Scale::Signed { .. } => "−0.0",
    }
}

pub fn draw_cells<DB: DrawingBackend>(
    pen: &Pen<DB>,
    map: &Heatmap,
    colors: &ColorScale,
    rect: Rect,
    values: Option<Font>,
    hatch_gap: i32,
) -> DrawResult<DB> {
    let rows = Bands::new(map.rows, rect.y, rect.h);
    let cols = Bands::new(map.cols, rect.x, rect.w);
    for (i, &r) in rows.src.iter().enumerate() {
        let (y0, y1) = (rows.edges[i], rows.edges[i + 1]);
        // Runs of masked cells in this row are hatched together so the lines run unbroken.
        let mut run: Option<i32> = None;
        for (j, &c) in cols.src.iter().enumerate() {
            let (x0, x1) = (cols.edges[j], cols.edges[j + 1]);
            let cell = map.cell(r, c).unwrap_or(Cell::Masked);
            if cell != Cell::Masked {
                if let Some(start) = run.take() {
                    hatch(pen, start, y0, x0, y1, hatch_gap)?;
                }
            }
            match cell {
                // One pixel of overlap into the next cell (drawn over it later, or under the
                // frame at the edge): SVG viewers anti-alias the seam between touching
                // rectangles into a visible hairline otherwise.
                Cell::Value(v) => pen.fill(x0, y0, x1 + 1, y1 + 1, colors.value(map, v))?,
                Cell::NotANumber => not_a_number(pen, x0, y0, x1, y1)?,
                Cell::Masked => {
                    pen.fill(x0, y0, x1 + 1, y1 + 1, MASK_FILL)?;
                    run.get_or_insert(x0);
                }
            }
        }
        if let Some(start) = run {
            hatch(pen, start, y0, rect.x + rect.w, y1, hatch_gap)?;
        }
    }
    if let Some(font) = values {
        if rows.complete(map.rows) && cols.complete(map.cols) {
            for (i, &r) in rows.src.iter().enumerate() {
                for (j, &c) in cols.src.iter().enumerate() {
                    let Some(v) = map.get(r, c) else { continue };
                    let x = f64::from(cols.edges[j] + cols.edges[j + 1]) / 2.0;
                    let y = f64::from(rows.edges[i] + rows.edges[i + 1]) / 2.0;
                    let ink = Font {
                        color: text_on(colors.value(map, v)),
                        ..font
                    };
                    pen.text(&value_text(map, v), x, y, ink, Align::Center)?;
                }
            }
        }
    }
    Ok(())
}

/// A cell that is not a number: magenta (no colour map here has it) crossed out when there is room for
/// the cross, so it reads in greyscale too and never as a value or as the mask's hatching.
pub fn not_a_number<DB: DrawingBackend>(
    pen: &Pen<DB>,
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
) -> DrawResult<DB> {
    pen.fill(x0, y0, x1 + 1, y1 + 1, NAN_FILL)?;
    let side = (x1 - x0).min(y1 - y0);
    if side >= 6 {
        // Inset a little, so the crosses of neighbouring cells stay apart.
        let inset = (side / 5).max(1);
        let (a, b) = ((x0 + inset, y0 + inset), (x1 - inset, y1 - inset));
        let width = (side / 12).max(1) as u32;
        pen.line(&[a, b], NAN_MARK, width)?;
        pen.line(&[(a.0, b.1), (b.0, a.1)], NAN_MARK, width)?;
    }
    Ok(())
}

/// Diagonal lines ("/") across [x0, x1] × [y0, y1], spaced `gap` pixels along x. Lines sit on a grid
/// fixed to the page (x + y a multiple of `gap`), so hatching in neighbouring rows joins up.
pub fn hatch<DB: DrawingBackend>(
    pen: &Pen<DB>,
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
    gap: i32,
) -> DrawResult<DB> {
    let gap = gap.max(2);
    // Lines run to the far edges inclusive, one pixel into the next band (drawn over later, or under
    // the frame), so they join without gaps in SVG viewers too.
    if x1 <= x0 || y1 <= y0 {
        return Ok(());
    }
    let first = (x0 + y0).div_euclid(gap) * gap;
    let mut c = if first < x0 + y0 { first + gap } else { first };
    while c <= x1 + y1 {
        // The line x + y = c enters and leaves the rectangle here.
        let xa = x0.max(c - y1);
        let xb = x1.min(c - y0);
        if xa < xb {
            pen.line(&[(xa, c - xa), (xb, c - xb)], MASK_HATCH, 1)?;
        }
        c += gap;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_tile_the_length_and_sample_long_maps() {
        let b = Bands::new(4, 10, 10);
        assert_eq!(b.src, vec![0, 1, 2, 3]);
        assert_eq!(b.edges, vec![10, 13, 15, 18, 20]);
        let b = Bands::new(100, 0, 10);
        assert_eq!(b.src.len(), 10);
        assert_eq!(b.src[9], 90);
        assert_eq!(*b.edges.last().unwrap(), 10);
        assert!(!b.complete(100));
    }

    #[test]
    fn values_are_short() {
        let m = crate::analysis::positions::sinusoidal(2, 2);
        assert_eq!(value_text(&m, -0.25), "−0.2");
        let mut p = m.clone();
        p.scale = Scale::Unit;
        assert_eq!(value_text(&p, 0.4213), ".42");
        assert_eq!(value_text(&p, 0.999), "1");
        assert_eq!(value_text(&p, 0.001), "0");
    }
}
