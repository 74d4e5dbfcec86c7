//! Whole figures: a title block over one heatmap, several heatmaps side by side (positional
//! encodings), or a grid of small heatmaps sharing one colour bar (every head of a layer or model).

use plotters::prelude::DrawingBackend;

use super::cells::{draw_cells, Rect};
use super::colorbar::{
    draw_bar, draw_legend, key_step, label_width, legend_keys, legend_width, LegendKey,
};
use super::colors::{ColorScale, INK, MUTED, RULE};
use super::panel::{hatch_gap, value_cell, Panel, PanelSpec};
use super::pen::{Align, DrawResult, Font, Pen};
use super::PlotOptions;
use crate::analysis::heatmap::Heatmap;
use crate::text::visible_text;

/// Something that can be drawn onto a page of a known size.
pub trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB>;
}

/// Outer margin at scale 1.
const MARGIN: f64 = 18.0;
/// The narrowest page at scale 1, so a tiny map still has room for its title.
const MIN_WIDTH: f64 = 560.0;
/// How wide a page may grow to fit its heading, at scale 1.
const MAX_TITLE_WIDTH: f64 = 900.0;

/// The lines at the top of a figure: what it shows (bold), then the model and prompt (muted).
pub struct TitleBlock {
    lines: Vec<(String, Font)>,
}

impl TitleBlock {
    pub fn new(heading: &str, opts: &PlotOptions, notes: &[String]) -> Self {
        let s = f64::from(opts.scale);
        let mut lines = Vec::new();
        let heading = match &opts.model {
            Some(model) => format!("{model} · {heading}"),
            None => heading.to_string(),
        };
        lines.push((heading, Font::new(17.0 * s, INK).bold()));
        if let Some(prompt) = &opts.prompt {
            let shown = visible_text(prompt);
            lines.push((format!("prompt: “{shown}”"), Font::new(13.0 * s, MUTED)));
        }
        for note in notes {
            lines.push((note.clone(), Font::new(12.0 * s, MUTED)));
        }
        Self { lines }
    }

    /// Width of the first (bold) line.
    pub fn heading_width(&self) -> f64 {
        self.lines
            .first()
            .map_or(0.0, |(text, font)| font.width(text))
    }

    pub fn height(&self) -> f64 {
        self.lines.iter().map(|(_, f)| f.size * 1.45).sum()
    }

    /// Lines longer than `max_w` end in "…" (a long prompt keeps its start, which a reader needs).
    pub fn draw<DB: DrawingBackend>(
        &self,
        pen: &Pen<DB>,
        x: f64,
        y: f64,
        max_w: f64,
    ) -> DrawResult<DB> {
        let mut y = y;
        for (text, font) in &self.lines {
            let h = font.size * 1.45;
            pen.text(&font.fit(text, max_w), x, y + h / 2.0, *font, Align::Left)?;
            y += h;
        }
        Ok(())
    }
}

/// The page around `content_w` × `content_h`: margins, at least [`MIN_WIDTH`], and wide enough for
/// the heading (up to [`MAX_TITLE_WIDTH`]; a longer one is cut with "…").
fn page_size(title: &TitleBlock, content_w: f64, content_h: f64, s: f64) -> (u32, u32) {
    let heading = title.heading_width().min(MAX_TITLE_WIDTH * s);
    let w = (content_w.max(heading) + 2.0 * MARGIN * s).max(MIN_WIDTH * s);
    let h = content_h + 2.0 * MARGIN * s;
    (w.ceil() as u32, h.ceil() as u32)
}

/// One heatmap with labels, colour bar and a title.
pub struct HeatmapFigure<'a> {
    title: TitleBlock,
    panel: Panel<'a>,
    s: f64,
}

impl<'a> HeatmapFigure<'a> {
    pub fn new(map: &'a Heatmap, opts: &PlotOptions) -> Self {
        let s = f64::from(opts.scale);
        // Square cells: about 640 px for the whole map, at most 40 px a cell, except that maps of a
        // few tokens still get about 200 px.
        let n = map.rows.max(map.cols).max(1) as f64;
        let mut cell = (640.0 / n).min((200.0 / n).max(40.0)) * s;
        if opts.values {
            cell = cell.max(value_cell(map, s));
        }
        let spec = PanelSpec {
            plot_w: (cell * map.cols as f64).round().max(1.0),
            plot_h: (cell * map.rows as f64).round().max(1.0),
            title: None,
            colorbar: true,
            values: opts.values,
            s,
        };
        let colors = ColorScale::of(map, opts.cmap);
        Self {
            title: TitleBlock::new(&map.title, opts, &[]),
            panel: Panel::new(map, colors, spec),
            s,
        }
    }
}

