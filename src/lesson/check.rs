//! `glassbox lessons check`: a lesson's references checked against the model it runs on.

use super::claim::Bounds;
use super::probe::chat_ids;
use super::{facts, probe};
use super::{Claim, Lesson, LessonError, ParamPart, PositionsMode, TaskKind};
use crate::analysis::predictions::{argmax, softmax};
use crate::model::interventions::ZeroAblation;
use crate::model::{Hook, LoadedModel, NamesFilter};

/// Next-token probabilities after `prompt` (BOS first when the model has one).
pub fn next_probs(model: &LoadedModel, prompt: &str) -> color_eyre::Result<Vec<f32>> {
    next_probs_with(model, prompt, None)
}

/// The same with `intervention` at the points it wants (a head switched off), or none.
fn next_probs_with(
    model: &LoadedModel,
    prompt: &str,
    intervention: Option<&mut dyn Hook>,
) -> color_eyre::Result<Vec<f32>> {
    let ids = model.codec.encode(prompt, model.codec.prepends_bos())?;
    let trace = model
        .model
        .trace_with(&ids, NamesFilter::parse("logits"), intervention)?;
    Ok(softmax(&trace.next_logits().to_vec1::<f32>()?, 1.0))
}

/// Next-token probabilities after `prompt`, or with `chat` after it put in the chat template as a
/// question (the numbers the Next view shows on its left in chat mode).
fn claim_probs(model: &LoadedModel, prompt: &str, chat: bool) -> Result<Vec<f32>, String> {
    if !chat {
        return next_probs(model, prompt).map_err(|e| format!("cannot run the prompt: {e}"));
    }
    let ids = chat_ids(model, prompt)?;
    let run = || -> color_eyre::Result<Vec<f32>> {
        let trace = model.model.trace(&ids, NamesFilter::parse("logits"))?;
        Ok(softmax(&trace.next_logits().to_vec1::<f32>()?, 1.0))
    };
    run().map_err(|e| format!("cannot run the question in the chat template: {e}"))
}

/// "after \"…\"", or "after \"…\" in the chat template".
fn after(prompt: &str, chat: bool) -> String {
    let inside = if chat { " in the chat template" } else { "" };
    format!("after {prompt:?}{inside}")
}

/// The id of a text that must be exactly one token.
pub(super) fn one_token(model: &LoadedModel, text: &str) -> Result<u32, String> {
    match model.codec.encode(text, false) {
        Ok(ids) if ids.len() == 1 => Ok(ids[0]),
        Ok(ids) => Err(format!(
            "{text:?} is {} tokens, a claim needs one",
            ids.len()
        )),
        Err(e) => Err(format!("{text:?} does not tokenize: {e}")),
    }
}

