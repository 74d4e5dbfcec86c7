//! Scores that say what a head does, from its attention pattern.

use candle_core::{Result, Tensor};

use crate::model::hooks::{block_hook, BlockHook};
use crate::model::Capture;

/// One head's score on some test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct HeadScore {
    pub layer: usize,
    pub head: usize,
    pub score: f32,
}

/// The best head of `scores[layer][head]` in layers ≥ `min_layer` (the first of equal ones); `None` if
/// there is no such layer, or only NaN scores.
pub fn best_head(scores: &[Vec<f32>], min_layer: usize) -> Option<HeadScore> {
    let mut top: Option<HeadScore> = None;
    for (layer, row) in scores.iter().enumerate().skip(min_layer) {
        for (head, &score) in row.iter().enumerate() {
            if top.is_none_or(|t| score > t.score) && !score.is_nan() {
                top = Some(HeadScore { layer, head, score });
            }
        }
    }
    top
}

/// Per head, the mean attention from each position i ≥ 1 to position i − 1.
/// pattern: [1, n_heads, seq, seq]. Empty when the sequence has a single position.
pub fn previous_token_scores(pattern: &Tensor) -> Result<Vec<f32>> {
    let (_, n_heads, seq, _) = pattern.dims4()?;
    if seq < 2 {
        return Ok(Vec::new());
    }
    // Gather the sub-diagonal (i, i − 1) from the flattened rows, so a long prompt is not copied whole.
    let idx: Vec<u32> = (1..seq).map(|i| (i * seq + i - 1) as u32).collect();
    let idx = Tensor::new(idx.as_slice(), pattern.device())?;
    let below = pattern
        .reshape((n_heads, seq * seq))?
        .index_select(&idx, 1)?; // [h, seq − 1]
    below.mean(1)?.to_vec1::<f32>()
}

/// Per head, the induction score of Olsson et al. (2022) on a sequence that repeats itself: the mean
/// attention from each token of the second copy to the token that followed its earlier occurrence.
/// pattern: [1, n_heads, seq, seq]; the first copy is `start..start+period`, the second follows it.
pub fn induction_scores(pattern: &Tensor, start: usize, period: usize) -> Result<Vec<f32>> {
    let (_, n_heads, seq, _) = pattern.dims4()?;
    if period == 0 || start + 2 * period > seq {
        candle_core::bail!(
            "induction score: two copies of {period} tokens from {start} do not fit in {seq} positions"
        );
    }
    let p = pattern.squeeze(0)?.to_vec3::<f32>()?; // [h][q][k]
    let queries = start + period..start + 2 * period;
    Ok((0..n_heads)
        .map(|h| {
            queries
                .clone()
                .map(|q| p[h][q][q - period + 1])
                .sum::<f32>()
                / period as f32
        })
        .collect())
}

/// Per head, the mean attention from each position i ≥ 1 to position 0 (the first token, BOS when
/// there is one): heads that "rest" on the first token when nothing else matters.
pub fn first_token_scores(pattern: &Tensor) -> Result<Vec<f32>> {
    let (_, n_heads, seq, _) = pattern.dims4()?;
    if seq < 2 {
        return Ok(Vec::new());
    }
    let col = pattern
        .squeeze(0)?
        .narrow(2, 0, 1)?
        .squeeze(2)?
        .to_vec2::<f32>()?; // [h][q]
    Ok((0..n_heads)
        .map(|h| col[h][1..].iter().sum::<f32>() / (seq - 1) as f32)
        .collect())
}

/// Per head, the induction score on any prompt: for every token that occurred before, the attention
/// it pays to the tokens that followed its earlier occurrences, averaged over such tokens. On a
/// sequence repeated twice this is the Olsson et al. score; on other text it finds the same heads.
/// pattern: [1, n_heads, seq, seq]; ids: the seq token ids. Zero when no token repeats.
pub fn repeat_induction_scores(pattern: &Tensor, ids: &[u32]) -> Result<Vec<f32>> {
    let (_, n_heads, seq, _) = pattern.dims4()?;
    if ids.len() != seq {
        candle_core::bail!("{} ids for a pattern over {seq} positions", ids.len());
    }
    // (query, keys) pairs: keys are the positions right after earlier occurrences of the query token.
    let targets: Vec<(usize, Vec<usize>)> = (1..seq)
        .map(|q| (q, after_earlier(ids, q)))
        .filter(|(_, keys)| !keys.is_empty())
        .collect();
    if targets.is_empty() {
        return Ok(vec![0.0; n_heads]);
    }
    let p = pattern.squeeze(0)?.to_vec3::<f32>()?; // [h][q][k]
    Ok((0..n_heads)
        .map(|h| {
            targets
                .iter()
                .map(|(q, keys)| keys.iter().map(|&k| p[h][*q][k]).sum::<f32>())
                .sum::<f32>()
                / targets.len() as f32
        })
        .collect())
}

