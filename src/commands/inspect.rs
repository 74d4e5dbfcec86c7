//! `glassbox inspect`: a quick look at a prompt in the terminal.

use std::fmt::Write as _;
use std::io::Write as _;

use color_eyre::eyre::Result;
use glassbox::analysis::heads::{best_previous_token_heads, HeadScore};
use glassbox::analysis::predictions::{entropy_bits, softmax, top_k};
use glassbox::error::hinted;
use glassbox::model::hooks::{block_hook, BlockHook};
use glassbox::model::NamesFilter;
use glassbox::text::visible;
use serde::Serialize;

use super::{load_model, read_prompt};
use crate::cli::InspectArgs;

#[derive(Serialize)]
struct Candidate {
    id: u32,
    token: String,
    prob: f32,
}

#[derive(Serialize)]
struct Report {
    model: String,
    /// The model family: "gpt2" or "llama".
    family: String,
    n_layers: usize,
    n_heads: usize,
    /// Key/value heads (fewer than n_heads under grouped-query attention).
    n_kv_heads: usize,
    d_model: usize,
    n_params: usize,
    /// How the weights were stored and what glassbox computes with.
    weights: String,
    device: String,
    prompt: String,
    ids: Vec<u32>,
    tokens: Vec<String>,
    /// The tokens as the table shows them (a byte of a character as "⟨e6 9d⟩"); the JSON keeps
    /// `tokens` as TransformerLens' `to_str_tokens` gives them.
    #[serde(skip)]
    labels: Vec<String>,
    next_token: Vec<Candidate>,
    next_token_entropy_bits: f32,
    previous_token_heads: Vec<HeadScore>,
}

pub fn run(args: InspectArgs) -> Result<()> {
    // More than the vocabulary simply lists all of it.
    if args.top == 0 {
        return hinted(
            "--top 0 is out of range",
            "list at least one candidate: --top 1 or more",
        );
    }
    let loaded = load_model(&args.model)?;
    let (prompt, ids) = read_prompt(&args.prompt, &loaded)?;
    let cfg = loaded.model.config().clone();
    let patterns: Vec<String> = (0..cfg.n_layers)
        .map(|l| block_hook(l, BlockHook::Pattern))
        .collect();
    let trace = loaded.model.trace(&ids, NamesFilter::names(&patterns))?;
    // No "NaN%" and "entropy 0.00 bits": an output that is not a number is an error naming its source.
    let probs = softmax(&trace.finite_logits()?.to_vec1::<f32>()?, 1.0);
    let report = Report {
        model: loaded.files.name.clone(),
        family: cfg.arch.name().to_string(),
        n_layers: cfg.n_layers,
        n_heads: cfg.n_heads,
        n_kv_heads: cfg.n_kv_heads,
        d_model: cfg.d_model,
        n_params: cfg.n_params(),
        weights: loaded
            .stored_as
            .clone()
            .unwrap_or_else(|| "float32".to_string()),
        device: device_label(loaded.model.device()),
        prompt,
        tokens: loaded.codec.token_strs(&ids),
        labels: loaded.codec.token_labels(&ids),
        ids,
        next_token: top_k(&probs, args.top)
            .into_iter()
            .map(|(id, prob)| Candidate {
                id,
                token: loaded.codec.token_str(id),
                prob,
            })
            .collect(),
        next_token_entropy_bits: entropy_bits(&probs),
        previous_token_heads: best_previous_token_heads(trace.capture(), cfg.n_layers)?,
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        table(&report)
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}

fn device_label(device: &candle_core::Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

fn table(r: &Report) -> String {
    let mut out = String::new();
    let kv = if r.n_kv_heads == r.n_heads {
        String::new()
    } else {
        format!(" ({} key/value)", r.n_kv_heads)
    };
    let _ = writeln!(
        out,
        "model   {} — {}, {} layers × {} heads{kv}, d_model {}, {} parameters, on {}",
        r.model,
        r.family,
        r.n_layers,
        r.n_heads,
        r.d_model,
        group_thousands(r.n_params),
        r.device
    );
    let _ = writeln!(out, "weights {}", r.weights);
    let _ = writeln!(
        out,
        "prompt  {:?} → {} tokens (· is a space)",
        r.prompt,
        r.ids.len()
    );
    let strip: Vec<String> = r
        .labels
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{i}:{}", visible(t)))
        .collect();
    let _ = writeln!(out, "tokens  {}", strip.join("  "));
    out.push('\n');
    let _ = writeln!(
        out,
        "next token (entropy {:.2} bits)",
        r.next_token_entropy_bits
    );
    let width = r
        .next_token
        .iter()
        .map(|c| visible(&c.token).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 24);
    for (rank, c) in r.next_token.iter().enumerate() {
        let bar = "█".repeat((c.prob * 40.0).round() as usize);
        let _ = writeln!(
            out,
            "  {:>2}. {:<width$}  {:>6.2}%  {bar}",
            rank + 1,
            visible(&c.token),
            c.prob * 100.0
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "previous-token heads (mean attention from each token to the one before it)"
    );
    if r.previous_token_heads.is_empty() {
        let _ = writeln!(out, "  (needs a prompt of at least two tokens)");
    }
    for h in &r.previous_token_heads {
        let _ = writeln!(
            out,
            "  layer {:>2}: head {:>2}  {:.2}",
            h.layer, h.head, h.score
        );
    }
    out
}

fn group_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