/// Check one claim; the message says what the model does instead.
pub fn check_claim(model: &LoadedModel, prompt: &str, claim: &Claim) -> Result<(), String> {
    let cannot = |e: color_eyre::Report| format!("cannot run the prompt: {e}");
    let bounds = claim.bounds().unwrap_or_default();
    match claim {
        Claim::ParamCount { part, value } => check_param_count(model, *part, *value),
        Claim::Shape {
            n_layers,
            n_heads,
            d_model,
            d_head,
            d_mlp,
            n_ctx,
            d_vocab,
        } => facts::check_shape(
            model,
            [
                ("n_layers", *n_layers),
                ("n_heads", *n_heads),
                ("d_model", *d_model),
                ("d_head", *d_head),
                ("d_mlp", *d_mlp),
                ("n_ctx", *n_ctx),
                ("d_vocab", *d_vocab),
            ],
        ),
        Claim::PositionSimilarity { positions, .. } => {
            facts::check_position_similarity(model, *positions, bounds)
        }
        Claim::TrainLog { column, step, .. } => {
            facts::check_train_log(model, column, *step, bounds)
        }
        Claim::Attention {
            head, query, keys, ..
        } => probe::check_attention(model, prompt, *head, *query, keys, bounds),
        Claim::TokenCount { text, value } => probe::check_token_count(model, text, *value),
        Claim::Continues { text, chat, .. } => probe::check_continues(model, prompt, text, *chat),
        Claim::Lens {
            layer, token, top, ..
        } => probe::check_lens(model, prompt, *layer, token, bounds, *top),
        Claim::HeadScore {
            head,
            criterion,
            best,
            ..
        } => probe::check_head_score(model, prompt, *head, *criterion, bounds, *best),
        Claim::Probability {
            token: text, chat, ..
        } => {
            let probs = claim_probs(model, prompt, *chat)?;
            let token = one_token(model, text)?;
            let p = probs[token as usize];
            if bounds.hold(p) {
                return Ok(());
            }
            let top = argmax(&probs) as u32;
            Err(format!(
                "claim false: {} p({text:?}) = {p:.3}, not {} (the top token is {:?} at {:.3})",
                after(prompt, *chat),
                bounds.describe(),
                model.codec.token_str(top),
                probs[top as usize]
            ))
        }
        Claim::Ablated { token, ablate, .. } => {
            check_ablated(model, prompt, token, *ablate, bounds)
        }
        Claim::Positions {
            token, mode, top, ..
        } => check_positions(model, prompt, token, *mode, bounds, *top),
        Claim::TopToken {
            token: text, chat, ..
        } => {
            let probs = claim_probs(model, prompt, *chat)?;
            let token = one_token(model, text)?;
            let top = argmax(&probs) as u32;
            if top == token {
                return Ok(());
            }
            Err(format!(
                "claim false: {} the top token is {:?} ({:.2}), not {:?} ({:.2})",
                after(prompt, *chat),
                model.codec.token_str(top),
                probs[top as usize],
                text,
                probs[token as usize]
            ))
        }
        Claim::MoreLikely {
            token: text, than, ..
        } => {
            let probs = next_probs(model, prompt).map_err(cannot)?;
            let (token, other) = (one_token(model, text)?, one_token(model, than)?);
            let (p, q) = (probs[token as usize], probs[other as usize]);
            if p > q {
                return Ok(());
            }
            Err(format!(
                "claim false: p({text:?}) = {p:.3} is not above p({than:?}) = {q:.3}"
            ))
        }
    }
}

/// An "ablated" claim: `text`'s probability with one head switched off, against a bound.
fn check_ablated(
    model: &LoadedModel,
    prompt: &str,
    text: &str,
    [layer, head]: [usize; 2],
    bounds: Bounds,
) -> Result<(), String> {
    let token = one_token(model, text)? as usize;
    let cannot = |e: color_eyre::Report| format!("cannot run the prompt: {e}");
    // The tutor's ablation: the head's hook_z zeroed.
    model
        .model
        .check_heads(&[(layer, head)])
        .map_err(|e| e.to_string())?;
    let mut ablation = ZeroAblation::new(&[(layer, head)]);
    let p = next_probs_with(model, prompt, Some(&mut ablation)).map_err(cannot)?[token];
    if bounds.hold(p) {
        return Ok(());
    }
    let clean = next_probs(model, prompt).map_err(cannot)?[token];
    Err(format!(
        "claim false: with L{layer}H{head} ablated p({text:?}) = {p:.3} (clean {clean:.3}), not {}",
        bounds.describe()
    ))
}

/// A "positions" claim: `text`'s probability with the position what-if on, against a bound, and
/// whether it is the top token.
fn check_positions(
    model: &LoadedModel,
    prompt: &str,
    text: &str,
    mode: PositionsMode,
    bounds: Bounds,
    top: bool,
) -> Result<(), String> {
    let token = one_token(model, text)? as usize;
    let cannot = |e: color_eyre::Report| format!("cannot run the prompt: {e}");
    // The tutor's what-if: the same hook its p key turns on.
    let mut hook = match mode.edit() {
        Some(edit) => Some(model.model.position_edit(edit).map_err(|e| e.to_string())?),
        None => None,
    };
    let probs = next_probs_with(model, prompt, hook.as_mut().map(|h| h as &mut dyn Hook))
        .map_err(cannot)?;
    let p = probs[token];
    let word = mode.word();
    if !bounds.hold(p) {
        return Err(format!(
            "claim false: with positions {word} p({text:?}) = {p:.3}, not {}",
            bounds.describe()
        ));
    }
    let best = argmax(&probs) as u32;
    if top && best as usize != token {
        return Err(format!(
            "claim false: with positions {word} the top token is {:?} ({:.2}), not {text:?} ({p:.2})",
            model.codec.token_str(best),
            probs[best as usize]
        ));
    }
    Ok(())
}

