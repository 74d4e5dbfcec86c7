//! `Capture`: the activations of one prompt, keyed by TransformerLens hook name.
//!
//! Every tensor has a leading batch dimension of 1, as in TransformerLens' `ActivationCache`. Stepping
//! appends only the new positions, so each entry is kept as a list of chunks along its position axis and
//! put together when read:
//! - position-major hooks ([1, pos, ...]) are concatenated along axis 1;
//! - attention hooks ([1, head, query_pos, key_pos]) are concatenated along the query axis, each chunk
//!   first padded on the key axis with the value a causal mask leaves there (0 for the pattern, −∞ for
//!   the scores), because a chunk's rows could only see the keys that existed when it was computed.

use candle_core::{DType, Result, Tensor};

use super::hooks::Layout;

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    layout: Layout,
    /// Chunks in position order. Positional: [1, n_i, ...]. Attention: [1, h, n_i, end_i] where end_i is
    /// the number of positions up to and including the chunk's last row.
    chunks: Vec<Tensor>,
}

/// Activations recorded by a forward pass, in the order the pass produced them.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    entries: Vec<Entry>,
    seq_len: usize,
}

impl Capture {
    /// Number of positions captured.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// Hook names present, in forward order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The whole tensor for `name`, or `None` if it was not captured.
    pub fn get(&self, name: &str) -> Option<Result<Tensor>> {
        let entry = self.entries.iter().find(|e| e.name == name)?;
        Some(self.assemble(entry))
    }

    /// The whole tensor for `name`; an error naming it if it was not captured.
    pub fn require(&self, name: &str) -> Result<Tensor> {
        self.get(name)
            .unwrap_or_else(|| Err(candle_core::Error::Msg(format!("{name} was not captured"))))
    }

    /// All entries, assembled, in forward order.
    pub fn tensors(&self) -> Result<Vec<(String, Tensor)>> {
        self.entries
            .iter()
            .map(|e| Ok((e.name.clone(), self.assemble(e)?)))
            .collect()
    }

    fn assemble(&self, entry: &Entry) -> Result<Tensor> {
        match entry.layout {
            Layout::Positional => cat_or_clone(&entry.chunks, 1),
            Layout::Attention { fill } => {
                let total = self.seq_len;
                let padded = entry
                    .chunks
                    .iter()
                    .map(|c| pad_keys(c, total, fill))
                    .collect::<Result<Vec<_>>>()?;
                cat_or_clone(&padded, 2)
            }
        }
    }

    /// Record `t`, laid out as `layout`, for the positions being added: [1, n_new, ...] or, for an
    /// attention tensor, [1, head, n_new, n_keys].
    pub(crate) fn push(&mut self, name: &str, layout: Layout, t: Tensor) {
        match self.entries.iter_mut().find(|e| e.name == name) {
            Some(e) => e.chunks.push(t),
            None => self.entries.push(Entry {
                name: name.to_string(),
                layout,
                chunks: vec![t],
            }),
        }
    }

    /// Mark `n` new positions as recorded (called once per forward pass, after all pushes).
    pub(crate) fn extend_len(&mut self, n: usize) {
        self.seq_len += n;
    }

    /// Keep only the first `len` positions.
    pub fn truncate(&mut self, len: usize) -> Result<()> {
        if len >= self.seq_len {
            return Ok(());
        }
        for entry in &mut self.entries {
            let axis = entry.layout.position_axis();
            let mut kept = Vec::with_capacity(entry.chunks.len());
            let mut start = 0;
            for chunk in entry.chunks.drain(..) {
                let n = chunk.dim(axis)?;
                if start >= len {
                    break;
                }
                let rows = n.min(len - start);
                let mut c = if rows == n {
                    chunk
                } else {
                    chunk.narrow(axis, 0, rows)?
                };
                if let Layout::Attention { .. } = entry.layout {
                    let keys = c.dim(3)?.min(len);
                    c = c.narrow(3, 0, keys)?;
                }
                kept.push(c);
                start += n;
            }
            entry.chunks = kept;
        }
        self.seq_len = len;
        Ok(())
    }

    /// Merge every entry's chunks into one, so repeated reads are cheap.
    pub fn compact(&mut self) -> Result<()> {
        for i in 0..self.entries.len() {
            if self.entries[i].chunks.len() > 1 {
                let whole = self.assemble(&self.entries[i])?;
                self.entries[i].chunks = vec![whole];
            }
        }
        Ok(())
    }

    /// Bytes held by the captured tensors.
    pub fn nbytes(&self) -> usize {
        self.entries
            .iter()
            .flat_map(|e| &e.chunks)
            .map(|c| c.elem_count() * c.dtype().size_in_bytes())
            .sum()
    }
}

fn cat_or_clone(chunks: &[Tensor], axis: usize) -> Result<Tensor> {
    match chunks {
        [one] => Ok(one.clone()),
        _ => Tensor::cat(chunks, axis),
    }
}

/// Pad the key axis (3) of an attention chunk [1, h, n, keys] to `total` keys with `fill`.
fn pad_keys(chunk: &Tensor, total: usize, fill: f32) -> Result<Tensor> {
    let (b, h, n, keys) = chunk.dims4()?;
    if keys == total {
        return Ok(chunk.clone());
    }
    let pad = Tensor::full(fill, (b, h, n, total - keys), chunk.device())?.to_dtype(DType::F32)?;
    Tensor::cat(&[chunk, &pad], 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn attention_chunks_are_padded_and_truncated() -> Result<()> {
        let dev = Device::Cpu;
        let mut c = Capture::default();
        // Two positions, then one more: rows [1,1,2,2] and [1,1,1,3].
        let att = Layout::Attention { fill: 0.0 };
        c.push("p", att, Tensor::new(&[[[[1f32, 0.], [0.5, 0.5]]]], &dev)?);
        c.push(
            "x",
            Layout::Positional,
            Tensor::new(&[[[1f32], [2.]]], &dev)?,
        );
        c.extend_len(2);
        c.push("p", att, Tensor::new(&[[[[0.2f32, 0.3, 0.5]]]], &dev)?);
        c.push("x", Layout::Positional, Tensor::new(&[[[3f32]]], &dev)?);
        c.extend_len(1);
        let p = c.get("p").unwrap()?;
        assert_eq!(p.dims(), &[1, 1, 3, 3]);
        assert_eq!(
            p.flatten_all()?.to_vec1::<f32>()?,
            vec![1., 0., 0., 0.5, 0.5, 0., 0.2, 0.3, 0.5]
        );
        assert_eq!(
            c.get("x").unwrap()?.flatten_all()?.to_vec1::<f32>()?,
            vec![1., 2., 3.]
        );

        c.truncate(1)?;
        assert_eq!(c.seq_len(), 1);
        assert_eq!(
            c.get("p").unwrap()?.flatten_all()?.to_vec1::<f32>()?,
            vec![1.]
        );
        assert_eq!(
            c.get("x").unwrap()?.flatten_all()?.to_vec1::<f32>()?,
            vec![1.]
        );
        assert!(c.get("missing").is_none());
        assert!(c
            .require("missing")
            .unwrap_err()
            .to_string()
            .contains("missing"));
        Ok(())
    }
}
