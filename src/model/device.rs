//! Choosing where the model runs. The default build is CPU-only; `--features cuda` / `metal` add GPUs.

use candle_core::Device;
use color_eyre::eyre::{Result, WrapErr};

use crate::error::hinted;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeviceChoice {
    /// The first GPU compiled in and present, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    Metal,
}

pub fn select(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => {
            if cfg!(feature = "cuda") && candle_core::utils::cuda_is_available() {
                if let Ok(dev) = Device::new_cuda(0) {
                    return Ok(dev);
                }
            }
            if cfg!(feature = "metal") && candle_core::utils::metal_is_available() {
                if let Ok(dev) = Device::new_metal(0) {
                    return Ok(dev);
                }
            }
            Ok(Device::Cpu)
        }
        DeviceChoice::Cuda => {
            if !cfg!(feature = "cuda") {
                return hinted(
                    "--device cuda: this glassbox was built without CUDA support",
                    "rebuild with `cargo build --release --features cuda`, or use --device cpu",
                );
            }
            Device::new_cuda(0).wrap_err("--device cuda: cannot open CUDA device 0")
        }
        DeviceChoice::Metal => {
            if !cfg!(feature = "metal") {
                return hinted(
                    "--device metal: this glassbox was built without Metal support",
                    "rebuild with `cargo build --release --features metal`, or use --device cpu",
                );
            }
            Device::new_metal(0).wrap_err("--device metal: cannot open Metal device 0")
        }
    }
}
