//! `glassbox export`: attention maps, positional encodings, next-token charts and tutor screenshots
//! as files. The output path is checked before the model is loaded, and every bad input is one line
//! with a hint; nothing is written unless the whole figure was drawn.

use std::path::{Path, PathBuf};

use candle_core::IndexOp;
use std::io::Write;

use color_eyre::eyre::{Result, WrapErr};
use glassbox::analysis::heatmap::{attention_pattern, attention_scores};
use glassbox::analysis::positions::{
    position_embedding, position_similarity, rotary_angles, sinusoidal,
};
use glassbox::analysis::predictions::softmax;
use glassbox::analysis::scaling::{read_gpt2_config, Family};
use glassbox::analysis::training::TrainLog;
use glassbox::error::{hinted, Hinted};
use glassbox::export::{self, check_target, NextTokens, PlotOptions};
use glassbox::model::finite::Count;
use glassbox::model::hooks::{block_hook, BlockHook};
use glassbox::model::{LoadedModel, NamesFilter};

use super::{load_model, read_prompt, warn_non_finite};
use crate::cli::{
    ExportArgs, ExportAttentionArgs, ExportAttributionArgs, ExportChart, ExportPosArgs,
    ExportProbsArgs, ExportScalingArgs, ExportScreenshotsArgs, ExportTrainingArgs, FigureArgs,
    PromptArgs,
};

/// Candidates a probability chart may show.
const MAX_TOP: usize = 50;

pub fn run(args: ExportArgs) -> Result<()> {
    match args.chart {
        None => attention(args.attention),
        Some(ExportChart::Attention(a)) => attention(a),
        Some(ExportChart::Pos(a)) => positions(a),
        Some(ExportChart::Probs(a)) => probs(a),
        Some(ExportChart::Training(a)) => training(a),
        Some(ExportChart::Scaling(a)) => scaling(a),
        Some(ExportChart::Attribution(a)) => attribution(a),
        Some(ExportChart::Screenshots(a)) => screenshots(a),
    }
}

/// The output path, checked (extension, folder) before anything slow happens.
fn target(figure: &FigureArgs) -> Result<PathBuf> {
    let Some(out) = figure.out.clone() else {
        return hinted("no output file given", "pass -o FILE.png or -o FILE.svg");
    };
    check_target(&out)?;
    Ok(out)
}

fn report(path: &Path, (w, h): (u32, u32)) {
    // The file is written: a closed pipe while saying so is no reason to fail.
    let _ = writeln!(std::io::stdout(), "wrote {} ({w}×{h} px)", path.display());
}

/// The prompt's text and ids; an empty prompt is an error even though BOS alone would run.
fn prompt(args: &PromptArgs, loaded: &LoadedModel) -> Result<(String, Vec<u32>)> {
    let (text, ids) = read_prompt(args, loaded)?;
    if text.trim().is_empty() {
        return hinted(
            "the prompt is empty",
            "give some text with --prompt TEXT or --prompt-file FILE",
        );
    }
    Ok((text, ids))
}

/// `what` (layer or head) `index` must be below `count`.
fn check_index(what: &str, index: usize, count: usize, owner: &str) -> Result<()> {
    if index < count {
        return Ok(());
    }
    hinted(
        format!(
            "there is no {what} {index}: {owner} has {count} {what}s (0–{})",
            count.saturating_sub(1)
        ),
        format!("pass --{what} from 0 to {}", count.saturating_sub(1)),
    )
}

fn attention(args: ExportAttentionArgs) -> Result<()> {
    let out = target(&args.figure)?;
    let loaded = load_model(&args.model)?;
    let (text, ids) = prompt(&args.prompt, &loaded)?;
    let cfg = loaded.model.config().clone();
    let name = loaded.files.name.clone();
    let layers: Vec<usize> = match args.layer {
        Some(layer) if !args.all => {
            check_index("layer", layer, cfg.n_layers, &name)?;
            if let Some(head) = args.head {
                check_index(
                    "head",
                    head,
                    cfg.n_heads,
                    &format!("layer {layer} of {name}"),
                )?;
            }
            vec![layer]
        }
        _ => (0..cfg.n_layers).collect(),
    };
    let hook = if args.scores {
        BlockHook::AttnScores
    } else {
        BlockHook::Pattern
    };
    let hooks: Vec<String> = layers.iter().map(|&l| block_hook(l, hook)).collect();
    let trace = loaded.model.trace(&ids, NamesFilter::names(&hooks))?;
    // The figure is still drawn: its NaN cells carry their own mark.
    warn_non_finite(&trace);
    let opts = PlotOptions {
        cmap: args.cmap,
        values: args.values,
        scale: args.figure.scale,
        model: Some(name),
        prompt: Some(text),
    };
    let size = match (args.head, layers.as_slice()) {
        (Some(head), [layer]) => {
            let tokens = loaded.codec.token_labels(&ids);
            let mut map = if args.scores {
                let d_head = cfg.d_head;
                attention_scores(trace.capture(), *layer, head, &tokens, d_head, false)?
            } else {
                attention_pattern(trace.capture(), *layer, head, &tokens)?
            };
            // The hook name too, so a Python user knows which tensor this is.
            map.title = format!("{} · {}[{head}]", map.title, hooks[0]);
            export::export_heatmap(&map, &opts, &out)?
        }
        _ => export::export_heads(trace.capture(), &layers, &opts, &out)?,
    };
    report(&out, size);
    Ok(())
}

