//! The heatmap widget: a `Heatmap` drawn in the terminal with token labels on both axes, a colour
//! bar, and a viewport that follows the cursor so long prompts stay navigable.
//!
//! Cells: by default one query row per line and two columns per key (a square-ish pixel); dense mode
//! uses the `▀` half block (foreground = upper row, background = lower row) for two rows per line.
//! Without colour, one row per line with the glyph ramp.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use super::theme::{ColorMode, Palette, Theme, MASKED_GLYPH, NAN_GLYPH};
use crate::analysis::heatmap::Cell;
use crate::analysis::{Heatmap, Scale};
use crate::text::visible;

/// The legend's words for cells that are not numbers.
const NAN_LABEL: &str = "not a number (NaN/∞)";

pub struct HeatmapView<'a> {
    pub map: &'a Heatmap,
    pub theme: Theme,
    /// The highlighted query row (and the row the viewport follows).
    pub cursor: Option<usize>,
    /// Two rows per line with half blocks.
    pub dense: bool,
    /// Scale the whole map into the area (thumbnails, position maps) instead of scrolling.
    pub fit: bool,
    pub labels: bool,
    pub legend: bool,
}

/// Where the plot ended up, for mouse hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub plot: Rect,
    pub row0: usize,
    pub col0: usize,
    pub rows_per_line: usize,
    pub cols_per_key: usize,
}

impl<'a> HeatmapView<'a> {
    pub fn new(map: &'a Heatmap, theme: Theme) -> Self {
        Self {
            map,
            theme,
            cursor: None,
            dense: false,
            fit: false,
            labels: true,
            legend: true,
        }
    }

    fn palette(&self) -> Palette {
        match self.map.scale {
            Scale::Unit => Palette::Sequential,
            Scale::Signed { .. } => Palette::Diverging,
        }
    }

    /// Draw, and say where the cells went.
    pub fn draw(&self, area: Rect, buf: &mut Buffer) -> Option<Placement> {
        if area.width < 4 || area.height < 2 || self.map.rows == 0 || self.map.cols == 0 {
            return None;
        }
        let mono = self.theme.mode == ColorMode::Mono;
        let legend_h = u16::from(self.legend && area.height >= 6);
        let label_w = if self.labels && area.width >= 30 {
            let longest = self
                .map
                .row_labels
                .iter()
                .map(|l| crate::text::cells(&visible(l)));
            (longest.max().unwrap_or(0).min(10) as u16 + 2).max(4)
        } else {
            0
        };
        let col_label_h = if self.labels && !self.fit && area.height >= 14 {
            4
        } else {
            0
        };
        let plot = Rect {
            x: area.x + label_w,
            y: area.y,
            width: area.width - label_w,
            height: area.height - legend_h - col_label_h,
        };
        if plot.height == 0 || plot.width == 0 {
            return None;
        }
        let half = self.dense && !mono;
        let rows_per_line = if half || (self.fit && !mono) { 2 } else { 1 };
        let placement = if self.fit {
            self.draw_fit(plot, buf, rows_per_line);
            Placement {
                plot,
                row0: 0,
                col0: 0,
                rows_per_line,
                cols_per_key: 1,
            }
        } else {
            let vis_rows = usize::from(plot.height) * rows_per_line;
            let wide = usize::from(plot.width) >= 2 * self.map.cols.min(usize::from(plot.width));
            let cols_per_key = if !half && wide && self.map.cols * 2 <= usize::from(plot.width) {
                2
            } else {
                1
            };
            let vis_cols = usize::from(plot.width) / cols_per_key;
            let cursor = self.cursor.unwrap_or(0).min(self.map.rows - 1);
            let row0 = follow(cursor, vis_rows, self.map.rows);
            // Causal maps only have keys up to the query: keep the diagonal in view.
            let col0 = (cursor + 1)
                .saturating_sub(vis_cols)
                .min(self.map.cols.saturating_sub(vis_cols));
            let p = Placement {
                plot,
                row0,
                col0,
                rows_per_line,
                cols_per_key,
            };
            self.draw_cells(p, buf);
            if label_w > 0 {
                self.draw_row_labels(p, area.x, label_w, buf);
            }
            if col_label_h > 0 {
                self.draw_col_labels(p, col_label_h, buf);
            }
            p
        };
        if legend_h > 0 {
            let y = area.y + area.height - 1;
            self.draw_legend(Rect::new(area.x, y, area.width, 1), buf);
        }
        Some(placement)
    }

