//! `glassbox generate`: continue a prompt one token at a time (each step reuses the KV cache).

use std::io::Write;

use color_eyre::eyre::Result;
use glassbox::model::sampling::{Sampler, SamplingConfig};
use glassbox::model::NamesFilter;

use super::{load_model, read_prompt};
use crate::cli::GenerateArgs;

pub fn run(args: GenerateArgs) -> Result<()> {
    let loaded = load_model(&args.model)?;
    let (prompt, ids) = read_prompt(&args.prompt, &loaded)?;
    let model = &loaded.model;
    let room = model.config().n_ctx.saturating_sub(ids.len());
    // Generation needs no activations: record nothing.
    let mut trace = model.trace(&ids, NamesFilter::names::<&str>(&[]))?;
    // Before the prompt is echoed: a model whose output is not a number generates nothing.
    trace.finite_logits()?;
    let mut sampler = Sampler::new(SamplingConfig {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        seed: args.seed,
    });
    let mut out = std::io::stdout().lock();
    write!(out, "{prompt}")?;
    // Byte-level tokens can end inside a UTF-8 character: decode everything generated so far and print
    // only the new text, holding back a trailing partial character until it is complete.
    let mut generated: Vec<u32> = Vec::new();
    let mut printed = 0;
    for _ in 0..args.max_tokens.min(room) {
        let next = match trace.finite_logits() {
            Ok(logits) => sampler.sample(logits)?,
            Err(e) => {
                // End the text's line, so the error stands on its own.
                writeln!(out)?;
                return Err(e);
            }
        };
        generated.push(next);
        let text = loaded.codec.decode(&generated);
        if let Some(new) = text.get(printed..).filter(|_| !text.ends_with('\u{FFFD}')) {
            write!(out, "{new}")?;
            out.flush()?;
            printed = text.len();
        }
        model.step(&mut trace, next)?;
    }
    let text = loaded.codec.decode(&generated);
    writeln!(out, "{}", text.get(printed..).unwrap_or_default())?;
    Ok(())
}
