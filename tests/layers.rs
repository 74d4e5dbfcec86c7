//! The module layers go one way. Every `src/**/*.rs` file is read, its references to other top-level
//! modules found (`crate::X`, `use crate::{X, ..}`, and `super::` chains that climb out of the file's
//! own top-level module), and each is checked against `ALLOWED` below.
//!
//! Layers, lowest first: model, analysis, lesson, app (the tutor's state; draws and writes nothing),
//! ui (draws the app). export sits beside ui and draws analysis data, knowing neither app nor ui;
//! dump, a model-level writer, is treated like export. train and corpus sit beside analysis, and
//! corpus imports nothing of train. On top: shell (carries out the app's effects) and the binary's
//! commands. The utilities under them all (error, fsutil, interrupt, malloc, text, textfile) import no
//! layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The small modules every layer may use; they import none of the layers.
const UTILITIES: &[&str] = &["error", "fsutil", "interrupt", "malloc", "text", "textfile"];

/// Each top-level module and the top-level modules it may import (besides itself and the utilities).
/// `*` means any. A module missing here fails the test: place it in the layers first.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("fsutil", &[]),
    ("interrupt", &[]),
    ("malloc", &[]),
    ("text", &[]),
    ("textfile", &[]),
    ("model", &[]),
    ("analysis", &["model"]),
    ("corpus", &["model"]),
    ("train", &["model", "analysis", "corpus"]),
    ("lesson", &["model", "analysis"]),
    ("app", &["model", "analysis", "lesson"]),
    ("ui", &["model", "analysis", "lesson", "app"]),
    ("export", &["model", "analysis", "lesson"]),
    ("dump", &["model", "analysis", "lesson"]),
    ("shell", &["*"]),
    // The binary: main.rs, its argument parser and its subcommands.
    ("main", &["*"]),
    ("cli", &["*"]),
    ("commands", &["*"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every .rs file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The module path of a file relative to `src/`: `app/keys.rs` → [app, keys], `ui/mod.rs` → [ui],
/// `lib.rs` → [].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && parts[0] == "lib" {
        parts.clear();
    }
    parts
}

/// The code without comments, strings and character literals (each replaced by a space), so that
/// `crate::x` in documentation or text is not read as an import.
fn strip(code: &str) -> String {
    let c: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            // A raw string: r"..", r#".."#, ...
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(' ');
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a): skip only the former.
            let close = if next == Some('\\') {
                (i + 2..c.len().min(i + 12)).find(|&j| c[j] == '\'')
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(j) => {
                    i = j + 1;
                    out.push(' ');
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Identifiers and the punctuation that matters here (`::`, `{`, `}`, `,`, `$`), in order.
fn tokens(code: &str) -> Vec<String> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_alphanumeric() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(c[start..i].iter().collect());
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else {
            if !c[i].is_whitespace() {
                out.push(c[i].to_string());
            }
            i += 1;
        }
    }
    out
}

