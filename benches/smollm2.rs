//! SmolLM2-135M-Instruct (GGUF, Llama family): glassbox against Hugging Face transformers on the same file.
//!
//!   eval "$(tools/fetch_smollm2.sh)" && export GLASSBOX_SMOLLM2
//!   cargo bench --bench smollm2                 # load, capture at 256/1024, one step at 256, dump peak RSS
//!   cargo bench --bench smollm2 -- --runs 3     # fewer runs
//!
//! Measured, float32 on the CPU, every hook captured (NamesFilter::All):
//!   * load to first logits, whole process: `glassbox inspect --model FILE --prompt Hello --top 1`, run
//!     `--load-runs` times (after one untimed run), median of the wall times;
//!   * capture at 256 and 1024 random tokens (ids 17.. from a fixed seed, so no special token), one
//!     warm-up, then the median of `--runs`;
//!   * one-token step at 256 context: `Model::step` on a copy of a 255-token trace (KV cache kept);
//!   * peak RSS (the kernel's VmHWM) of a fresh process that loads the file and does what `glassbox dump`
//!     does at 1024 tokens: every hook streamed to a safetensors file.
//!
//! Prints a JSON object (stdout) and a summary (stderr). Without GLASSBOX_SMOLLM2 it says so and exits 0.
//! The transformers side is tools/bench_smollm2_hf.py; BENCHMARKS.md has both.

mod common;

use common::{arg, median, peak_rss_mb, random_ids, step_times};
use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

use candle_core::{Device, Tensor};
use glassbox::model::hooks::NamesFilter;
use glassbox::model::Model;

/// Ids 0–16 are SmolLM2's special tokens; random prompts stay clear of them.
const FIRST_ORDINARY_ID: u64 = 17;

fn load(path: &str) -> Model {
    glassbox::model::load(Some(path), &Device::Cpu)
        .unwrap()
        .model
}