fn positions(args: ExportPosArgs) -> Result<()> {
    let out = target(&args.figure)?;
    let loaded = load_model(&args.model)?;
    let cfg = loaded.model.config();
    let n = args.positions.unwrap_or(cfg.n_ctx.min(256));
    if n == 0 || n > cfg.n_ctx {
        return hinted(
            format!(
                "cannot show {n} positions: {} has {}",
                loaded.files.name, cfg.n_ctx
            ),
            format!("pass --positions from 1 to {}", cfg.n_ctx),
        );
    }
    let opts = PlotOptions {
        scale: args.figure.scale,
        model: Some(loaded.files.name.clone()),
        ..PlotOptions::default()
    };
    let Some(w_pos) = loaded.model.pos_embed() else {
        // Rotary: nothing learned to draw, the angles and what they do to q·k instead.
        let freqs = match loaded.model.positions() {
            glassbox::model::family::Positions::Rotary(rope) => rope.frequencies().to_vec(),
            glassbox::model::family::Positions::Learned(_) => Vec::new(),
        };
        let maps = vec![
            rotary_angles(&freqs, n, false),
            rotary_angles(&freqs, n, true),
        ];
        report(
            &out,
            export::export_rotary(&maps, &freqs, cfg.n_ctx, &opts, &out)?,
        );
        return Ok(());
    };
    let maps = vec![
        position_embedding(w_pos, n)?,
        position_similarity(w_pos, n)?,
        sinusoidal(n, cfg.d_model),
    ];
    report(&out, export::export_positions(&maps, &opts, &out)?);
    Ok(())
}

fn training(args: ExportTrainingArgs) -> Result<()> {
    let out = target(&args.figure)?;
    // Only the folder's files are needed, not its weights.
    let files = glassbox::model::loader::resolve(args.model.as_deref())?;
    let log_path = files.dir.join("train_log.csv");
    if files.format != glassbox::model::loader::Format::Folder || !log_path.is_file() {
        return hinted(
            format!("{} has no train_log.csv", files.name),
            "only a model that `glassbox train` made keeps its training log; leave out --model for the bundled one",
        );
    }
    let log = TrainLog::read(&log_path).map_err(|e| color_eyre::eyre::eyre!(e))?;
    let cfg = read_gpt2_config(&files.config).map_err(|e| color_eyre::eyre::eyre!(e))?;
    let opts = PlotOptions {
        scale: args.figure.scale,
        model: Some(files.name.clone()),
        ..PlotOptions::default()
    };
    report(
        &out,
        export::export_training(&log, cfg.d_vocab, &opts, &out)?,
    );
    Ok(())
}

fn scaling(args: ExportScalingArgs) -> Result<()> {
    let out = target(&args.figure)?;
    let dir = match args.runs {
        Some(d) => d,
        None => glassbox::model::loader::scaling_dir()?,
    };
    let family = Family::read(&dir).map_err(|e| {
        color_eyre::eyre::eyre!(Hinted::new(
            e,
            "tools/train_scaling.sh trains the family into models/scaling",
        ))
    })?;
    let opts = PlotOptions {
        scale: args.figure.scale,
        ..PlotOptions::default()
    };
    report(&out, export::export_scaling(&family, &opts, &out)?);
    Ok(())
}

