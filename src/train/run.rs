//! The optimisation loop: random windows, AdamW, periodic held-out loss.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use color_eyre::eyre::{Result, WrapErr};

use super::probes::HeadProbes;
use super::{Event, PosInit, SeededVarMap, StepLog, TrainConfig};
use crate::corpus::Rng;
use crate::error::hinted;
use crate::model::{Config, Gpt2, Model};

/// Seed-stream ids, so weights and batches draw from independent generators.
const BATCH_STREAM: u64 = 1;

pub(super) fn train_loop(
    cfg: &TrainConfig,
    model_cfg: &Config,
    train_ids: &[u32],
    held_ids: &[u32],
    probes: &HeadProbes,
    on: &mut impl FnMut(Event<'_>),
) -> Result<(VarMap, Vec<StepLog>)> {
    let dev = Device::Cpu;
    let window = cfg.seq_len + 1; // inputs plus the next-token target
    if train_ids.len() <= window {
        return hinted(
            format!(
                "the training text is {} tokens, too short for --seq-len {}",
                train_ids.len(),
                cfg.seq_len
            ),
            "raise --docs or lower --seq-len",
        );
    }
    let eval = eval_windows(cfg, held_ids, &dev)?;

    let seeded = SeededVarMap::new(cfg.seed);
    if cfg.pos_init == PosInit::Sinusoidal {
        // Registered before the model is built, which then takes this variable as its W_pos.
        sinusoidal_positions(&seeded.varmap, model_cfg)?;
    }
    let model = Gpt2::load(seeded.builder(&dev), model_cfg, true).wrap_err("creating the model")?;
    let varmap = seeded.varmap;
    let (mut decayed, mut plain) = optimizers(&varmap, cfg)?;
    on(Event::Start {
        steps: cfg.steps,
        n_params: model_cfg.n_params(),
    });

    let mut rng = Rng::stream(cfg.seed, BATCH_STREAM);
    let started = Instant::now();
    let mut log = Vec::with_capacity(cfg.steps);
    for step in 0..cfg.steps {
        let lr = cfg.lr_at(step);
        decayed.set_learning_rate(lr);
        plain.set_learning_rate(lr);
        let (x, y) = random_batch(&mut rng, train_ids, cfg.batch, cfg.seq_len, &dev)?;
        let logits = model.forward_t(&x, true)?; // [b, t, V]
        let loss = next_token_loss(&logits, &y)?; // scalar
        let grads = loss.backward()?;
        decayed.step(&grads)?;
        plain.step(&grads)?;
        let done = step + 1;
        let (heldout_loss, heads) = if done % cfg.eval_every == 0 || done == cfg.steps {
            let model = detached(&varmap, model_cfg)?;
            (Some(heldout(&model, &eval)?), Some(probes.measure(&model)?))
        } else {
            (None, None)
        };
        log.push(StepLog {
            step: done,
            train_loss: loss.to_scalar::<f32>()?,
            heldout_loss,
            heads,
            tokens_seen: (done * cfg.batch * cfg.seq_len) as u64,
            lr,
            elapsed_s: started.elapsed().as_secs_f64(),
        });
        if let Some(last) = log.last() {
            on(Event::Step(last));
        }
    }
    Ok((varmap, log))
}

/// Two AdamW groups: matrices decay, vectors (biases, LayerNorm) do not, as GPT-2 recipes do.
/// Variables are taken in name order so the update order never depends on a HashMap.
fn optimizers(varmap: &VarMap, cfg: &TrainConfig) -> Result<(AdamW, AdamW)> {
    let mut named: Vec<(String, Var)> = varmap
        .data()
        .lock()
        .map_err(|_| color_eyre::eyre::eyre!("the VarMap lock is poisoned"))?
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let (matrices, vectors): (Vec<_>, Vec<_>) = named.into_iter().partition(|(_, v)| v.rank() >= 2);
    let params = |weight_decay| ParamsAdamW {
        lr: cfg.lr,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weight_decay,
    };
    let strip = |v: Vec<(String, Var)>| v.into_iter().map(|(_, v)| v).collect::<Vec<_>>();
    Ok((
        AdamW::new(strip(matrices), params(cfg.weight_decay))?,
        AdamW::new(strip(vectors), params(0.0))?,
    ))
}

/// `batch` windows at random offsets: inputs [b, t] and their next tokens [b, t] (u32).
fn random_batch(
    rng: &mut Rng,
    ids: &[u32],
    batch: usize,
    seq: usize,
    dev: &Device,
) -> Result<(Tensor, Tensor)> {
    let mut x = Vec::with_capacity(batch * seq);
    let mut y = Vec::with_capacity(batch * seq);
    for _ in 0..batch {
        let start = rng.below(ids.len() - seq); // the caller checked len > seq + 1
        x.extend_from_slice(&ids[start..start + seq]);
        y.extend_from_slice(&ids[start + 1..start + seq + 1]);
    }
    Ok((
        Tensor::from_vec(x, (batch, seq), dev)?,
        Tensor::from_vec(y, (batch, seq), dev)?,
    ))
}

/// Mean cross-entropy of logits [b, t, V] against targets [b, t]: the training loss.
pub fn next_token_loss(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let (b, t, v) = logits.dims3()?;
    crate::model::fast_ops::cross_entropy(&logits.reshape((b * t, v))?, &targets.reshape(b * t)?)
}

/// The fixed held-out set: consecutive windows from the start of the held-out stream, grouped into
/// batches of at most `cfg.batch`, each (inputs [n, t], targets [n, t]).
fn eval_windows(cfg: &TrainConfig, ids: &[u32], dev: &Device) -> Result<Vec<(Tensor, Tensor)>> {
    let seq = cfg.seq_len;
    let n = (ids.len().saturating_sub(1) / seq).min(cfg.eval_windows);
    if n == 0 {
        return hinted(
            format!(
                "the held-out text is {} tokens, too short for one --seq-len {} window",
                ids.len(),
                seq
            ),
            "raise --eval-docs or lower --seq-len",
        );
    }
    let starts: Vec<usize> = (0..n).map(|i| i * seq).collect();
    starts
        .chunks(cfg.batch)
        .map(|chunk| {
            let x: Vec<u32> = chunk
                .iter()
                .flat_map(|&s| ids[s..s + seq].to_vec())
                .collect();
            let y: Vec<u32> = chunk
                .iter()
                .flat_map(|&s| ids[s + 1..s + seq + 1].to_vec())
                .collect();
            Ok((
                Tensor::from_vec(x, (chunk.len(), seq), dev)?,
                Tensor::from_vec(y, (chunk.len(), seq), dev)?,
            ))
        })
        .collect()
}

/// A model over detached copies of the weights, for evaluation: no graph is recorded.
fn detached(varmap: &VarMap, model_cfg: &Config) -> Result<Model> {
    let tensors: HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .map_err(|_| color_eyre::eyre::eyre!("the VarMap lock is poisoned"))?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
        .collect();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    Ok(Gpt2::load(vb, model_cfg, true)?.into())
}

/// Register W_pos starting at the sinusoidal encoding of Vaswani et al. (2017), scaled to the token
/// embedding's spread, instead of noise. Still a learned embedding: only its starting point changes.
/// With sinusoids, "the position before me" is a fixed linear map of "my position" (a rotation per
/// frequency pair), which W_Q and W_K could use for a previous-token head without first shaping every
/// random row. On the bundled model's corpus it did not make one form sooner (see its model card).
fn sinusoidal_positions(varmap: &VarMap, model_cfg: &Config) -> Result<()> {
    let (n, d) = (model_cfg.n_ctx, model_cfg.d_model);
    // The encoding's entries have a root mean square of 1/√2; the token embedding starts at INIT_STD.
    let scale = (crate::model::layers::INIT_STD * std::f64::consts::SQRT_2) as f32;
    let values: Vec<f32> = crate::analysis::positions::sinusoidal(n, d)
        .values
        .into_iter()
        .map(|v| v * scale)
        .collect();
    let wpe = Var::from_tensor(&Tensor::from_vec(values, (n, d), &Device::Cpu)?)?;
    varmap
        .data()
        .lock()
        .map_err(|_| color_eyre::eyre::eyre!("the VarMap lock is poisoned"))?
        .insert("transformer.wpe.weight".to_string(), wpe);
    Ok(())
}

/// Mean held-out loss over the fixed evaluation windows.
fn heldout(model: &Model, eval: &[(Tensor, Tensor)]) -> Result<f32> {
    let (mut total, mut count) = (0.0f64, 0usize);
    for (x, y) in eval {
        let n = x.dim(0)?;
        let loss = next_token_loss(&model.forward(x)?, y)?.to_scalar::<f32>()?;
        total += f64::from(loss) * n as f64; // batches may differ in size: weight by windows
        count += n;
    }
    Ok((total / count.max(1) as f64) as f32)
}