/// Every head's scores kept as each query row's part, so a prompt that grows by a token adds a row
/// instead of recomputing every head's whole pattern (seconds for 270 heads at 1,024 tokens). The
/// means are those of [`previous_token_scores`], [`first_token_scores`] and
/// [`repeat_induction_scores`]: a causal pattern's earlier rows do not change when a token is added.
#[derive(Debug, Clone, Default)]
pub struct RowScores {
    /// The ids the rows are for.
    ids: Vec<u32>,
    /// [criterion][layer][head] -> each query row's part, `None` where the row does not count.
    parts: Vec<Vec<Vec<Vec<Option<f32>>>>>,
}

impl RowScores {
    /// How many query rows are kept for `ids`: those before the first token that differs, less the
    /// last of them (a pass that removes a token recomputes the new last position).
    pub fn keep(&self, ids: &[u32]) -> usize {
        super::positions_kept(&self.ids, ids)
    }

    /// Forget the rows from `keep` on and add the rows `keep..` from `pattern(layer)`, each layer's
    /// pattern at those query rows: [h, r, n] for the n = `ids.len()` positions.
    pub fn update(
        &mut self,
        ids: &[u32],
        n_layers: usize,
        keep: usize,
        mut pattern: impl FnMut(usize, &[u32]) -> Result<Tensor>,
    ) -> Result<()> {
        let rows: Vec<u32> = (keep as u32..ids.len() as u32).collect();
        if self.parts.is_empty() {
            self.parts = vec![vec![Vec::new(); n_layers]; Criterion::ALL.len()];
        }
        for layer in 0..n_layers {
            let p = if rows.is_empty() {
                None
            } else {
                Some(pattern(layer, &rows)?.to_vec3::<f32>()?) // [h][r][n]
            };
            for (c, criterion) in Criterion::ALL.into_iter().enumerate() {
                let heads = &mut self.parts[c][layer];
                let n_heads = p.as_ref().map_or(heads.len(), Vec::len);
                heads.resize(n_heads, Vec::new());
                for (h, parts) in heads.iter_mut().enumerate() {
                    parts.truncate(keep);
                    let Some(p) = &p else { continue };
                    parts.extend(
                        rows.iter()
                            .zip(&p[h])
                            .map(|(&q, row)| row_part(criterion, q as usize, row, ids)),
                    );
                }
            }
        }
        self.ids = ids.to_vec();
        Ok(())
    }

    /// Every head's score by `c`: `[layer][head]`, as [`head_scores`] computes it.
    pub fn scores(&self, c: Criterion) -> Vec<Vec<f32>> {
        let i = Criterion::ALL.iter().position(|&x| x == c).unwrap_or(0);
        let Some(layers) = self.parts.get(i) else {
            return Vec::new();
        };
        layers
            .iter()
            .map(|heads| {
                let counted = |parts: &Vec<Option<f32>>| parts.iter().flatten().count();
                // A single position has no previous or first token to score (as the pattern
                // functions say with no scores); an induction head without repeats scores 0.
                if c != Criterion::Induction && heads.first().is_none_or(|p| counted(p) == 0) {
                    return Vec::new();
                }
                heads
                    .iter()
                    .map(|parts| match counted(parts) {
                        0 => 0.0,
                        k => parts.iter().flatten().sum::<f32>() / k as f32,
                    })
                    .collect()
            })
            .collect()
    }
}

/// The positions right after earlier occurrences of token `q` (before `q − 1`): where an induction
/// head looks from `q`.
fn after_earlier(ids: &[u32], q: usize) -> Vec<usize> {
    (0..q.saturating_sub(1))
        .filter(|&j| ids[j] == ids[q])
        .map(|j| j + 1)
        .collect()
}

/// Query row `q`'s part of a head's score by `c`, from that row of its pattern.
fn row_part(c: Criterion, q: usize, row: &[f32], ids: &[u32]) -> Option<f32> {
    match c {
        Criterion::PreviousToken => (q >= 1).then(|| row[q - 1]),
        Criterion::FirstToken => (q >= 1).then(|| row[0]),
        Criterion::Induction => {
            let keys = after_earlier(ids, q);
            (!keys.is_empty()).then(|| keys.iter().map(|&k| row[k]).sum())
        }
    }
}

/// For each layer whose pattern was captured, the head with the highest previous-token score.
pub fn best_previous_token_heads(capture: &Capture, n_layers: usize) -> Result<Vec<HeadScore>> {
    let mut best = Vec::new();
    for layer in 0..n_layers {
        let Some(pattern) = capture.get(&block_hook(layer, BlockHook::Pattern)) else {
            continue;
        };
        let scores = previous_token_scores(&pattern?)?;
        if let Some((head, &score)) = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) {
            best.push(HeadScore { layer, head, score });
        }
    }
    Ok(best)
}

/// What a head is scored on (written in lesson files as previous-token, first-token, induction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Criterion {
    PreviousToken,
    FirstToken,
    Induction,
}

impl Criterion {
    /// Every criterion, in the order `i` cycles through them.
    pub const ALL: [Criterion; 3] = [Self::PreviousToken, Self::FirstToken, Self::Induction];

