//! Embeds the bundled model (models/glassbox-tiny), the scaling family's records (models/scaling) and
//! the lessons (lessons/*.md) in the binary, so that an installed glassbox needs no source tree.
//!
//! Writes two files into OUT_DIR, each a list of `include_bytes!`/`include_str!` of the files found
//! here: the compiler then tracks every embedded file (a retrained model is picked up by the next
//! build), and `rerun-if-changed` on the folders picks up files added or removed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files of a scaling run the tutor reads (the weights, if any were left, are not embedded).
const SCALING_FILES: &[&str] = &["config.json", "train_args.json", "train_log.csv"];

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for watched in ["models/glassbox-tiny", "models/scaling", "lessons"] {
        println!("cargo:rerun-if-changed={watched}");
    }

    // Model files: (name inside the bundle, path here).
    let mut models: Vec<(String, PathBuf)> = files_in(&root.join("models/glassbox-tiny"))
        .into_iter()
        .map(|p| (format!("glassbox-tiny/{}", file_name(&p)), p))
        .collect();
    for run in folders_in(&root.join("models/scaling")) {
        for f in SCALING_FILES {
            let p = run.join(f);
            if p.is_file() {
                models.push((format!("scaling/{}/{f}", file_name(&run)), p));
            }
        }
    }
    assert!(
        models.iter().any(|(n, _)| n == "glassbox-tiny/model.safetensors"),
        "models/glassbox-tiny/model.safetensors is missing: the bundled model must be there to build glassbox"
    );

    // A content hash names the folder the model is unpacked into, so a rebuilt binary with another
    // model never uses the files of an older one.
    let mut hash = Fnv::new();
    let mut src = String::from("pub(super) const FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &models {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        hash.add(name.as_bytes());
        hash.add(&(bytes.len() as u64).to_le_bytes());
        hash.add(&bytes);
        writeln!(src, "    ({name:?}, include_bytes!({:?})),", abs(path)).unwrap();
    }
    src.push_str("];\n");
    writeln!(src, "pub(super) const HASH: &str = \"{:016x}\";", hash.0).unwrap();
    write_if_changed(&out.join("bundled_models.rs"), &src);

    let lessons: Vec<PathBuf> = files_in(&root.join("lessons"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    let mut src = String::from("pub(super) const FILES: &[(&str, &str)] = &[\n");
    for path in &lessons {
        writeln!(
            src,
            "    ({:?}, include_str!({:?})),",
            file_name(path),
            abs(path)
        )
        .unwrap();
    }
    src.push_str("];\n");
    write_if_changed(&out.join("builtin_lessons.rs"), &src);
}

/// The regular files directly in `dir`, by name, skipping hidden ones (an interrupted write's
/// temporary file, an editor's swap file).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_file()).collect()
}

fn folders_in(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_dir()).collect()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let read = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out: Vec<PathBuf> = read
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| !file_name(p).starts_with('.'))
        .collect();
    out.sort();
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn abs(p: &Path) -> String {
    p.to_str()
        .unwrap_or_else(|| panic!("{} is not valid UTF-8", p.display()))
        .to_string()
}

/// Cargo rebuilds what includes a generated file when its time changes: write only new content.
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// FNV-1a, 64 bits: a stable hash with no dependency (a cache key, not a security check).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
