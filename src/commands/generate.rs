//! `glassbox generate`: continue a prompt one token at a time (each step reuses the KV cache).
//! Every option is checked before the model loads, and a continuation cut short by the end of the
//! context says so on standard error.

use std::io::Write;

use color_eyre::eyre::Result;
use glassbox::error::hinted;
use glassbox::model::sampling::{Sampler, SamplingConfig};
use glassbox::model::NamesFilter;

use super::{load_model, read_prompt};
use crate::cli::GenerateArgs;

pub fn run(args: GenerateArgs) -> Result<()> {
    let sampling = SamplingConfig {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        seed: args.seed,
    };
    check_options(&args, &sampling)?;
    let loaded = load_model(&args.model)?;
    let (prompt, ids) = read_prompt(&args.prompt, &loaded)?;
    // A question in the chat template: the template's own special tokens, no extra BOS (as
    // transformers' apply_chat_template tokenizes it).
    let (prompt, ids, stop) = if args.chat {
        let Some(chat) = loaded.chat_template.as_ref() else {
            return hinted(
                format!("{} has no chat template", loaded.files.name),
                "--chat needs an instruction-tuned model whose GGUF metadata or tokenizer_config.json has one; leave out --chat",
            );
        };
        let text = chat.render(&prompt)?;
        let ids = loaded.encode_prompt(&text, false)?;
        (text, ids, chat.eos_id)
    } else {
        (prompt, ids, None)
    };
    let model = &loaded.model;
    // Generation needs no activations: record nothing. (A prompt longer than the context stops here.)
    let mut trace = model.trace(&ids, NamesFilter::names::<&str>(&[]))?;
    // Before the prompt is echoed: a model whose output is not a number generates nothing.
    trace.finite_logits()?;
    // Each new token is fed back in, except the last: so a prompt that fills the context still
    // gets the one token its last position predicts.
    let n_ctx = model.config().n_ctx;
    let room = n_ctx - ids.len() + 1;
    let mut sampler = Sampler::new(sampling);
    let mut out = std::io::stdout().lock();
    write!(out, "{prompt}")?;
    // Byte-level tokens can end inside a UTF-8 character: decode everything generated so far and print
    // only the new text, holding back a trailing partial character until it is complete.
    let mut generated: Vec<u32> = Vec::new();
    let mut printed = 0;
    let steps = args.max_tokens.min(room);
    for _ in 0..steps {
        let next = match trace.finite_logits() {
            Ok(logits) => sampler.sample(logits)?,
            Err(e) => {
                // End the text's line, so the error stands on its own.
                writeln!(out)?;
                return Err(e);
            }
        };
        // The end of the assistant's turn ends a chat answer (not printed: it is the template's).
        if Some(next) == stop {
            break;
        }
        generated.push(next);
        let text = loaded.codec.decode(&generated);
        if let Some(new) = text.get(printed..).filter(|_| !text.ends_with('\u{FFFD}')) {
            write!(out, "{new}")?;
            out.flush()?;
            printed = text.len();
        }
        // The last token needs no step: nothing comes after it (and a full context has no room).
        if generated.len() < steps {
            model.step(&mut trace, next)?;
        }
    }
    let text = loaded.codec.decode(&generated);
    writeln!(out, "{}", text.get(printed..).unwrap_or_default())?;
    if steps < args.max_tokens && generated.len() == steps {
        eprintln!(
            "note: stopped after {steps} of {} tokens: the context of {n_ctx} tokens is full",
            args.max_tokens
        );
    }
    Ok(())
}

/// Each option in its range, named as on the command line, as `glassbox export` checks its own.
fn check_options(args: &GenerateArgs, sampling: &SamplingConfig) -> Result<()> {
    if args.max_tokens == 0 {
        return hinted(
            "--max-tokens 0 is out of range",
            "generate at least one token: -n 1 or more",
        );
    }
    if let Err(bad) = sampling.check() {
        return hinted(
            format!(
                "--{} {} {}",
                bad.name.replace('_', "-"),
                bad.value,
                bad.problem
            ),
            bad.fix,
        );
    }
    Ok(())
}
