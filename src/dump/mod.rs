//! The file `glassbox dump` writes: the hooks a names filter selects, under their TransformerLens names,
//! plus `input_ids` (I64 [1, seq]), as safetensors that `safetensors.torch.load_file` reads.
//!
//! Each tensor is written as soon as the forward pass computes it and then dropped, so memory holds the
//! weights, one layer's activations and the logits, not the whole capture (1.8 GB for GPT-2 at 1,024
//! tokens).

pub mod writer;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Storage, Tensor};
use color_eyre::eyre::Result;
use safetensors::Dtype;

use crate::model::hooks::{all_hook_shapes, HookPoint, NamesFilter};
use crate::model::{Hook, Model};
use writer::StreamingWriter;

/// Where a dump goes: the file to write (a temporary one, see [`crate::fsutil::write_atomic`]) and the
/// path that messages name.
pub struct DumpFile<'a> {
    pub write_to: &'a Path,
    pub shown_as: &'a Path,
}

/// What a dump wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Dumped {
    /// Tensors in the file, `input_ids` included.
    pub tensors: usize,
    /// The first hook written (in forward order) holding NaN or ±∞, where the model's numbers
    /// stopped being numbers; the file keeps them as they are. The mask's −∞ in
    /// `hook_attn_scores` does not count.
    pub first_non_finite: Option<String>,
}

/// Run `ids` through `model` once and write the hooks `filter` selects and `input_ids` to `file`, with
/// `metadata` in the header. On error the file is incomplete: write through
/// [`crate::fsutil::write_atomic`].
pub fn dump_prompt(
    model: &Model,
    ids: &[u32],
    filter: &NamesFilter,
    metadata: &HashMap<String, String>,
    file: DumpFile,
) -> Result<Dumped> {
    // Before the file exists: its size grows with the square of the prompt's length.
    model.check_prompt(ids)?;
    let seq = ids.len();
    // input_ids first, so every tensor starts 8-byte aligned whatever the F32 tensors add up to.
    let mut tensors: Vec<(String, Dtype, Vec<usize>)> =
        vec![("input_ids".into(), Dtype::I64, vec![1, seq])];
    tensors.extend(
        all_hook_shapes(model.config(), seq)
            .into_iter()
            .filter(|(name, _)| filter.matches(name))
            .map(|(name, shape)| (name, Dtype::F32, shape)),
    );
    let mut writer = StreamingWriter::create(file.write_to, file.shown_as, &tensors, metadata)?;
    let ids_i64: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    writer.write_i64("input_ids", &[1, seq], &ids_i64)?;
    let mut sink = FileSink {
        writer,
        failed: None,
        first_non_finite: None,
    };
    let run = model.record(ids, &mut sink);
    // A write error stopped the pass: report it as such, not as a failure of the model.
    if let Some(e) = sink.failed {
        return Err(e);
    }
    run?;
    sink.writer.finish()?;
    Ok(Dumped {
        tensors: tensors.len(),
        first_non_finite: sink.first_non_finite,
    })
}

/// Sends each hook the header names straight to the file.
struct FileSink {
    writer: StreamingWriter,
    /// The first hook written that holds NaN or ±∞ (see [`Dumped`]).
    first_non_finite: Option<String>,
    /// The first write error, kept whole; the pass only sees that it must stop.
    failed: Option<color_eyre::Report>,
}

impl FileSink {
    fn write(&mut self, name: &str, t: &Tensor) -> candle_core::Result<()> {
        if !self.writer.has(name) {
            return Ok(());
        }
        let t = t
            .to_device(&Device::Cpu)?
            .to_dtype(DType::F32)?
            .contiguous()?;
        let (storage, layout) = t.storage_and_layout();
        let Storage::Cpu(cpu) = &*storage else {
            candle_core::bail!("{name} is not on the CPU after moving it there");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{name} is not contiguous after making it so");
        };
        let values = &cpu.as_slice::<f32>()?[start..end];
        if self.first_non_finite.is_none() {
            // A read of what is about to be written anyway; the scores' mask is −∞ by design.
            let masked_ok = name.ends_with("hook_attn_scores");
            let bad = |v: &f32| v.is_nan() || (v.is_infinite() && !(masked_ok && *v < 0.0));
            if values.iter().any(bad) {
                self.first_non_finite = Some(name.to_string());
            }
        }
        self.writer.write_f32(name, t.dims(), values).map_err(|e| {
            self.failed = Some(e);
            candle_core::Error::Msg(format!("could not write {name}"))
        })
    }
}

/// One pass over the whole prompt: every attention row already spans every key, with the mask's
/// value above the diagonal, so nothing needs padding before it is written.
impl Hook for FileSink {
    fn wants(&self, point: HookPoint) -> bool {
        self.writer.has(&point.name())
    }

    fn hook(
        &mut self,
        point: HookPoint,
        _start: usize,
        value: Tensor,
    ) -> candle_core::Result<Tensor> {
        self.write(&point.name(), &value)?;
        Ok(value)
    }
}