    /// The colour of a cell: its value on the palette, the mask's grey, or the not-a-number colour.
    fn color(&self, cell: Option<Cell>) -> ratatui::style::Color {
        match cell {
            Some(Cell::Value(v)) => self.theme.color(self.palette(), self.map.normalized(v)),
            Some(Cell::NotANumber) => self.theme.not_a_number(),
            Some(Cell::Masked) | None => self.theme.masked(),
        }
    }

    /// Two rows in one character (the upper half block), or without colour the upper row's glyph.
    fn cell_style(&self, upper: Option<Cell>, lower: Option<Cell>) -> (char, Style) {
        if self.theme.mode == ColorMode::Mono {
            return (mono_glyph(self.map, upper), Style::default());
        }
        (
            '▀',
            Style::default().fg(self.color(upper)).bg(self.color(lower)),
        )
    }

    fn draw_cells(&self, p: Placement, buf: &mut Buffer) {
        let m = self.map;
        for line in 0..p.plot.height {
            let r = p.row0 + usize::from(line) * p.rows_per_line;
            if r >= m.rows {
                break;
            }
            let r2 = (p.rows_per_line == 2).then_some(r + 1);
            for x in 0..p.plot.width {
                let c = p.col0 + usize::from(x) / p.cols_per_key;
                if c >= m.cols {
                    break;
                }
                let upper = m.cell(r, c);
                let (ch, style) = match r2 {
                    Some(r2) if r2 < m.rows => self.cell_style(upper, m.cell(r2, c)),
                    Some(_) => {
                        let (ch, s) = self.cell_style(upper, None);
                        (ch, s.bg(ratatui::style::Color::Reset))
                    }
                    None => self.full_cell(upper),
                };
                buf[(p.plot.x + x, p.plot.y + line)]
                    .set_char(ch)
                    .set_style(style);
            }
        }
    }

    /// One row per line: a full cell of colour (or a glyph without colour); a cell that is not a
    /// number also carries its glyph, so it reads the same in every colour mode.
    fn full_cell(&self, cell: Option<Cell>) -> (char, Style) {
        if self.theme.mode == ColorMode::Mono {
            return self.cell_style(cell, None);
        }
        let style = Style::default().bg(self.color(cell));
        match cell {
            Some(Cell::NotANumber) => (NAN_GLYPH, style.fg(ratatui::style::Color::Black)),
            _ => (' ', style),
        }
    }

    fn draw_fit(&self, plot: Rect, buf: &mut Buffer, rows_per_line: usize) {
        let m = self.map;
        let px_h = usize::from(plot.height) * rows_per_line;
        let px_w = usize::from(plot.width);
        let sample = |py: usize, px: usize| m.cell(py * m.rows / px_h, px * m.cols / px_w);
        for line in 0..plot.height {
            for x in 0..plot.width {
                let py = usize::from(line) * rows_per_line;
                let upper = sample(py, usize::from(x));
                let (ch, style) = if rows_per_line == 2 {
                    self.cell_style(upper, sample(py + 1, usize::from(x)))
                } else {
                    self.full_cell(upper)
                };
                buf[(plot.x + x, plot.y + line)]
                    .set_char(ch)
                    .set_style(style);
            }
        }
    }

