//! The tutor's shell: it carries out the [`Effect`]s the app returns (a PNG of the current view, the
//! lesson progress file) and tells the app how they went. The app itself writes nothing; this is the
//! library's part of the top layer, beside the commands, and may use every layer below.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{eyre, Result};

use crate::analysis::attribution::{heading, target_label};
use crate::app::{App, Effect, View};
use crate::error::one_line;
use crate::export::{self, NextTokens, PlotOptions};

/// Size of the screen picture for views that have no figure of their own.
const SCREEN: (u16, u16) = (120, 40);

/// Carry out `effects` in order, reporting each result back to `app`.
pub fn carry_out(app: &mut App, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::ExportPng { dir } => {
                let result = export_view(app, &dir).map_err(|e| one_line(&e).0);
                app.exported(result);
            }
            Effect::SaveProgress { path, progress } => {
                let result = progress.save(&path).map_err(|e| one_line(&e).0);
                app.progress_saved(result);
            }
            Effect::Suspend => crate::interrupt::suspend(),
        }
    }
}

/// Carry out whatever effects `app` has queued (what the event loop does after each event).
pub fn carry_out_queued(app: &mut App) {
    let effects = app.take_effects();
    carry_out(app, effects);
}

/// Write the app's current view into `dir` under a name that does not overwrite an earlier export,
/// drawn from the same analysis data as the screen; returns the path written.
pub fn export_view(app: &App, dir: &Path) -> Result<PathBuf> {
    let (snap, info) = app
        .snap
        .as_ref()
        .zip(app.info.as_ref())
        .ok_or_else(|| eyre!("nothing to export yet: the model is still loading"))?;
    let opts = PlotOptions {
        model: Some(info.name.clone()),
        prompt: Some(app.full_text()),
        ..PlotOptions::default()
    };
    let stem = match app.view {
        View::Attention | View::Scores => {
            format!("glassbox-{}-L{}H{}", app.view.panel(), app.layer, app.head)
        }
        View::Next => format!("glassbox-next-{}", app.cursor),
        View::Training => format!("glassbox-{}", app.panel_name()),
        View::Lens if app.lens_page == crate::app::LensPage::Attribution => {
            format!("glassbox-attribution-{}", app.cursor)
        }
        v => format!("glassbox-{}", v.panel()),
    };
    let path = export::unused_path(dir, &stem, "png");
    match app.view {
        View::Attention | View::Scores => {
            let map = app
                .head_map(app.view)
                .ok_or_else(|| eyre!("no map for L{}H{}", app.layer, app.head))?;
            export::export_heatmap(&map, &opts, &path)?;
        }
        View::Heads => {
            let layers: Vec<usize> = (0..info.config.n_layers).collect();
            let px = export::heads_px(&opts);
            let thumbs = layers
                .iter()
                .map(|&l| app.thumbnails(l, px, px).map(|t| t.to_vec()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    eyre!("the heads' patterns are still being computed: press x again")
                })?;
            export::export_head_grid(&thumbs, &layers, snap.ids.len(), &opts, &path)?;
        }
        View::Positions => {
            let maps = app
                .position_maps()
                .ok_or_else(|| eyre!("no position embedding"))?;
            export::export_positions(&maps, &opts, &path)?;
        }
        View::Next => {
            let probs = app
                .next_probs()
                .ok_or_else(|| eyre!("no logits at position {}", app.cursor))?;
            let token = snap.tokens.get(app.cursor).cloned().unwrap_or_default();
            let data = NextTokens::from_probs(
                &probs,
                10,
                app.cursor,
                token,
                app.sampling.temperature,
                |id| info.codec.token_label(id),
            );
            export::export_probs(&data, &opts, &path)?;
        }
        View::Training => {
            let training = app
                .training
                .as_ref()
                .ok_or_else(|| eyre!("the training log is still being read"))?;
            match app.training_page {
                crate::app::TrainingPage::Curve => {
                    let log = match &training.log {
                        Some(Ok(log)) => log,
                        Some(Err(e)) => return Err(eyre!("{e}")),
                        None => return Err(eyre!("{} has no train_log.csv to draw", info.name)),
                    };
                    let opts = PlotOptions {
                        prompt: None,
                        ..opts
                    };
                    export::export_training(log, info.config.d_vocab, &opts, &path)?;
                }
                crate::app::TrainingPage::Scaling => {
                    let family = training.family.as_ref().map_err(|e| eyre!("{e}"))?;
                    let opts = PlotOptions {
                        prompt: None,
                        model: None,
                        ..opts
                    };
                    export::export_scaling(family, &opts, &path)?;
                }
            }
        }
        View::Lens if app.lens_page == crate::app::LensPage::Attribution => {
            let a = app
                .attribution_current()
                .and_then(|answer| answer.data.as_ref())
                .ok_or_else(|| eyre!("the attribution is still being computed"))?
                .as_ref()
                .map_err(|e| eyre!("{e}"))?;
            let label = |id: u32| info.codec.token_label(id);
            let what = target_label(
                &label(a.target.token),
                a.target.versus.map(label).as_deref(),
            );
            let token = snap.tokens.get(a.pos).cloned().unwrap_or_default();
            export::export_attribution(a, &heading(&what, a.pos, &token), &opts, &path)?;
        }
        View::Inside | View::Residual | View::Lens | View::Lesson => {
            let buf = crate::ui::screen_buffer(app, SCREEN);
            export::screenshot::save_buffer_png(&buf, &path)?;
        }
    }
    Ok(path)
}
