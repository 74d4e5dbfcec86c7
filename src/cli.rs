//! The command line. Doc comments here are the `--help` text.
//!
//! Numeric options accept a leading minus (`allow_negative_numbers`), so `-t -1` reaches the command's
//! own range check, which names the option, instead of clap's "unexpected argument '-1'".

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use glassbox::export::Cmap;
use glassbox::model::device::DeviceChoice;

/// See inside a Transformer language model. With no command, opens the tutor on the bundled model.
#[derive(Debug, Parser)]
#[command(
    name = "glassbox",
    version,
    about,
    propagate_version = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tutor: TutorArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive tutor: step through a prompt and watch the model's internals (the default).
    Tutor(TutorArgs),
    /// Show a prompt's tokens, the most likely next tokens and each layer's previous-token head.
    Inspect(InspectArgs),
    /// Run a prompt and save every captured activation (TransformerLens hook names) as safetensors.
    Dump(DumpArgs),
    /// Continue a prompt, greedily or by sampling.
    Generate(GenerateArgs),
    /// List the lessons, check lesson files against the model, or export the built-in ones to edit.
    #[command(subcommand)]
    Lessons(LessonsCommand),
    /// Train a small GPT-2 from scratch on the synthetic corpus (reproduces the bundled model).
    Train(TrainArgs),
    /// Save attention maps, positional encodings or next-token probabilities as PNG or SVG.
    ///
    /// With no chart named, attention: `glassbox export --prompt TEXT --layer 1 --head 2 -o map.png`
    /// (without --head: every head of the layer; --all: every layer). The extension of -o picks
    /// the format: .png or .svg.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model: a folder in Hugging Face layout (GPT-2 or Llama family), a GGUF file (llama.cpp, Ollama;
    /// architecture llama), or a hub name (gpt2, HuggingFaceTB/SmolLM2-135M-Instruct, ORG/NAME) found
    /// in the local Hugging Face cache, or `smollm2` (SmolLM2-135M-Instruct, as
    /// tools/fetch_smollm2.sh gets it). Default: the bundled model (with --lesson: the lesson's model).
    #[arg(long, short, value_name = "FOLDER|FILE.gguf|NAME")]
    pub model: Option<String>,
    /// Where to run the model.
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PromptSource {
    /// The prompt text.
    #[arg(long, short)]
    pub prompt: Option<String>,
    /// Read the prompt from a file.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PromptArgs {
    #[command(flatten)]
    pub source: PromptSource,
    /// Do not put the BOS token (<|endoftext|> for GPT-2) in front of the prompt.
    #[arg(long)]
    pub no_bos: bool,
}

