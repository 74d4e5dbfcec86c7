//! Rotary position embeddings in Hugging Face's rotate-half layout: dimension i of a head turns together
//! with dimension i + d_head/2, by the angle position × θ^(−2i/d_head).

use candle_core::{Device, Result, Tensor};

#[derive(Debug, Clone)]
pub struct Rope {
    /// The rotation frequency of each dimension pair, θ^(−2i/d_head) for i < d_head/2.
    inv_freq: Vec<f64>,
    device: Device,
}

impl Rope {
    pub fn new(d_head: usize, theta: f64, device: &Device) -> Result<Self> {
        let half = d_head / 2;
        let inv_freq = (0..half)
            .map(|i| 1.0 / theta.powf((2 * i) as f64 / d_head as f64))
            .collect();
        Ok(Self {
            inv_freq,
            device: device.clone(),
        })
    }

    /// The frequencies of the dimension pairs, [d_head / 2].
    pub fn frequencies(&self) -> &[f64] {
        &self.inv_freq
    }

    /// cos and sin of every angle for positions start..start+t, each [t, d_head/2]: one pass computes
    /// them once for every layer's q and k. The angles are computed in f64, so long positions lose no
    /// precision before the cast.
    pub fn tables(&self, start: usize, t: usize) -> Result<RopeTables> {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(t * half);
        let mut sin = Vec::with_capacity(t * half);
        for p in start..start + t {
            for &f in &self.inv_freq {
                let angle = p as f64 * f;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Ok(RopeTables {
            cos: Tensor::from_vec(cos, (t, half), &self.device)?,
            sin: Tensor::from_vec(sin, (t, half), &self.device)?,
        })
    }

    /// Rotate x [b, heads, t, d_head] (contiguous) as positions start..start+t.
    pub fn rotate(&self, x: &Tensor, start: usize) -> Result<Tensor> {
        self.tables(start, x.dim(2)?)?.rotate(x)
    }
}

/// The cos and sin of one pass's positions, [t, d_head/2] each.
#[derive(Debug, Clone)]
pub struct RopeTables {
    cos: Tensor,
    sin: Tensor,
}

impl RopeTables {
    /// Rotate x [b, heads, t, d_head] (contiguous) by these positions' angles.
    pub fn rotate(&self, x: &Tensor) -> Result<Tensor> {
        let (cos, sin) = (self.cos.to_dtype(x.dtype())?, self.sin.to_dtype(x.dtype())?);
        candle_nn::rotary_emb::rope(x, &cos, &sin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the rotate-half formula written out: x·cos + rotate_half(x)·sin.
    #[test]
    fn rotates_pairs_half_a_head_apart() -> Result<()> {
        let dev = Device::Cpu;
        let rope = Rope::new(4, 100.0, &dev)?;
        let x = Tensor::new(&[[[[1f32, 2., 3., 4.], [0.5, -1., 2., 1.]]]], &dev)?; // [1, 1, 2, 4]
        let got = rope.rotate(&x, 3)?.flatten_all()?.to_vec1::<f32>()?;
        let xs = [[1f64, 2., 3., 4.], [0.5, -1., 2., 1.]];
        let mut want = Vec::new();
        for (row, p) in xs.iter().zip([3.0f64, 4.0]) {
            let f = [1.0, 1.0 / 10.0]; // 100^(-0/4), 100^(-2/4)
            for i in 0..4 {
                let (a, pair) = (p * f[i % 2], if i < 2 { -row[i + 2] } else { row[i - 2] });
                want.push((row[i] * a.cos() + pair * a.sin()) as f32);
            }
        }
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
        Ok(())
    }
}
