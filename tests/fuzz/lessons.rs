//! Lesson files: the real lessons with lines deleted, duplicated, moved or replaced by lines that
//! lesson files are made of (fences, headings, view and task fields with edge values), and bytes
//! changed. Parsing gives a lesson or an error at a line of the file, never a panic, and a lesson it
//! gives is one the tutor can show.

use std::path::{Path, PathBuf};

use arbtest::arbitrary::{Result, Unstructured};
use glassbox::lesson::{Lesson, TaskKind, PANELS};

use super::mutate;

/// Lines lesson files are made of, many with values at or past an edge.
const LINES: &[&str] = &[
    "+++",
    "## ",
    "## A step",
    "```",
    "```view",
    "```task",
    "```claim",
    "```python",
    "id = \"x\"",
    "id = \"two words\"",
    "id = \"\"",
    "title = \"T\"",
    "summary = \"S\"",
    "prompt = \"\"",
    "prompt = \"The dog\"",
    "model = \"glassbox-tiny\"",
    "panel = \"attention\"",
    "panel = \"lens\"",
    "panel = \"nope\"",
    "layer = 0",
    "layer = 3",
    "layer = 18446744073709551615",
    "layer = -1",
    "head = 99",
    "head = 1e3",
    "cursor = -1",
    "cursor = 0",
    "cursor = -9223372036854775808",
    "cursor = 9223372036854775807",
    "temperature = 0.0",
    "temperature = -1.0",
    "temperature = nan",
    "temperature = inf",
    "temperature = 1e-30",
    "temperature = 3.4e38",
    "unscaled = true",
    "ablate = []",
    "ablate = [1]",
    "ablate = [1, 3]",
    "ablate = [99, 99]",
    "ablate = [1, 2, 3]",
    "score = \"induction\"",
    "score = \"nope\"",
    "kind = \"select-head\"",
    "kind = \"cursor-on-top-key\"",
    "kind = \"temperatures\"",
    "kind = \"ablate-head\"",
    "kind = \"generate\"",
    "kind = \"visit\"",
    "kind = \"unscaled\"",
    "kind = \"top-token\"",
    "kind = \"more-likely\"",
    "kind = \"param-count\"",
    "kind = \"ablated\"",
    "kind = \"probability\"",
    "kind = \"lens\"",
    "kind = \"head-score\"",
    "kind = \"attention\"",
    "kind = \"token-count\"",
    "kind = \"continues\"",
    "kind = \"shape\"",
    "kind = \"position-similarity\"",
    "kind = \"train-log\"",
    "kind = \"nope\"",
    "criterion = \"previous-token\"",
    "criterion = \"nope\"",
    "min_score = nan",
    "low = 0.5",
    "high = 0.5",
    "low = nan",
    "high = inf",
    "low = -1.0",
    "count = 0",
    "count = 18446744073709551615",
    "query = -9223372036854775808",
    "goal = \"Do it\"",
    "goal = \"\"\"",
    "hints = [\"a\", \"b\"]",
    "hints = [",
    "token = \" K\"",
    "than = \" the\"",
    "part = \"total\"",
    "value = 1",
    "below = 0.05",
    "above = nan",
    "above = 0.9",
    "top = true",
    "best = false",
    "keys = []",
    "keys = [-9223372036854775808]",
    "positions = [0, 18446744073709551615]",
    "column = \"train_loss\"",
    "step = 0",
    "text = \"\"",
    "n_layers = 4",
    "a = 'unterminated",
    "[table]",
    "\u{feff}+++",
    "é\u{301}",
    "",
];

/// Values at or past the edge for the fields of view and task blocks.
const EDGES: &[(&str, &[&str])] = &[
    (
        "layer",
        &["0", "1", "3", "4", "99", "18446744073709551615", "-1"],
    ),
    ("head", &["0", "3", "4", "99", "18446744073709551615"]),
    (
        "cursor",
        &[
            "0",
            "-1",
            "-2",
            "99",
            "-99",
            "9223372036854775807",
            "-9223372036854775808",
        ],
    ),
    ("query", &["0", "-1", "99", "-99", "-9223372036854775808"]),
    (
        "ablate",
        &[
            "[]", "[0, 0]", "[1, 3]", "[3, 3]", "[4, 0]", "[0, 4]", "[99, 99]",
        ],
    ),
    (
        "temperature",
        &["0.1", "5.0", "1e-30", "3.4e38", "0.0", "nan"],
    ),
    ("count", &["0", "1", "99", "18446744073709551615"]),
    ("low", &["0.1", "1e-30", "0.0"]),
    ("high", &["5.0", "3.4e38", "inf"]),
    ("min_score", &["0.0", "1.0", "2.0", "nan", "-1.0"]),
];

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

/// The text of every committed lesson.
pub fn originals() -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(lessons_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| p.file_name().unwrap() != "README.md")
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.sort();
    out
}

