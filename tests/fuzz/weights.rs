//! A model folder's safetensors file (8-byte header length, JSON header, data) through the folder
//! loader, from the tiny-a fixture and mutated. Loading gives a model or an error, never a panic, an
//! abort or an allocation sized by the header; a model that loads runs.

use std::path::{Path, PathBuf};

use arbtest::arbitrary::{Result, Unstructured};
use candle_core::Device;
use glassbox::model::{self, NamesFilter};
use serde_json::{json, Map, Value};

use super::config::assert_config_holds;
use super::mutate;

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// Load `spec`; a model that loads must hold the config invariants and run a short prompt.
pub fn load_and_run(spec: &Path, source: &dyn Fn() -> String) -> bool {
    let Ok(loaded) = model::load(Some(spec.to_str().unwrap()), &Device::Cpu) else {
        return false;
    };
    assert_config_holds(loaded.model.config(), &source());
    let Ok(ids) = loaded
        .codec
        .encode("The cat sat", loaded.codec.prepends_bos())
    else {
        return true;
    };
    if let Ok(trace) = loaded.model.trace(&ids, NamesFilter::names(&["logits"])) {
        let logits = trace.capture().get("logits").unwrap().unwrap();
        assert_eq!(
            logits.dims(),
            [1, ids.len(), loaded.model.config().d_vocab],
            "{}",
            source()
        );
    }
    true
}

/// A safetensors file split into its parts.
pub struct Safetensors {
    header: Map<String, Value>,
    data: Vec<u8>,
}

