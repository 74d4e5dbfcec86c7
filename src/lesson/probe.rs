//! Claims read from inside the model or its tokenizer: the logit lens, head scores, greedy
//! continuations and token counts. Each reads the number the way the tutor's view computes it, and
//! a false claim's message says what the model does instead.

use super::check::one_token;
use super::claim::Bounds;
use crate::analysis::heads::{best_head, head_scores, Criterion};
use crate::analysis::heatmap::attention_pattern;
use crate::analysis::predictions::argmax;
use crate::analysis::residual::{lens_distributions, lens_hooks};
use crate::model::hooks::{block_hook, BlockHook};
use crate::model::{LoadedModel, NamesFilter, Trace};

/// Run `prompt` as the tutor does (BOS first when the model has one), recording `names`.
fn run(model: &LoadedModel, prompt: &str, names: &[String]) -> Result<Trace, String> {
    let ids = model
        .codec
        .encode(prompt, model.codec.prepends_bos())
        .map_err(|e| format!("the prompt does not tokenize: {e}"))?;
    model
        .model
        .trace(&ids, NamesFilter::names(names))
        .map_err(|e| format!("cannot run the prompt: {e}"))
}

/// The tokens of `question` put in the model's chat template, as the tutor's chat mode runs it (the
/// template's own special tokens, no extra BOS).
pub fn chat_ids(model: &LoadedModel, question: &str) -> Result<Vec<u32>, String> {
    let Some(template) = model.chat_template.as_ref() else {
        return Err(format!(
            "{} has no chat template: chat = true needs an instruction-tuned model",
            model.files.name
        ));
    };
    let text = template
        .render(question)
        .map_err(|e| crate::error::one_line(&e).0)?;
    model
        .encode_prompt(&text, false)
        .map_err(|e| format!("the question in the chat template does not tokenize: {e}"))
}

/// A token as a message quotes it.
fn quoted(model: &LoadedModel, id: u32) -> String {
    format!("{:?}", model.codec.token_label(id))
}

/// `text` is `value` tokens on its own.
pub fn check_token_count(model: &LoadedModel, text: &str, value: usize) -> Result<(), String> {
    let ids = model
        .codec
        .encode(text, false)
        .map_err(|e| format!("{text:?} does not tokenize: {e}"))?;
    if ids.len() == value {
        return Ok(());
    }
    let pieces: Vec<String> = ids.iter().map(|&id| quoted(model, id)).collect();
    let n = ids.len();
    Err(format!(
        "claim false: {text:?} is {n} token{} ({}), the lesson says {value}",
        if n == 1 { "" } else { "s" },
        pieces.join(" ")
    ))
}

/// Greedy decoding after `prompt` writes `text` first.
pub fn check_continues(
    model: &LoadedModel,
    prompt: &str,
    text: &str,
    chat: bool,
) -> Result<(), String> {
    let m = &model.model;
    let mut trace = if chat {
        let ids = chat_ids(model, prompt)?;
        m.trace(&ids, NamesFilter::names::<&str>(&[]))
            .map_err(|e| format!("cannot run the question in the chat template: {e}"))?
    } else {
        run(model, prompt, &[])?
    };
    // Tokens that fit: each but the last is fed back in. A token adds at least one byte, so as many
    // tokens as `text` has bytes are always enough.
    let room = (m.config().n_ctx + 1).saturating_sub(trace.len());
    let limit = room.min(text.len());
    let mut generated = Vec::new();
    let mut written = String::new();
    while generated.len() < limit {
        let logits = trace
            .finite_logits()
            .and_then(|l| Ok(l.to_vec1::<f32>()?))
            .map_err(|e| format!("cannot run the prompt: {e}"))?;
        let next = argmax(&logits) as u32;
        generated.push(next);
        written = model.codec.decode(&generated);
        // Past a wrong token it goes on as far as `text` is long, so the message shows what it writes.
        if written.len() >= text.len() || generated.len() == limit {
            break;
        }
        m.step(&mut trace, next)
            .map_err(|e| format!("cannot run the prompt: {e}"))?;
    }
    if written.starts_with(text) {
        return Ok(());
    }
    let inside = if chat { " in the chat template" } else { "" };
    Err(format!(
        "claim false: greedy decoding after {prompt:?}{inside} writes {written:?}, not {text:?}"
    ))
}

