//! Claims: what a step's text says about the model, written in ```claim blocks and checked by
//! `lessons check` and the tests ([`super::check::check_claim`]), so a retrained model cannot make a
//! lesson silently wrong.

use serde::Deserialize;

use crate::analysis::heads::Criterion;

/// One claim. `prompt` defaults to the lesson's prompt; numbers are read at the prompt's last token,
/// with BOS in front when the model has one, as the tutor runs it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Claim {
    /// `token` is the most probable next token after `prompt`; with `chat = true` after `prompt`
    /// put in the model's chat template as a question (the tutor's chat mode).
    TopToken {
        #[serde(default)]
        prompt: Option<String>,
        token: String,
        #[serde(default)]
        chat: bool,
    },
    /// `token` is more probable than `than` after `prompt`.
    MoreLikely {
        #[serde(default)]
        prompt: Option<String>,
        token: String,
        than: String,
    },
    /// `token`'s next-token probability after `prompt` (the Next view's number at T = 1) is above
    /// `above` and/or below `below`; with `chat = true` after `prompt` put in the model's chat
    /// template as a question (the left column of the Next view in chat mode).
    Probability {
        #[serde(default)]
        prompt: Option<String>,
        token: String,
        #[serde(default)]
        chat: bool,
        #[serde(default)]
        above: Option<f32>,
        #[serde(default)]
        below: Option<f32>,
    },
    /// The model's `part` has `value` parameters.
    ParamCount { part: ParamPart, value: u64 },
    /// With head `ablate` = [layer, head] switched off, `token`'s probability after `prompt` is below
    /// `below` or above `above` (exactly one of them), so a lesson can say which head a behaviour needs.
    Ablated {
        #[serde(default)]
        prompt: Option<String>,
        token: String,
        ablate: [usize; 2],
        #[serde(default)]
        below: Option<f32>,
        #[serde(default)]
        above: Option<f32>,
    },
    /// With the position what-if `mode` on (as the tutor's p sets it), `token`'s probability after
    /// `prompt` is below `below` or above `above` (exactly one), and with `top = true` it is still
    /// (or now) the most probable token.
    Positions {
        #[serde(default)]
        prompt: Option<String>,
        token: String,
        mode: super::PositionsMode,
        #[serde(default)]
        below: Option<f32>,
        #[serde(default)]
        above: Option<f32>,
        #[serde(default)]
        top: bool,
    },
    /// The logit lens at the last token, in the Lens view's row `blocks.{layer}.hook_resid_post`
    /// (the stream after block `layer`): `token`'s probability there is above `above` and/or below
    /// `below`; `top = true` says it is that row's top token, `top = false` that it is not.
    Lens {
        #[serde(default)]
        prompt: Option<String>,
        layer: usize,
        token: String,
        #[serde(default)]
        above: Option<f32>,
        #[serde(default)]
        below: Option<f32>,
        #[serde(default)]
        top: Option<bool>,
    },
    /// Head `head` = [layer, head] scored by `criterion` on `prompt`, the number the Heads view
    /// prints under its map: above `above` and/or below `below`; `best = true` says no head scores
    /// higher, `best = false` that one does.
    HeadScore {
        #[serde(default)]
        prompt: Option<String>,
        head: [usize; 2],
        criterion: Criterion,
        #[serde(default)]
        above: Option<f32>,
        #[serde(default)]
        below: Option<f32>,
        #[serde(default)]
        best: Option<bool>,
    },
    /// The model's shape, in TransformerLens' config names: each field given must match.
    Shape {
        #[serde(default)]
        n_layers: Option<usize>,
        #[serde(default)]
        n_heads: Option<usize>,
        #[serde(default)]
        d_model: Option<usize>,
        #[serde(default)]
        d_head: Option<usize>,
        #[serde(default)]
        d_mlp: Option<usize>,
        #[serde(default)]
        n_ctx: Option<usize>,
        #[serde(default)]
        d_vocab: Option<usize>,
    },
    /// `text` is `value` tokens (on its own, without the BOS the tutor puts before a prompt).
    TokenCount { text: String, value: usize },
    /// In head `head` = [layer, head] on `prompt`, the attention weight that position `query`
    /// (default -1, the last) gives to the positions `keys` together (the Attention view's numbers;
    /// positions count from 0, the BOS, and negative ones from the end) is above `above` and/or
    /// below `below`.
    Attention {
        #[serde(default)]
        prompt: Option<String>,
        head: [usize; 2],
        #[serde(default = "last")]
        query: i64,
        keys: Vec<i64>,
        #[serde(default)]
        above: Option<f32>,
        #[serde(default)]
        below: Option<f32>,
    },
    /// The cosine similarity of the learned position embeddings (W_pos rows) of `positions` = [a, b],
    /// as the Positions view's middle map shows it, is above `above` and/or below `below`.
    PositionSimilarity {
        positions: [usize; 2],
        #[serde(default)]
        above: Option<f32>,
        #[serde(default)]
        below: Option<f32>,
    },
    /// In the model's `train_log.csv`, `column` at `step` (default: the last row) is above `above`
    /// and/or below `below`: what a lesson says about how the bundled model was trained.
    TrainLog {
        column: String,
        #[serde(default)]
        step: Option<u64>,
        #[serde(default)]
        above: Option<f32>,
        #[serde(default)]
        below: Option<f32>,
    },
    /// Greedy decoding after `prompt` (the tutor's n with sampling off) writes `text` first; with
    /// `chat = true` after `prompt` put in the model's chat template as a question.
    Continues {
        #[serde(default)]
        prompt: Option<String>,
        text: String,
        #[serde(default)]
        chat: bool,
    },
}

