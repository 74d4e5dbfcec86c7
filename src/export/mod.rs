//! Export: attention maps, positional encodings and next-token charts as PNG or SVG, and pictures of
//! a terminal screen (any ratatui buffer); it knows nothing of the tutor's app or its drawing. Figures
//! draw the same [`Heatmap`] the terminal draws (never data of their own), with plotters and a font
//! embedded in the binary, so export works on a machine with no fonts.
//!
//! Every `export_*` function picks the format from the path's extension (`.png` or `.svg`), checks
//! the path before drawing, and writes atomically: on any error nothing is left behind. Each returns
//! the page size in pixels.
//!
//! What the tutor's views export with (the tutor's `x` key, carried out by `shell::export_view`):
//!
//! | view | call |
//! |---|---|
//! | Attention, Scores | [`export_heatmap`] with `App::head_map(view)` |
//! | Heads | [`export_head_grid`] with every layer's thumbnails from the worker |
//! | Positions | [`export_positions`] with `App::position_maps()` |
//! | Next | [`export_probs`] with [`NextTokens::from_probs`] on `App::next_probs()` |
//! | any (the screen itself) | [`screenshot::save_buffer_png`] with `ui::screen_buffer` |
//!
//! [`unused_path`] picks a file name that does not overwrite an earlier export.
//!
//! ```no_run
//! # use glassbox::export::{export_heatmap, PlotOptions};
//! # fn demo(map: &glassbox::analysis::heatmap::Heatmap) -> color_eyre::Result<()> {
//! let opts = PlotOptions { model: Some("gpt2".into()), ..PlotOptions::default() };
//! export_heatmap(map, &opts, std::path::Path::new("L0H1.png"))?;
//! # Ok(()) }
//! ```

mod attribution;
mod cells;
mod colorbar;
pub mod colors;
mod curves;
mod figures;
mod fonts;
mod output;
mod panel;
mod pen;
pub mod probs;
pub mod screenshot;
mod terminal;

use std::path::Path;

use color_eyre::eyre::Result;

use crate::analysis::heatmap::{pattern_thumbnails, Heatmap, THUMBNAIL_EXPORT_PX};
use crate::error::hinted;
use crate::model::Capture;
use figures::{GridFigure, HeatmapFigure, PanelsFigure};
use probs::ProbsFigure;

pub use colors::Cmap;
pub use output::{check_target, unused_path, Format};
pub use probs::NextTokens;

/// Printing values in cells needs a short prompt: at most this many rows and columns.
pub const MAX_VALUE_CELLS: usize = 32;
/// The range `PlotOptions::scale` accepts.
pub const SCALE_RANGE: (f32, f32) = (0.25, 8.0);

/// How figures look. `Default` is viridis, no values, scale 1, no model or prompt in the title.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Colour map for 0..1 values; signed values (scores, embeddings) always use the diverging
    /// red–blue map of the terminal, centred on 0.
    pub cmap: Cmap,
    /// Print each cell's value in it (maps of at most [`MAX_VALUE_CELLS`] rows and columns).
    pub values: bool,
    /// Multiplies every length: 2 gives a page twice as wide and tall, for print or slides.
    pub scale: f32,
    /// The model's name, shown in the title.
    pub model: Option<String>,
    /// The prompt, shown under the title (cut with "…" when too long).
    pub prompt: Option<String>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self {
            cmap: Cmap::Viridis,
            values: false,
            scale: 1.0,
            model: None,
            prompt: None,
        }
    }
}

impl PlotOptions {
    fn check(&self) -> Result<()> {
        let (lo, hi) = SCALE_RANGE;
        if !(lo..=hi).contains(&self.scale) {
            return hinted(
                format!("the scale {} is out of range", self.scale),
                format!("use a scale from {lo} to {hi} (1 is about 700 pixels for a map)"),
            );
        }
        Ok(())
    }
}

/// One heatmap (an attention pattern, scores, ...) with token labels, a colour bar and a title made
/// of the model's name, the map's title and the prompt.
pub fn export_heatmap(map: &Heatmap, opts: &PlotOptions, path: &Path) -> Result<(u32, u32)> {
    opts.check()?;
    if opts.values && map.rows.max(map.cols) > MAX_VALUE_CELLS {
        return hinted(
            format!(
                "--values needs a map of at most {MAX_VALUE_CELLS} tokens; this one has {}",
                map.rows.max(map.cols)
            ),
            "shorten the prompt, or leave out --values",
        );
    }
    output::save(&HeatmapFigure::new(map, opts), path)
}

/// Several heatmaps side by side, each with its own labels and colour bar, under one heading.
pub fn export_side_by_side(
    heading: &str,
    maps: &[Heatmap],
    opts: &PlotOptions,
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    output::save(&PanelsFigure::new(heading, maps, opts), path)
}