    fn draw_row_labels(&self, p: Placement, x0: u16, width: u16, buf: &mut Buffer) {
        let m = self.map;
        let w = usize::from(width) - 1;
        for line in 0..p.plot.height {
            let r = p.row0 + usize::from(line) * p.rows_per_line;
            if r >= m.rows {
                break;
            }
            let rows: Vec<usize> = (r..(r + p.rows_per_line).min(m.rows)).collect();
            let is_cursor = self.cursor.is_some_and(|c| rows.contains(&c));
            // With two rows per line, show the cursor's label when it is on this line.
            let shown = match self.cursor {
                Some(c) if rows.contains(&c) => c,
                _ => r,
            };
            let text = fit_label(&visible(&m.row_labels[shown]), w - 1);
            let marker = if is_cursor { '▶' } else { ' ' };
            let style = if is_cursor {
                self.theme.cursor()
            } else {
                self.theme.dim()
            };
            let s = crate::text::pad_left(&text, w - 1);
            buf.set_string(x0, p.plot.y + line, s, style);
            buf.set_string(x0 + width - 2, p.plot.y + line, marker.to_string(), style);
        }
    }

    /// Key labels written downwards under their column.
    fn draw_col_labels(&self, p: Placement, height: u16, buf: &mut Buffer) {
        let m = self.map;
        let y0 = p.plot.y + p.plot.height;
        for x in (0..p.plot.width).step_by(p.cols_per_key) {
            let c = p.col0 + usize::from(x) / p.cols_per_key;
            if c >= m.cols {
                break;
            }
            let style = if self.cursor == Some(c) {
                self.theme.cursor()
            } else {
                self.theme.dim()
            };
            // One cell per character: a wide one is shown as …, a combining mark not at all.
            for (i, ch) in visible(&m.col_labels[c])
                .chars()
                .filter_map(crate::text::one_cell)
                .take(usize::from(height))
                .enumerate()
            {
                buf[(p.plot.x + x, y0 + i as u16)]
                    .set_char(ch)
                    .set_style(style);
            }
        }
    }

    fn draw_legend(&self, area: Rect, buf: &mut Buffer) {
        let (lo, hi) = self.map.range();
        let lo_s = format!("{lo:.2} ");
        let hi_s = format!(" {hi:.2}");
        let mono = self.theme.mode == ColorMode::Mono;
        // What is drawn apart from the colour bar: values that are not numbers first (where room is
        // short, that is the key a reader must not miss), then the mask.
        // Each label with a shorter form for a narrow legend.
        let mut keys: Vec<(char, ratatui::style::Color, [&str; 2])> = Vec::new();
        if self.map.not_a_number() > 0 {
            keys.push((NAN_GLYPH, self.theme.not_a_number(), [NAN_LABEL, "NaN"]));
        }
        if self.map.has_masked() {
            let glyph = if mono { MASKED_GLYPH } else { ' ' };
            keys.push((glyph, self.theme.masked(), ["masked (future)", "masked"]));
        }
        // Each key is a swatch, a space and its label, two spaces apart; the bar gives up room for
        // them, down to 4 cells.
        let keys_w: usize = keys.iter().map(|k| 4 + k.2[0].chars().count()).sum();
        let fit = area.width.saturating_sub((lo_s.len() + hi_s.len()) as u16);
        let bar_w = fit.saturating_sub(keys_w as u16).max(fit.min(4)).min(24);
        buf.set_string(area.x, area.y, &lo_s, self.theme.dim());
        let x0 = area.x + lo_s.len() as u16;
        for i in 0..bar_w {
            let t = if bar_w > 1 {
                f32::from(i) / f32::from(bar_w - 1)
            } else {
                0.0
            };
            let (ch, style) = if self.theme.mode == ColorMode::Mono {
                (Theme::glyph(t), Style::default())
            } else {
                (
                    ' ',
                    Style::default().bg(self.theme.color(self.palette(), t)),
                )
            };
            buf[(x0 + i, area.y)].set_char(ch).set_style(style);
        }
        buf.set_string(x0 + bar_w, area.y, &hi_s, self.theme.dim());
        let mut x = x0 + bar_w + hi_s.len() as u16 + 2;
        let right = area.x + area.width;
        for (glyph, color, labels) in keys {
            // A key is shown whole, in its shorter form when that is what fits, or not at all.
            let room = usize::from(right.saturating_sub(x + 2));
            let Some(label) = super::fit::pick(labels, room) else {
                break;
            };
            let mut swatch = Style::default();
            if !mono {
                swatch = swatch.bg(color).fg(ratatui::style::Color::Black);
            }
            buf[(x, area.y)].set_char(glyph).set_style(swatch);
            buf.set_string(x + 2, area.y, label, self.theme.dim());
            x += 2 + label.chars().count() as u16 + 2;
        }
    }
}