fn last() -> i64 {
    -1
}

/// The parts of a GPT-2 whose parameters a claim may count.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ParamPart {
    Embedding,
    Position,
    Block,
    Total,
}

impl Claim {
    /// The prompt the claim is about, if it names its own.
    pub fn prompt(&self) -> Option<&str> {
        match self {
            Self::TopToken { prompt, .. }
            | Self::MoreLikely { prompt, .. }
            | Self::Probability { prompt, .. }
            | Self::Ablated { prompt, .. }
            | Self::Positions { prompt, .. }
            | Self::Lens { prompt, .. }
            | Self::HeadScore { prompt, .. }
            | Self::Attention { prompt, .. }
            | Self::Continues { prompt, .. } => prompt.as_deref(),
            Self::ParamCount { .. }
            | Self::Shape { .. }
            | Self::TokenCount { .. }
            | Self::PositionSimilarity { .. }
            | Self::TrainLog { .. } => None,
        }
    }

    /// Parse a claim block; what serde cannot say (which bounds a kind needs) is checked here.
    pub(super) fn parse(block: &str) -> Result<Claim, toml::de::Error> {
        let claim: Claim = toml::from_str(block)?;
        let fail = |m: &str| Err(serde::de::Error::custom(m));
        match &claim {
            Claim::Ablated { below, above, .. } if below.is_some() == above.is_some() => {
                return fail("an ablated claim needs exactly one of below and above");
            }
            Claim::Positions {
                below, above, top, ..
            } if below.is_some() && above.is_some()
                || !top && below.is_none() && above.is_none() =>
            {
                return fail("a positions claim needs one of below and above, or top = true");
            }
            Claim::Lens {
                below, above, top, ..
            } if below.is_none() && above.is_none() && top.is_none() => {
                return fail("a lens claim needs above, below or top");
            }
            Claim::HeadScore {
                below, above, best, ..
            } if below.is_none() && above.is_none() && best.is_none() => {
                return fail("a head-score claim needs above, below or best");
            }
            Claim::Continues { text, .. } if text.is_empty() => {
                return fail("a continues claim needs a text");
            }
            Claim::Attention { keys, .. } if keys.is_empty() => {
                return fail("an attention claim needs at least one key");
            }
            Claim::Shape {
                n_layers: None,
                n_heads: None,
                d_model: None,
                d_head: None,
                d_mlp: None,
                n_ctx: None,
                d_vocab: None,
            } => {
                return fail("a shape claim needs a field: n_layers, n_heads, d_model, d_head, d_mlp, n_ctx or d_vocab");
            }
            _ => {}
        }
        if let Some(Bounds {
            above: None,
            below: None,
        }) = claim.bounds()
        {
            let optional = matches!(
                claim,
                Claim::Lens { .. } | Claim::HeadScore { .. } | Claim::Positions { .. }
            );
            if !optional {
                return fail("this claim needs above, below or both");
            }
        }
        if let Some(Bounds { above, below }) = claim.bounds() {
            if let (Some(a), Some(b)) = (above, below) {
                if a >= b {
                    return fail(&format!(
                        "above {a} and below {b} leave no room: above < below"
                    ));
                }
            }
            if [above, below].into_iter().flatten().any(|x| !x.is_finite()) {
                return fail("bounds must be numbers");
            }
        }
        Ok(claim)
    }

    /// The bounds of a kind that has them.
    pub fn bounds(&self) -> Option<Bounds> {
        match *self {
            Self::Probability { above, below, .. }
            | Self::Ablated { above, below, .. }
            | Self::Positions { above, below, .. }
            | Self::Lens { above, below, .. }
            | Self::HeadScore { above, below, .. }
            | Self::Attention { above, below, .. }
            | Self::PositionSimilarity { above, below, .. }
            | Self::TrainLog { above, below, .. } => Some(Bounds { above, below }),
            _ => None,
        }
    }
}

/// A number's bounds as a claim writes them: above and/or below (strictly).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bounds {
    pub above: Option<f32>,
    pub below: Option<f32>,
}

impl Bounds {
    /// Whether `x` lies within both bounds (a NaN never does).
    pub fn hold(&self, x: f32) -> bool {
        self.above.is_none_or(|a| x > a) && self.below.is_none_or(|b| x < b)
    }

    /// "above 0.5", "below 0.1", "between 0.5 and 0.7".
    pub fn describe(&self) -> String {
        match (self.above, self.below) {
            (Some(a), Some(b)) => format!("between {a} and {b}"),
            (Some(a), None) => format!("above {a}"),
            (None, Some(b)) => format!("below {b}"),
            (None, None) => "anything".into(),
        }
    }
}