/// The training curve of a model `glassbox train` made (its train_log.csv), as the tutor's Training
/// view draws it.
pub fn export_training(
    log: &crate::analysis::training::TrainLog,
    d_vocab: usize,
    opts: &PlotOptions,
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    output::save(
        &curves::CurvesFigure::training(log, d_vocab, 50, opts),
        path,
    )
}

/// The scaling family's losses against size and data with the fitted power laws, as the Training
/// view's scaling page draws them.
pub fn export_scaling(
    family: &crate::analysis::scaling::Family,
    opts: &PlotOptions,
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    output::save(&curves::CurvesFigure::scaling(family, opts), path)
}

/// A rotary model's positions: the cos and sin maps over positions × pairs (as the tutor draws
/// them) above the pairs' wavelengths and the long-range decay of the score.
pub fn export_rotary(
    maps: &[Heatmap],
    freqs: &[f64],
    n_ctx: usize,
    opts: &PlotOptions,
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    let figure = figures::Stacked(
        PanelsFigure::new("rotary position embeddings", maps, opts),
        curves::CurvesFigure::rotary(
            freqs,
            n_ctx,
            &PlotOptions {
                model: None,
                ..opts.clone()
            },
        ),
    );
    output::save(&figure, path)
}

/// The positional-encoding maps (learned W_pos, the cosine similarity of its rows, the sinusoidal
/// encoding), as the tutor's Positions view shows them.
pub fn export_positions(maps: &[Heatmap], opts: &PlotOptions, path: &Path) -> Result<(u32, u32)> {
    export_side_by_side("positional encodings", maps, opts, path)
}

/// Small heatmaps in a grid, `columns` per row, titled by their `title` and sharing one colour bar
/// (so they must share a scale, as attention patterns do). `notes` are extra lines under the title.
pub fn export_grid(
    heading: &str,
    maps: &[Heatmap],
    columns: usize,
    opts: &PlotOptions,
    notes: &[String],
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    output::save(&GridFigure::new(heading, maps, columns, opts, notes), path)
}

/// Every head's attention pattern of `layers` (each at least captured as `hook_pattern`), one row
/// of panels per layer (one layer: its heads wrap at 6 a row). Long prompts are sampled down to
/// the panel's pixels, as the terminal's head grid does.
pub fn export_heads(
    capture: &Capture,
    layers: &[usize],
    opts: &PlotOptions,
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    let px = heads_px(opts);
    let thumbs = layers
        .iter()
        .map(|&layer| pattern_thumbnails(capture, layer, px, px))
        .collect::<candle_core::Result<Vec<_>>>()?;
    export_head_grid(&thumbs, layers, capture.seq_len(), opts, path)
}

/// How many cells a side each head's thumbnail has in a heads-grid PNG at `opts`' scale.
pub fn heads_px(opts: &PlotOptions) -> usize {
    (THUMBNAIL_EXPORT_PX as f32 * opts.scale).ceil() as usize
}

/// The heads grid from thumbnails already sampled (one list of heads per layer of `layers`) of a
/// prompt of `n_tokens`.
pub fn export_head_grid(
    thumbs: &[Vec<Heatmap>],
    layers: &[usize],
    n_tokens: usize,
    opts: &PlotOptions,
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    let per_layer = thumbs.first().map_or(0, Vec::len);
    let maps: Vec<Heatmap> = thumbs.iter().flatten().cloned().collect();
    let columns = if layers.len() == 1 {
        per_layer.div_ceil(per_layer.div_ceil(6).max(1))
    } else {
        per_layer
    };
    let heading = match layers {
        [one] => format!("attention patterns of every head in layer {one}"),
        _ => format!(
            "attention patterns: {} layers × {per_layer} heads",
            layers.len()
        ),
    };
    let notes = [format!(
        "{n_tokens} tokens · in each panel, rows are queries (the token attending), columns are keys"
    )];
    export_grid(&heading, &maps, columns, opts, &notes, path)
}

/// The next-token candidates at one position as a bar chart.
pub fn export_probs(data: &NextTokens, opts: &PlotOptions, path: &Path) -> Result<(u32, u32)> {
    opts.check()?;
    output::save(&ProbsFigure::new(data, opts), path)
}

/// Direct logit attribution at one position: the layers × heads grid with the MLP column (numbers in
/// the cells when the grid is small enough), above the largest contributions as signed bars.
/// `heading` names the target and the position.
pub fn export_attribution(
    a: &crate::analysis::attribution::Attribution,
    heading: &str,
    opts: &PlotOptions,
    path: &Path,
) -> Result<(u32, u32)> {
    opts.check()?;
    let map = a.grid(heading.to_string());
    let grid_opts = PlotOptions {
        values: map.rows.max(map.cols) <= MAX_VALUE_CELLS,
        ..opts.clone()
    };
    let figure = figures::Stacked(
        HeatmapFigure::new(&map, &grid_opts),
        attribution::RankedBars::new(a, opts),
    );
    output::save(&figure, path)
}
