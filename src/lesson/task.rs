//! Tasks a lesson asks for, and how the program checks them: always from the model's own numbers
//! on the current prompt, never from an answer written in the lesson (a file may state a threshold).

use candle_core::Result;
use serde::Deserialize;

pub use crate::analysis::heads::{head_scores, Criterion};
use crate::analysis::heatmap::{attention_pattern, Heatmap};
use crate::analysis::predictions::{argmax, token_losses};
use crate::model::Capture;

/// The model's numbers a task reads. The tutor's are computed by its worker when asked, so one may
/// not be here yet: `Ok(None)`, and the check says it is waiting.
pub trait Evidence {
    /// Every head's score by `c`: `[layer][head]`.
    fn head_scores(&self, c: Criterion) -> Result<Option<Vec<Vec<f32>>>>;
    /// One head's attention pattern.
    fn pattern(&self, layer: usize, head: usize) -> Result<Option<Heatmap>>;
    /// The loss at each position on the token that comes next: n − 1 values.
    fn token_losses(&self) -> Result<Option<Vec<f32>>>;
}

/// Evidence from a capture that holds every layer's pattern and the logits.
pub struct CaptureEvidence<'a> {
    pub capture: &'a Capture,
    pub ids: &'a [u32],
    pub n_layers: usize,
}

impl Evidence for CaptureEvidence<'_> {
    fn head_scores(&self, c: Criterion) -> Result<Option<Vec<Vec<f32>>>> {
        head_scores(self.capture, self.ids, self.n_layers, c).map(Some)
    }

    fn pattern(&self, layer: usize, head: usize) -> Result<Option<Heatmap>> {
        let tokens = vec![String::new(); self.ids.len()];
        attention_pattern(self.capture, layer, head, &tokens).map(Some)
    }

    fn token_losses(&self) -> Result<Option<Vec<f32>>> {
        token_losses(&self.capture.require("logits")?, self.ids).map(Some)
    }
}

/// What a check says while the numbers it reads are on their way.
const COMPUTING: &str = "computing…";

/// A task block as written in a lesson file: what the learner reads (`goal`, `hints`) and what the
/// program checks (`kind` and its fields).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// What the learner must do, in one sentence.
    pub goal: String,
    pub hints: Vec<String>,
    pub kind: TaskKind,
}

/// What a task checks, with the fields its kind needs: a missing, misspelt or extra field is a parse
/// error that names it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TaskKind {
    /// Select the head with the highest score by `criterion` (at least `min_score`).
    SelectHead {
        criterion: Criterion,
        #[serde(default)]
        min_score: Option<f32>,
    },
    /// Put the cursor on the key that row `query` attends to most in head layer.head.
    CursorOnTopKey {
        layer: usize,
        head: usize,
        /// Query row: a token index, negative from the end (default: the last token).
        #[serde(default = "last_token")]
        query: i64,
    },
    /// Look at the next-token distribution at a temperature ≤ low and at one ≥ high.
    Temperatures { low: f32, high: f32 },
    /// Ablate the best head by `criterion` and see the top token's probability fall.
    AblateHead { criterion: Criterion },
    /// Switch off the head `head` = [layer, head] (a) and read the Next view: for a step about what
    /// one named head does, whichever way the probabilities move.
    Ablate { head: [usize; 2] },
    /// Generate at least `count` tokens.
    Generate { count: usize },
    /// Open a panel; with `move_cursor`, also move the cursor while it is open (for a step whose
    /// view is open already, so the action is the exploring, not the opening).
    Visit {
        panel: String,
        #[serde(default)]
        move_cursor: bool,
    },
    /// Edit the prompt (e) into one that contains `text`, and run it.
    PromptContains { text: String },
    /// Put the cursor where the model pays the highest loss on the token that comes next.
    HardestToken,
    /// Turn off the 1/√dₖ scaling in the scores view.
    Unscaled,
    /// Turn the position what-if (p) to `mode`.
    Positions { mode: super::PositionsMode },
}

fn last_token() -> i64 {
    -1
}

