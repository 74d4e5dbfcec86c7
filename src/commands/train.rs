//! `glassbox train`: train a small GPT-2 from scratch, with a progress bar.

use std::io::IsTerminal;
use std::time::Duration;

use std::io::Write;

use color_eyre::eyre::Result;
use glassbox::train::{self, Event, TrainConfig};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::TrainArgs;

pub fn run(args: TrainArgs) -> Result<()> {
    let cfg = TrainConfig {
        seed: args.seed.unwrap_or(TrainConfig::default().seed),
        docs: args.docs,
        eval_docs: args.eval_docs,
        vocab_size: args.vocab_size,
        n_layers: args.layers,
        n_heads: args.heads,
        d_model: args.d_model,
        n_ctx: args.context,
        steps: args.steps,
        batch: args.batch,
        seq_len: args.seq_len,
        lr: args.lr,
        warmup: args.warmup,
        weight_decay: args.weight_decay,
        eval_every: args.eval_every,
        eval_windows: args.eval_windows,
        repeat_fraction: args.repeat_fraction,
        echo_fraction: args.echo_fraction,
        pos_init: args.pos_init,
    };
    // Without a terminal (CI logs, `| tee`) the bar is hidden: print a line at every evaluation.
    let plain = !std::io::stderr().is_terminal();
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut last_heldout: Option<f32> = None;
    let result = train::train(&cfg, &args.out, args.force, |event| match event {
        Event::Phase(what) => bar.set_message(what.to_string()),
        Event::Start { steps, n_params } => {
            bar.set_length(steps as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta_precise}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.println(format!("training {n_params} parameters"));
        }
        Event::Step(log) => {
            if let Some(heads) = &log.heads {
                let head = |h: Option<&glassbox::analysis::heads::HeadScore>| {
                    h.map_or("-".to_string(), |h| {
                        format!("L{}H{} {:.2}", h.layer, h.head, h.score)
                    })
                };
                let line = format!(
                    "step {}/{}  loss {:.3}  held-out {}  previous-token {}  induction {}  {:.0} s",
                    log.step,
                    cfg.steps,
                    log.train_loss,
                    log.heldout_loss.map_or("-".into(), |h| format!("{h:.3}")),
                    head(heads.previous_token.as_ref()),
                    head(heads.induction.as_ref()),
                    log.elapsed_s
                );
                if plain {
                    eprintln!("{line}");
                } else {
                    bar.println(line);
                }
            }
            last_heldout = log.heldout_loss.or(last_heldout);
            let held = last_heldout.map_or("-".to_string(), |l| format!("{l:.3}"));
            let rate = log.tokens_seen as f64 / log.elapsed_s.max(1e-9);
            bar.set_position(log.step as u64);
            bar.set_message(format!(
                "loss {:.3}  held-out {held}  {rate:.0} tok/s",
                log.train_loss
            ));
        }
        Event::Saving => bar.set_message("saving"),
    });
    bar.finish_and_clear();
    let log = result?;
    if let Some(last) = log.last() {
        writeln!(
            std::io::stdout(),
            "wrote {} after {} steps ({:.0} s): train loss {:.3}, held-out loss {}",
            args.out.display(),
            last.step,
            last.elapsed_s,
            last.train_loss,
            last.heldout_loss
                .map_or("-".to_string(), |l| format!("{l:.3}"))
        )?;
    }
    Ok(())
}