/// Parameter counts from the configuration, as lesson 2 adds them up (a GPT-2's parts).
fn check_param_count(model: &LoadedModel, part: ParamPart, value: u64) -> Result<(), String> {
    let c = model.model.config();
    let d = c.d_model as u64;
    let block = 2 * 2 * d // ln_1, ln_2
        + d * 3 * d + 3 * d // c_attn
        + d * d + d // attention c_proj
        + d * c.d_mlp as u64 + c.d_mlp as u64 // c_fc
        + c.d_mlp as u64 * d + d; // MLP c_proj
    let (actual, name) = match part {
        ParamPart::Embedding => (c.d_vocab as u64 * d, "embedding"),
        ParamPart::Position => (c.n_ctx as u64 * d, "position embedding"),
        ParamPart::Block => (block, "block"),
        ParamPart::Total => (c.n_params() as u64, "model"),
    };
    if value == actual {
        return Ok(());
    }
    Err(format!(
        "claim false: the {name} has {actual} parameters, the lesson says {value}"
    ))
}

/// The lesson's claims about `model` when it is not the lesson's own (blocks with `model = "…"`).
pub fn check_claims_on(lesson: &Lesson, model: &LoadedModel) -> Vec<LessonError> {
    let mut errors = Vec::new();
    for step in &lesson.steps {
        for (name, claim, line) in &step.claims_elsewhere {
            if *name != model.files.name {
                continue;
            }
            let prompt = claim.prompt().unwrap_or(&lesson.meta.prompt);
            if let Err(message) = check_claim(model, prompt, claim) {
                errors.push(LessonError {
                    path: lesson.path.clone(),
                    line: *line,
                    message: format!("on {name}: {message}"),
                });
            }
        }
    }
    errors
}

