//! NaN and infinity: noticing them in a pass's output, and naming the hook where they first appeared.
//!
//! One NaN weight turns what follows it into NaN, and everything downstream (softmax, top-k, a
//! sampler) turns that into confident nonsense without complaint. Checking every activation of every
//! pass would cost a read of the whole capture, so the normal path checks only the next-token logits
//! (one reduction over [d_vocab], see [`all_finite`]); only when they are not finite does the prompt
//! run once more with [`FirstNonFinite`] at every hook point to say where it started.

use std::fmt;

use candle_core::{DType, Result, Tensor};

use super::hook::Hook;
use super::hooks::{BlockHook, HookPoint, Layout};
use crate::error::Hinted;

/// Whether every value of `t` is finite. A sum of finite values is finite unless it overflows, so
/// only a non-finite sum needs the exact look at each value; on a GPU one scalar leaves the device.
pub fn all_finite(t: &Tensor) -> Result<bool> {
    let sum = t.sum_all()?.to_dtype(DType::F32)?.to_scalar::<f32>()?;
    Ok(sum.is_finite() || Count::of_tensor(t)?.is_empty())
}

/// How many values are NaN and how many are ±∞.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub nan: usize,
    pub inf: usize,
}

impl Count {
    pub fn of(values: impl IntoIterator<Item = f32>) -> Self {
        values.into_iter().fold(Self::default(), |mut c, v| {
            if v.is_nan() {
                c.nan += 1;
            } else if v.is_infinite() {
                c.inf += 1;
            }
            c
        })
    }

    /// Every value of a tensor (copied to the host: for the rare path only).
    pub fn of_tensor(t: &Tensor) -> Result<Self> {
        let v = t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        Ok(Self::of(v))
    }

    pub fn is_empty(&self) -> bool {
        self.nan + self.inf == 0
    }

    pub fn total(&self) -> usize {
        self.nan + self.inf
    }

    /// "NaN", "infinity" or "NaN and infinity": what kind of value went wrong.
    pub fn kind(&self) -> &'static str {
        match (self.nan > 0, self.inf > 0) {
            (true, true) => "NaN and infinity",
            (false, true) => "infinity",
            _ => "NaN",
        }
    }
}

impl fmt::Display for Count {
    /// "1 NaN value", "3 infinite values", "2 NaN and 1 infinite values".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        match (self.nan, self.inf) {
            (n, 0) => write!(f, "{n} NaN value{}", s(n)),
            (0, i) => write!(f, "{i} infinite value{}", s(i)),
            (n, i) => write!(f, "{n} NaN and {i} infinite value{}", s(n + i)),
        }
    }
}

/// Where a forward pass first produced a value that is not a number (NaN or ±∞).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonFinite {
    /// The first hook point, in forward order, holding one (TransformerLens name).
    pub hook: String,
    /// Its block, for a point inside one.
    pub layer: Option<usize>,
    /// The first position (the query, for an attention pattern) that holds one.
    pub position: usize,
    pub count: Count,
    /// Values looked at in that hook (the visible ones, for an attention tensor).
    pub values: usize,
}

impl NonFinite {
    /// "blocks.0.attn.hook_q (layer 0)", or just the name outside the blocks.
    pub fn place(&self) -> String {
        match self.layer {
            Some(l) => format!("{} (layer {l})", self.hook),
            None => self.hook.clone(),
        }
    }

    /// The one-line error a command stops with, and the fix.
    pub fn error(&self) -> color_eyre::Report {
        Hinted::new(
            format!("the model's output is not a number: {self}"),
            "the checkpoint holds NaN or infinite weights (loading warns which), or its values \
             overflow float32: use an intact copy of the model",
        )
        .into()
    }
}

impl fmt::Display for NonFinite {
    /// "blocks.0.attn.hook_q (layer 0) is the first activation with NaN (16 of 1536 values, from
    /// position 0)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is the first activation with {} ({} of {} values, from position {})",
            self.place(),
            self.count.kind(),
            self.count.total(),
            self.values,
            self.position
        )
    }
}

/// A hook that looks at every point of a pass over positions `0..` and keeps the first that holds a
/// NaN or an infinity. It changes nothing, so the pass computes what the failed one computed.
#[derive(Default)]
pub struct FirstNonFinite {
    pub found: Option<NonFinite>,
    /// The last `hook_attn_scores`, kept until its pattern is checked (see [`Hook::hook`] below).
    scores: Option<(HookPoint, Tensor)>,
}

impl Hook for FirstNonFinite {
    fn wants(&self, _point: HookPoint) -> bool {
        self.found.is_none()
    }

