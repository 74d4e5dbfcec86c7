//! What the tutor needs done outside itself. The app writes no file: a key or a lesson step queues an
//! [`Effect`], the event loop takes the queue with [`App::take_effects`] after each event, carries the
//! effects out and reports back ([`App::exported`], [`App::progress_saved`]).

use std::path::PathBuf;

use super::App;
use crate::lesson::progress::Progress;

/// Something the event loop does for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Export the current view as a PNG into this folder (the `x` key), under a name that does not
    /// overwrite an earlier export.
    ExportPng { dir: PathBuf },
    /// Write the lesson progress to its file.
    SaveProgress { path: PathBuf, progress: Progress },
    /// Give the terminal back and stop, as Ctrl-Z does in a shell; `fg` resumes (Ctrl-Z).
    Suspend,
}

impl App {
    /// The effects queued since the last call, in order, with one save of the lesson progress at the
    /// end when it changed (and has a file).
    pub fn take_effects(&mut self) -> Vec<Effect> {
        // An export whose figure the worker is still computing waits, and what follows it.
        let ready = match self
            .effects
            .iter()
            .position(|e| matches!(e, Effect::ExportPng { .. }))
        {
            Some(i) if self.fetching() => i,
            _ => self.effects.len(),
        };
        let mut out: Vec<Effect> = self.effects.drain(..ready).collect();
        if std::mem::take(&mut self.lessons.unsaved) {
            if let Some(path) = &self.lessons.progress_path {
                out.push(Effect::SaveProgress {
                    path: path.clone(),
                    progress: self.lessons.progress.clone(),
                });
            }
        }
        out
    }

    /// Whether a PNG export waits in the queue.
    pub(super) fn export_queued(&self) -> bool {
        self.effects
            .iter()
            .any(|e| matches!(e, Effect::ExportPng { .. }))
    }

    /// How an [`Effect::ExportPng`] went: the file written, or the error on one line.
    pub fn exported(&mut self, result: Result<PathBuf, String>) {
        match result {
            Ok(path) => self.status = format!("wrote {}", path.display()),
            Err(e) => self.error = Some(e),
        }
    }

    /// How an [`Effect::SaveProgress`] went: an error is kept as `lessons.save_error` (and shown)
    /// until a later save succeeds.
    pub fn progress_saved(&mut self, result: Result<(), String>) {
        self.lessons.save_error = result.err();
    }
}
