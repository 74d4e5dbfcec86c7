//! What the benchmarks share: the seeded token ids (the Python sides use the same generator), the
//! median, the peak RSS, the one-token step and the command line.
#![allow(dead_code)] // each benchmark uses some of these

/// `n` ids in `first..vocab` from a 64-bit LCG, as tools/bench_hf.py and tools/bench_smollm2_hf.py
/// draw them, so both sides of a benchmark run the same prompt.
pub fn random_ids(n: usize, first: u64, vocab: usize, seed: u64) -> Vec<u32> {
    let mut s = seed;
    let span = vocab as u64 - first;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (first + (s >> 33) % span) as u32
        })
        .collect()
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The process's peak resident memory so far, in MB of 2²⁰ bytes (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The value after `--name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// One-token steps with the KV cache after a captured prefix of all but the last of `ids`, each on a
/// fresh copy of the prefix: `runs` times (ms), after one untimed step.
pub fn step_times(model: &glassbox::model::Model, ids: &[u32], runs: usize) -> Vec<f64> {
    use glassbox::model::NamesFilter;
    let (last, prefix) = ids.split_last().expect("at least one token");
    let prefix = model.trace(prefix, NamesFilter::All).unwrap();
    (0..runs + 1)
        .map(|_| {
            let mut t = prefix.clone();
            let start = std::time::Instant::now();
            model.step(&mut t, *last).unwrap();
            start.elapsed().as_secs_f64() * 1e3
        })
        .skip(1)
        .collect()
}