impl Figure for HeatmapFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.panel.size();
        page_size(
            &self.title,
            w,
            self.title.height() + 12.0 * self.s + h,
            self.s,
        )
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB> {
        let m = MARGIN * self.s;
        let (page_w, _) = self.size();
        let max_w = f64::from(page_w) - 2.0 * m;
        self.title.draw(pen, m, m, max_w)?;
        // Centre the panel on a page widened for the title.
        let x = (f64::from(page_w) - self.panel.size().0) / 2.0;
        self.panel
            .draw(pen, x.max(m), m + self.title.height() + 12.0 * self.s)
    }
}

/// Several heatmaps side by side, each with its own title, labels and colour bar.
pub struct PanelsFigure<'a> {
    title: TitleBlock,
    panels: Vec<Panel<'a>>,
    s: f64,
}

impl<'a> PanelsFigure<'a> {
    pub fn new(heading: &str, maps: &'a [Heatmap], opts: &PlotOptions) -> Self {
        let s = f64::from(opts.scale);
        let panels = maps
            .iter()
            .map(|map| {
                let side = |n: usize| (320.0 * s).min(40.0 * s * n as f64).round();
                let spec = PanelSpec {
                    plot_w: side(map.cols),
                    plot_h: side(map.rows),
                    title: Some(map.title.clone()),
                    colorbar: true,
                    values: false,
                    s,
                };
                Panel::new(map, ColorScale::of(map, opts.cmap), spec)
            })
            .collect();
        Self {
            title: TitleBlock::new(heading, opts, &[]),
            panels,
            s,
        }
    }

    fn gap(&self) -> f64 {
        28.0 * self.s
    }
}

impl Figure for PanelsFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let sizes: Vec<(f64, f64)> = self.panels.iter().map(Panel::size).collect();
        let w = sizes.iter().map(|p| p.0).sum::<f64>()
            + self.gap() * sizes.len().saturating_sub(1) as f64;
        let h = sizes.iter().map(|p| p.1).fold(0.0, f64::max);
        page_size(
            &self.title,
            w,
            self.title.height() + 16.0 * self.s + h,
            self.s,
        )
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB> {
        let m = MARGIN * self.s;
        let (page_w, _) = self.size();
        self.title.draw(pen, m, m, f64::from(page_w) - 2.0 * m)?;
        let y = m + self.title.height() + 16.0 * self.s;
        let mut x = m;
        for panel in &self.panels {
            panel.draw(pen, x, y)?;
            x += panel.size().0 + self.gap();
        }
        Ok(())
    }
}

/// Small heatmaps in a grid (each titled, e.g. "L0H3"), one colour bar for all: the first map's
/// scale is used for every panel, so all must share it (attention patterns do: 0..1).
pub struct GridFigure<'a> {
    title: TitleBlock,
    maps: &'a [Heatmap],
    columns: usize,
    plot: f64,
    colors: ColorScale,
    /// What the legend under the shared colour bar explains.
    keys: Vec<LegendKey>,
    s: f64,
}

impl<'a> GridFigure<'a> {
    /// `columns` panels per row; `notes` are extra title lines (what rows and columns are).
    pub fn new(
        heading: &str,
        maps: &'a [Heatmap],
        columns: usize,
        opts: &PlotOptions,
        notes: &[String],
    ) -> Self {
        let s = f64::from(opts.scale);
        let n = maps.first().map_or(1, |m| m.rows.max(m.cols)).max(1);
        // About 200 px a panel, at most 24 px a cell.
        let plot = ((200.0 * s / n as f64).min(24.0 * s) * n as f64)
            .round()
            .max(1.0);
        let colors = match maps.first() {
            Some(first) => ColorScale::of(first, opts.cmap),
            None => ColorScale {
                scale: crate::analysis::heatmap::Scale::Unit,
                cmap: opts.cmap,
            },
        };
        Self {
            title: TitleBlock::new(heading, opts, notes),
            maps,
            columns: columns.max(1),
            plot,
            colors,
            keys: legend_keys(maps),
            s,
        }
    }

