//! `Heatmap`: a labelled matrix of values, the one type both the terminal heatmap and the PNG export
//! draw. Built from a capture (attention patterns and scores) or from weights (position embeddings).

use candle_core::{IndexOp, Result, Tensor};

use crate::model::hooks::{block_hook, BlockHook};
use crate::model::Capture;

/// How values map to colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Probabilities: 0..=1 on a sequential map.
    Unit,
    /// Signed values on a diverging map centred on 0, ±`max_abs` at the ends.
    Signed { max_abs: f32 },
}

/// What one cell of a heatmap shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// A number to colour.
    Value(f32),
    /// Hidden by the causal mask (a key after its query): drawn apart, never as a value.
    Masked,
    /// NaN or ±∞ where a number belongs: the model went wrong (a NaN weight, an overflow). Drawn with
    /// its own mark, never as the mask and never as a colour of the scale.
    NotANumber,
}

/// rows × cols values, row-major, and which cells the causal mask hides. The mask is its own field,
/// not a value: a NaN that the model computed must never pass for a masked cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f32>,
    /// Row-major like `values`; empty when nothing is masked.
    pub masked: Vec<bool>,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    /// What the rows and columns are ("query", "key", "position", "dimension").
    pub row_axis: String,
    pub col_axis: String,
    pub scale: Scale,
}

impl Heatmap {
    /// What the cell at (row, col) shows; `None` outside the map.
    pub fn cell(&self, row: usize, col: usize) -> Option<Cell> {
        if row >= self.rows || col >= self.cols {
            return None;
        }
        let i = row * self.cols + col;
        if self.masked.get(i).copied().unwrap_or(false) {
            return Some(Cell::Masked);
        }
        let v = self.values[i];
        Some(if v.is_finite() {
            Cell::Value(v)
        } else {
            Cell::NotANumber
        })
    }