fn probs(args: ExportProbsArgs) -> Result<()> {
    let out = target(&args.figure)?;
    if args.top == 0 || args.top > MAX_TOP {
        return hinted(
            format!("--top {} is out of range", args.top),
            format!("show from 1 to {MAX_TOP} candidates"),
        );
    }
    if !args.temperature.is_finite() || args.temperature < 0.0 {
        return hinted(
            format!("the temperature {} is not allowed", args.temperature),
            "use 0 (greedy) or a positive number such as 0.7 or 1",
        );
    }
    let loaded = load_model(&args.model)?;
    let (text, ids) = prompt(&args.prompt, &loaded)?;
    let position = position_in(args.position, ids.len())?;
    let trace = loaded.model.trace(&ids, NamesFilter::names(&["logits"]))?;
    let logits = trace
        .capture()
        .get("logits")
        .ok_or_else(|| color_eyre::eyre::eyre!("the logits were not captured"))??
        .i((0, position))?
        .to_vec1::<f32>()
        .wrap_err("reading the logits")?;
    // A chart of NaN probabilities says nothing: stop, naming where the NaN came from.
    if !Count::of(logits.iter().copied()).is_empty() {
        return Err(match trace.non_finite() {
            Some(at) => at.error(),
            None => Hinted::new(
                format!("the model's output after position {position} is not a number"),
                "the checkpoint holds NaN or infinite weights (loading warns which)",
            )
            .into(),
        });
    }
    let probs = softmax(&logits, args.temperature);
    let data = NextTokens::from_probs(
        &probs,
        args.top,
        position,
        loaded.codec.token_label(ids[position]),
        args.temperature,
        |id| loaded.codec.token_label(id),
    );
    let opts = PlotOptions {
        scale: args.figure.scale,
        model: Some(loaded.files.name.clone()),
        prompt: Some(text),
        ..PlotOptions::default()
    };
    report(&out, export::export_probs(&data, &opts, &out)?);
    Ok(())
}

/// A text that must be one token of the model's vocabulary, for --token and --versus.
fn one_token(loaded: &LoadedModel, flag: &str, text: &str) -> Result<u32> {
    let ids = loaded.codec.encode(text, false)?;
    match ids.as_slice() {
        [id] => Ok(*id),
        _ => {
            let pieces: Vec<String> = ids
                .iter()
                .map(|&id| format!("{:?}", loaded.codec.token_label(id)))
                .collect();
            hinted(
                format!(
                    "{flag} {text:?} is {} tokens ({}), not one",
                    ids.len(),
                    pieces.join(" ")
                ),
                "give one token with its leading space, such as \" Mary\"",
            )
        }
    }
}

fn attribution(args: ExportAttributionArgs) -> Result<()> {
    use glassbox::analysis::attribution::{attribute_prompt, heading, target_label, Target};
    let out = target(&args.figure)?;
    let loaded = load_model(&args.model)?;
    let (text, ids) = prompt(&args.prompt, &loaded)?;
    let position = position_in(args.position, ids.len())?;
    let token = match &args.token {
        Some(t) => one_token(&loaded, "--token", t)?,
        None => {
            // The model's own choice at the position.
            let logits = loaded
                .model
                .forward(
                    &candle_core::Tensor::new(&ids[..=position], loaded.model.device())?
                        .unsqueeze(0)?,
                )?
                .i((0, position))?
                .to_vec1::<f32>()?;
            glassbox::analysis::predictions::argmax(&logits) as u32
        }
    };
    let versus = args
        .versus
        .as_deref()
        .map(|v| one_token(&loaded, "--versus", v))
        .transpose()?;
    let a = attribute_prompt(
        &loaded.model,
        &ids,
        position,
        Target { token, versus },
        None,
    )
    .wrap_err("attributing the logit")?;
    let label = |id: u32| loaded.codec.token_label(id);
    let what = target_label(&label(token), versus.map(label).as_deref());
    let heading = heading(&what, position, &label(ids[position]));
    let opts = PlotOptions {
        scale: args.figure.scale,
        model: Some(loaded.files.name.clone()),
        prompt: Some(text),
        ..PlotOptions::default()
    };
    report(&out, export::export_attribution(&a, &heading, &opts, &out)?);
    Ok(())
}

fn screenshots(args: ExportScreenshotsArgs) -> Result<()> {
    let (w, h) = (args.width, args.height);
    let (min_w, min_h) = glassbox::ui::MIN_SIZE;
    if w < min_w || h < min_h || w > 400 || h > 200 {
        return hinted(
            format!("a {w}×{h} terminal cannot be pictured"),
            format!("use a size from {min_w}×{min_h} to 400×200 cells"),
        );
    }
    std::fs::create_dir_all(&args.out)
        .wrap_err_with(|| format!("cannot create the folder {}", args.out.display()))?;
    let loaded = load_model(&args.model)?;
    let prompt = args
        .prompt
        .unwrap_or_else(|| super::screenshots::PROMPT.to_string());
    for path in super::screenshots::tutor_screenshots(loaded, &prompt, &args.out, (w, h))? {
        writeln!(std::io::stdout(), "wrote {}", path.display())?;
    }
    Ok(())
}

/// `--position` (default: the last token) checked against a prompt of `n` tokens.
fn position_in(position: Option<usize>, n: usize) -> Result<usize> {
    let position = position.unwrap_or(n - 1);
    if position >= n {
        return hinted(
            format!(
                "there is no position {position}: the prompt has {n} tokens (0–{}, BOS included)",
                n - 1
            ),
            format!("pass --position from 0 to {}", n - 1),
        );
    }
    Ok(position)
}