impl Task {
    /// Parse a task block. `goal` and `hints` are the learner's; the rest must be one [`TaskKind`].
    pub fn parse(block: &str) -> std::result::Result<Task, toml::de::Error> {
        #[derive(Deserialize)]
        struct Text {
            goal: String,
            #[serde(default)]
            hints: Vec<String>,
        }
        let mut table: toml::Table = toml::from_str(block)?;
        let mut text = toml::Table::new();
        for key in ["goal", "hints"] {
            if let Some(v) = table.remove(key) {
                text.insert(key.into(), v);
            }
        }
        let Text { goal, hints } = toml::Value::Table(text).try_into()?;
        let kind: TaskKind = toml::Value::Table(table).try_into()?;
        let positive = |t: &f32| t.is_finite() && *t > 0.0;
        match &kind {
            TaskKind::Temperatures { low, high } if !(positive(low) && positive(high)) => {
                return Err(serde::de::Error::custom(format!(
                    "temperatures needs numbers above 0 (low = {low}, high = {high})"
                )));
            }
            TaskKind::Temperatures { low, high } if low >= high => {
                return Err(serde::de::Error::custom(format!(
                    "temperatures needs low < high (low = {low}, high = {high})"
                )));
            }
            TaskKind::Visit { panel, .. } if !super::PANELS.contains(&panel.as_str()) => {
                return Err(serde::de::Error::custom(format!(
                    "unknown panel {panel:?}: use one of {}",
                    super::PANELS.join(", ")
                )));
            }
            _ => {}
        }
        Ok(Task { goal, hints, kind })
    }
}

/// What the learner has done and sees now.
#[derive(Clone)]
pub struct Observed<'a> {
    pub ids: &'a [u32],
    pub evidence: &'a dyn Evidence,
    pub cursor: usize,
    pub layer: usize,
    pub head: usize,
    pub panel: &'a str,
    pub unscaled: bool,
    /// Every temperature the next-token view was shown at since the learner first changed it.
    pub temperatures_seen: &'a [f32],
    /// What the learner has changed since the step's setup ran: a task is never done by the setup.
    pub acted: Acted,
    /// The prompt as it is now (generated tokens included).
    pub prompt: &'a str,
    pub ablation: Option<(usize, usize)>,
    /// Next-token probabilities at the cursor, clean and with the ablation (when it has run).
    pub clean_probs: Option<&'a [f32]>,
    pub ablated_probs: Option<&'a [f32]>,
    /// The position what-if the run on screen was made with (None: as trained).
    pub positions: Option<crate::model::PositionEdit>,
}

/// What the learner has changed since the step began (each stays true once it happened), and how
/// many tokens have been added since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acted {
    pub cursor: bool,
    /// The selected layer or head.
    pub head: bool,
    pub view: bool,
    pub temperature: bool,
    pub ablation: bool,
    pub unscaled: bool,
    /// The position what-if (p).
    pub positions: bool,
    /// The prompt's text.
    pub prompt: bool,
    pub generated: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done, with what the program measured.
    Done(String),
    /// Not yet, with feedback.
    NotYet(String),
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}

/// The (layer, head, score) with the highest score.
pub fn best_head(scores: &[Vec<f32>]) -> Option<(usize, usize, f32)> {
    crate::analysis::heads::best_head(scores, 0).map(|h| (h.layer, h.head, h.score))
}

