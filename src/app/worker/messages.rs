//! What crosses between the UI thread and the worker: requests, responses, and the snapshot of one
//! state of the prompt that the views read.

use std::sync::Arc;

use candle_core::Tensor;

use crate::analysis::heads::Criterion;
use crate::analysis::heatmap::Heatmap;
use crate::analysis::residual::BlockNorms;
use color_eyre::eyre::Result;

use crate::analysis::attribution::{Attribution, Target};
use crate::analysis::inside::HeadInside;
use crate::analysis::residual::LensRow;
use crate::model::finite::NonFinite;
use crate::model::sampling::SamplingConfig;
use crate::model::PositionEdit;

/// Everything the views read about one state of the prompt that is small at any length. The
/// large things (a head's n × n map, a position's logits over the vocabulary) stay with the worker,
/// which computes them when a view asks ([`Request::Fetch`]): memory follows what is on screen, not
/// the model's depth or the prompt's length.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases with every change of the prompt; answers for an older version are dropped.
    pub version: u64,
    pub ids: Vec<u32>,
    /// Each token's text as the tokenizer decodes it.
    pub tokens: Vec<String>,
    /// The residual stream's norms per block and position (the Residual view).
    pub norms: Arc<Vec<BlockNorms>>,
    /// Where the pass first went NaN or infinite, when the next-token logits are not numbers.
    pub non_finite: Option<NonFinite>,
    /// The position what-if this run was made with (None: positions as the model learned them).
    pub positions: Option<PositionEdit>,
    /// In chat mode (the prompt is a question rendered through the chat template): the same
    /// question run bare, without the template, for the Next view to set beside it.
    pub bare: Option<Arc<BareRun>>,
}

/// Something a view draws that is computed from the worker's trace when asked, for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// The next-token logits after position `pos`: [d_vocab].
    Logits { pos: usize },
    /// The same in a run with these heads' outputs zeroed (and the snapshot's position what-if).
    AblatedLogits {
        heads: Vec<(usize, usize)>,
        pos: usize,
    },
    /// One head's scores before softmax and pattern, n × n each, row-major.
    Head { layer: usize, head: usize },
    /// Every head of a layer's pattern sampled down to `rows` × `cols` (the heads grid).
    Thumbnails {
        layer: usize,
        rows: usize,
        cols: usize,
    },
    /// Every head's score by a criterion: `[layer][head]`.
    HeadScores(Criterion),
    /// The loss at each position on the token that comes next (nats, T = 1): n − 1 values.
    Losses,
}

/// The worker's answer to a [`Query`].
#[derive(Debug, Clone)]
pub enum Answer {
    /// Logits or losses.
    Row(Arc<Vec<f32>>),
    Head {
        scores: Arc<Vec<f32>>,
        pattern: Arc<Vec<f32>>,
    },
    Thumbnails(Arc<Vec<Heatmap>>),
    HeadScores(Arc<Vec<Vec<f32>>>),
}

impl Answer {
    /// Roughly what it holds, for the app's cache budget.
    pub fn nbytes(&self) -> usize {
        match self {
            Answer::Row(r) => r.len() * 4,
            Answer::Head { scores, pattern } => (scores.len() + pattern.len()) * 4,
            Answer::Thumbnails(t) => t.iter().map(|m| m.values.len() * 5).sum(),
            Answer::HeadScores(s) => s.iter().map(|r| r.len() * 4).sum(),
        }
    }
}

/// The answer to a [`Request::Fetch`]: `None` when asked of a snapshot the worker has already
/// replaced (the app asks again for the new one), the error's line when it could not be computed.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub version: u64,
    pub query: Query,
    pub answer: Option<Result<Answer, String>>,
}

/// A chat question run without its template: its next-token logits after the question's last token.
#[derive(Debug, Clone)]
pub struct BareRun {
    /// The question's tokens (BOS first when the model's tokenizer puts one there).
    pub n_tokens: usize,
    /// [d_vocab] at the question's last token.
    pub logits: Vec<f32>,
}

/// What the tutor's trace keeps: q and k (rotated on a rotary model), from which any head's scores
/// and pattern are recomputed when a view asks, and the residual stream before the first block and
/// after each, which the logit lens, the logits and the losses read. About 160 MB for SmolLM2 at
/// 1,024 tokens, where every pattern and score would be 2.3 GB.
pub fn tutor_hooks(cfg: &crate::model::Config) -> String {
    format!(
        "{}, blocks.0.hook_resid_pre, blocks.*.hook_resid_post",
        crate::model::attention_maps::qk_filter(cfg)
    )
}

/// A model's positional encoding, as the Positions view shows it.
#[derive(Debug, Clone)]
pub enum PositionEncoding {
    /// W_pos [n_ctx, d_model], added to the token embedding.
    Learned(Tensor),
    /// The rotation frequency of each dimension pair of a head.
    Rotary(Vec<f64>),
}