/// Problems that parsing cannot see: layers, heads and positions that do not exist in `model`,
/// prompts that do not fit, a lesson written for another model.
pub fn check_against(lesson: &Lesson, model: &LoadedModel) -> Vec<LessonError> {
    let cfg = model.model.config();
    let mut errors = Vec::new();
    let mut err = |line: usize, message: String| {
        errors.push(LessonError {
            path: lesson.path.clone(),
            line,
            message,
        })
    };
    if lesson.meta.model != model.files.name {
        err(
            2,
            format!(
                "written for model {:?}, checked against {:?}",
                lesson.meta.model, model.files.name
            ),
        );
    }
    let prompt_len = |text: &str, line: usize, err: &mut dyn FnMut(usize, String)| -> usize {
        match model.codec.encode(text, model.codec.prepends_bos()) {
            Ok(ids) if ids.len() <= cfg.n_ctx => ids.len(),
            Ok(ids) => {
                err(
                    line,
                    format!(
                        "the prompt is {} tokens; the model's context is {}",
                        ids.len(),
                        cfg.n_ctx
                    ),
                );
                ids.len()
            }
            Err(e) => {
                err(line, format!("the prompt does not tokenize: {e}"));
                0
            }
        }
    };
    let mut n_tokens = prompt_len(&lesson.meta.prompt, 2, &mut err);
    let (mut question, mut chat) = (lesson.meta.prompt.clone(), false);
    let layer_head = |l: usize, h: usize| l < cfg.n_layers && h < cfg.n_heads;
    // The panel the last view up to this step set: a step without a view keeps it on screen.
    let mut shown: Option<&str> = None;
    for step in &lesson.steps {
        if let Some(view) = &step.view {
            let line = step.view_line;
            if let Some(p) = &view.panel {
                shown = Some(p.as_str());
            }
            // The prompt in force and whether it is in the chat template, as the tutor applies a
            // step's view.
            if view.prompt.is_some() || view.chat.is_some() {
                if let Some(p) = &view.prompt {
                    question = p.clone();
                }
                chat = view.chat.unwrap_or(view.prompt.is_none() && chat);
                let in_template = chat.then(|| chat_ids(model, &question));
                n_tokens = match in_template {
                    Some(Ok(ids)) => ids.len(),
                    Some(Err(e)) => {
                        // Said once; the cursor is then checked against the plain prompt.
                        err(line, e);
                        prompt_len(&question, line, &mut err)
                    }
                    None => prompt_len(&question, line, &mut err),
                };
            }
            if view.layer.is_some_and(|l| l >= cfg.n_layers) {
                err(
                    line,
                    format!(
                        "layer {} does not exist: the model has layers 0..{}",
                        view.layer.unwrap_or(0),
                        cfg.n_layers - 1
                    ),
                );
            }
            if view.head.is_some_and(|h| h >= cfg.n_heads) {
                err(
                    line,
                    format!(
                        "head {} does not exist: the model has heads 0..{}",
                        view.head.unwrap_or(0),
                        cfg.n_heads - 1
                    ),
                );
            }
            if let Some(c) = view.cursor {
                if c >= n_tokens as i64 || c < -(n_tokens as i64) {
                    err(
                        line,
                        format!("cursor {c} is outside the prompt's {n_tokens} tokens"),
                    );
                }
            }
            if let Some([l, h]) = view.ablate.as_deref() {
                if !layer_head(*l, *h) {
                    err(
                        line,
                        format!(
                            "cannot ablate L{l}H{h}: the model has {} layers of {} heads",
                            cfg.n_layers, cfg.n_heads
                        ),
                    );
                }
            }
            if let Some(edit) = view.positions.and_then(|m| m.edit()) {
                if !model.model.can_edit_positions(edit) {
                    err(
                        line,
                        format!(
                            "positions {}: this model has no learned position table",
                            crate::model::PositionEdit::word(Some(edit))
                        ),
                    );
                }
            }
            if view
                .temperature
                .is_some_and(|t| !(t > 0.0 && t.is_finite()))
            {
                err(line, "temperature must be a positive number".into());
            }
        }
        for (claim, line) in &step.claims {
            let prompt = claim.prompt().unwrap_or(&lesson.meta.prompt);
            if let Err(message) = check_claim(model, prompt, claim) {
                err(*line, message);
            }
        }
        if let Some(task) = &step.task {
            let line = step.task_line;
            match &task.kind {
                TaskKind::CursorOnTopKey { layer, head, query } => {
                    if !layer_head(*layer, *head) {
                        err(line, format!("no head L{layer}H{head} in this model"));
                    }
                    if *query >= n_tokens as i64 || *query < -(n_tokens as i64) {
                        err(
                            line,
                            format!("query {query} is outside the prompt's {n_tokens} tokens"),
                        );
                    }
                }
                TaskKind::Ablate { head: [l, h] } if !layer_head(*l, *h) => {
                    err(line, format!("no head L{l}H{h} in this model"));
                }
                TaskKind::Positions { mode } => {
                    if let Some(edit) = mode.edit().filter(|&e| !model.model.can_edit_positions(e))
                    {
                        err(
                            line,
                            format!(
                                "positions {}: this model has no learned position table",
                                crate::model::PositionEdit::word(Some(edit))
                            ),
                        );
                    }
                }
                TaskKind::Visit { panel, .. } if !super::PANELS.contains(&panel.as_str()) => {
                    err(
                        line,
                        format!(
                            "unknown panel {panel:?}: use one of {}",
                            super::PANELS.join(", ")
                        ),
                    );
                }
                TaskKind::Visit {
                    panel,
                    move_cursor: false,
                } if shown == Some(panel.as_str()) => {
                    err(
                        line,
                        format!(
                            "the step opens on the {panel} view already (a view up to here set it), \
                             so its key does nothing: open another panel first, or set move_cursor = true"
                        ),
                    );
                }
                _ => {}
            }
        }
    }
    errors
}