/// The first segment of each path in a `{ .. }` group starting at `tokens[open]`.
fn group_heads(t: &[String], open: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for tok in &t[open..] {
        match tok.as_str() {
            "{" => {
                depth += 1;
                expect_head = depth == 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => expect_head = true,
            s if expect_head && depth == 1 => {
                heads.push(s.to_string());
                expect_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level modules a file refers to, each with a short description of where.
fn references(file: &Path, code: &str) -> Vec<(String, String)> {
    let rel = file.strip_prefix(src()).unwrap();
    let path = module_path(rel);
    let t = tokens(&strip(code));
    let mut out = Vec::new();
    // Inline modules (`mod tests { .. }`) deepen the path `super` climbs from.
    let mut inline: Vec<usize> = Vec::new(); // brace depth at which each inline module opened
    let mut depth = 0usize;
    let mut i = 0;
    while i < t.len() {
        let tok = t[i].as_str();
        match tok {
            "{" => depth += 1,
            "}" => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "mod" if t.get(i + 2).is_some_and(|s| s == "{") => {
                inline.push(depth + 1);
            }
            "crate" if t.get(i + 1).is_some_and(|s| s == "::") && (i == 0 || t[i - 1] != "$") => {
                let heads = match t.get(i + 2).map(String::as_str) {
                    Some("{") => group_heads(&t, i + 2),
                    Some(s) => vec![s.to_string()],
                    None => vec![],
                };
                for h in heads {
                    out.push((h.clone(), format!("crate::{h}")));
                }
            }
            "super" if i == 0 || t[i - 1] != "::" => {
                let mut n = 0;
                let mut j = i;
                while t.get(j).is_some_and(|s| s == "super")
                    && t.get(j + 1).is_some_and(|s| s == "::")
                {
                    n += 1;
                    j += 2;
                }
                let here = path.len() + inline.len();
                // Climbing to the crate root from inside a top-level module: the next segment names
                // a top-level module. Climbing to it from deeper (super::super..) is an escape.
                if n > 0 && n >= here {
                    let chain = "super::".repeat(n);
                    if n > here {
                        out.push(("<above the crate>".into(), chain));
                    } else {
                        let heads = match t.get(j).map(String::as_str) {
                            Some("{") => group_heads(&t, j),
                            Some(s) => vec![s.to_string()],
                            None => vec![],
                        };
                        for h in heads {
                            out.push((h.clone(), format!("{chain}{h}")));
                        }
                    }
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The top-level module a file belongs to (`main` for main.rs; None for lib.rs).
fn top_module(rel: &Path) -> Option<String> {
    module_path(rel).into_iter().next()
}

/// Every reference that breaks the table, as "file: reference (module may not import target)".
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let table: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut bad = Vec::new();
    for (file, code) in files {
        let rel = file.strip_prefix(src()).unwrap();
        let Some(me) = top_module(rel) else { continue }; // lib.rs only declares the modules
        let Some(allowed) = table.get(me.as_str()) else {
            bad.push(format!(
                "{}: the top-level module `{me}` is not in ALLOWED: place it in the layers",
                rel.display()
            ));
            continue;
        };
        for (target, how) in references(file, code) {
            let ok = target == me
                || UTILITIES.contains(&target.as_str())
                || allowed.contains(&"*")
                || allowed.contains(&target.as_str());
            // `self` and `*` after crate:: or at the root are the module itself / not a layer.
            let not_a_module = matches!(target.as_str(), "self" | "*" | "super");
            if !ok && !not_a_module {
                let why = if table.contains_key(target.as_str()) {
                    format!("`{me}` may not import `{target}`")
                } else {
                    format!("`{target}` is not a known top-level module")
                };
                bad.push(format!("{}: {how} ({why})", rel.display()));
            }
        }
    }
    bad
}

fn read_src() -> Vec<(PathBuf, String)> {
    rust_files(&src())
        .into_iter()
        .map(|p| {
            let code = std::fs::read_to_string(&p).unwrap();
            (p, code)
        })
        .collect()
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let files = read_src();
    assert!(files.len() > 50, "read {} files", files.len());
    let bad = violations(&files);
    assert!(
        bad.is_empty(),
        "imports against the layers (see ALLOWED in tests/layers.rs):\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_top_level_module_is_in_the_table() {
    let table: Vec<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    for file in rust_files(&src()) {
        let rel = file.strip_prefix(src()).unwrap();
        if let Some(top) = top_module(rel) {
            assert!(table.contains(&top.as_str()), "{top} is not in ALLOWED");
        }
    }
}

/// The checker itself: it finds each kind of reference, and only those.
#[test]
fn the_checker_finds_upward_imports_and_ignores_comments_and_strings() {
    let file = |rel: &str, code: &str| (src().join(rel), code.to_string());
    let bad = violations(&[
        file("export/x.rs", "use crate::ui::visible;"),
        file("export/y.rs", "use crate::{analysis::Heatmap, app::App};"),
        file(
            "corpus/z.rs",
            "fn f() { let _ = crate::train::TrainConfig::default(); }",
        ),
        file("model/w/v.rs", "use super::super::super::lesson::Lesson;"),
        file("app/mod.rs", "use super::ui::Screen;"),
        file(
            "export/fine.rs",
            "//! see [`crate::app::App`]\nuse crate::analysis::Heatmap; \
             const S: &str = \"crate::ui\"; const R: &str = r#\"crate::app\"#; \
             fn f<'a>(x: &'a str) -> char { 'c' }\nuse crate::text::visible; use super::cells;",
        ),
        file(
            "app/keys.rs",
            "mod tests { use super::super::App; use crate::model::Config; }",
        ),
    ]);
    assert_eq!(
        bad,
        [
            "export/x.rs: crate::ui (`export` may not import `ui`)",
            "export/y.rs: crate::app (`export` may not import `app`)",
            "corpus/z.rs: crate::train (`corpus` may not import `train`)",
            "model/w/v.rs: super::super::super::lesson (`model` may not import `lesson`)",
            "app/mod.rs: super::ui (`app` may not import `ui`)",
        ]
    );
}
