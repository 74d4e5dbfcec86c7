//! One heatmap with everything a reader needs around it: an optional title, token labels on both
//! axes (rotated on the x axis when they do not fit), axis names, a colour bar with values, and the
//! legend for masked cells and cells that are not numbers. Laid out once (sizes measured with the embedded font), then drawn at any
//! offset, so single maps and side-by-side charts share it.

use plotters::prelude::DrawingBackend;

use super::cells::{draw_cells, widest_value, Bands, Rect};
use super::colorbar::{
    draw_bar, draw_legend, key_step, label_width, legend_keys, legend_width, LegendKey,
};
use super::colors::{ColorScale, INK, MUTED, RULE};
use super::pen::{Align, DrawResult, Font, Pen};
use crate::analysis::heatmap::Heatmap;
use crate::text::visible;

/// What to draw around the matrix.
#[derive(Debug, Clone)]
pub struct PanelSpec {
    /// Pixel size of the matrix.
    pub plot_w: f64,
    pub plot_h: f64,
    pub title: Option<String>,
    pub colorbar: bool,
    pub values: bool,
    /// Length multiplier (fonts, gaps).
    pub s: f64,
}

/// The longest a token label may be, in pixels at scale 1, before it is cut with "…".
const MAX_LABEL_W: f64 = 130.0;

pub struct Panel<'a> {
    map: &'a Heatmap,
    colors: ColorScale,
    spec: PanelSpec,
    label_font: Font,
    /// (index, text) of the labels drawn: every row when they fit, else every k-th.
    row_labels: Vec<(usize, String)>,
    col_labels: Vec<(usize, String)>,
    /// Column labels run upward (they are wider than a column).
    rotate_cols: bool,
    /// What the legend under the colour bar explains.
    keys: Vec<LegendKey>,
    left: f64,
    top: f64,
    bottom: f64,
    right: f64,
    height: f64,
}

/// The smallest cell (in pixels) that fits a printed value.
pub fn value_cell(map: &Heatmap, s: f64) -> f64 {
    value_font(s).width(widest_value(map)) + 8.0 * s
}

fn value_font(s: f64) -> Font {
    Font::new(12.0 * s, INK)
}

fn axis_font(s: f64) -> Font {
    Font::new(12.0 * s, MUTED)
}

fn tick_font(s: f64) -> Font {
    Font::new(11.0 * s, MUTED)
}

/// The axis name as a reader needs it, in at most `max_w` pixels: attention maps say which token
/// does what when there is room, else just "query" and "key".
fn axis_title(name: &str, font: Font, max_w: f64) -> String {
    let long = match name {
        "query" => "query (the token attending)",
        "key" => "key (the token attended to)",
        other => other,
    };
    if font.width(long) <= max_w {
        long.to_string()
    } else {
        font.fit(name, max_w)
    }
}

/// Labels to draw along an axis of `n` cells `cell` pixels apart: all of them when the font fits,
/// else every k-th (prefixed with its index, so a reader can still count).
fn pick_labels(labels: &[String], cell: f64, font: Font, max_w: f64) -> Vec<(usize, String)> {
    let n = labels.len();
    let mut stride = ((font.size * 1.15) / cell.max(0.01)).ceil().max(1.0) as usize;
    let numeric = labels.iter().enumerate().all(|(i, l)| *l == i.to_string());
    if numeric {
        // Round numbers a reader can count along: 0, 16, 32, … rather than 0, 9, 18, …
        const NICE: [usize; 16] = [
            1, 2, 4, 5, 8, 10, 16, 20, 32, 50, 64, 100, 128, 256, 512, 1024,
        ];
        stride = NICE.into_iter().find(|&k| k >= stride).unwrap_or(stride);
    }
    (0..n)
        .step_by(stride)
        .map(|i| {
            let text = if numeric {
                labels[i].clone()
            } else if stride > 1 {
                format!("{i} {}", visible(&labels[i]))
            } else {
                visible(&labels[i])
            };
            (i, font.fit(&text, max_w))
        })
        .collect()
}

impl<'a> Panel<'a> {
    pub fn new(map: &'a Heatmap, colors: ColorScale, spec: PanelSpec) -> Self {
        let s = spec.s;
        let cell_w = spec.plot_w / map.cols.max(1) as f64;
        let cell_h = spec.plot_h / map.rows.max(1) as f64;
        let size = (cell_w.min(cell_h) / s * 0.8).clamp(9.0, 13.0) * s;
        let label_font = Font::new(size, INK);
        let max_w = MAX_LABEL_W * s;
        let row_labels = pick_labels(&map.row_labels, cell_h, label_font, max_w);
        let mut col_labels = pick_labels(&map.col_labels, cell_w, label_font, max_w);
        let widest = |labels: &[(usize, String)]| {
            labels
                .iter()
                .map(|(_, t)| label_font.width(t))
                .fold(0.0, f64::max)
        };
        let rotate_cols = widest(&col_labels) > cell_w - 2.0 * s;
        if !rotate_cols {
            // Horizontal labels fit in their columns: show all of them.
            col_labels = pick_labels(&map.col_labels, f64::INFINITY, label_font, max_w);
        }
        let pad = 6.0 * s;
        let axis_h = axis_font(s).size * 1.3;
        let left = axis_h + pad + widest(&row_labels) + pad;
        let col_extent = if rotate_cols {
            widest(&col_labels)
        } else {
            label_font.size
        };
        let bottom = pad + col_extent + pad + axis_h;
        let top = if spec.title.is_some() { 24.0 * s } else { 0.0 };
        let tf = tick_font(s);
        let keys = legend_keys([map]);
        let right = if spec.colorbar {
            let bar = 14.0 * s + 14.0 * s + 5.0 * s + 3.0 + label_width(&colors, tf);
            let legend = if keys.is_empty() {
                0.0
            } else {
                14.0 * s + legend_width(&keys, 12.0 * s, tf)
            };
            bar.max(legend) + pad
        } else {
            pad
        };
        let mut height = top + spec.plot_h + bottom;
        if spec.colorbar {
            let (bar_h, legend_h) = bar_and_legend(&keys, spec.plot_h, s);
            height = height.max(top + bar_h + legend_h + pad);
        }
        Self {
            map,
            colors,
            spec,
            label_font,
            row_labels,
            col_labels,
            rotate_cols,
            keys,
            left,
            top,
            bottom,
            right,
            height,
        }
    }

