//! Next-token distributions: softmax with temperature, top-k, entropy, and the loss the model pays
//! on the tokens that really come next.

use candle_core::{DType, IndexOp, Tensor, D};

/// softmax(logits / temperature); temperature 0 puts all mass on the argmax (greedy). Logits with a
/// NaN or a +∞ give every probability NaN, greedy or not: no token is "most probable" among values
/// that are not numbers (a −∞ logit is a token ruled out, probability 0).
pub fn softmax(logits: &[f32], temperature: f32) -> Vec<f32> {
    if logits.is_empty() {
        return Vec::new();
    }
    if logits.iter().any(|l| l.is_nan() || *l == f32::INFINITY) {
        return vec![f32::NAN; logits.len()];
    }
    if temperature <= 0.0 {
        let best = argmax(logits);
        return (0..logits.len()).map(|i| f32::from(i == best)).collect();
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits
        .iter()
        .map(|&l| (((l - max) / temperature) as f64).exp())
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|&e| (e / sum) as f32).collect()
}

pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The `k` most probable token ids with their probabilities, most probable first.
pub fn top_k(probs: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    let k = k.min(idx.len());
    if k == 0 {
        return Vec::new();
    }
    idx.select_nth_unstable_by(k - 1, |&a, &b| probs[b].total_cmp(&probs[a]));
    idx.truncate(k);
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.into_iter().map(|i| (i as u32, probs[i])).collect()
}

/// Shannon entropy in bits; NaN when a probability is (never the 0 bits of a certain prediction).
pub fn entropy_bits(probs: &[f32]) -> f32 {
    if probs.iter().any(|p| p.is_nan()) {
        return f32::NAN;
    }
    -probs
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| p * p.log2())
        .sum::<f32>()
}

/// The next-token loss at every position that has a next token, in nats: −ln p(ids[i+1] | ids[..=i])
/// from logits [1, seq, d_vocab], at temperature 1. Its mean is the cross-entropy a model is trained
/// to lower (transformers' `labels=input_ids` loss). `seq − 1` values.
pub fn token_losses(logits: &Tensor, ids: &[u32]) -> candle_core::Result<Vec<f32>> {
    token_losses_from(logits, ids, 0)
}

/// [`token_losses`] for positions `from..seq − 1` only: after tokens are appended, the earlier
/// positions' losses are unchanged (a causal model), so only the new ones need computing.
pub fn token_losses_from(
    logits: &Tensor,
    ids: &[u32],
    from: usize,
) -> candle_core::Result<Vec<f32>> {
    let seq = ids.len();
    if seq < 2 || from >= seq - 1 {
        return Ok(Vec::new());
    }
    let rows = logits.i((0, from..seq - 1))?; // [n, d_vocab]
    row_losses(&rows, &ids[from + 1..])
}

/// −ln p(next[i]) at temperature 1 from logits rows [n, d_vocab], one per row.
pub fn row_losses(rows: &Tensor, next: &[u32]) -> candle_core::Result<Vec<f32>> {
    let log_p = candle_nn::ops::log_softmax(&rows.to_dtype(DType::F32)?, D::Minus1)?;
    let next = Tensor::from_vec(next.to_vec(), (next.len(), 1), rows.device())?; // [n, 1]
    log_p.gather(&next, 1)?.squeeze(1)?.neg()?.to_vec1::<f32>()
}

/// 1 for the most probable token, 2 for the next, …: how many tokens score strictly higher, plus 1
/// (probabilities or logits: softmax keeps their order).
pub fn rank_of(probs: &[f32], id: usize) -> usize {
    let p = probs.get(id).copied().unwrap_or(f32::NAN);
    1 + probs.iter().filter(|&&q| q > p).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_losses_are_the_cross_entropy_per_token() {
        // Logits [1, 3, 4]; the text's next tokens are 2 then 0.
        let rows = [
            [1.0f32, 2.0, 3.0, 0.5],
            [0.0, -1.0, 4.0, 2.0],
            [9.0, 9.0, 9.0, 9.0],
        ];
        let logits = Tensor::new(&rows, &candle_core::Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let losses = token_losses(&logits, &[7, 2, 0]).unwrap();
        for (row, (&target, &loss)) in rows.iter().zip([2usize, 0].iter().zip(&losses)) {
            let p = softmax(row, 1.0)[target];
            assert!((loss - -p.ln()).abs() < 1e-5, "{loss} vs {}", -p.ln());
        }
        assert_eq!(losses.len(), 2);
        assert_eq!(
            token_losses_from(&logits, &[7, 2, 0], 1).unwrap(),
            losses[1..]
        );
        assert!(token_losses(&logits, &[7]).unwrap().is_empty());
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 2), 2);
        assert_eq!(rank_of(&[0.1, 0.5, 0.4], 1), 1);
    }

    #[test]
    fn softmax_temperature_and_topk() {
        let l = [1.0f32, 3.0, 2.0];
        let p = softmax(&l, 1.0);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(
            top_k(&p, 2).iter().map(|t| t.0).collect::<Vec<_>>(),
            vec![1, 2]
        );
        // Higher temperature flattens the distribution: more entropy.
        assert!(entropy_bits(&softmax(&l, 2.0)) > entropy_bits(&p));
        assert_eq!(softmax(&l, 0.0), vec![0.0, 1.0, 0.0]);
        assert!((entropy_bits(&[0.5, 0.5]) - 1.0).abs() < 1e-6);
        assert_eq!(top_k(&p, 10).len(), 3);
    }

    #[test]
    fn logits_that_are_not_numbers_give_no_probabilities_and_no_entropy() {
        for t in [0.0, 1.0] {
            let p = softmax(&[1.0, f32::NAN, 2.0], t);
            assert!(p.iter().all(|v| v.is_nan()), "T = {t}: {p:?}");
            assert!(entropy_bits(&p).is_nan());
        }
        assert_eq!(softmax(&[0.0, f32::NEG_INFINITY], 1.0), vec![1.0, 0.0]);
    }
}
