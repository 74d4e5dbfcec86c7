//! Memory-mapped safetensors that give each tensor's pages back once it has been copied out.
//!
//! candle copies every tensor it loads into memory it owns. The map's pages that the copy read stay
//! resident, and count in the process's memory, until the map is dropped after the whole model has
//! loaded: for GPT-2 small that is 500 MB of map beside the 500 MB of weights, twice the memory the
//! model needs. Releasing each tensor's pages right after its copy keeps the map's share to about one
//! tensor. The file's data stays in the page cache, where the kernel can reclaim it.
//!
//! It also refuses a tensor not stored as floating point: candle would turn integers (or 8-bit
//! floats that need their scales) into float32 without a word, and the model would run on them.

use std::sync::{Arc, OnceLock};

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use safetensors::Dtype;

/// The name and stored type of the first tensor refused for not being floating point.
pub(crate) type Refused = Arc<OnceLock<(String, Dtype)>>;

pub(crate) struct ReleasingMmap {
    st: MmapedSafetensors,
    /// Shared with the loader, which says which tensor it was rather than candle's error.
    refused: Refused,
}

impl ReleasingMmap {
    pub(crate) fn new(st: MmapedSafetensors, refused: Refused) -> Self {
        Self { st, refused }
    }

    /// Tell the kernel this process no longer needs the pages that lie wholly inside `name`'s data.
    fn release(&self, name: &str) {
        if let Ok(view) = self.st.get(name) {
            release_pages(view.data());
        }
    }

    /// Only float16, bfloat16, float32 and float64 weights are read.
    fn check_float(&self, name: &str) -> Result<()> {
        let Ok(view) = self.st.get(name) else {
            return Ok(()); // candle's own lookup says it is missing
        };
        let dtype = view.dtype();
        if matches!(dtype, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64) {
            return Ok(());
        }
        let _ = self.refused.set((name.to_string(), dtype));
        Err(candle_core::Error::Msg(format!(
            "tensor {name} is stored as {dtype:?}, not as floating point"
        )))
    }
}

impl SimpleBackend for ReleasingMmap {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        self.check_float(name)?;
        let t = SimpleBackend::get(&self.st, s, name, h, dtype, dev)?;
        self.release(name);
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        self.check_float(name)?;
        let t = SimpleBackend::get_unchecked(&self.st, name, dtype, dev)?;
        self.release(name);
        Ok(t)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        SimpleBackend::contains_tensor(&self.st, name)
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_pages(bytes: &[u8]) {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let start = (bytes.as_ptr() as usize).next_multiple_of(page);
    let end = (bytes.as_ptr() as usize + bytes.len()) / page * page;
    if end > start {
        // SAFETY: [start, end) lies inside a read-only file mapping that stays mapped. MADV_DONTNEED
        // drops this process's copies of the pages; reading them again faults the file's bytes back in,
        // so the mapping's contents never change, and no tensor points into it (candle copied them).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_pages(_bytes: &[u8]) {}