    fn hook(&mut self, point: HookPoint, _start: usize, value: Tensor) -> Result<Tensor> {
        if self.found.is_some() {
            return Ok(value);
        }
        // The scores hold −∞ wherever the causal mask hides a key, so their sum is never finite. A
        // score that is NaN or +∞ makes its row of the pattern NaN, so the pattern's cheap check
        // decides whether the scores need the exact look (which skips the masked cells).
        if let HookPoint::Block(_, BlockHook::AttnScores) = point {
            self.scores = Some((point, value.clone()));
            return Ok(value);
        }
        if all_finite(&value)? {
            return Ok(value);
        }
        if let (HookPoint::Block(_, BlockHook::Pattern), Some((scores_at, scores))) =
            (point, self.scores.take())
        {
            if let Some(found) = locate(scores_at, &scores)? {
                self.found = Some(found);
                return Ok(value);
            }
        }
        self.found = locate(point, &value)?;
        Ok(value)
    }
}

/// Where in `value` (the tensor at `point`, positions from 0) the NaN or infinite values are, if any.
fn locate(point: HookPoint, value: &Tensor) -> Result<Option<NonFinite>> {
    let layer = match point {
        HookPoint::Block(l, _) => Some(l),
        _ => None,
    };
    let (count, values, position) = match point.layout() {
        // [1, pos, ...]
        Layout::Positional => {
            let rows = value.squeeze(0)?.flatten_from(1)?.to_vec2::<f32>()?; // [pos, rest]
            let position = rows
                .iter()
                .position(|r| !Count::of(r.iter().copied()).is_empty());
            let count = Count::of(rows.iter().flatten().copied());
            (count, value.elem_count(), position)
        }
        // [1, head, query, key]: only the keys at or before each query (the rest is the mask).
        Layout::Attention { .. } => {
            let heads = value.squeeze(0)?.to_vec3::<f32>()?; // [head, query, key]
            let mut count = Count::default();
            let mut values = 0;
            let mut position: Option<usize> = None;
            for head in &heads {
                for (q, row) in head.iter().enumerate() {
                    let c = Count::of(row.iter().take(q + 1).copied());
                    values += row.len().min(q + 1);
                    if !c.is_empty() {
                        position = Some(position.map_or(q, |p| p.min(q)));
                    }
                    count.nan += c.nan;
                    count.inf += c.inf;
                }
            }
            (count, values, position)
        }
    };
    Ok(position.map(|position| NonFinite {
        hook: point.name(),
        layer,
        position,
        count,
        values,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn the_check_sees_nan_and_infinity_but_not_a_large_finite_sum() -> Result<()> {
        let dev = Device::Cpu;
        assert!(all_finite(&Tensor::new(&[1f32, -2.0, 3.0], &dev)?)?);
        assert!(!all_finite(&Tensor::new(&[1f32, f32::NAN], &dev)?)?);
        assert!(!all_finite(&Tensor::new(&[f32::NEG_INFINITY, 0.0], &dev)?)?);
        // The sum overflows to +∞, yet every value is a number.
        assert!(all_finite(&Tensor::new(&[f32::MAX, f32::MAX], &dev)?)?);
        Ok(())
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(Count::of([f32::NAN, 1.0]).to_string(), "1 NaN value");
        assert_eq!(
            Count::of([f32::INFINITY, f32::NEG_INFINITY]).to_string(),
            "2 infinite values"
        );
        let both = Count::of([f32::NAN, f32::NAN, f32::INFINITY]);
        assert_eq!(both.to_string(), "2 NaN and 1 infinite values");
        assert_eq!(both.kind(), "NaN and infinity");
    }

    #[test]
    fn masked_scores_are_not_counted_but_a_nan_score_is_found_before_its_pattern() -> Result<()> {
        let dev = Device::Cpu;
        let ninf = f32::NEG_INFINITY;
        let scores = |x: f32| Tensor::new(&[[[[0f32, ninf], [x, 1.0]]]], &dev); // [1, 1, 2, 2]
        let pattern = |x: f32| Tensor::new(&[[[[1f32, 0.0], [x, x]]]], &dev);
        let (s_at, p_at) = (
            HookPoint::Block(1, BlockHook::AttnScores),
            HookPoint::Block(1, BlockHook::Pattern),
        );

        let mut clean = FirstNonFinite::default();
        clean.hook(s_at, 0, scores(0.5)?)?;
        clean.hook(p_at, 0, pattern(0.5)?)?;
        assert_eq!(clean.found, None, "the mask's −∞ is not a fault");

        let mut broken = FirstNonFinite::default();
        broken.hook(
            HookPoint::Embed,
            0,
            Tensor::zeros((1, 2, 3), DType::F32, &dev)?,
        )?;
        broken.hook(s_at, 0, scores(f32::NAN)?)?;
        broken.hook(p_at, 0, pattern(f32::NAN)?)?;
        let found = broken.found.expect("found");
        assert_eq!(found.hook, "blocks.1.attn.hook_attn_scores");
        assert_eq!((found.layer, found.position), (Some(1), 1));
        assert_eq!((found.count.nan, found.values), (1, 3));
        assert_eq!(
            found.to_string(),
            "blocks.1.attn.hook_attn_scores (layer 1) is the first activation with NaN \
             (1 of 3 values, from position 1)"
        );
        Ok(())
    }
}
