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

/// The device chosen, and, when `auto` had a GPU back end compiled in but fell back to the CPU, why
/// (one line per back end tried, for the user: "no CUDA device: …").
#[derive(Debug, Clone)]
pub struct Selection {
    pub device: Device,
    pub fallback: Option<String>,
}

pub fn select(choice: DeviceChoice) -> Result<Device> {
    Ok(choose(choice)?.device)
}

/// [`select`], with the reason `auto` ended up on the CPU although a GPU back end is compiled in.
pub fn choose(choice: DeviceChoice) -> Result<Selection> {
    let device = match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Auto => return Ok(auto()),
        DeviceChoice::Cuda => {
            if !cfg!(feature = "cuda") {
                return hinted(
                    "--device cuda: this glassbox was built without CUDA support",
                    "rebuild with `cargo build --release --features cuda`, or use --device cpu",
                );
            }
            match Device::new_cuda(0) {
                Ok(dev) => dev,
                Err(e) => {
                    return hinted(
                        format!("--device cuda: cannot open CUDA device 0: {}", one_line(&e)),
                        "check that an NVIDIA GPU and its driver are there (nvidia-smi), or use --device cpu",
                    )
                }
            }
        }
        DeviceChoice::Metal => {
            if !cfg!(feature = "metal") {
                return hinted(
                    "--device metal: this glassbox was built without Metal support",
                    "rebuild with `cargo build --release --features metal`, or use --device cpu",
                );
            }
            Device::new_metal(0).wrap_err("--device metal: cannot open Metal device 0")?
        }
    };
    Ok(Selection {
        device,
        fallback: None,
    })
}

/// The first GPU compiled in that opens, else the CPU with the reasons the GPUs did not open.
fn auto() -> Selection {
    type Open = fn(usize) -> candle_core::Result<Device>;
    let gpus: [(bool, &str, Open); 2] = [
        (cfg!(feature = "cuda"), "CUDA", Device::new_cuda),
        (cfg!(feature = "metal"), "Metal", Device::new_metal),
    ];
    let mut reasons = Vec::new();
    for (_, name, open) in gpus.into_iter().filter(|(built, _, _)| *built) {
        match open(0) {
            Ok(device) => {
                return Selection {
                    device,
                    fallback: None,
                }
            }
            Err(e) => reasons.push(format!("no {name} device ({})", one_line(&e))),
        }
    }
    Selection {
        device: Device::Cpu,
        fallback: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

/// An error's message on one line (candle's CUDA errors carry the driver's own words), without the
/// backtrace candle attaches when RUST_BACKTRACE is set.
fn one_line(e: &candle_core::Error) -> String {
    let e = match e {
        candle_core::Error::WithBacktrace { inner, .. } => inner,
        e => e,
    };
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
