//! Rotary position embeddings (Su et al., RoFormer 2021) as curves: how fast each dimension pair turns,
//! and how the score of a query and key that match falls as they move apart (the long-range decay).
//!
//! Pair i of a head turns q and k by the angle position · θ_i, with θ_i = base^(−2i/d_head). The
//! score q·k then depends only on the distance Δ between the two positions: for a query and key
//! whose pairs are equal, q·R(Δ)k = Σ_i ‖q_i‖² cos(Δ·θ_i).

/// Wavelength of each pair in tokens (2π/θ_i): how far apart two positions are before pair i has turned
/// a whole circle. (pair index, wavelength).
pub fn wavelengths(freqs: &[f64]) -> Vec<(f64, f64)> {
    freqs
        .iter()
        .enumerate()
        .map(|(i, &f)| (i as f64, std::f64::consts::TAU / f))
        .collect()
}

/// The score of a query and an equal key (every pair of the same length) at distance Δ, as a fraction of
/// the score at Δ = 0: mean_i cos(Δ·θ_i). One point per distance in `distances`.
pub fn decay(freqs: &[f64], distances: &[f64]) -> Vec<(f64, f64)> {
    let n = freqs.len().max(1) as f64;
    distances
        .iter()
        .map(|&d| (d, freqs.iter().map(|&f| (d * f).cos()).sum::<f64>() / n))
        .collect()
}

/// About `n` distances from 1 to `max`, evenly spaced on a log axis, each a whole number of tokens, no
/// repeats.
pub fn log_distances(max: usize, n: usize) -> Vec<f64> {
    let max = max.max(1) as f64;
    let mut out: Vec<f64> = (0..n.max(2))
        .map(|i| (max.ln() * i as f64 / (n.max(2) - 1) as f64).exp().round())
        .collect();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wavelengths_are_two_pi_over_the_frequency() {
        let w = wavelengths(&[1.0, 0.5]);
        assert_eq!(w[0].0, 0.0);
        assert!((w[0].1 - std::f64::consts::TAU).abs() < 1e-12);
        assert!((w[1].1 - 2.0 * std::f64::consts::TAU).abs() < 1e-12);
    }

    #[test]
    fn decay_is_one_at_distance_zero_and_the_mean_cosine_after() {
        let freqs = [1.0, 0.01];
        let d = decay(&freqs, &[0.0, 3.0]);
        assert_eq!(d[0], (0.0, 1.0));
        assert!((d[1].1 - (3f64.cos() + 0.03f64.cos()) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn decay_matches_rotating_a_query_and_key_by_hand() {
        // A query q = k with every pair (1, 1), rotated as RoPE does at positions p and p + Δ: the
        // score, relative to Δ = 0, is the mean cosine.
        let freqs: Vec<f64> = (0..4)
            .map(|i| 10000f64.powf(-2.0 * i as f64 / 8.0))
            .collect();
        let rotate = |pos: f64| -> Vec<(f64, f64)> {
            freqs
                .iter()
                .map(|&f| {
                    let (s, c) = (pos * f).sin_cos();
                    (c - s, s + c) // (1, 1) turned by pos·f
                })
                .collect()
        };
        let dot = |a: &[(f64, f64)], b: &[(f64, f64)]| -> f64 {
            a.iter().zip(b).map(|(x, y)| x.0 * y.0 + x.1 * y.1).sum()
        };
        let (p, delta) = (7.0, 5.0);
        let q = rotate(p + delta);
        let k = rotate(p);
        let at0 = dot(&rotate(p), &rotate(p));
        let want = dot(&q, &k) / at0;
        let got = decay(&freqs, &[delta])[0].1;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn log_distances_span_one_to_max() {
        let d = log_distances(8192, 50);
        assert_eq!(d.first(), Some(&1.0));
        assert_eq!(d.last(), Some(&8192.0));
        assert!(d.windows(2).all(|w| w[0] < w[1]));
    }
}