/// A negative index counts from the end.
fn resolve(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// How to reach `panel` from the panel on screen, for a task that waits for it.
fn how_to_open(panel: &str, on_screen: &str) -> String {
    match (panel, on_screen) {
        ("scaling", _) => "open the Training view (9), then press i".into(),
        ("training", "scaling") => {
            "this is the scaling family: press i for the training curve".into()
        }
        ("attribution", _) => "open the Lens view (7), then press i".into(),
        ("lens", "attribution") => {
            "this is direct logit attribution: press i for the logit lens".into()
        }
        _ => format!("open the {panel} view (Tab or its number)"),
    }
}

/// Whether `o` shows the task done. The learner must have made the change the task asks for since
/// the step began: a step whose setup already shows the answer still waits for the learner.
pub fn check(kind: &TaskKind, o: &Observed) -> Result<Outcome> {
    let a = o.acted;
    let waiting = match kind {
        TaskKind::SelectHead { .. } if !a.head => {
            Some("select a head: ↑ ↓ [ ], or click one in the Heads view")
        }
        TaskKind::CursorOnTopKey { .. } if !a.cursor => {
            Some("move the cursor: ← →, or click a token")
        }
        TaskKind::AblateHead { .. } | TaskKind::Ablate { .. } if !a.ablation => {
            Some("select the head and press a to ablate it")
        }
        TaskKind::Visit {
            move_cursor: true, ..
        } if !a.cursor => Some("move the cursor along the prompt: ← →"),
        TaskKind::Visit {
            panel,
            move_cursor: false,
        } if !a.view => return Ok(Outcome::NotYet(how_to_open(panel, o.panel))),
        TaskKind::PromptContains { .. } if !a.prompt => {
            Some("press e, edit the prompt, and press Enter")
        }
        TaskKind::HardestToken if !a.cursor => Some("move the cursor: ← →"),
        TaskKind::Unscaled if !a.unscaled => Some("open Scores (3) and press u"),
        TaskKind::Positions { .. } if !a.positions => Some("press p to change the positions"),
        _ => None,
    };
    if let Some(what) = waiting {
        return Ok(Outcome::NotYet(what.into()));
    }
    Ok(match kind {
        TaskKind::SelectHead {
            criterion,
            min_score,
        } => {
            let Some(scores) = o.evidence.head_scores(*criterion)? else {
                return Ok(Outcome::NotYet(COMPUTING.into()));
            };
            let (bl, bh, best) = best_head(&scores).unwrap_or((0, 0, 0.0));
            let mine = scores
                .get(o.layer)
                .and_then(|r| r.get(o.head))
                .copied()
                .unwrap_or(0.0);
            let what = criterion.describe();
            if min_score.is_some_and(|m| best < m) {
                Outcome::NotYet(format!(
                    "no head reaches a {what} of {:.2} on this prompt (best {best:.2})",
                    min_score.unwrap_or(0.0)
                ))
            } else if (o.layer, o.head) == (bl, bh) || mine >= best - 1e-6 {
                Outcome::Done(format!(
                    "L{}H{} has the highest {what}: {mine:.2}",
                    o.layer, o.head
                ))
            } else {
                Outcome::NotYet(format!(
                    "L{}H{} has a {what} of {mine:.2}; another head scores higher",
                    o.layer, o.head
                ))
            }
        }
        TaskKind::CursorOnTopKey { layer, head, query } => {
            let Some(map) = o.evidence.pattern(*layer, *head)? else {
                return Ok(Outcome::NotYet(COMPUTING.into()));
            };
            let q = resolve(*query, o.ids.len()).unwrap_or(0);
            let top = map.argmax_in_row(q).unwrap_or(0);
            if o.cursor == top {
                Outcome::Done(format!(
                    "yes: position {q} gives {:.2} of its attention to position {top}",
                    map.get(q, top).unwrap_or(0.0)
                ))
            } else {
                Outcome::NotYet(format!(
                    "position {q} gives {:.2} to the cursor's token; it gives more to another",
                    map.get(q, o.cursor).unwrap_or(0.0)
                ))
            }
        }
        TaskKind::Temperatures { low, high } => {
            let saw_low = o.temperatures_seen.iter().any(|&t| t <= *low + 1e-6);
            let saw_high = o.temperatures_seen.iter().any(|&t| t >= *high - 1e-6);
            match (saw_low, saw_high) {
                (true, true) => Outcome::Done(format!("seen at T ≤ {low} and at T ≥ {high}")),
                (false, _) => {
                    Outcome::NotYet(format!("lower the temperature to {low} or less (-)"))
                }
                (true, false) => {
                    Outcome::NotYet(format!("raise the temperature to {high} or more (+)"))
                }
            }
        }
        TaskKind::Ablate { head: [hl, hh] } => match (o.ablation, o.clean_probs, o.ablated_probs) {
            (Some(a), Some(clean), Some(ablated)) if a == (*hl, *hh) => {
                let top = argmax(clean);
                Outcome::Done(format!(
                    "with L{hl}H{hh} off, the top token's probability went from {:.2} to {:.2}",
                    clean[top], ablated[top]
                ))
            }
            (Some((l, h)), _, _) if (l, h) != (*hl, *hh) => Outcome::NotYet(format!(
                "L{l}H{h} is off; the task is about L{hl}H{hh} (a again switches it back on)"
            )),
            (Some(_), _, _) => Outcome::NotYet("running the ablated model…".into()),
            (None, _, _) => Outcome::NotYet(format!("select L{hl}H{hh} and press a")),
        },
        TaskKind::AblateHead { criterion } => {
            let Some(scores) = o.evidence.head_scores(*criterion)? else {
                return Ok(Outcome::NotYet(COMPUTING.into()));
            };
            let (bl, bh, _) = best_head(&scores).unwrap_or((0, 0, 0.0));
            match (o.ablation, o.clean_probs, o.ablated_probs) {
                (Some(a), Some(clean), Some(ablated)) if a == (bl, bh) => {
                    let top = argmax(clean);
                    if ablated[top] < clean[top] {
                        Outcome::Done(format!(
                            "the top token's probability fell from {:.2} to {:.2}",
                            clean[top], ablated[top]
                        ))
                    } else {
                        Outcome::NotYet("the top token did not lose probability here: move the cursor where the head matters".into())
                    }
                }
                (Some((l, h)), _, _) if (l, h) != (bl, bh) => Outcome::NotYet(format!(
                    "L{l}H{h} is not the head with the highest {}",
                    criterion.describe()
                )),
                (Some(_), _, _) => Outcome::NotYet("running the ablated model…".into()),
                (None, _, _) => Outcome::NotYet("select the head and press a to ablate it".into()),
            }
        }
        TaskKind::Generate { count } => {
            let n = a.generated;
            if n >= *count {
                Outcome::Done(format!("{n} tokens generated"))
            } else {
                Outcome::NotYet(format!("{n} of {count} tokens generated in this step (n)"))
            }
        }
        TaskKind::HardestToken => {
            let Some(losses) = o.evidence.token_losses()? else {
                return Ok(Outcome::NotYet(COMPUTING.into()));
            };
            let hardest = argmax(&losses);
            match losses.get(o.cursor) {
                Some(&loss) if o.cursor == hardest => Outcome::Done(format!(
                    "the hardest next token: the model gave it p = {:.3}, a loss of {loss:.2}",
                    (-loss).exp()
                )),
                Some(&loss) => Outcome::NotYet(format!(
                    "a loss of {loss:.2} here; somewhere the model pays more (the strip's tallest bar)"
                )),
                None => Outcome::NotYet("the last token has no next token in the text".into()),
            }
        }
        TaskKind::PromptContains { text } => {
            if o.prompt.contains(text.as_str()) {
                Outcome::Done(format!("the prompt now contains {text:?}"))
            } else {
                Outcome::NotYet(format!("press e and write a prompt with {text:?} in it"))
            }
        }
        TaskKind::Visit { panel, move_cursor } => {
            if o.panel == panel && *move_cursor {
                Outcome::Done(format!("the cursor moved in the {panel} view"))
            } else if o.panel == panel {
                Outcome::Done(format!("the {panel} view is open"))
            } else {
                Outcome::NotYet(how_to_open(panel, o.panel))
            }
        }
        TaskKind::Unscaled => {
            if o.unscaled && o.panel == "scores" {
                Outcome::Done("scores without 1/√dₖ: look how peaked the softmax gets".into())
            } else {
                Outcome::NotYet("open Scores (3) and press u".into())
            }
        }
        TaskKind::Positions { mode } => {
            let word = mode.word();
            if o.positions == mode.edit() {
                Outcome::Done(format!("the views now show the run with positions {word}"))
            } else {
                Outcome::NotYet(format!(
                    "positions are {} now: press p until they are {word}",
                    crate::model::PositionEdit::word(o.positions)
                ))
            }
        }
    })
}