#[derive(Debug, Subcommand)]
pub enum LessonsCommand {
    /// The lessons in order, with your progress.
    List,
    /// Check lesson files (default: the lessons the tutor uses, built in or GLASSBOX_LESSONS): front
    /// matter, views, tasks and claims against each lesson's model (with --model: against that model).
    Check {
        /// Lesson files to check.
        files: Vec<PathBuf>,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Write the built-in lessons and their format reference (README.md) into a folder to edit; then
    /// `GLASSBOX_LESSONS=DIR glassbox` teaches from that folder.
    Export {
        /// The folder to write into (created if missing).
        dir: PathBuf,
        /// Replace files of the same names that are already there.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct TutorArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prompt to open with. Default: a short story whose name the model must copy.
    #[arg(long, short, conflicts_with = "prompt_file")]
    pub prompt: Option<String>,
    /// Read the prompt from a file.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Open a lesson: its number in `glassbox lessons list` or its id.
    #[arg(long, value_name = "N|ID", conflicts_with_all = ["prompt", "prompt_file"])]
    pub lesson: Option<String>,
    /// Ask an instruction-tuned model a question through its own chat template: the template's
    /// special tokens and roles show in the token strip, generating stops at the end of the
    /// assistant's turn, and the Next view sets the bare question beside it. The question is
    /// QUESTION, else --prompt, else "What is the capital of France?" (c in the tutor toggles).
    #[arg(long, value_name = "QUESTION", num_args = 0..=1, conflicts_with = "lesson")]
    pub chat: Option<Option<String>>,
    /// Quit as soon as the first frame showing the model's analysis is drawn (for benchmarks).
    #[arg(long, hide = true)]
    pub exit_after_first_frame: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// How many next-token candidates to list.
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    pub top: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Output file (safetensors; load it with safetensors.torch.load_file).
    #[arg(long, short, value_name = "FILE.safetensors")]
    pub out: PathBuf,
    /// Only these hooks: comma-separated names or glob patterns, e.g.
    /// "blocks.*.attn.hook_pattern,logits". Default: all.
    #[arg(long, value_name = "PATTERN")]
    pub names: Option<String>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Number of tokens to add (fewer when the context fills up first).
    #[arg(long, short = 'n', default_value_t = 20, allow_negative_numbers = true)]
    pub max_tokens: usize,
    /// Sampling temperature; 0 picks the most likely token every time.
    #[arg(long, short, default_value_t = 0.0, allow_negative_numbers = true)]
    pub temperature: f64,
    /// Sample only among the k most likely tokens (needs a temperature above 0).
    #[arg(long, allow_negative_numbers = true)]
    pub top_k: Option<usize>,
    /// Sample only among the most likely tokens whose probabilities add up to p (needs a temperature
    /// above 0).
    #[arg(long, allow_negative_numbers = true)]
    pub top_p: Option<f64>,
    /// Random seed, so a sampled continuation can be repeated.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,
    /// The prompt is a question for an instruction-tuned model: wrap it in the model's chat template
    /// (special tokens and roles, printed as they are), and stop at the end of the assistant's turn.
    #[arg(long)]
    pub chat: bool,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Folder to create: config.json, tokenizer.json, model.safetensors, train_log.csv, train_args.json.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace DIR if it exists.
    #[arg(long)]
    pub force: bool,
    /// Seed for the corpus, the weights and the batches. Default: the bundled model's.
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Optimiser steps.
    #[arg(long, default_value_t = 3000, allow_negative_numbers = true)]
    pub steps: usize,
    /// Training documents to generate.
    #[arg(long, default_value_t = 28_000, allow_negative_numbers = true)]
    pub docs: usize,
    /// Held-out documents for the evaluation loss.
    #[arg(long, default_value_t = 500, allow_negative_numbers = true)]
    pub eval_docs: usize,
    /// Tokenizer vocabulary size, <|endoftext|> included.
    #[arg(long, default_value_t = 2048, allow_negative_numbers = true)]
    pub vocab_size: usize,
    #[arg(long, default_value_t = 4, allow_negative_numbers = true)]
    pub layers: usize,
    #[arg(long, default_value_t = 4, allow_negative_numbers = true)]
    pub heads: usize,
    #[arg(long, default_value_t = 128, allow_negative_numbers = true)]
    pub d_model: usize,
    /// Context length (positions the model can see).
    #[arg(long, default_value_t = 256, allow_negative_numbers = true)]
    pub context: usize,
    /// Windows per batch.
    #[arg(long, default_value_t = 16, allow_negative_numbers = true)]
    pub batch: usize,
    /// Tokens per training window; the default is the context length, so every position embedding
    /// is trained.
    #[arg(long, default_value_t = 256, allow_negative_numbers = true)]
    pub seq_len: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = glassbox::train::TrainConfig::default().lr, allow_negative_numbers = true)]
    pub lr: f64,
    /// Steps of linear warmup before the cosine decay to lr/10.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub warmup: usize,
    /// AdamW weight decay on weight matrices and embeddings (never on biases or LayerNorm).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Compute the held-out loss every this many steps (and at the end).
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub eval_every: usize,
    /// Held-out windows of --seq-len tokens averaged for that loss.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub eval_windows: usize,
    /// Share of training documents that are spans of random words repeated later (induction food).
    #[arg(long, default_value_t = glassbox::train::TrainConfig::default().repeat_fraction, allow_negative_numbers = true)]
    pub repeat_fraction: f64,
    /// Share of training documents that are echo lines: random words, each repeating the word two
    /// before it half the time (food for a sharp previous-token head).
    #[arg(long, default_value_t = glassbox::train::TrainConfig::default().echo_fraction, allow_negative_numbers = true)]
    pub echo_fraction: f64,
    /// How the learned position embedding starts: GPT-2's noise, or the sinusoidal encoding.
    #[arg(long, value_enum, default_value_t = glassbox::train::TrainConfig::default().pos_init)]
    pub pos_init: glassbox::train::PosInit,
}

/// `glassbox export`: a chart subcommand, or the attention chart's options directly.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub chart: Option<ExportChart>,
    #[command(flatten)]
    pub attention: ExportAttentionArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExportChart {
    /// Attention patterns: one head, every head of a layer, or every layer (the default chart).
    Attention(ExportAttentionArgs),
    /// Positional encodings: the learned W_pos, the cosine similarity of its rows, and the
    /// sinusoidal encoding of "Attention Is All You Need", side by side.
    Pos(ExportPosArgs),
    /// The most probable next tokens after a position, as a bar chart.
    Probs(ExportProbsArgs),
    /// How a model made by `glassbox train` was trained: its loss, held-out loss and head scores
    /// against the step, with the step where the induction head appears.
    Training(ExportTrainingArgs),
    /// The scaling family (models/scaling, made by tools/train_scaling.sh): final held-out loss
    /// against parameters and against tokens on log axes, with the fitted power laws.
    Scaling(ExportScalingArgs),
    /// Direct logit attribution: each head's and each MLP's direct contribution to a token's logit
    /// (or to the difference of two tokens' logits) at one position, as a layers × heads grid and
    /// the largest contributions ranked (TransformerLens' logit attributions).
    Attribution(ExportAttributionArgs),
    /// Pictures of the tutor's main screens (PNG, one per view), as in screenshots/.
    Screenshots(ExportScreenshotsArgs),
}

