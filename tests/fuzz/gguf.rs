//! GGUF files through the loader: the small fixtures with numbers in their headers (counts, lengths,
//! types, dimensions, offsets, metadata values) set to edge values, bytes flipped, inserted or cut.
//! Loading gives a model or an error, never a panic, an abort or an allocation sized by the header.

use std::path::Path;

use arbtest::arbitrary::{Result, Unstructured};

use super::mutate;
use super::weights::{fixture, load_and_run};

/// A number in a GGUF header: where it is, how wide, and what it means.
#[derive(Debug, Clone)]
struct Field {
    at: usize,
    width: usize,
    /// A metadata key whose value this is, or the part of the header ("count", "dims", …).
    what: String,
}

/// The header's numbers (counts, lengths, types, dimensions, offsets, metadata values) and where
/// the header ends, from a well-formed GGUF v2/v3 file.
fn gguf_fields(b: &[u8]) -> (Vec<Field>, usize) {
    let mut fields = Vec::new();
    let mut at = 8;
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let field = |fields: &mut Vec<Field>, at: usize, width: usize, what: &str| {
        fields.push(Field {
            at,
            width,
            what: what.into(),
        })
    };
    let n_tensors = u64_at(at);
    field(&mut fields, at, 8, "tensor count");
    let n_kv = u64_at(at + 8);
    field(&mut fields, at + 8, 8, "metadata count");
    at += 16;
    // A value of type `t` at `at`: records its numbers (array elements only for the first few) and
    // returns where it ends.
    fn value(
        b: &[u8],
        fields: &mut Vec<Field>,
        mut at: usize,
        t: u32,
        key: &str,
        record: bool,
    ) -> usize {
        let width = match t {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            8 => {
                let n = u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
                if record {
                    fields.push(Field {
                        at,
                        width: 8,
                        what: format!("{key} length"),
                    });
                }
                return at + 8 + n;
            }
            9 => {
                let inner = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
                let n = u64::from_le_bytes(b[at + 4..at + 12].try_into().unwrap()) as usize;
                fields.push(Field {
                    at,
                    width: 4,
                    what: format!("{key} element type"),
                });
                fields.push(Field {
                    at: at + 4,
                    width: 8,
                    what: format!("{key} array length"),
                });
                at += 12;
                for i in 0..n {
                    at = value(b, fields, at, inner, key, i < 4);
                }
                return at;
            }
            _ => panic!("unknown GGUF type {t} in a fixture"),
        };
        if record {
            fields.push(Field {
                at,
                width,
                what: key.into(),
            });
        }
        at + width
    }
    for _ in 0..n_kv {
        let len = u64_at(at);
        let key = String::from_utf8_lossy(&b[at + 8..at + 8 + len]).into_owned();
        field(&mut fields, at, 8, "key length");
        at += 8 + len;
        field(&mut fields, at, 4, &format!("{key} type"));
        let t = u32_at(at);
        at = value(b, &mut fields, at + 4, t, &key, true);
    }
    for _ in 0..n_tensors {
        let len = u64_at(at);
        field(&mut fields, at, 8, "tensor name length");
        at += 8 + len;
        let dims = u32_at(at) as usize;
        field(&mut fields, at, 4, "tensor dimension count");
        at += 4;
        for _ in 0..dims {
            field(&mut fields, at, 8, "tensor dimension");
            at += 8;
        }
        field(&mut fields, at, 4, "tensor type");
        field(&mut fields, at + 4, 8, "tensor offset");
        at += 12;
    }
    (fields, at)
}

/// A fixture GGUF file with its header's numbers located.
pub struct Gguf {
    name: &'static str,
    bytes: Vec<u8>,
    fields: Vec<Field>,
    /// The fields that say what the model is (metadata values, tensor dimensions, types and
    /// offsets) rather than how the header is laid out (lengths, value types): changing these gets
    /// past candle's reader to glassbox's checks.
    meaning: Vec<Field>,
    header_end: usize,
}

pub fn bases() -> Vec<Gguf> {
    ["small-q8_0", "small-q4_1", "small-f16", "small-bf16"]
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(fixture(&format!("gguf/{name}.gguf"))).unwrap();
            let (fields, header_end) = gguf_fields(&bytes);
            let meaning = fields
                .iter()
                .filter(|f| {
                    !f.what.ends_with("length")
                        && !f.what.ends_with("count")
                        && !f.what.ends_with(" element type")
                        && (!f.what.ends_with(" type") || f.what == "tensor type")
                })
                .cloned()
                .collect();
            Gguf {
                name,
                bytes,
                fields,
                meaning,
                header_end,
            }
        })
        .collect()
}

/// One case: a fixture GGUF with numbers in its header set to edge values, bytes flipped, inserted
/// or cut, written to `path` and loaded.
pub fn target(u: &mut Unstructured, bases: &[Gguf], path: &Path) -> Result<bool> {
    let base = u.choose(bases)?;
    let mut bytes = base.bytes.clone();
    let mut log = vec![base.name.to_string()];
    for _ in 0..u.int_in_range(1..=4)? {
        match u.int_in_range(0..=11)? {
            0..=8 => {
                let pool = if u.ratio(2, 3)? {
                    &base.meaning
                } else {
                    &base.fields
                };
                let f = u.choose(pool)?;
                // An earlier edit may have cut the file short.
                let Some(old) = bytes.get(f.at..f.at + f.width) else {
                    continue;
                };
                let new: Vec<u8> = match f.width {
                    8 => {
                        let v = u64::from_le_bytes(old.try_into().unwrap());
                        mutate::edgy_u64(u, v)?.to_le_bytes().to_vec()
                    }
                    4 => {
                        let v = u32::from_le_bytes(old.try_into().unwrap());
                        let v = if u.ratio(1, 4)? {
                            // A float value: NaN, infinite, 0 or negative.
                            u.choose(&[f32::NAN, f32::INFINITY, 0.0, -1.0, 1e30])?
                                .to_bits()
                        } else {
                            mutate::edgy_u32(u, v)?
                        };
                        v.to_le_bytes().to_vec()
                    }
                    2 => u.arbitrary::<u16>()?.to_le_bytes().to_vec(),
                    _ => vec![u.arbitrary::<u8>()?],
                };
                log.push(format!("{} = {new:?}", f.what));
                bytes[f.at..f.at + f.width].copy_from_slice(&new);
            }
            9 | 10 => {
                log.push("bytes".into());
                mutate::bytes(u, &mut bytes, 0..base.header_end)?;
            }
            _ => {
                log.push("data".into());
                let len = bytes.len();
                mutate::bytes(u, &mut bytes, base.header_end..len)?;
            }
        }
    }
    std::fs::write(path, &bytes).unwrap();
    Ok(load_and_run(path, &|| log.join(", ")))
}