pub fn safetensors_base() -> Safetensors {
    let bytes = std::fs::read(fixture("tiny-a/model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    Safetensors {
        header: serde_json::from_slice(&bytes[8..8 + n]).unwrap(),
        data: bytes[8 + n..].to_vec(),
    }
}

const DTYPES: &[&str] = &[
    "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL",
    "F8_E4M3", "F8_E5M2", "F4", "E8M0", "f32", "",
];

fn odd_shape(u: &mut Unstructured, old: &Value) -> Result<Value> {
    let old: Vec<u64> = old
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    Ok(match u.int_in_range(0..=4)? {
        0 => json!([]),
        1 => json!([0]),
        2 => {
            let mut s = old.clone();
            if !s.is_empty() {
                let i = u.choose_index(s.len())?;
                s[i] = mutate::edgy_u64(u, s[i])?;
            }
            json!(s)
        }
        3 => json!([1u64 << 32, 1u64 << 32]),
        _ => {
            let n = u.int_in_range(0..=5)?;
            let dims: Vec<u64> = (0..n)
                .map(|_| mutate::edgy_u64(u, 8))
                .collect::<Result<_>>()?;
            json!(dims)
        }
    })
}

/// Edit one tensor's entry, or the entries themselves.
fn mutate_header(
    u: &mut Unstructured,
    header: &mut Map<String, Value>,
    data_len: u64,
) -> Result<()> {
    let names: Vec<String> = header.keys().cloned().collect();
    let name = u.choose(&names)?.clone();
    if !header[&name].is_object() {
        header[&name] = json!({});
    }
    match u.int_in_range(0..=8)? {
        0 => header[&name]["dtype"] = json!(u.choose(DTYPES)?),
        1 => {
            let shape = odd_shape(u, &header[&name]["shape"])?;
            header[&name]["shape"] = shape;
        }
        2 => {
            let offsets: Vec<u64> = header[&name]["data_offsets"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            let (a, b) = (
                offsets.first().copied().unwrap_or(0),
                offsets.get(1).copied().unwrap_or(0),
            );
            let pair = match u.int_in_range(0..=4)? {
                0 => [b, a],
                1 => [mutate::edgy_u64(u, a)?, b],
                2 => [a, mutate::edgy_u64(u, b)?],
                3 => [0, data_len],
                _ => [data_len, data_len + 4],
            };
            header[&name]["data_offsets"] = json!(pair);
        }
        3 => {
            header.remove(&name);
        }
        4 => {
            // The same tensor under another name: unprefixed, or a required name it replaces.
            let other = u.choose(&names)?.clone();
            let entry = header[&name].clone();
            let renamed = match u.int_in_range(0..=1)? {
                0 => name.trim_start_matches("transformer.").to_string(),
                _ => other,
            };
            header.insert(renamed, entry);
        }
        5 => {
            let field = *u.choose(&["dtype", "shape", "data_offsets"])?;
            let values = [
                json!(null),
                json!(1),
                json!("x"),
                json!([1, "a"]),
                json!({}),
            ];
            header[&name][field] = u.choose(&values)?.clone();
        }
        6 => {
            if let Some(entry) = header[&name].as_object_mut() {
                let field = u.choose(&["dtype", "shape", "data_offsets"])?.to_string();
                entry.remove(&field);
            }
        }
        7 => {
            let metas = [
                json!(1),
                json!({"format": 1}),
                json!([]),
                json!({"a": {"b": 1}}),
            ];
            header.insert("__metadata__".into(), u.choose(&metas)?.clone());
        }
        _ => {
            header[&name] = json!({});
        }
    }
    Ok(())
}

/// A tensor entry's dtype, shape and byte range, when the entry is well formed.
fn entry(header: &Map<String, Value>, name: &str) -> Option<(String, Vec<u64>, [u64; 2])> {
    let e = header.get(name)?.as_object()?;
    let dtype = e.get("dtype")?.as_str()?.to_string();
    let shape = e
        .get("shape")?
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect::<Option<Vec<u64>>>()?;
    let o = e.get("data_offsets")?.as_array()?;
    Some((dtype, shape, [o.first()?.as_u64()?, o.get(1)?.as_u64()?]))
}

/// The product of `dims`, if it fits (an earlier edit may have made them huge).
fn product<'a>(mut dims: impl Iterator<Item = &'a u64>) -> Option<u64> {
    dims.try_fold(1u64, |n, &d| n.checked_mul(d))
}

/// Edits the safetensors crate accepts, so they reach glassbox: another dtype over the same bytes,
/// another shape of the same size, two tensors' bytes swapped, or a tensor and its bytes removed.
fn consistent_edit(
    u: &mut Unstructured,
    header: &mut Map<String, Value>,
    data: &mut Vec<u8>,
) -> Result<()> {
    let names: Vec<String> = header
        .keys()
        .filter(|n| entry(header, n).is_some())
        .cloned()
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let name = u.choose(&names)?.clone();
    let (_, shape, [start, end]) = entry(header, &name).unwrap_or_default();
    let bytes = end.saturating_sub(start);
    match u.int_in_range(0..=3)? {
        0 => {
            let sizes = [
                ("F32", 4),
                ("F16", 2),
                ("BF16", 2),
                ("F64", 8),
                ("I64", 8),
                ("I32", 4),
                ("U32", 4),
                ("I16", 2),
                ("U16", 2),
                ("U8", 1),
                ("I8", 1),
                ("BOOL", 1),
                ("F8_E4M3", 1),
            ];
            let (dtype, size) = *u.choose(&sizes)?;
            if bytes % size == 0 {
                let n = bytes / size;
                let mut new = shape.clone();
                // Keep the leading dimensions when the last one can absorb the change.
                let rest = product(new.iter().rev().skip(1)).unwrap_or(0);
                match new.last_mut() {
                    Some(last) if rest > 0 && n % rest == 0 && u.arbitrary()? => *last = n / rest,
                    _ => new = vec![n],
                }
                header[&name]["dtype"] = json!(dtype);
                header[&name]["shape"] = json!(new);
            }
        }
        1 => {
            let mut new = shape.clone();
            match u.int_in_range(0..=2)? {
                0 => new.reverse(),
                1 => new = vec![product(new.iter()).unwrap_or(0)],
                _ => new.insert(0, 1),
            }
            header[&name]["shape"] = json!(new);
        }
        2 => {
            let same: Vec<&String> = names
                .iter()
                .filter(|n| {
                    entry(header, n).is_some_and(|(_, _, [a, b])| b.checked_sub(a) == Some(bytes))
                })
                .collect();
            let other = (*u.choose(&same)?).clone();
            let theirs = header[&other]["data_offsets"].clone();
            header[&other]["data_offsets"] = json!([start, end]);
            header[&name]["data_offsets"] = theirs;
        }
        _ => {
            header.remove(&name);
            let (s, e) = (start as usize, (end as usize).min(data.len()));
            if s <= e {
                data.drain(s..e);
            }
            for n in &names {
                if let Some((_, _, [a, b])) = entry(header, n).filter(|_| *n != name) {
                    if a >= end {
                        header[n]["data_offsets"] = json!([a - bytes, b.saturating_sub(bytes)]);
                    }
                }
            }
        }
    }
    Ok(())
}

/// One case: a mutated safetensors file in `dir` (beside tiny-a's config and tokenizer), loaded.
pub fn safetensors_target(u: &mut Unstructured, base: &Safetensors, dir: &Path) -> Result<bool> {
    let mut header = base.header.clone();
    let mut data = base.data.clone();
    for _ in 0..u.int_in_range(0..=3)? {
        if u.ratio(2, 3)? {
            consistent_edit(u, &mut header, &mut data)?;
        } else {
            mutate_header(u, &mut header, data.len() as u64)?;
        }
    }
    let mut json = serde_json::to_vec(&header).unwrap();
    if u.ratio(1, 8)? {
        let len = json.len();
        mutate::bytes(u, &mut json, 0..len)?;
    }
    let mut n = json.len() as u64;
    if u.ratio(1, 6)? {
        n = mutate::edgy_u64(u, n)?;
    }
    if u.ratio(1, 4)? {
        // Damage the data: flips that may make NaNs, or a cut.
        let len = data.len();
        mutate::bytes(u, &mut data, 0..len)?;
    }
    let mut file = n.to_le_bytes().to_vec();
    file.extend_from_slice(&json);
    file.extend_from_slice(&data);
    if u.ratio(1, 8)? {
        let cut = u.int_in_range(0..=file.len())?;
        file.truncate(cut);
    }
    std::fs::write(dir.join("model.safetensors"), &file).unwrap();
    Ok(load_and_run(dir, &|| {
        String::from_utf8_lossy(&json).into_owned()
    }))
}
