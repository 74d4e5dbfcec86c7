//! One module per subcommand; shared loading of the model and the prompt.

mod dump;
mod export;
mod generate;
mod inspect;
mod lessons;
mod screenshots;
mod train;
mod tutor;

use color_eyre::eyre::Result;
use glassbox::error::hinted;
use glassbox::model::weight_check::warning_lines;
use glassbox::model::{self, LoadedModel};

use crate::cli::{Cli, Command, ModelArgs, PromptArgs};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Inspect(args)) => inspect::run(args),
        Some(Command::Dump(args)) => dump::run(args),
        Some(Command::Export(args)) => export::run(args),
        Some(Command::Generate(args)) => generate::run(args),
        Some(Command::Train(args)) => train::run(args),
        Some(Command::Tutor(args)) => tutor::run(args),
        Some(Command::Lessons(cmd)) => lessons::run(cmd),
        None => tutor::run(cli.tutor),
    }
}

/// Load the model `--model` names, and warn on standard error about weights that are not numbers.
fn load_model(args: &ModelArgs) -> Result<LoadedModel> {
    let device = select_device(args.device)?;
    let loaded = model::load(args.model.as_deref(), &device)?;
    for line in warning_lines(&loaded.bad_weights) {
        eprintln!("warning: {line}");
    }
    Ok(loaded)
}

/// The device `--device` names; when `auto` fell back to the CPU with a GPU back end compiled in, why (on
/// standard error, one line).
fn select_device(choice: model::device::DeviceChoice) -> Result<candle_core::Device> {
    let selection = model::device::choose(choice)?;
    if let Some(why) = &selection.fallback {
        eprintln!("note: --device auto: {why}; running on the CPU");
    }
    Ok(selection.device)
}

/// Say where a trace's output stopped being numbers, for commands whose result is still worth having
/// (a figure whose NaN cells are marked, a file of activations).
fn warn_non_finite(trace: &model::Trace) {
    if let Some(at) = trace.non_finite() {
        eprintln!("warning: the model's output is not a number: {at}");
    }
}

/// The prompt text and its token ids (BOS first unless --no-bos).
fn read_prompt(args: &PromptArgs, loaded: &LoadedModel) -> Result<(String, Vec<u32>)> {
    let text = match (&args.source.prompt, &args.source.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(path)) => model::prompt::read_prompt_file(path, Some(loaded))?,
        (None, None) => {
            return hinted(
                "no prompt given",
                "pass --prompt TEXT or --prompt-file FILE",
            )
        }
    };
    let ids = loaded.encode_prompt(&text, !args.no_bos && loaded.codec.prepends_bos())?;
    if ids.is_empty() {
        return hinted("the prompt is empty", "give some text, or drop --no-bos");
    }
    Ok((text, ids))
}