    pub fn size(&self) -> (f64, f64) {
        (
            self.left + self.spec.plot_w + self.right,
            self.height.max(self.top + self.spec.plot_h + self.bottom),
        )
    }

    pub fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>, x: f64, y: f64) -> DrawResult<DB> {
        let s = self.spec.s;
        let map = self.map;
        let plot = Rect {
            x: (x + self.left).round() as i32,
            y: (y + self.top).round() as i32,
            w: self.spec.plot_w.round() as i32,
            h: self.spec.plot_h.round() as i32,
        };
        if let Some(title) = &self.spec.title {
            let font = Font::new(14.0 * s, INK).bold();
            let max_w = self.size().0;
            pen.text(&font.fit(title, max_w), x, y + 9.0 * s, font, Align::Left)?;
        }
        let values = self.spec.values.then(|| value_font(s));
        draw_cells(pen, map, &self.colors, plot, values, hatch_gap(s))?;
        pen.frame(
            plot.x - 1,
            plot.y - 1,
            plot.x + plot.w + 1,
            plot.y + plot.h + 1,
            RULE,
        )?;

        // Token labels, centred on their rows and columns.
        let pad = 6.0 * s;
        let rows = Bands::new(map.rows, plot.y, plot.h);
        for (i, text) in &self.row_labels {
            let cy = rows.center_of(*i, map.rows);
            pen.text(
                text,
                f64::from(plot.x) - pad,
                cy,
                self.label_font,
                Align::Right,
            )?;
        }
        let cols = Bands::new(map.cols, plot.x, plot.w);
        let below = f64::from(plot.y + plot.h) + pad;
        for (j, text) in &self.col_labels {
            let cx = cols.center_of(*j, map.cols);
            if self.rotate_cols {
                let font = self.label_font.upright();
                pen.text(text, cx, below, font, Align::Right)?;
            } else {
                let cy = below + self.label_font.size / 2.0;
                pen.text(text, cx, cy, self.label_font, Align::Center)?;
            }
        }

        // Axis names: the column name under the labels, the row name up the left edge.
        let af = axis_font(s);
        let col_title = axis_title(&map.col_axis, af, self.spec.plot_w.max(80.0 * s));
        let axis_y = f64::from(plot.y + plot.h) + self.bottom - af.size * 0.65;
        let mid_x = f64::from(plot.x) + self.spec.plot_w / 2.0;
        pen.text(&col_title, mid_x, axis_y, af, Align::Center)?;
        let row_title = axis_title(&map.row_axis, af, self.spec.plot_h.max(80.0 * s));
        let mid_y = f64::from(plot.y) + self.spec.plot_h / 2.0 - af.width(&row_title) / 2.0;
        pen.text(
            &row_title,
            x + af.size * 0.65,
            mid_y,
            af.upright(),
            Align::Right,
        )?;

        if self.spec.colorbar {
            let (bar_h, _) = bar_and_legend(&self.keys, self.spec.plot_h, s);
            let bx = plot.x + plot.w + (14.0 * s).round() as i32;
            let bw = (14.0 * s).round() as i32;
            let bh = bar_h.round() as i32;
            draw_bar(
                pen,
                &self.colors,
                bx,
                plot.y,
                bw,
                bh,
                tick_font(s),
                (5.0 * s).round() as i32,
            )?;
            let side = (12.0 * s).round() as i32;
            let ly = plot.y + bh + (14.0 * s).round() as i32;
            draw_legend(pen, &self.keys, (bx, ly), side, tick_font(s), hatch_gap(s))?;
        }
        Ok(())
    }
}

/// Spacing of the hatching on masked cells.
pub fn hatch_gap(s: f64) -> i32 {
    (6.0 * s).round() as i32
}

/// The colour bar's height (at least 120 px at scale 1, so its ticks never crowd) and the room the
/// legend's `keys` take under it.
fn bar_and_legend(keys: &[LegendKey], plot_h: f64, s: f64) -> (f64, f64) {
    let bar = plot_h.max(120.0 * s);
    let legend = match keys.len() {
        0 => 0.0,
        n => 30.0 * s + (n - 1) as f64 * key_step(12.0 * s),
    };
    (bar, legend)
}
