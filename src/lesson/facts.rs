//! Claims about the model that need no prompt: its shape, its learned position embeddings, and the
//! training log that came with it.

use super::claim::Bounds;
use crate::analysis::positions::position_similarity;
use crate::model::LoadedModel;
use crate::textfile::read_text;

/// A training log far past this is not the trainer's (3,000 steps make 141 kB).
const MAX_LOG_BYTES: u64 = 64 << 20;

/// The fields of a shape claim, in TransformerLens' names: (name, the lesson's value).
pub type ShapeFields = [(&'static str, Option<usize>); 7];

/// Each field the lesson gives equals the model's configuration.
pub fn check_shape(model: &LoadedModel, fields: ShapeFields) -> Result<(), String> {
    let c = model.model.config();
    let actual = |name: &str| match name {
        "n_layers" => c.n_layers,
        "n_heads" => c.n_heads,
        "d_model" => c.d_model,
        "d_head" => c.d_head,
        "d_mlp" => c.d_mlp,
        "n_ctx" => c.n_ctx,
        _ => c.d_vocab,
    };
    let wrong: Vec<String> = fields
        .iter()
        .filter_map(|&(name, said)| {
            let said = said?;
            let is = actual(name);
            (is != said).then(|| format!("{name} is {is}, not {said}"))
        })
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!("claim false: {}", wrong.join("; ")))
}

/// The cosine similarity of W_pos rows `a` and `b`, as the Positions view computes it.
pub fn check_position_similarity(
    model: &LoadedModel,
    [a, b]: [usize; 2],
    bounds: Bounds,
) -> Result<(), String> {
    let w_pos = model
        .model
        .pos_embed()
        .ok_or("this model has no learned position embedding")?;
    let n_ctx = model.model.config().n_ctx;
    if a.max(b) >= n_ctx {
        return Err(format!(
            "position {} does not exist: the model's context is {n_ctx}",
            a.max(b)
        ));
    }
    let map = position_similarity(w_pos, a.max(b) + 1).map_err(|e| e.to_string())?;
    let sim = map.get(a, b).unwrap_or(f32::NAN);
    if bounds.hold(sim) {
        return Ok(());
    }
    // Neighbours for comparison: how alike position a is to the positions around it.
    let near = position_similarity(w_pos, (a + 11).min(n_ctx)).map_err(|e| e.to_string())?;
    let others: Vec<String> = [1, 2, 10]
        .iter()
        .filter_map(|d| Some(format!("{} apart {:.2}", d, near.get(a, a + d)?)))
        .collect();
    Err(format!(
        "claim false: positions {a} and {b} have cosine similarity {sim:.3}, not {} (from {a}: {})",
        bounds.describe(),
        others.join(", ")
    ))
}

/// `column` of the model's train_log.csv at `step` (the last row when `None`).
pub fn check_train_log(
    model: &LoadedModel,
    column: &str,
    step: Option<u64>,
    bounds: Bounds,
) -> Result<(), String> {
    let path = model.files.dir.join("train_log.csv");
    let text = read_text(&path, MAX_LOG_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let col = find(column).ok_or_else(|| {
        format!(
            "train_log.csv has no column {column:?}: it has {}",
            header.join(", ")
        )
    })?;
    let step_col = find("step").ok_or("train_log.csv has no step column")?;
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let row = match step {
        None => rows.last(),
        Some(s) => rows
            .iter()
            .find(|r| r.get(step_col).and_then(|v| v.trim().parse::<u64>().ok()) == Some(s)),
    }
    .ok_or_else(|| format!("train_log.csv has no row for step {step:?}"))?;
    let at = row.get(step_col).map_or("?", |v| v.trim());
    let raw = row.get(col).map_or("", |v| v.trim());
    let value: f32 = raw.parse().map_err(|_| {
        format!("train_log.csv has no number in {column} at step {at} ({raw:?}): some columns are written every 100 steps")
    })?;
    if bounds.hold(value) {
        return Ok(());
    }
    Err(format!(
        "claim false: train_log.csv has {column} = {raw} at step {at}, not {}",
        bounds.describe()
    ))
}
