//! Small parts of the tutor's state: what covers the main view, how tokens are chosen, and the
//! what-ifs.

use super::Editor;

/// What covers the main view and takes the keys first: at most one thing at a time, so which one
/// wins is never a question of drawing order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Overlay {
    #[default]
    None,
    /// The key list, scrolled down by `scroll` lines on a terminal too short to show every key.
    Help { scroll: u16 },
    /// The prompt being edited.
    Editing(Editor),
    /// The lesson list, with the selected row.
    LessonList(usize),
}

/// How the tutor chooses a generated token, and the temperature the Next view shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Sample (true) or take the most probable token (false).
    pub sample: bool,
    pub temperature: f32,
    /// Advanced with every generated token, so sampling twice from one place can differ.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            sample: false,
            temperature: 1.0,
            seed: 0x676c_6173,
        }
    }
}

/// The ways the tutor can change the model for a look at what follows, all off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WhatIf {
    /// Scores without the 1/√dₖ factor (the Scores view).
    pub unscaled: bool,
    /// The head whose output is zeroed (its logits are fetched like any answer).
    pub ablation: Option<(usize, usize)>,
    /// The position what-if asked of the worker (None: positions as trained); the snapshot says
    /// which one it was made with.
    pub positions: Option<crate::model::PositionEdit>,
}
