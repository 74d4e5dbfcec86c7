//! A safetensors file written one tensor at a time.
//!
//! The safetensors crate serialises from tensors that are all in memory at once. A dump of every hook of
//! GPT-2 at 1,024 tokens is 1.8 GB, so instead the header is written first, from the names, dtypes and
//! shapes known before the pass starts, and each tensor's bytes go to their place in the file as soon as
//! the forward pass produces them. The layout is the format's own: an 8-byte little-endian header length,
//! the JSON header padded with spaces to a multiple of 8 bytes, then the data, each tensor a contiguous
//! byte range `data_offsets` = [begin, end) with no gaps.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, Result, WrapErr};
use safetensors::Dtype;

/// One tensor's place in the file.
#[derive(Debug)]
struct Slot {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    /// Byte range in the data section.
    begin: u64,
    end: u64,
    written: bool,
}

/// Values converted to bytes at a time, on big-endian machines.
#[cfg(not(target_endian = "little"))]
const CHUNK: usize = 16 * 1024;

pub struct StreamingWriter {
    file: BufWriter<File>,
    /// The path messages name (the file itself may be a temporary one beside it).
    shown: PathBuf,
    /// Where the data section starts in the file.
    data_start: u64,
    /// Where the next byte written lands: tensors written in their header order need no seek, so a
    /// dump can also stream into a pipe (`-o /dev/stdout`).
    position: u64,
    slots: Vec<Slot>,
}

impl StreamingWriter {
    /// Create `path` with a header for `tensors` (name, dtype, shape), laid out in the given order.
    /// Messages call the file `shown`.
    pub fn create(
        path: &Path,
        shown: &Path,
        tensors: &[(String, Dtype, Vec<usize>)],
        metadata: &HashMap<String, String>,
    ) -> Result<Self> {
        let mut slots = Vec::with_capacity(tensors.len());
        let mut offset = 0u64;
        for (name, dtype, shape) in tensors {
            if name == "__metadata__" || slots.iter().any(|s: &Slot| &s.name == name) {
                bail!(
                    "cannot write two tensors named {name} to {}",
                    shown.display()
                );
            }
            // Only whole-byte dtypes (F32, I64) are written here.
            let bytes = shape
                .iter()
                .try_fold(dtype.bitsize() / 8, |n, &d| n.checked_mul(d))
                .and_then(|n| u64::try_from(n).ok())
                .filter(|&n| offset.checked_add(n).is_some());
            let Some(bytes) = bytes else {
                bail!(
                    "{name} of shape {shape:?} is too large to write to {}",
                    shown.display()
                );
            };
            slots.push(Slot {
                name: name.clone(),
                dtype: *dtype,
                shape: shape.clone(),
                begin: offset,
                end: offset + bytes,
                written: false,
            });
            offset += bytes;
        }

        let mut header = serde_json::Map::new();
        header.insert("__metadata__".into(), serde_json::to_value(metadata)?);
        for s in &slots {
            header.insert(
                s.name.clone(),
                serde_json::json!({
                    "dtype": s.dtype,
                    "shape": s.shape,
                    "data_offsets": [s.begin, s.end],
                }),
            );
        }
        let mut header = serde_json::to_vec(&header)?;
        header.resize(header.len().next_multiple_of(8), b' ');

        let file =
            File::create(path).wrap_err_with(|| format!("cannot create {}", shown.display()))?;
        let mut file = BufWriter::with_capacity(1 << 20, file);
        let data_start = 8 + header.len() as u64;
        let io = (|| {
            file.write_all(&(header.len() as u64).to_le_bytes())?;
            file.write_all(&header)?;
            // The whole length now, so a tensor can be written at its offset in any order. Not for a
            // device or a pipe, which have no length (they take the tensors in header order).
            if file.get_ref().metadata()?.is_file() {
                file.get_ref().set_len(data_start + offset)?;
            }
            Ok::<(), std::io::Error>(())
        })();
        io.wrap_err_with(|| format!("writing {}", shown.display()))?;
        Ok(Self {
            file,
            shown: shown.to_path_buf(),
            data_start,
            position: data_start,
            slots,
        })
    }

