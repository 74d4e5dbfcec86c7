//! `glassbox dump`: every captured activation of a prompt, saved as safetensors under TransformerLens
//! hook names, for Python users.

use std::collections::HashMap;

use candle_core::DType;
use color_eyre::eyre::{Result, WrapErr};
use glassbox::error::hinted;
use glassbox::fsutil::write_atomic;
use glassbox::model::hooks::{all_hook_names, NamesFilter};
use safetensors::tensor::TensorView;

use super::{load_model, read_prompt};
use crate::cli::DumpArgs;

pub fn run(args: DumpArgs) -> Result<()> {
    let loaded = load_model(&args.model)?;
    let (prompt, ids) = read_prompt(&args.prompt, &loaded)?;
    let cfg = loaded.model.config();
    let filter = match &args.names {
        None => NamesFilter::All,
        Some(spec) => {
            let filter = NamesFilter::parse(spec);
            if let Some(bad) = filter.unmatched(&all_hook_names(cfg.n_layers)) {
                return hinted(
                    format!("--names: \"{bad}\" matches no hook of this {}-layer model", cfg.n_layers),
                    "names look like hook_embed, blocks.0.attn.hook_pattern, blocks.*.hook_resid_post, ln_final.hook_normalized, logits",
                );
            }
            filter
        }
    };
    let trace = loaded.model.trace(&ids, filter)?;

    // Every tensor as little-endian bytes, in forward order, then input_ids.
    let mut named: Vec<(String, DType, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in trace.capture().tensors()? {
        let t = t.to_dtype(DType::F32)?;
        let bytes: Vec<u8> = t
            .flatten_all()?
            .to_vec1::<f32>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        named.push((name, DType::F32, t.dims().to_vec(), bytes));
    }
    let id_bytes: Vec<u8> = ids.iter().flat_map(|&i| (i as i64).to_le_bytes()).collect();
    named.push(("input_ids".into(), DType::I64, vec![1, ids.len()], id_bytes));
    let views = named
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            let dt = match dtype {
                DType::I64 => safetensors::Dtype::I64,
                _ => safetensors::Dtype::F32,
            };
            Ok((name.clone(), TensorView::new(dt, shape.clone(), bytes)?))
        })
        .collect::<Result<Vec<_>>>()?;

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
    write_atomic(&args.out, |tmp| {
        safetensors::serialize_to_file(views, Some(metadata), tmp)
            .wrap_err_with(|| format!("writing {}", args.out.display()))
    })?;
    eprintln!(
        "wrote {} tensors for {} tokens to {}",
        named.len(),
        ids.len(),
        args.out.display()
    );
    Ok(())
}