    pub const NAMES: &'static str = "previous-token, first-token, induction";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "previous-token" => Some(Self::PreviousToken),
            "first-token" => Some(Self::FirstToken),
            "induction" => Some(Self::Induction),
            _ => None,
        }
    }

    /// The next metric, for the Heads view's `i` key.
    pub fn cycled(self) -> Self {
        match self {
            Self::PreviousToken => Self::FirstToken,
            Self::FirstToken => Self::Induction,
            Self::Induction => Self::PreviousToken,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::PreviousToken => "previous-token score",
            Self::FirstToken => "first-token score",
            Self::Induction => "induction score",
        }
    }
}

/// Every head's score by `criterion` on the current prompt: `[layer][head]`.
pub fn head_scores(
    capture: &Capture,
    ids: &[u32],
    n_layers: usize,
    c: Criterion,
) -> Result<Vec<Vec<f32>>> {
    head_scores_from(
        n_layers,
        |l| capture.require(&block_hook(l, BlockHook::Pattern)),
        ids,
        c,
    )
}

/// The same, with each layer's pattern [1, h, n, n] from `pattern` (a capture's, or one recomputed
/// from q and k).
pub fn head_scores_from(
    n_layers: usize,
    mut pattern: impl FnMut(usize) -> Result<Tensor>,
    ids: &[u32],
    c: Criterion,
) -> Result<Vec<Vec<f32>>> {
    (0..n_layers)
        .map(|l| criterion_scores(&pattern(l)?, ids, c))
        .collect()
}

/// One layer's heads scored by `c` from its pattern [1, h, n, n].
fn criterion_scores(pattern: &Tensor, ids: &[u32], c: Criterion) -> Result<Vec<f32>> {
    match c {
        Criterion::PreviousToken => previous_token_scores(pattern),
        Criterion::FirstToken => first_token_scores(pattern),
        Criterion::Induction => repeat_induction_scores(pattern, ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_skips_early_layers_and_reports_none_without_candidates() {
        let scores = vec![vec![0.9, 0.1], vec![0.2, 0.4]];
        let top = best_head(&scores, 1).unwrap();
        assert_eq!((top.layer, top.head, top.score), (1, 1, 0.4));
        assert_eq!(best_head(&scores, 0).unwrap().score, 0.9);
        assert!(best_head(&scores, 2).is_none());
        assert!(best_head(&[vec![f32::NAN]], 0).is_none());
    }
    use candle_core::Device;

    #[test]
    fn previous_token_score_of_a_perfect_head_is_one() -> Result<()> {
        // Head 0 attends to the previous token (position 0 to itself); head 1 attends to position 0.
        let prev = [[1f32, 0., 0.], [1., 0., 0.], [0., 1., 0.]];
        let first = [[1f32, 0., 0.], [1., 0., 0.], [1., 0., 0.]];
        let pattern = Tensor::new(&[[prev, first]], &Device::Cpu)?;
        let s = previous_token_scores(&pattern)?;
        assert_eq!(s, vec![1.0, 0.5]);
        Ok(())
    }

    #[test]
    fn first_token_and_repeat_induction_scores() -> Result<()> {
        // Sequence A B A B: head 0 is a perfect induction head, head 1 rests on position 0.
        let mut ind = [[0f32; 4]; 4];
        let mut first = [[0f32; 4]; 4];
        for q in 0..4 {
            ind[q][if q >= 2 { q - 1 } else { q }] = 1.0;
            first[q][0] = 1.0;
        }
        let pattern = Tensor::new(&[[ind, first]], &Device::Cpu)?;
        assert_eq!(first_token_scores(&pattern)?, vec![0.0, 1.0]);
        let s = repeat_induction_scores(&pattern, &[7, 8, 7, 8])?;
        assert_eq!(s, vec![1.0, 0.0]);
        assert_eq!(
            repeat_induction_scores(&pattern, &[1, 2, 3, 4])?,
            vec![0.0, 0.0]
        );
        Ok(())
    }

    #[test]
    fn induction_score_reads_the_token_after_the_earlier_occurrence() -> Result<()> {
        // Sequence A B A B (period 2 from position 0): query 2 (A) should attend to 1 (B), query 3 to 2.
        let mut ind = [[0f32; 4]; 4];
        let mut uniform = [[0f32; 4]; 4];
        for q in 0..4 {
            ind[q][if q >= 2 { q - 1 } else { q }] = 1.0;
            uniform[q][..=q].fill(1.0 / (q + 1) as f32);
        }
        let pattern = Tensor::new(&[[ind, uniform]], &Device::Cpu)?;
        let s = induction_scores(&pattern, 0, 2)?;
        assert_eq!(s[0], 1.0);
        assert!((s[1] - (1.0 / 3.0 + 0.25) / 2.0).abs() < 1e-6);
        assert!(induction_scores(&pattern, 1, 2).is_err());
        Ok(())
    }
}