/// A committed lesson with 1–6 line edits, and sometimes byte edits on top.
pub fn mutated(u: &mut Unstructured, originals: &[(PathBuf, String)]) -> Result<(PathBuf, String)> {
    let (path, text) = u.choose(originals)?;
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for _ in 0..u.int_in_range(1..=6)? {
        let n = lines.len();
        let i = if n == 0 { 0 } else { u.choose_index(n)? };
        match u.int_in_range(0..=7)? {
            6 | 7 => edge_field(u, &mut lines)?,
            0 if n > 0 => {
                lines.remove(i);
            }
            1 if n > 0 => {
                let line = lines[i].clone();
                let j = u.int_in_range(0..=n)?;
                lines.insert(j, line);
            }
            2 if n > 0 => {
                let line = lines.remove(i);
                let j = u.int_in_range(0..=n - 1)?;
                lines.insert(j, line);
            }
            3 if n > 0 => lines[i] = u.choose(LINES)?.to_string(),
            4 => lines.insert(i.min(n), u.choose(LINES)?.to_string()),
            _ => lines.insert(i.min(n), mutate::odd_text(u)?),
        }
    }
    let mut text = lines.join("\n");
    if u.ratio(1, 5)? {
        let mut bytes = text.into_bytes();
        let len = bytes.len();
        mutate::bytes(u, &mut bytes, 0..len)?;
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    Ok((path.clone(), text))
}

/// Set a field of a view or task block to an edge value.
fn edge_field(u: &mut Unstructured, lines: &mut [String]) -> Result<()> {
    let fields: Vec<(usize, &[&str])> = lines
        .iter()
        .enumerate()
        .filter_map(|(j, l)| {
            let key = l.split('=').next()?.trim();
            EDGES.iter().find(|(k, _)| *k == key).map(|(_, v)| (j, *v))
        })
        .collect();
    if let Some(&(j, values)) = fields.get(u.choose_index(fields.len().max(1))?) {
        let key = lines[j]
            .split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        lines[j] = format!("{key} = {}", u.choose(values)?);
    }
    Ok(())
}

/// A committed lesson whose view and task fields are set to edge values (1–4 of them), and which
/// may gain a view block on its first step: a lesson that parses but asks for what the model lacks.
pub fn edged(u: &mut Unstructured, originals: &[(PathBuf, String)]) -> Result<(PathBuf, String)> {
    let (path, text) = u.choose(originals)?;
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if u.arbitrary()? {
        if let Some(first) = lines.iter().position(|l| l.starts_with("## ")) {
            let block = [
                "```view",
                "layer = 0",
                "head = 0",
                "cursor = 0",
                "ablate = [0, 0]",
                "```",
            ];
            for (k, l) in block.iter().enumerate() {
                lines.insert(first + 1 + k, l.to_string());
            }
        }
    }
    for _ in 0..u.int_in_range(1..=4)? {
        edge_field(u, &mut lines)?;
    }
    Ok((path.clone(), lines.join("\n")))
}

/// What the tutor relies on in a parsed lesson, checked without the parser: steps, a one-word id,
/// panels it knows, an ablation of two numbers or none, positive finite temperatures, and lines
/// inside the file.
pub fn assert_lesson_holds(l: &Lesson, text: &str) {
    let n_lines = text.lines().count();
    let show = || format!("in:\n{text}");
    assert!(!l.steps.is_empty(), "no steps {}", show());
    assert!(
        !l.meta.id.is_empty() && !l.meta.id.contains(char::is_whitespace),
        "id {:?} {}",
        l.meta.id,
        show()
    );
    let positive = |t: f32| t.is_finite() && t > 0.0;
    for s in &l.steps {
        assert!(
            s.line >= 1 && s.line <= n_lines,
            "step line {} {}",
            s.line,
            show()
        );
        if let Some(v) = &s.view {
            assert!(s.view_line >= 1 && s.view_line <= n_lines, "{}", show());
            if let Some(p) = &v.panel {
                assert!(PANELS.contains(&p.as_str()), "panel {p:?} {}", show());
            }
            if let Some(a) = &v.ablate {
                assert!(a.is_empty() || a.len() == 2, "ablate {a:?} {}", show());
            }
            if let Some(t) = v.temperature {
                assert!(positive(t), "view temperature {t} {}", show());
            }
        }
        if let Some(t) = &s.task {
            assert!(s.task_line >= 1 && s.task_line <= n_lines, "{}", show());
            match &t.kind {
                TaskKind::Temperatures { low, high } => {
                    assert!(
                        positive(*low) && positive(*high) && low < high,
                        "{}",
                        show()
                    )
                }
                TaskKind::Visit { panel, .. } => {
                    assert!(PANELS.contains(&panel.as_str()), "{}", show())
                }
                _ => {}
            }
        }
        for (_, line) in &s.claims {
            assert!(
                *line >= 1 && *line <= n_lines,
                "claim line {line} {}",
                show()
            );
        }
    }
}

/// One case: parse a mutated lesson.
pub fn target(u: &mut Unstructured, originals: &[(PathBuf, String)]) -> Result<bool> {
    let (path, text) = mutated(u, originals)?;
    match Lesson::parse(&path, &text) {
        Ok(lesson) => {
            assert_lesson_holds(&lesson, &text);
            Ok(true)
        }
        Err(e) => {
            let n_lines = text.lines().count().max(1);
            assert!(
                e.line >= 1 && e.line <= n_lines + 1,
                "error at line {} of {n_lines}: {e}\nin:\n{text}",
                e.line
            );
            assert_eq!(e.path, path);
            assert!(
                !e.message.trim().is_empty(),
                "no message: {e:?}\nin:\n{text:?}"
            );
            Ok(false)
        }
    }
}
