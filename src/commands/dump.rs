//! `glassbox dump`: every captured activation of a prompt, saved as safetensors under TransformerLens
//! hook names, for Python users. The tensors stream to the file as the pass computes them (`glassbox::dump`).

use std::collections::HashMap;

use color_eyre::eyre::Result;
use glassbox::dump::{dump_prompt, DumpFile};
use glassbox::error::hinted;
use glassbox::fsutil::{check_output, write_atomic};
use glassbox::model::hooks::{all_hook_names, NamesFilter};

use super::{load_model, read_prompt};
use crate::cli::DumpArgs;

pub fn run(args: DumpArgs) -> Result<()> {
    check_output(&args.out)?; // a wrong -o fails before the model loads
    let loaded = load_model(&args.model)?;
    let (prompt, ids) = read_prompt(&args.prompt, &loaded)?;
    let cfg = loaded.model.config();
    let filter = match &args.names {
        None => NamesFilter::All,
        Some(spec) => {
            let filter = NamesFilter::parse(spec);
            if let Some(bad) = filter.unmatched(&all_hook_names(cfg)) {
                return hinted(
                    format!("--names: \"{bad}\" matches no hook of this {}-layer model", cfg.n_layers),
                    "names look like hook_embed, blocks.0.attn.hook_pattern, blocks.*.hook_resid_post, ln_final.hook_normalized, logits",
                );
            }
            filter
        }
    };
    let compact_config: serde_json::Value = serde_json::from_str(&loaded.config_json)?;
    let metadata: HashMap<String, String> = HashMap::from([
        ("format".into(), "pt".into()),
        (
            "producer".into(),
            format!("glassbox {}", env!("CARGO_PKG_VERSION")),
        ),
        ("model".into(), loaded.files.name.clone()),
        ("prompt".into(), prompt),
        (
            "tokens".into(),
            serde_json::to_string(&loaded.codec.token_strs(&ids))?,
        ),
        ("config".into(), compact_config.to_string()),
    ]);
    let mut dumped = None;
    write_atomic(&args.out, |tmp| {
        let file = DumpFile {
            write_to: tmp,
            shown_as: &args.out,
        };
        dumped = Some(dump_prompt(&loaded.model, &ids, &filter, &metadata, file)?);
        Ok(())
    })?;
    let dumped = dumped.expect("written");
    eprintln!(
        "wrote {} tensors for {} tokens to {}",
        dumped.tensors,
        ids.len(),
        args.out.display()
    );
    // The file is what the model computed, NaN included (it may be what the user is looking for);
    // say where it began, among the hooks written.
    if let Some(hook) = dumped.first_non_finite {
        eprintln!("warning: {hook} is the first hook in the file with NaN or infinite values");
    }
    Ok(())
}
