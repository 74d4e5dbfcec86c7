//! Engine benchmark: a GPT-2-small-shaped model (124M parameters, random weights built in-process).
//!
//!   cargo bench --bench engine                 # capture at 64/256/1024, one step at 256, peak RSS,
//!                                              # and a streamed dump of every hook at 1024
//!   cargo bench --bench engine -- --runs 3     # fewer runs
//!   cargo bench --bench engine -- --profile 256 --runs 20   # only captures at 256 tokens (for perf)
//!
//! Prints a JSON object and a table. The PyTorch side is tools/bench_hf.py; BENCHMARKS.md has both.

mod common;

use common::{arg, median, peak_rss_mb, random_ids, step_times};
use std::collections::HashMap;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use glassbox::model::hooks::NamesFilter;
use glassbox::model::{Config, Gpt2, Model};

fn gpt2_small() -> Config {
    let hf = serde_json::json!({
        "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "vocab_size": 50257
    });
    Config::from_hf(&serde_json::from_value(hf).unwrap()).unwrap()
}

/// Random weights as plain tensors (not training variables), named as a Hugging Face checkpoint.
fn build(cfg: &Config) -> Model {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    Gpt2::load(vb, cfg, true).unwrap();
    let tensors: HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
        .collect();
    drop(varmap);
    Gpt2::load(
        VarBuilder::from_tensors(tensors, DType::F32, &dev),
        cfg,
        true,
    )
    .unwrap()
    .into()
}

fn main() {
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(5);
    // As glassbox's batch commands do at start-up. SAFETY: no other thread exists yet.
    unsafe { glassbox::malloc::reuse_freed_buffers() };
    let cfg = gpt2_small();

    // Profiling mode (`perf record … -- --profile 256`): repeated full captures at N tokens.
    if let Some(n) = arg("--profile").and_then(|v| v.parse::<usize>().ok()) {
        let model = build(&cfg);
        let ids = random_ids(n, 0, cfg.d_vocab, n as u64);
        let t = Instant::now();
        for _ in 0..runs {
            drop(model.trace(&ids, NamesFilter::All).unwrap());
        }
        println!(
            "{:.1} ms per capture",
            t.elapsed().as_secs_f64() * 1e3 / runs as f64
        );
        return;
    }

    // Child mode: what `glassbox dump` does at N tokens in a fresh process: every hook streamed to a
    // safetensors file. Reports the peak RSS and the time of the pass with the writing.
    if let Some(n) = arg("--peak-dump").and_then(|v| v.parse::<usize>().ok()) {
        let model = build(&cfg);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump.safetensors");
        let t = Instant::now();
        let ids = random_ids(n, 0, cfg.d_vocab, 1);
        let file = glassbox::dump::DumpFile {
            write_to: &path,
            shown_as: &path,
        };
        let written =
            glassbox::dump::dump_prompt(&model, &ids, &NamesFilter::All, &HashMap::new(), file)
                .unwrap()
                .tensors;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let file_mb = std::fs::metadata(&path).map_or(f64::NAN, |m| m.len() as f64 / 1e6);
        assert_eq!(written, cfg.n_layers * 11 + 5);
        println!("{} {} {}", peak_rss_mb(), ms, file_mb);
        return;
    }

    // Child mode: one full capture at N tokens in a fresh process, then report the peak RSS.
    if let Some(n) = arg("--peak").and_then(|v| v.parse::<usize>().ok()) {
        let filter = match arg("--names") {
            Some(spec) => NamesFilter::parse(&spec),
            None => NamesFilter::All,
        };
        let model = build(&cfg);
        let before = peak_rss_mb();
        let trace = model
            .trace(&random_ids(n, 0, cfg.d_vocab, 1), filter)
            .unwrap();
        let capture_mb = trace.capture().nbytes() as f64 / 1e6;
        println!("{} {} {}", peak_rss_mb(), before, capture_mb);
        return;
    }

    let t0 = Instant::now();
    let model = build(&cfg);
    let build_s = t0.elapsed().as_secs_f64();

    let mut capture_ms = serde_json::Map::new();
    for n in [64usize, 256, 1024] {
        let ids = random_ids(n, 0, cfg.d_vocab, n as u64);
        let _ = model.trace(&ids, NamesFilter::All).unwrap(); // warm-up
        let times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let trace = model.trace(&ids, NamesFilter::All).unwrap();
                let ms = t.elapsed().as_secs_f64() * 1e3;
                drop(trace);
                ms
            })
            .collect();
        capture_ms.insert(n.to_string(), serde_json::json!(median(times)));
    }

    // One-token step at 256 context: a 255-token captured prefix, then the 256th token.
    let step_times = step_times(&model, &random_ids(256, 0, cfg.d_vocab, 7), runs.max(5));
    let step_ms = median(step_times);

    // Peak RSS in fresh processes: everything captured, and without the pre-softmax scores.
    let exe = std::env::current_exe().unwrap();
    // A fresh process in one of the child modes above; the numbers it printed, NaN where missing.
    let child = |args: &[&str]| -> [f64; 3] {
        let out = std::process::Command::new(&exe)
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        std::array::from_fn(|i| v.get(i).copied().unwrap_or(f64::NAN))
    };
    let [peak_all, _, capture_all] = child(&["--peak", "1024"]);
    let [peak_dump, dump_ms, dump_file_mb] = child(&["--peak-dump", "1024"]);
    let no_scores = "hook_embed,hook_pos_embed,blocks.*.hook_resid_pre,blocks.*.hook_resid_mid,blocks.*.hook_resid_post,blocks.*.hook_attn_out,blocks.*.hook_mlp_out,blocks.*.attn.hook_q,blocks.*.attn.hook_k,blocks.*.attn.hook_v,blocks.*.attn.hook_pattern,blocks.*.attn.hook_z,ln_final.hook_normalized,logits";
    let [peak_no_scores, _, capture_no_scores] = child(&["--peak", "1024", "--names", no_scores]);

    let result = serde_json::json!({
        "what": "glassbox GPT-2 small shape, random weights, float32, CPU, all hooks captured",
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "runs": runs,
        "statistic": "median",
        "model_build_s": build_s,
        "capture_ms": capture_ms,
        "step_at_256_ms": step_ms,
        "peak_rss_1024_mb": peak_all,
        "capture_1024_mb": capture_all,
        "peak_rss_1024_without_scores_mb": peak_no_scores,
        "capture_1024_without_scores_mb": capture_no_scores,
        "dump_1024_peak_rss_mb": peak_dump,
        "dump_1024_ms": dump_ms,
        "dump_1024_file_mb": dump_file_mb,
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    eprintln!(
        "capture 64 / 256 / 1024 tokens: {:.1} / {:.1} / {:.1} ms",
        capture_ms["64"].as_f64().unwrap(),
        capture_ms["256"].as_f64().unwrap(),
        capture_ms["1024"].as_f64().unwrap()
    );
    eprintln!("one step at 256: {step_ms:.1} ms; peak RSS at 1024: {peak_all:.0} MB (captured {capture_all:.0} MB); without scores {peak_no_scores:.0} MB");
    eprintln!("dump of every hook at 1024, streamed: peak RSS {peak_dump:.0} MB, {dump_ms:.0} ms, file {dump_file_mb:.0} MB");
}