    /// The number at (row, col); `None` for a masked cell, a value that is not a number, or outside.
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        match self.cell(row, col)? {
            Cell::Value(v) => Some(v),
            Cell::Masked | Cell::NotANumber => None,
        }
    }

    /// Whether any cell is masked.
    pub fn has_masked(&self) -> bool {
        self.masked.iter().any(|&m| m)
    }

    /// How many unmasked cells hold NaN or ±∞.
    pub fn not_a_number(&self) -> usize {
        self.values
            .iter()
            .enumerate()
            .filter(|&(i, v)| !v.is_finite() && !self.masked.get(i).copied().unwrap_or(false))
            .count()
    }

    /// How many unmasked cells of `row` hold NaN or ±∞.
    pub fn not_a_number_in_row(&self, row: usize) -> usize {
        (0..self.cols)
            .filter(|&c| self.cell(row, c) == Some(Cell::NotANumber))
            .count()
    }

    pub fn row(&self, row: usize) -> &[f32] {
        &self.values[row * self.cols..(row + 1) * self.cols]
    }

    /// `value` mapped to 0..=1 for a colour map (0.5 is zero on a signed scale).
    pub fn normalized(&self, value: f32) -> f32 {
        match self.scale {
            Scale::Unit => value.clamp(0.0, 1.0),
            Scale::Signed { max_abs } if max_abs > 0.0 => {
                (0.5 + 0.5 * value / max_abs).clamp(0.0, 1.0)
            }
            Scale::Signed { .. } => 0.5,
        }
    }

    /// The (low, high) values at the ends of the colour bar.
    pub fn range(&self) -> (f32, f32) {
        match self.scale {
            Scale::Unit => (0.0, 1.0),
            Scale::Signed { max_abs } => (-max_abs, max_abs),
        }
    }

    /// The column with the largest value in `row`, if any is unmasked.
    pub fn argmax_in_row(&self, row: usize) -> Option<usize> {
        (0..self.cols)
            .filter_map(|c| self.get(row, c).map(|v| (c, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c)
    }

    /// A signed heatmap whose colour range is the largest finite |value| outside `masked`.
    pub(crate) fn signed(
        title: String,
        rows: usize,
        cols: usize,
        values: Vec<f32>,
        masked: Vec<bool>,
    ) -> Self {
        let max_abs = values
            .iter()
            .enumerate()
            .filter(|&(i, v)| v.is_finite() && !masked.get(i).copied().unwrap_or(false))
            .fold(0f32, |m, (_, v)| m.max(v.abs()));
        Self {
            title,
            rows,
            cols,
            values,
            masked,
            row_labels: (0..rows).map(|i| i.to_string()).collect(),
            col_labels: (0..cols).map(|i| i.to_string()).collect(),
            row_axis: "position".into(),
            col_axis: "dimension".into(),
            scale: Scale::Signed { max_abs },
        }
    }
}

/// One head's slice [seq, seq] of a captured [1, head, seq, seq] attention hook.
fn head_matrix(capture: &Capture, layer: usize, head: usize, hook: BlockHook) -> Result<Vec<f32>> {
    let name = block_hook(layer, hook);
    let t = capture.require(&name)?;
    let (_, n_heads, _, _) = t.dims4()?;
    if head >= n_heads {
        candle_core::bail!("no head {head} in layer {layer}: it has {n_heads} heads");
    }
    t.i((0, head))?.flatten_all()?.to_vec1::<f32>()
}

/// `blocks.{layer}.attn.hook_pattern` for one head: query rows × key columns, each row sums to 1.
pub fn attention_pattern(
    capture: &Capture,
    layer: usize,
    head: usize,
    tokens: &[String],
) -> Result<Heatmap> {
    let values = head_matrix(capture, layer, head, BlockHook::Pattern)?;
    Ok(pattern_map(layer, head, values, tokens))
}

/// One head's pattern, `values` n × n row-major (query rows, key columns), as a heatmap.
pub fn pattern_map(layer: usize, head: usize, values: Vec<f32>, tokens: &[String]) -> Heatmap {
    let n = tokens.len();
    Heatmap {
        title: format!("attention pattern L{layer}H{head}"),
        rows: n,
        cols: n,
        values,
        // Above the diagonal the pattern is exactly 0; mark it masked so views can draw it apart.
        masked: causal_mask(n),
        row_labels: tokens.to_vec(),
        col_labels: tokens.to_vec(),
        row_axis: "query".into(),
        col_axis: "key".into(),
        scale: Scale::Unit,
    }
}

/// `blocks.{layer}.attn.hook_attn_scores` for one head (q·k/√d_head, future −∞). With `unscaled`,
/// the what-if without the 1/√d_head factor: every score multiplied by √d_head.
pub fn attention_scores(
    capture: &Capture,
    layer: usize,
    head: usize,
    tokens: &[String],
    d_head: usize,
    unscaled: bool,
) -> Result<Heatmap> {
    let values = head_matrix(capture, layer, head, BlockHook::AttnScores)?;
    Ok(scores_map(layer, head, values, tokens, d_head, unscaled))
}

/// One head's scores before softmax, `values` n × n row-major, as a heatmap; `unscaled` as in
/// [`attention_scores`].
pub fn scores_map(
    layer: usize,
    head: usize,
    mut values: Vec<f32>,
    tokens: &[String],
    d_head: usize,
    unscaled: bool,
) -> Heatmap {
    if unscaled {
        let factor = (d_head as f32).sqrt();
        values.iter_mut().for_each(|v| *v *= factor);
    }
    let n = tokens.len();
    let mut map = Heatmap::signed(
        format!(
            "scores before softmax L{layer}H{head}{}",
            if unscaled { " (no 1/√dₖ)" } else { "" }
        ),
        n,
        n,
        values,
        causal_mask(n),
    );
    map.row_labels = tokens.to_vec();
    map.col_labels = tokens.to_vec();
    map.row_axis = "query".into();
    map.col_axis = "key".into();
    map
}

/// The size (cells a side) of each head's thumbnail in a PNG of the heads grid at scale 1.
pub const THUMBNAIL_EXPORT_PX: usize = 200;

/// The positions a thumbnail of `k` cells samples from `n` (nearest, evenly spaced).
pub fn thumbnail_picks(n: usize, k: usize) -> Vec<u32> {
    let k = k.clamp(1, n.max(1));
    (0..k).map(|i| (i * n / k) as u32).collect()
}

/// Every head of a layer's pattern sampled down (nearest) to at most `rows` × `cols` cells, for a
/// grid of thumbnails. Sampling happens on the tensor, so long prompts stay cheap.
pub fn pattern_thumbnails(
    capture: &Capture,
    layer: usize,
    rows: usize,
    cols: usize,
) -> Result<Vec<Heatmap>> {
    let name = block_hook(layer, BlockHook::Pattern);
    let t = capture.require(&name)?;
    let (_, n_heads, n, _) = t.dims4()?;
    let (row_src, col_src) = (thumbnail_picks(n, rows), thumbnail_picks(n, cols));
    let device = t.device();
    let small = t
        .index_select(&Tensor::new(row_src.as_slice(), device)?, 2)?
        .index_select(&Tensor::new(col_src.as_slice(), device)?, 3)?; // [1, h, r, c]
    let values = small.squeeze(0)?.to_vec3::<f32>()?;
    Ok((0..n_heads)
        .map(|h| thumbnail(layer, h, values[h].concat(), &row_src, &col_src))
        .collect())
}

/// [`pattern_thumbnails`] from the q and k a pass recorded (see [`crate::model::attention_maps`]):
/// only the sampled query rows are computed, so a 1,024-token layer costs a few milliseconds.
pub fn thumbnails_from_qk(
    capture: &Capture,
    cfg: &crate::model::Config,
    layer: usize,
    rows: usize,
    cols: usize,
) -> Result<Vec<Heatmap>> {
    let n = capture.seq_len();
    let (row_src, col_src) = (thumbnail_picks(n, rows), thumbnail_picks(n, cols));
    (0..cfg.n_heads)
        .map(|h| {
            let (_, pattern) =
                crate::model::attention_maps::head_maps(capture, cfg, layer, h, Some(&row_src))?; // [r, n]
            let cols = Tensor::new(col_src.as_slice(), pattern.device())?;
            let small = pattern.contiguous()?.index_select(&cols, 1)?; // [r, c]
            let values = small.flatten_all()?.to_vec1::<f32>()?;
            Ok(thumbnail(layer, h, values, &row_src, &col_src))
        })
        .collect()
}

/// One head's thumbnail: `values` [rows × cols] sampled at query positions `row_src` and key
/// positions `col_src`.
pub fn thumbnail(
    layer: usize,
    head: usize,
    values: Vec<f32>,
    row_src: &[u32],
    col_src: &[u32],
) -> Heatmap {
    let (r, c) = (row_src.len(), col_src.len());
    let masked: Vec<bool> = row_src
        .iter()
        .flat_map(|&q| col_src.iter().map(move |&k| k > q))
        .collect();
    Heatmap {
        title: format!("L{layer}H{head}"),
        rows: r,
        cols: c,
        values,
        masked,
        row_labels: vec![String::new(); r],
        col_labels: vec![String::new(); c],
        row_axis: "query".into(),
        col_axis: "key".into(),
        scale: Scale::Unit,
    }
}

/// An n × n causal mask, row-major: true where the key comes after the query.
fn causal_mask(n: usize) -> Vec<bool> {
    (0..n).flat_map(|q| (0..n).map(move |k| k > q)).collect()
}

/// softmax over one row of scores, where −∞ is a masked entry (it gets 0). A NaN or +∞ among them
/// makes every weight NaN, as the model's own softmax does: a row that is not numbers stays so.
pub fn softmax_row(scores: &[f32]) -> Vec<f32> {
    if scores.iter().any(|v| v.is_nan() || *v == f32::INFINITY) {
        return vec![f32::NAN; scores.len()];
    }
    let max = scores
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return vec![0.0; scores.len()];
    }
    let exps: Vec<f64> = scores
        .iter()
        .map(|&s| {
            if s.is_finite() {
                ((s - max) as f64).exp()
            } else {
                0.0
            }
        })
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_row_ignores_masked_entries_but_not_nan() {
        let p = softmax_row(&[0.0, 0.0, f32::NEG_INFINITY]);
        assert_eq!(p, vec![0.5, 0.5, 0.0]);
        let p = softmax_row(&[0.0, f32::NAN, f32::NEG_INFINITY]);
        assert!(p.iter().all(|v| v.is_nan()), "{p:?}");
    }

    #[test]
    fn a_nan_cell_is_not_a_number_and_a_masked_one_is_masked() {
        let ninf = f32::NEG_INFINITY;
        // Scores of two positions: the mask's −∞ above the diagonal, a NaN and a stray −∞ below.
        let m = Heatmap::signed(
            "s".into(),
            2,
            2,
            vec![f32::NAN, ninf, ninf, -3.0],
            causal_mask(2),
        );
        assert_eq!(m.cell(0, 0), Some(Cell::NotANumber));
        assert_eq!(m.cell(0, 1), Some(Cell::Masked));
        assert_eq!(
            m.cell(1, 0),
            Some(Cell::NotANumber),
            "−∞ below the diagonal"
        );
        assert_eq!(m.cell(1, 1), Some(Cell::Value(-3.0)));
        assert_eq!(m.cell(2, 0), None);
        assert_eq!((m.not_a_number(), m.not_a_number_in_row(1)), (2, 1));
        assert!(m.has_masked());
        // The colour range comes from the numbers alone.
        assert_eq!(m.range(), (-3.0, 3.0));
    }

    #[test]
    fn normalized_puts_zero_in_the_middle_of_a_signed_scale() {
        let m = Heatmap::signed("t".into(), 1, 2, vec![-2.0, 1.0], Vec::new());
        assert_eq!(m.normalized(0.0), 0.5);
        assert_eq!(m.normalized(-2.0), 0.0);
        assert_eq!(m.normalized(1.0), 0.75);
        assert_eq!(m.argmax_in_row(0), Some(1));
    }
}
