//! Breaking a copy of a fixture: its safetensors header, config.json or shard index rewritten as
//! asked, however wrong.

use std::path::Path;

/// The JSON header of a safetensors file and the bytes after it.
pub fn read_safetensors(path: &Path) -> (serde_json::Value, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header, bytes[8 + n..].to_vec())
}

/// A safetensors file with `header` (written as is, however wrong) over `data`.
pub fn write_safetensors(path: &Path, header: &serde_json::Value, data: &[u8]) {
    let mut h = serde_json::to_vec(header).unwrap();
    h.resize(h.len().next_multiple_of(8), b' ');
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&h);
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

/// Change one tensor's header entry in `dir/model.safetensors`.
pub fn edit_tensor(dir: &Path, name: &str, change: impl FnOnce(&mut serde_json::Value)) {
    let file = dir.join("model.safetensors");
    let (mut header, data) = read_safetensors(&file);
    change(&mut header[name]);
    write_safetensors(&file, &header, &data);
}

/// Set fields of `dir/config.json` (a JSON object of the fields to set).
pub fn edit_config(dir: &Path, fields: serde_json::Value) {
    let file = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for (k, v) in fields.as_object().unwrap() {
        config[k] = v.clone();
    }
    std::fs::write(&file, config.to_string()).unwrap();
}

/// Change `dir/model.safetensors.index.json`'s weight map.
pub fn edit_index(dir: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let file = dir.join("model.safetensors.index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    change(&mut index["weight_map"]);
    std::fs::write(&file, index.to_string()).unwrap();
}