    /// Whether the header has a tensor called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.slots.iter().any(|s| s.name == name)
    }

    /// Write F32 tensor `name`; `shape` must be the one in the header.
    pub fn write_f32(&mut self, name: &str, shape: &[usize], values: &[f32]) -> Result<()> {
        self.write_with(name, Dtype::F32, shape, |file| {
            // On little-endian machines the values' memory is already the file's bytes: no copy.
            #[cfg(target_endian = "little")]
            file.write_all(bytemuck::cast_slice(values))?;
            #[cfg(not(target_endian = "little"))]
            for chunk in values.chunks(CHUNK) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
                file.write_all(&bytes)?;
            }
            Ok(values.len() as u64 * 4)
        })
    }

    /// Write I64 tensor `name`; `shape` must be the one in the header.
    pub fn write_i64(&mut self, name: &str, shape: &[usize], values: &[i64]) -> Result<()> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.write_with(name, Dtype::I64, shape, |file| {
            file.write_all(&bytes)?;
            Ok(bytes.len() as u64)
        })
    }

    /// Seek to `name`'s range and let `fill` write its bytes; it returns how many it wrote.
    fn write_with(
        &mut self,
        name: &str,
        dtype: Dtype,
        shape: &[usize],
        fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<u64>,
    ) -> Result<()> {
        let Some(i) = self.slots.iter().position(|s| s.name == name) else {
            bail!("{name} is not in the header of {}", self.shown.display());
        };
        let slot = &self.slots[i];
        if slot.shape != shape || slot.dtype != dtype || slot.written {
            bail!(
                "{name}: expected one {:?} tensor of shape {:?}, got {dtype:?} {shape:?}{}",
                slot.dtype,
                slot.shape,
                if slot.written { " a second time" } else { "" }
            );
        }
        let (begin, end) = (slot.begin, slot.end);
        let at = self.data_start + begin;
        let seek = if self.position == at {
            Ok(at)
        } else {
            self.file.seek(SeekFrom::Start(at))
        };
        let written = seek
            .and_then(|_| fill(&mut self.file))
            .wrap_err_with(|| format!("writing {}", self.shown.display()))?;
        self.position = at + written;
        if written != end - begin {
            bail!(
                "{name}: {written} bytes for a tensor of {} bytes",
                end - begin
            );
        }
        self.slots[i].written = true;
        Ok(())
    }

    /// Check that every tensor of the header was written, and flush the file.
    pub fn finish(mut self) -> Result<()> {
        if let Some(s) = self.slots.iter().find(|s| !s.written) {
            bail!("{} was never written to {}", s.name, self.shown.display());
        }
        self.file
            .flush()
            .wrap_err_with(|| format!("writing {}", self.shown.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_with_the_safetensors_crate() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.safetensors");
        let tensors = vec![
            ("a".to_string(), Dtype::F32, vec![2, 3]),
            ("ids".to_string(), Dtype::I64, vec![1, 2]),
            ("b".to_string(), Dtype::F32, vec![1]),
        ];
        let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
        let mut w = StreamingWriter::create(&path, &path, &tensors, &meta)?;
        // Not in header order.
        w.write_f32("b", &[1], &[7.0])?;
        w.write_i64("ids", &[1, 2], &[5, 9])?;
        let a_values: Vec<f32> = (0..6).map(|v| v as f32).collect();
        w.write_f32("a", &[2, 3], &a_values)?;
        w.finish()?;
        let a: Vec<u8> = a_values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ids: Vec<u8> = [5i64, 9].iter().flat_map(|v| v.to_le_bytes()).collect();

        let bytes = std::fs::read(&path)?;
        let (_, meta_read) = safetensors::SafeTensors::read_metadata(&bytes)?;
        assert_eq!(meta_read.metadata().as_ref().unwrap()["format"], "pt");
        let st = safetensors::SafeTensors::deserialize(&bytes)?;
        let a_read = st.tensor("a")?;
        assert_eq!(a_read.shape(), &[2, 3]);
        assert_eq!(a_read.data(), &a[..]);
        assert_eq!(st.tensor("ids")?.data(), &ids[..]);
        assert_eq!(st.tensor("b")?.data(), &7f32.to_le_bytes());
        Ok(())
    }

    #[test]
    fn wrong_shape_dtype_or_length_repeats_and_gaps_are_errors() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.safetensors");
        let tensors = vec![
            ("a".to_string(), Dtype::F32, vec![2]),
            ("b".to_string(), Dtype::F32, vec![1]),
        ];
        let mut w = StreamingWriter::create(&path, &path, &tensors, &HashMap::new())?;
        assert!(w.write_f32("a", &[3], &[0.0; 3]).is_err());
        assert!(w.write_f32("a", &[2], &[0.0]).is_err()); // too few values
        assert!(w.write_i64("a", &[2], &[0; 2]).is_err());
        assert!(w.write_f32("c", &[1], &[0.0]).is_err());
        let mut w = StreamingWriter::create(&path, &path, &tensors, &HashMap::new())?;
        w.write_f32("a", &[2], &[1.0, 2.0])?;
        assert!(w.write_f32("a", &[2], &[1.0, 2.0]).is_err());
        let err = w.finish().unwrap_err().to_string();
        assert!(err.contains("b was never written"), "{err}");
        Ok(())
    }
}