/// Facts about the loaded model that never change.
#[derive(Clone)]
pub struct ModelInfo {
    pub name: String,
    pub config: crate::model::Config,
    pub n_params: usize,
    pub bos: Option<u32>,
    /// How the model encodes positions: W_pos [n_ctx, d_model], or the rotary frequencies.
    pub positions: PositionEncoding,
    pub device: String,
    /// The tokenizer, so the UI can label predicted tokens without asking the worker.
    pub codec: crate::model::tokenizer::TextCodec,
    /// Weights that hold NaN or infinite values, one line each (the status line shows them: the
    /// tutor never prints while its screen is up).
    pub weight_warnings: Vec<String>,
    /// The model's chat template (its end-of-turn token stops generation in chat mode), if it has one.
    pub chat: Option<crate::model::chat::ChatTemplate>,
}

/// How the model was trained and the scaling family, read from disk once by the worker after the
/// opening prompt is answered (so it never delays the first frame); a file that cannot be read is a
/// message for its view, never a failed load.
#[derive(Debug, Clone)]
pub struct TrainingData {
    /// The model folder's train_log.csv; `None` when it has none (any model `glassbox train` did
    /// not make).
    pub log: Option<Result<crate::analysis::training::TrainLog, String>>,
    /// The scaling family's runs (built into the binary, unpacked beside the bundled model).
    pub family: Result<crate::analysis::scaling::Family, String>,
}

impl TrainingData {
    pub fn read(files: &crate::model::loader::ModelFiles) -> TrainingData {
        let log_path = files.dir.join("train_log.csv");
        let log = (files.format == crate::model::loader::Format::Folder && log_path.is_file())
            .then(|| crate::analysis::training::TrainLog::read(&log_path));
        let family = crate::model::loader::scaling_dir()
            .map_err(|e| e.to_string())
            .and_then(|dir| crate::analysis::scaling::Family::read(&dir));
        TrainingData { log, family }
    }
}

#[derive(Debug, Clone)]
pub enum Request {
    /// Replace the prompt with this text (BOS is prepended when the model has one).
    Prompt(String),
    /// Replace the prompt with this question rendered through the model's chat template (its own
    /// special tokens, no extra BOS, as transformers' apply_chat_template tokenizes it); the
    /// question is also run bare, without the template, for the Next view's comparison.
    Chat(String),
    /// Append the next token chosen with this sampling configuration.
    Generate(SamplingConfig),
    /// Remove the last token.
    Pop,
    /// The logit lens at a position of a snapshot version.
    Lens {
        version: u64,
        pos: usize,
    },
    /// Run the model from now on with this position what-if (None: as trained), and the current
    /// prompt again with it.
    Positions(Option<PositionEdit>),
    /// Inside one head of a snapshot version at a query position (the Inside view).
    Inside(InsideKey),
    /// Direct logit attribution at a position of a snapshot version (the Lens view's second page).
    Attribution(AttributionKey),
    /// Something a view draws, computed from the trace of a snapshot version.
    Fetch {
        version: u64,
        query: Query,
    },
    Quit,
}

pub enum Response {
    Loading(String),
    Loaded(Box<ModelInfo>),
    Ready(Box<Snapshot>),
    Lens(LensAnswer),
    Inside(InsideAnswer),
    Attribution(AttributionAnswer),
    Fetched(Box<Fetched>),
    /// The training log and the scaling family, once, after the opening prompt.
    Training(Box<TrainingData>),
    Failed(String),
}

/// The logit lens at one position of one snapshot, each row with its top tokens' texts.
#[derive(Debug, Clone)]
pub struct LensAnswer {
    pub version: u64,
    pub pos: usize,
    pub rows: Vec<(LensRow, Vec<String>)>,
}

/// Which head, query and snapshot an Inside answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsideKey {
    pub version: u64,
    pub layer: usize,
    pub head: usize,
    pub pos: usize,
}

/// Inside one head at one query: `None` when asked of a snapshot the worker has already replaced
/// (the app asks again for the new one), the error's line when it could not be computed.
#[derive(Debug, Clone)]
pub struct InsideAnswer {
    pub key: InsideKey,
    pub data: Option<Result<HeadInside, String>>,
}

/// Which target, position and snapshot an attribution answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributionKey {
    pub version: u64,
    pub pos: usize,
    pub target: Target,
}

/// Direct logit attribution at one position: `None` when asked of a replaced snapshot (the app
/// asks again), the error's line when it could not be computed.
#[derive(Debug, Clone)]
pub struct AttributionAnswer {
    pub key: AttributionKey,
    pub data: Option<Result<Attribution, String>>,
}
