//! What crosses between the UI thread and the worker: requests, responses, and the snapshot of one
//! state of the prompt that the views read.

use std::sync::Arc;

use candle_core::Tensor;
use color_eyre::eyre::Result;

use crate::analysis::attribution::{Attribution, Target};
use crate::analysis::inside::HeadInside;
use crate::analysis::residual::LensRow;
use crate::model::finite::NonFinite;
use crate::model::sampling::SamplingConfig;
use crate::model::PositionEdit;

/// Everything the views read about one state of the prompt.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases with every change of the prompt; answers for an older version are dropped.
    pub version: u64,
    pub ids: Vec<u32>,
    /// Each token's text as the tokenizer decodes it.
    pub tokens: Vec<String>,
    /// Hooks the tutor shows (see [`TUTOR_HOOKS`]), one chunk each.
    pub capture: crate::model::Capture,
    /// Where the pass first went NaN or infinite, when the next-token logits are not numbers.
    pub non_finite: Option<NonFinite>,
    /// The position what-if this run was made with (None: positions as the model learned them).
    pub positions: Option<PositionEdit>,
    /// In chat mode (the prompt is a question rendered through the chat template): the same
    /// question run bare, without the template, for the Next view to set beside it.
    pub bare: Option<Arc<BareRun>>,
}

/// A chat question run without its template: its next-token logits after the question's last token.
#[derive(Debug, Clone)]
pub struct BareRun {
    /// The question's tokens (BOS first when the model's tokenizer puts one there).
    pub n_tokens: usize,
    /// [d_vocab] at the question's last token.
    pub logits: Vec<f32>,
}

/// What the tutor records: patterns, scores, the residual stream's parts, and the logits.
pub const TUTOR_HOOKS: &str = "blocks.*.attn.hook_pattern, blocks.*.attn.hook_attn_scores, \
     blocks.*.hook_resid_pre, blocks.*.hook_attn_out, blocks.*.hook_mlp_out, \
     blocks.*.hook_resid_post, logits";

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
    /// Next-token logits [seq, d_vocab] with these heads' outputs zeroed (and the position what-if
    /// of the current run, so the two runs differ only by the heads).
    Ablate {
        version: u64,
        heads: Vec<(usize, usize)>,
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
    Ablated(AblatedRun),
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

/// Logits of a run with some heads' outputs zeroed.
#[derive(Debug, Clone)]
pub struct AblatedRun {
    pub version: u64,
    pub heads: Vec<(usize, usize)>,
    /// [seq, d_vocab]
    pub logits: Tensor,
}
