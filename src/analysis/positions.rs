//! Positional encodings as heatmaps: a learned W_pos and the cosine similarity of its rows, the
//! sinusoidal table of the original Transformer, and the angles of a rotary model's rotations.

use candle_core::{Result, Tensor};

use super::heatmap::{Heatmap, Scale};

/// The learned position embedding W_pos [n_pos, d_model] as a heatmap (first `n_pos` rows).
pub fn position_embedding(w_pos: &Tensor, n_pos: usize) -> Result<Heatmap> {
    let (n_ctx, d) = w_pos.dims2()?;
    let n = n_pos.clamp(1, n_ctx);
    let values = w_pos.narrow(0, 0, n)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(Heatmap::signed(
        "learned W_pos".into(),
        n,
        d,
        values,
        Vec::new(),
    ))
}

/// Cosine similarity between the position embeddings of positions 0..n_pos: [n_pos, n_pos].
pub fn position_similarity(w_pos: &Tensor, n_pos: usize) -> Result<Heatmap> {
    let (n_ctx, d) = w_pos.dims2()?;
    let n = n_pos.clamp(1, n_ctx);
    let rows = w_pos.narrow(0, 0, n)?.to_vec2::<f32>()?;
    let norms: Vec<f32> = rows
        .iter()
        .map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12))
        .collect();
    let mut values = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let dot: f32 = (0..d).map(|k| rows[i][k] * rows[j][k]).sum();
            values[i * n + j] = dot / (norms[i] * norms[j]);
        }
    }
    let mut map = Heatmap::signed(
        "cosine similarity of W_pos rows".into(),
        n,
        n,
        values,
        Vec::new(),
    );
    map.scale = Scale::Signed { max_abs: 1.0 };
    map.col_axis = "position".into();
    Ok(map)
}

/// The sinusoidal encoding of "Attention Is All You Need" (Vaswani et al., 2017):
/// PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)). [n_pos, d]
pub fn sinusoidal(n_pos: usize, d: usize) -> Heatmap {
    let mut values = vec![0f32; n_pos * d];
    for p in 0..n_pos {
        for k in 0..d {
            let i2 = (k - k % 2) as f64;
            let angle = p as f64 / 10000f64.powf(i2 / d as f64);
            values[p * d + k] = if k % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
        }
    }
    let mut map = Heatmap::signed(
        "sinusoidal (Vaswani 2017)".into(),
        n_pos,
        d,
        values,
        Vec::new(),
    );
    map.scale = Scale::Signed { max_abs: 1.0 };
    map
}

/// A rotary embedding's angles as the rotation applies them: cos (or sin) of position × frequency, over
/// positions × dimension pairs (pair i turns dimensions i and i + d_head/2 by position · freqs[i]).
pub fn rotary_angles(freqs: &[f64], n_pos: usize, sine: bool) -> Heatmap {
    let d = freqs.len();
    let mut values = Vec::with_capacity(n_pos * d);
    for p in 0..n_pos {
        for &f in freqs {
            let angle = p as f64 * f;
            values.push(if sine { angle.sin() } else { angle.cos() } as f32);
        }
    }
    let title = if sine {
        "rotary: sin(position × θ_i)"
    } else {
        "rotary: cos(position × θ_i)"
    };
    let mut map = Heatmap::signed(title.into(), n_pos, d, values, Vec::new());
    map.col_axis = "dimension pair".into();
    map.scale = Scale::Signed { max_abs: 1.0 };
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotary_angles_follow_the_frequencies() {
        let m = rotary_angles(&[1.0, 0.01], 4, false);
        assert_eq!((m.rows, m.cols), (4, 2));
        assert!((m.get(3, 0).unwrap() - 3f32.cos()).abs() < 1e-6);
        assert!((m.get(3, 1).unwrap() - 0.03f32.cos()).abs() < 1e-6);
        let s = rotary_angles(&[1.0], 3, true);
        assert!((s.get(2, 0).unwrap() - 2f32.sin()).abs() < 1e-6);
    }

    #[test]
    fn sinusoidal_matches_the_formula_at_known_points() {
        let m = sinusoidal(8, 4);
        assert_eq!(m.get(0, 0), Some(0.0));
        assert_eq!(m.get(0, 1), Some(1.0));
        assert!((m.get(3, 0).unwrap() - 3f32.sin()).abs() < 1e-6);
        // dims 2,3 use the frequency 1/10000^(2/4) = 1/100.
        assert!((m.get(5, 3).unwrap() - (0.05f32).cos()).abs() < 1e-6);
    }

    #[test]
    fn cosine_similarity_is_one_on_the_diagonal_and_signed() {
        let w = Tensor::new(
            &[[1f32, 0.0], [0.0, 2.0], [-3.0, 0.0]],
            &candle_core::Device::Cpu,
        )
        .unwrap();
        let m = position_similarity(&w, 3).unwrap();
        for i in 0..3 {
            assert!((m.get(i, i).unwrap() - 1.0).abs() < 1e-6);
        }
        assert!(m.get(0, 1).unwrap().abs() < 1e-6);
        assert!((m.get(0, 2).unwrap() + 1.0).abs() < 1e-6);
    }
}
