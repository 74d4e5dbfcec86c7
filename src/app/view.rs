//! The tutor's main views, in Tab order, with their titles and the names lesson files use, and the
//! Training view's two pages.

/// The main views, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Attention,
    Heads,
    Scores,
    /// Inside the selected head at the cursor's query: q·k, weights, values, W_O, the MLP's neurons.
    Inside,
    Positions,
    Residual,
    Lens,
    Next,
    Training,
    Lesson,
}

/// The Training view's two pages (i switches): the loaded model's training curve, or the scaling
/// family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrainingPage {
    #[default]
    Curve,
    Scaling,
}

impl View {
    pub const ALL: [View; 10] = [
        View::Attention,
        View::Heads,
        View::Scores,
        View::Inside,
        View::Positions,
        View::Residual,
        View::Lens,
        View::Next,
        View::Training,
        View::Lesson,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Attention => "Attention",
            View::Heads => "Heads",
            View::Scores => "Scores",
            View::Inside => "Inside",
            View::Positions => "Positions",
            View::Residual => "Residual",
            View::Lens => "Lens",
            View::Next => "Next",
            View::Training => "Training",
            View::Lesson => "Lesson",
        }
    }

    /// The title in a few letters, for tabs on a line too narrow for every title.
    pub fn short_title(self) -> &'static str {
        match self {
            View::Attention => "Attn",
            View::Positions => "Pos",
            View::Residual => "Resid",
            View::Training => "Train",
            v => v.title(),
        }
    }

    /// The name lesson files use for this view.
    pub fn panel(self) -> &'static str {
        crate::lesson::PANELS[self.index()]
    }

    pub fn from_panel(name: &str) -> Option<View> {
        if name == "scaling" {
            return Some(View::Training);
        }
        if name == "attribution" {
            return Some(View::Lens);
        }
        View::ALL.iter().copied().find(|v| v.panel() == name)
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|&v| v == self).unwrap_or(0)
    }

    pub(super) fn cycled(self, forward: bool) -> View {
        let n = View::ALL.len();
        let i = self.index();
        View::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}