fn main() {
    let Ok(path) = std::env::var("GLASSBOX_SMOLLM2") else {
        println!(
            "GLASSBOX_SMOLLM2 is not set: nothing to measure (eval \"$(tools/fetch_smollm2.sh)\" sets it)"
        );
        return;
    };
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(5);
    let load_runs: usize = arg("--load-runs").and_then(|v| v.parse().ok()).unwrap_or(5);
    // As glassbox's batch commands do at start-up. SAFETY: no other thread exists yet.
    unsafe { glassbox::malloc::reuse_freed_buffers() };

    // Child mode: what `glassbox dump` does at N tokens, in a fresh process that loads the file: every
    // hook streamed to a safetensors file. Prints the peak RSS, the time of the pass with the writing,
    // the file's size and the number of tensors.
    // The matrix products of one block and the unembedding at N tokens, alone: how fast candle's CPU
    // matmul is on these shapes (tools/bench_smollm2_hf.py --gemm N times torch on the same ones).
    if let Some(n) = arg("--gemm").and_then(|v| v.parse::<usize>().ok()) {
        let dev = Device::Cpu;
        let mut out = serde_json::Map::new();
        for (name, k, m) in [
            ("q_proj", 576, 576),
            ("k_proj", 576, 192),
            ("gate_proj", 576, 1536),
            ("down_proj", 1536, 576),
            ("unembed", 576, 49152),
        ] {
            let x = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (m, k), &dev).unwrap(); // [out, in], used transposed
            drop(x.matmul(&w.t().unwrap()).unwrap());
            let times: Vec<f64> = (0..runs.max(5))
                .map(|_| {
                    let t = Instant::now();
                    drop(x.matmul(&w.t().unwrap()).unwrap());
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let ms = median(times);
            let gflops = 2.0 * (n * k * m) as f64 / ms / 1e6;
            out.insert(name.into(), serde_json::json!({"ms": ms, "gflops": gflops}));
        }
        println!("{}", serde_json::to_string_pretty(&out).unwrap());
        return;
    }

    // Profiling mode (`perf record … -- --profile 256`): repeated full captures at N tokens.
    if let Some(n) = arg("--profile").and_then(|v| v.parse::<usize>().ok()) {
        let model = load(&path);
        let ids = random_ids(n, FIRST_ORDINARY_ID, model.config().d_vocab, n as u64);
        let t = Instant::now();
        let filter = arg("--names").map_or(NamesFilter::All, |spec| NamesFilter::parse(&spec));
        for _ in 0..runs {
            drop(model.trace(&ids, filter.clone()).unwrap());
        }
        println!(
            "{:.1} ms per capture",
            t.elapsed().as_secs_f64() * 1e3 / runs as f64
        );
        return;
    }

    if let Some(n) = arg("--peak-dump").and_then(|v| v.parse::<usize>().ok()) {
        let model = load(&path);
        let after_load = peak_rss_mb();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dump.safetensors");
        let ids = random_ids(n, FIRST_ORDINARY_ID, model.config().d_vocab, 1);
        let t = Instant::now();
        let file = glassbox::dump::DumpFile {
            write_to: &out,
            shown_as: &out,
        };
        let written =
            glassbox::dump::dump_prompt(&model, &ids, &NamesFilter::All, &HashMap::new(), file)
                .unwrap()
                .tensors;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let file_mb = std::fs::metadata(&out).map_or(f64::NAN, |m| m.len() as f64 / 1e6);
        println!(
            "{} {} {} {} {}",
            peak_rss_mb(),
            after_load,
            ms,
            file_mb,
            written
        );
        return;
    }

    // Load to first logits, whole process, through the real binary.
    let exe = env!("CARGO_BIN_EXE_glassbox");
    let inspect = || {
        let t = Instant::now();
        let out = Command::new(exe)
            .args([
                "inspect", "--model", &path, "--prompt", "Hello", "--top", "1",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "glassbox inspect failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed().as_secs_f64()
    };
    inspect(); // warm-up: the file in the page cache
    let load_times: Vec<f64> = (0..load_runs).map(|_| inspect()).collect();
    let load_s = median(load_times.clone());

    let t0 = Instant::now();
    let model = load(&path);
    let load_in_process_s = t0.elapsed().as_secs_f64();
    let cfg = model.config().clone();

    // Every hook, and only what transformers returns with output_attentions and output_hidden_states
    // (every pattern, the residual stream between blocks, the logits).
    let like_hf = NamesFilter::parse(
        "blocks.*.attn.hook_pattern, blocks.*.hook_resid_pre, blocks.*.hook_resid_post, logits",
    );
    let time_capture = |n: usize, filter: &NamesFilter| -> Vec<f64> {
        let ids = random_ids(n, FIRST_ORDINARY_ID, cfg.d_vocab, n as u64);
        drop(model.trace(&ids, filter.clone()).unwrap()); // warm-up
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let trace = model.trace(&ids, filter.clone()).unwrap();
                let ms = t.elapsed().as_secs_f64() * 1e3;
                drop(trace);
                ms
            })
            .collect()
    };
    let mut capture_ms = serde_json::Map::new();
    let mut capture_all_ms = serde_json::Map::new();
    let mut capture_like_hf_ms = serde_json::Map::new();
    for n in [256usize, 1024] {
        let times = time_capture(n, &NamesFilter::All);
        capture_ms.insert(n.to_string(), serde_json::json!(median(times.clone())));
        capture_all_ms.insert(n.to_string(), serde_json::json!(times));
        let times = time_capture(n, &like_hf);
        capture_like_hf_ms.insert(n.to_string(), serde_json::json!(median(times)));
    }

    // One-token step at 256 context: a 255-token captured prefix, then the 256th token.
    let step_times = step_times(
        &model,
        &random_ids(256, FIRST_ORDINARY_ID, cfg.d_vocab, 7),
        runs.max(5),
    );
    let step_ms = median(step_times.clone());
    drop(model);

    // Peak RSS of a fresh process doing the streamed dump.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--peak-dump", "1024"])
        .output()
        .unwrap();
    let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [peak_dump, after_load_mb, dump_ms, dump_file_mb, tensors] =
        std::array::from_fn(|i| v.get(i).copied().unwrap_or(f64::NAN));

    let result = serde_json::json!({
        "what": "glassbox, SmolLM2-135M-Instruct Q4_1 GGUF dequantized to float32, CPU, all hooks captured",
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "runs": runs,
        "statistic": "median",
        "load_to_first_logits_process_s": load_s,
        "load_to_first_logits_process_all_s": load_times,
        "load_in_process_s": load_in_process_s,
        "capture_ms": capture_ms,
        "capture_all_ms": capture_all_ms,
        "capture_like_transformers_ms": capture_like_hf_ms,
        "step_at_256_ms": step_ms,
        "step_at_256_all_ms": step_times,
        "dump_1024_peak_rss_mb": peak_dump,
        "dump_1024_peak_rss_after_load_mb": after_load_mb,
        "dump_1024_ms": dump_ms,
        "dump_1024_file_mb": dump_file_mb,
        "dump_1024_tensors": tensors,
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    eprintln!("load to first logits (glassbox inspect, whole process): {load_s:.2} s");
    eprintln!(
        "capture 256 / 1024 tokens: {:.1} / {:.1} ms; one step at 256: {step_ms:.1} ms",
        capture_ms["256"].as_f64().unwrap(),
        capture_ms["1024"].as_f64().unwrap(),
    );
    eprintln!(
        "dump of every hook at 1024, streamed: peak RSS {peak_dump:.0} MB (after load {after_load_mb:.0} MB), {dump_ms:.0} ms, file {dump_file_mb:.0} MB"
    );
}