    fn panel_title_h(&self) -> f64 {
        20.0 * self.s
    }

    fn gaps(&self) -> (f64, f64) {
        (16.0 * self.s, 12.0 * self.s)
    }

    fn grid_size(&self) -> (f64, f64) {
        let cols = self.columns.min(self.maps.len()).max(1) as f64;
        let rows = self.maps.len().div_ceil(self.columns).max(1) as f64;
        let (gx, gy) = self.gaps();
        (
            cols * self.plot + (cols - 1.0) * gx,
            rows * (self.panel_title_h() + self.plot) + (rows - 1.0) * gy,
        )
    }

    fn bar_h(&self) -> f64 {
        self.plot.max(160.0 * self.s)
    }

    fn right_w(&self) -> f64 {
        let s = self.s;
        let tf = Font::new(11.0 * s, MUTED);
        let bar = 24.0 * s + 14.0 * s + 5.0 * s + 3.0 + label_width(&self.colors, tf);
        let legend = if self.keys.is_empty() {
            0.0
        } else {
            24.0 * s + legend_width(&self.keys, 12.0 * s, tf)
        };
        bar.max(legend)
    }
}

impl Figure for GridFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (gw, gh) = self.grid_size();
        let more_keys = self.keys.len().saturating_sub(1) as f64;
        let right_h = self.panel_title_h()
            + self.bar_h()
            + 40.0 * self.s
            + more_keys * key_step(12.0 * self.s);
        page_size(
            &self.title,
            gw + self.right_w(),
            self.title.height() + 16.0 * self.s + gh.max(right_h),
            self.s,
        )
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB> {
        let s = self.s;
        let m = MARGIN * s;
        let (page_w, _) = self.size();
        self.title.draw(pen, m, m, f64::from(page_w) - 2.0 * m)?;
        let top = m + self.title.height() + 16.0 * s;
        let (gx, gy) = self.gaps();
        let title_font = Font::new(12.0 * s, INK).bold();
        for (k, map) in self.maps.iter().enumerate() {
            let (r, c) = (k / self.columns, k % self.columns);
            let x = m + c as f64 * (self.plot + gx);
            let y = top + r as f64 * (self.panel_title_h() + self.plot + gy);
            let label = title_font.fit(&map.title, self.plot);
            pen.text(
                &label,
                x + self.plot / 2.0,
                y + self.panel_title_h() / 2.0,
                title_font,
                Align::Center,
            )?;
            let plot = Rect {
                x: x.round() as i32,
                y: (y + self.panel_title_h()).round() as i32,
                w: self.plot as i32,
                h: self.plot as i32,
            };
            draw_cells(pen, map, &self.colors, plot, None, hatch_gap(s * 0.7))?;
            pen.frame(
                plot.x - 1,
                plot.y - 1,
                plot.x + plot.w + 1,
                plot.y + plot.h + 1,
                RULE,
            )?;
        }
        let (gw, _) = self.grid_size();
        let bx = (m + gw + 24.0 * s).round() as i32;
        let by = (top + self.panel_title_h()).round() as i32;
        let bh = self.bar_h().round() as i32;
        let tf = Font::new(11.0 * s, MUTED);
        draw_bar(
            pen,
            &self.colors,
            bx,
            by,
            (14.0 * s).round() as i32,
            bh,
            tf,
            (5.0 * s).round() as i32,
        )?;
        let side = (12.0 * s).round() as i32;
        draw_legend(
            pen,
            &self.keys,
            (bx, by + bh + side),
            side,
            tf,
            hatch_gap(s),
        )?;
        Ok(())
    }
}

/// Two figures, one under the other, on one page.
pub struct Stacked<A: Figure, B: Figure>(pub A, pub B);

impl<A: Figure, B: Figure> Figure for Stacked<A, B> {
    fn size(&self) -> (u32, u32) {
        let ((w1, h1), (w2, h2)) = (self.0.size(), self.1.size());
        (w1.max(w2), h1 + h2)
    }

    fn draw<DB: DrawingBackend>(&self, pen: &Pen<DB>) -> DrawResult<DB> {
        let (w, _) = self.size();
        let ((_, h1), (_, h2)) = (self.0.size(), self.1.size());
        self.0.draw(pen)?;
        let lower = pen.area_below(h1, w, h2);
        self.1.draw(&Pen::new(&lower, pen.raster_text()))
    }
}