/// The logit lens at the last token, after block `layer`: `text`'s probability within `bounds`, and
/// with `top`, whether it is (or is not) that row's top token.
pub fn check_lens(
    model: &LoadedModel,
    prompt: &str,
    layer: usize,
    text: &str,
    bounds: Bounds,
    top: Option<bool>,
) -> Result<(), String> {
    let n_layers = model.model.config().n_layers;
    if layer >= n_layers {
        return Err(format!(
            "layer {layer} does not exist: the model has layers 0..{}",
            n_layers - 1
        ));
    }
    let token = one_token(model, text)? as usize;
    let trace = run(model, prompt, &lens_hooks(n_layers))?;
    let rows = lens_distributions(&model.model, trace.capture(), trace.len() - 1)
        .map_err(|e| format!("cannot read the logit lens: {e}"))?;
    let hook = block_hook(layer, BlockHook::ResidPost);
    let probs = &rows
        .iter()
        .find(|(h, _)| *h == hook)
        .ok_or_else(|| format!("the logit lens has no row {hook}"))?
        .1;
    let p = probs[token];
    let best = argmax(probs);
    let is_top = best == token;
    let mut wrong = Vec::new();
    if !bounds.hold(p) {
        wrong.push(bounds.describe());
    }
    match top {
        Some(true) if !is_top => wrong.push("the top token".into()),
        Some(false) if is_top => wrong.push("below another token".into()),
        _ => {}
    }
    if wrong.is_empty() {
        return Ok(());
    }
    // The token's course through every row, so the message shows where it does rise or fall.
    let course: Vec<String> = rows
        .iter()
        .map(|(h, probs)| format!("{h} {:.3}", probs[token]))
        .collect();
    Err(format!(
        "claim false: at {hook} p({text:?}) = {p:.3} (top {} {:.3}), not {}; by row: {}",
        quoted(model, best as u32),
        probs[best],
        wrong.join(" and "),
        course.join(", ")
    ))
}

/// Head [layer, head]'s score by `criterion` on `prompt`, as the Heads view prints it: within
/// `bounds`, and with `best`, whether no head (or some head) scores higher.
pub fn check_head_score(
    model: &LoadedModel,
    prompt: &str,
    [layer, head]: [usize; 2],
    criterion: Criterion,
    bounds: Bounds,
    best: Option<bool>,
) -> Result<(), String> {
    model
        .model
        .check_heads(&[(layer, head)])
        .map_err(|e| e.to_string())?;
    let n_layers = model.model.config().n_layers;
    let names: Vec<String> = (0..n_layers)
        .map(|l| block_hook(l, BlockHook::Pattern))
        .collect();
    let trace = run(model, prompt, &names)?;
    let scores = head_scores(trace.capture(), trace.ids(), n_layers, criterion)
        .map_err(|e| format!("cannot score the heads: {e}"))?;
    let score = scores[layer][head];
    let top = best_head(&scores, 0).ok_or("no head has a score on this prompt")?;
    // As the select-head task judges it: a tie with the best is the best.
    let is_best = score >= top.score - 1e-6;
    let mut wrong = Vec::new();
    if !bounds.hold(score) {
        wrong.push(bounds.describe());
    }
    match best {
        Some(true) if !is_best => wrong.push("the highest".into()),
        Some(false) if is_best => wrong.push("below another head's".into()),
        _ => {}
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!(
        "claim false: L{layer}H{head}'s {} is {score:.3}, not {}; the best is L{}H{} with {:.3}",
        criterion.describe(),
        wrong.join(" and "),
        top.layer,
        top.head,
        top.score
    ))
}

/// A position written from the start (0 is the BOS) or, negative, from the end.
fn position(index: i64, len: usize) -> Result<usize, String> {
    let i = if index < 0 { len as i64 + index } else { index };
    if (0..len as i64).contains(&i) {
        Ok(i as usize)
    } else {
        Err(format!(
            "position {index} is outside the prompt's {len} tokens"
        ))
    }
}

/// The weight that position `query` gives to `keys` together in head [layer, head].
pub fn check_attention(
    model: &LoadedModel,
    prompt: &str,
    [layer, head]: [usize; 2],
    query: i64,
    keys: &[i64],
    bounds: Bounds,
) -> Result<(), String> {
    model
        .model
        .check_heads(&[(layer, head)])
        .map_err(|e| e.to_string())?;
    let trace = run(model, prompt, &[block_hook(layer, BlockHook::Pattern)])?;
    let ids = trace.ids();
    let labels = model.codec.token_labels(ids);
    let map = attention_pattern(trace.capture(), layer, head, &labels)
        .map_err(|e| format!("cannot read the attention pattern: {e}"))?;
    let q = position(query, ids.len())?;
    let ks = keys
        .iter()
        .map(|&k| position(k, ids.len()))
        .collect::<Result<Vec<_>, _>>()?;
    let weight: f32 = ks.iter().map(|&k| map.get(q, k).unwrap_or(0.0)).sum();
    if bounds.hold(weight) {
        return Ok(());
    }
    let named: Vec<String> = ks.iter().map(|&k| format!("{k} {:?}", labels[k])).collect();
    let top = map.argmax_in_row(q).unwrap_or(0);
    Err(format!(
        "claim false: in L{layer}H{head} position {q} {:?} gives {weight:.3} to {}, not {}; its largest weight is {:.3} on {top} {:?}",
        labels[q],
        named.join(", "),
        bounds.describe(),
        map.get(q, top).unwrap_or(0.0),
        labels[top]
    ))
}