#[derive(Debug, Args)]
pub struct FigureArgs {
    /// Output file: .png for a picture, .svg for vector slides.
    #[arg(long, short, value_name = "FILE.png|FILE.svg", required = true)]
    pub out: Option<PathBuf>,
    /// Size multiplier, 0.25 to 8: 2 doubles the width and height (and the fonts).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub scale: f32,
}

#[derive(Debug, Args)]
pub struct ExportAttentionArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// The layer, from 0.
    #[arg(
        long,
        short,
        required_unless_present = "all",
        allow_negative_numbers = true
    )]
    pub layer: Option<usize>,
    /// The head, from 0. Without it: every head of the layer, in a grid.
    #[arg(long, requires = "layer", allow_negative_numbers = true)]
    pub head: Option<usize>,
    /// Every layer × every head, in one grid.
    #[arg(long, conflicts_with_all = ["layer", "head"])]
    pub all: bool,
    /// Print the attention weights in the cells (one head; prompts of at most 32 tokens).
    #[arg(long, requires = "head")]
    pub values: bool,
    /// Show one head's scores before softmax (hook_attn_scores: q·k/√d_head, signed, on the
    /// red–blue map) instead of its pattern.
    #[arg(long, requires = "head")]
    pub scores: bool,
    /// Colour map for the weights.
    #[arg(long, value_enum, default_value_t)]
    pub cmap: Cmap,
    #[command(flatten)]
    pub figure: FigureArgs,
}

#[derive(Debug, Args)]
pub struct ExportPosArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// How many positions to show. Default: the whole context, at most 256.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub positions: Option<usize>,
    #[command(flatten)]
    pub figure: FigureArgs,
}

#[derive(Debug, Args)]
pub struct ExportTrainingArgs {
    /// A model folder holding the train_log.csv that `glassbox train` wrote. Default: the bundled
    /// model.
    #[arg(long, short, value_name = "FOLDER")]
    pub model: Option<String>,
    #[command(flatten)]
    pub figure: FigureArgs,
}

#[derive(Debug, Args)]
pub struct ExportScalingArgs {
    /// The folder of runs, one subfolder each with config.json and train_log.csv. Default: the
    /// scaling family built into glassbox (models/scaling in the source tree).
    #[arg(long, value_name = "FOLDER")]
    pub runs: Option<PathBuf>,
    #[command(flatten)]
    pub figure: FigureArgs,
}

#[derive(Debug, Args)]
pub struct ExportProbsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// The position (from 0, BOS included) whose next token is predicted. Default: the last.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub position: Option<usize>,
    /// How many candidates to show (1 to 50).
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    pub top: usize,
    /// Softmax temperature: below 1 sharpens the distribution, above 1 flattens it, 0 is greedy.
    #[arg(long, short, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f32,
    #[command(flatten)]
    pub figure: FigureArgs,
}

#[derive(Debug, Args)]
pub struct ExportAttributionArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// The target token, one token with its leading space (" Mary"). Default: the most probable
    /// next token at the position.
    #[arg(long)]
    pub token: Option<String>,
    /// A second token: attribute logit(token) − logit(versus) instead (" John").
    #[arg(long)]
    pub versus: Option<String>,
    /// The position (from 0, BOS included) whose next-token logits are attributed. Default: the last.
    #[arg(long, alias = "pos", value_name = "N", allow_negative_numbers = true)]
    pub position: Option<usize>,
    #[command(flatten)]
    pub figure: FigureArgs,
}

#[derive(Debug, Args)]
pub struct ExportScreenshotsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prompt pictured. Default: the tutor's name-copying story.
    #[arg(long, short)]
    pub prompt: Option<String>,
    /// Folder for VIEW.png (attention, heads, scores, positions, residual, lens, next); created if
    /// missing.
    #[arg(long, short, value_name = "DIR", default_value = "screenshots")]
    pub out: PathBuf,
    /// Terminal width in cells.
    #[arg(long, default_value_t = 120, allow_negative_numbers = true)]
    pub width: u16,
    /// Terminal height in cells.
    #[arg(long, default_value_t = 40, allow_negative_numbers = true)]
    pub height: u16,
}
