//! The tutor's x key: the current view as a PNG, drawn from the same analysis data as the screen.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{eyre, Result};

use super::{App, View};
use crate::export::{self, NextTokens, PlotOptions};

/// Size of the screen picture for views that have no figure of their own.
const SCREEN: (u16, u16) = (120, 40);

impl App {
    /// Write the current view into `dir` under a name that does not overwrite an earlier export.
    pub fn export_view(&self, dir: &Path) -> Result<PathBuf> {
        let (snap, info) = self
            .snap
            .as_ref()
            .zip(self.info.as_ref())
            .ok_or_else(|| eyre!("nothing to export yet: the model is still loading"))?;
        let opts = PlotOptions {
            model: Some(info.name.clone()),
            prompt: Some(self.full_text()),
            ..PlotOptions::default()
        };
        let stem = match self.view {
            View::Attention | View::Scores => {
                format!(
                    "glassbox-{}-L{}H{}",
                    self.view.panel(),
                    self.layer,
                    self.head
                )
            }
            View::Next => format!("glassbox-next-{}", self.cursor),
            v => format!("glassbox-{}", v.panel()),
        };
        let path = export::unused_path(dir, &stem, "png");
        match self.view {
            View::Attention | View::Scores => {
                let map = self
                    .head_map(self.view)
                    .ok_or_else(|| eyre!("no map for L{}H{}", self.layer, self.head))?;
                export::export_heatmap(&map, &opts, &path)?;
            }
            View::Heads => {
                let layers: Vec<usize> = (0..info.config.n_layers).collect();
                export::export_heads(&snap.capture, &layers, &opts, &path)?;
            }
            View::Positions => {
                let maps = self
                    .position_maps()
                    .ok_or_else(|| eyre!("no position embedding"))?;
                export::export_positions(&maps, &opts, &path)?;
            }
            View::Next => {
                let probs = self
                    .next_probs()
                    .ok_or_else(|| eyre!("no logits at position {}", self.cursor))?;
                let token = snap.tokens.get(self.cursor).cloned().unwrap_or_default();
                let data = NextTokens::from_probs(
                    &probs,
                    10,
                    self.cursor,
                    token,
                    self.temperature,
                    |id| info.codec.token_str(id),
                );
                export::export_probs(&data, &opts, &path)?;
            }
            View::Residual | View::Lens | View::Lesson => {
                let buf = export::tutor::render(self, SCREEN);
                export::screenshot::save_buffer_png(&buf, &path)?;
            }
        }
        Ok(path)
    }
}
