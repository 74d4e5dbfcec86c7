//! The position what-if in the tutor: p cycles learned → zeroed → reversed → learned, and every
//! view then shows the run made with it (the worker runs the prompt again, and keeps the what-if
//! while tokens are generated or removed).

use super::worker::{PositionEncoding, Request};
use super::App;
use crate::model::PositionEdit;

impl App {
    /// Whether the loaded model rotates q and k (Llama family) instead of adding a position table.
    pub(super) fn rotary(&self) -> bool {
        self.info
            .as_ref()
            .is_some_and(|i| matches!(i.positions, PositionEncoding::Rotary(_)))
    }

    /// The next state of the what-if (a rotary model has no table to reverse: learned ↔ zeroed).
    fn next_positions(&self) -> Option<PositionEdit> {
        match self.what_if.positions {
            None => Some(PositionEdit::Zeroed),
            Some(PositionEdit::Zeroed) if !self.rotary() => Some(PositionEdit::Reversed),
            Some(_) => None,
        }
    }

    /// The p key: the next state, with a status line that says what it does.
    pub(super) fn cycle_positions(&mut self) -> Vec<Request> {
        if self.info.is_none() {
            return Vec::new();
        }
        let next = self.next_positions();
        self.status = match (next, self.rotary()) {
            (Some(PositionEdit::Zeroed), false) => {
                "what-if: positions zeroed, no position embedding is added (p: reversed)".into()
            }
            (Some(PositionEdit::Zeroed), true) => {
                "what-if: rotation off, q and k are not rotated (p: back to rotary)".into()
            }
            (Some(PositionEdit::Reversed), _) => {
                "what-if: positions reversed, token i gets W_pos[n_ctx−1−i] (p: learned)".into()
            }
            (None, false) => "positions as learned".into(),
            (None, true) => {
                "rotary positions as trained (no position table to reverse on this model)".into()
            }
        };
        self.set_positions(next).into_iter().collect()
    }

    /// Ask for runs with `edit` from now on, if that is not what was asked already.
    pub(super) fn set_positions(&mut self, edit: Option<PositionEdit>) -> Option<Request> {
        if edit == self.what_if.positions {
            return None;
        }
        self.what_if.positions = edit;
        let label = self.positions_label(edit).unwrap_or("positions as learned");
        self.busy = Some(format!("running with {label}…"));
        self.in_flight += 1;
        Some(Request::Positions(edit))
    }

    /// The status bar's mark for a run made with `edit`: none for positions as trained.
    pub fn positions_label(&self, edit: Option<PositionEdit>) -> Option<&'static str> {
        match (edit?, self.rotary()) {
            (PositionEdit::Zeroed, true) => Some("rotation off"),
            (PositionEdit::Zeroed, false) => Some("positions zeroed"),
            (PositionEdit::Reversed, _) => Some("positions reversed"),
        }
    }
}