/// Without colour: the ramp for a value, `·` for the mask, `×` for a value that is not a number.
fn mono_glyph(map: &Heatmap, cell: Option<Cell>) -> char {
    match cell {
        Some(Cell::Value(v)) => Theme::glyph(map.normalized(v)),
        Some(Cell::NotANumber) => NAN_GLYPH,
        Some(Cell::Masked) | None => MASKED_GLYPH,
    }
}

impl Widget for HeatmapView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.draw(area, buf);
    }
}

/// The first row to show so that `cursor` stays in a window of `visible` rows (centred when it can).
pub fn follow(cursor: usize, visible: usize, total: usize) -> usize {
    if total <= visible {
        return 0;
    }
    cursor.saturating_sub(visible / 2).min(total - visible)
}

/// Cut a label to `width` terminal cells, ending in `…` when cut.
pub fn fit_label(s: &str, width: usize) -> String {
    crate::text::fit_cells(s, width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::theme::ColorMode;

    #[test]
    fn the_viewport_follows_the_cursor_and_stays_inside() {
        assert_eq!(follow(5, 10, 8), 0, "everything fits");
        assert_eq!(follow(0, 10, 1024), 0);
        assert_eq!(follow(500, 10, 1024), 495, "centred");
        assert_eq!(
            follow(1023, 10, 1024),
            1014,
            "the last rows fill the window"
        );
    }

    #[test]
    fn labels_are_cut_with_an_ellipsis() {
        assert_eq!(fit_label("·Zorva", 10), "·Zorva");
        assert_eq!(fit_label("<|endoftext|>", 6), "<|end…");
    }

    #[test]
    fn a_long_map_scrolls_to_the_cursor_and_keeps_the_diagonal_in_view() {
        let n = 1024;
        let mut values = vec![0.0; n * n];
        for q in 0..n {
            values[q * n] = 0.5;
            values[q * n + q] = 0.5;
        }
        let map = Heatmap {
            title: "t".into(),
            rows: n,
            cols: n,
            values,
            masked: (0..n * n).map(|i| i % n > i / n).collect(),
            row_labels: (0..n).map(|i| format!("t{i}")).collect(),
            col_labels: (0..n).map(|i| format!("t{i}")).collect(),
            row_axis: "query".into(),
            col_axis: "key".into(),
            scale: Scale::Unit,
        };
        let mut view = HeatmapView::new(&map, Theme::new(ColorMode::TrueColor));
        view.cursor = Some(900);
        let area = Rect::new(0, 0, 80, 30);
        let mut buf = Buffer::empty(area);
        let p = view.draw(area, &mut buf).unwrap();
        let lines = usize::from(p.plot.height);
        assert!(p.row0 <= 900 && 900 < p.row0 + lines, "{p:?}");
        let cols = usize::from(p.plot.width) / p.cols_per_key;
        assert!(
            p.col0 <= 900 && 900 < p.col0 + cols,
            "the diagonal cell is visible: {p:?}"
        );
        view.dense = true;
        let p2 = view.draw(area, &mut buf).unwrap();
        assert_eq!(p2.rows_per_line, 2, "dense mode shows two rows per line");
    }
}
