//! Lessons are data: one Markdown file per lesson in lessons/, with TOML front matter between `+++`
//! lines (id, title, summary, prompt, model) and steps, each starting at a `## Title` heading. A step's
//! fenced `view` block sets up the screen, its `task` block is something the learner must do (checked
//! from the model's numbers, see [`task`]), and `claim` blocks state facts about the model that
//! `lessons check` and the tests verify. lessons/README.md has the full format and an example.
//!
//! Parsing never trusts the file: every error names the file and line.

pub mod builtin;
pub mod check;
pub mod claim;
mod facts;
mod probe;
pub mod progress;
pub mod task;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::loader::{known::KnownModel, BUNDLED_NAME};
pub use builtin::Source;
pub use claim::{Claim, ParamPart};
pub use task::{Task, TaskKind};

use crate::textfile::read_text;

/// A lesson is a few kilobytes of Markdown; a file past this is not one (and is not read whole).
const MAX_LESSON_BYTES: u64 = 1 << 20;

/// Front matter: what the lesson is and what it runs on.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// The prompt the tutor opens the lesson with.
    pub prompt: String,
    /// The model the lesson runs on and its claims are about: `glassbox-tiny`, or a real model glassbox
    /// knows by name (`SmolLM2-135M-Instruct`).
    pub model: String,
}

/// How a step sets up the screen. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    pub panel: Option<String>,
    pub layer: Option<usize>,
    pub head: Option<usize>,
    /// Token index of the cursor; negative counts from the end (-1: the last token).
    pub cursor: Option<i64>,
    pub temperature: Option<f32>,
    /// true: scores without the 1/√dₖ factor.
    pub unscaled: Option<bool>,
    /// [layer, head] to ablate, or [] for none.
    pub ablate: Option<Vec<usize>>,
    /// Replace the prompt for this step.
    pub prompt: Option<String>,
    /// true: the prompt (this step's, or the one in force) is a question put in the model's chat
    /// template, as the tutor's c key does; a step that sets a prompt without it runs it plain.
    pub chat: Option<bool>,
    /// The score the Heads view shows: previous-token, first-token or induction.
    pub score: Option<String>,
    /// The position what-if the step opens with (learned when unset).
    pub positions: Option<PositionsMode>,
}

/// The position what-if as a lesson file names it (the tutor's p key cycles through them).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PositionsMode {
    /// As the model was trained.
    Learned,
    /// No position information: W_pos zeroed (GPT-2), q and k unrotated (Llama).
    Zeroed,
    /// Position p gets W_pos[n_ctx − 1 − p] (GPT-2 only).
    Reversed,
}

impl PositionsMode {
    /// The model's what-if for this mode (None: no what-if).
    pub fn edit(self) -> Option<crate::model::PositionEdit> {
        use crate::model::PositionEdit;
        match self {
            Self::Learned => None,
            Self::Zeroed => Some(PositionEdit::Zeroed),
            Self::Reversed => Some(PositionEdit::Reversed),
        }
    }

    pub fn word(self) -> &'static str {
        crate::model::PositionEdit::word(self.edit())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: String,
    /// Markdown shown in the lesson pane.
    pub body: String,
    pub view: Option<ViewSpec>,
    pub task: Option<Task>,
    /// Claims with the line of their block.
    pub claims: Vec<(Claim, usize)>,
    /// Claims about another model than the lesson's (a block with `model = "…"`), so a lesson can
    /// compare the two and both sides stay checked: the model's name, the claim, its line.
    pub claims_elsewhere: Vec<(String, Claim, usize)>,
    /// 1-based lines of the step's heading and of its view and task blocks, for error messages.
    pub line: usize,
    pub view_line: usize,
    pub task_line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub meta: FrontMatter,
    pub steps: Vec<Step>,
    pub path: PathBuf,
}

/// A problem in a lesson file, at a line.
#[derive(Debug, Clone, PartialEq)]
pub struct LessonError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LessonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

impl std::error::Error for LessonError {}

/// The panels a view block may name, as the tutor's tabs call them.
pub const PANELS: &[&str] = &[
    "attention",
    "heads",
    "scores",
    "inside",
    "positions",
    "residual",
    "lens",
    "next",
    "training",
    "lesson",
    // Not tabs of their own: the Training view on its scaling page, the Lens view on its
    // attribution page.
    "scaling",
    "attribution",
];

/// A claim block's `model = "…"` line, taken out (left blank, so error lines still match): the block
/// without it and the model it names, which must be one glassbox knows. Errors carry the line's index.
fn claim_model(lines: &[&str]) -> Result<(String, Option<String>), (usize, String)> {
    let mut model = None;
    let mut kept = Vec::with_capacity(lines.len());
    for (j, line) in lines.iter().enumerate() {
        let is_model = line
            .trim_start()
            .strip_prefix("model")
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if !is_model {
            kept.push(*line);
            continue;
        }
        let table: toml::Table = toml::from_str(line).map_err(|e| (j, toml_message(&e)))?;
        let Some(toml::Value::String(name)) = table.get("model") else {
            return Err((j, "model must be a string".into()));
        };
        if name != BUNDLED_NAME && KnownModel::named(name).is_none() {
            return Err((
                j,
                format!(
                    "unknown model {name:?}: a claim can be about {BUNDLED_NAME} or {}",
                    crate::model::loader::known::KNOWN
                        .iter()
                        .map(|k| k.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if model.replace(name.clone()).is_some() {
            return Err((j, "a claim names its model once".into()));
        }
        kept.push("");
    }
    Ok((kept.join("\n"), model))
}

impl Lesson {
    /// The models this lesson's claims are about besides its own.
    pub fn other_models(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .steps
            .iter()
            .flat_map(|s| &s.claims_elsewhere)
            .map(|(m, _, _)| m.as_str())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn parse(path: &Path, text: &str) -> Result<Lesson, LessonError> {
        let err = |line: usize, message: String| LessonError {
            path: path.to_path_buf(),
            line,
            message,
        };
        let lines: Vec<&str> = text.lines().collect();
        if lines.first().map(|l| l.trim()) != Some("+++") {
            return Err(err(
                1,
                "a lesson starts with TOML front matter between +++ lines".into(),
            ));
        }
        let end = lines
            .iter()
            .skip(1)
            .position(|l| l.trim() == "+++")
            .map(|i| i + 1)
            .ok_or_else(|| err(1, "the front matter has no closing +++ line".into()))?;
        let meta: FrontMatter = toml::from_str(&lines[1..end].join("\n"))
            .map_err(|e| err(1 + toml_line(&e, &lines[1..end]), toml_message(&e)))?;
        if meta.id.trim().is_empty() || meta.id.contains(char::is_whitespace) {
            return Err(err(2, format!("id {:?} must be one word", meta.id)));
        }
        let mut steps = Vec::new();
        let mut i = end + 1;
        let mut current: Option<Step> = None;
        while i < lines.len() {
            let line = lines[i];
            if let Some(title) = line.strip_prefix("## ") {
                steps.extend(current.take());
                current = Some(Step {
                    title: title.trim().to_string(),
                    body: String::new(),
                    view: None,
                    task: None,
                    claims: Vec::new(),
                    claims_elsewhere: Vec::new(),
                    line: i + 1,
                    view_line: 0,
                    task_line: 0,
                });
            } else if let Some(kind) = line
                .trim()
                .strip_prefix("```")
                .filter(|k| matches!(*k, "view" | "task" | "claim"))
            {
                let start = i + 1;
                let close = lines[start..]
                    .iter()
                    .position(|l| l.trim() == "```")
                    .map(|j| start + j)
                    .ok_or_else(|| err(i + 1, format!("the ```{kind} block is never closed")))?;
                let block = lines[start..close].join("\n");
                let step = current.as_mut().ok_or_else(|| {
                    err(
                        i + 1,
                        format!("a ```{kind} block must be inside a step (after a ## heading)"),
                    )
                })?;
                let at = |e: &toml::de::Error| start + toml_line(e, &lines[start..close]);
                if kind == "claim" {
                    let (block, about) = claim_model(&lines[start..close])
                        .map_err(|(j, m)| err(start + j + 1, format!("claim: {m}")))?;
                    let claim = Claim::parse(&block)
                        .map_err(|e| err(at(&e), format!("claim: {}", toml_message(&e))))?;
                    match about.filter(|m| *m != meta.model) {
                        Some(other) => step.claims_elsewhere.push((other, claim, start + 1)),
                        None => step.claims.push((claim, start + 1)),
                    }
                } else if kind == "view" {
                    if step.view.is_some() {
                        return Err(err(i + 1, "a step has at most one view block".into()));
                    }
                    let view: ViewSpec =
                        toml::from_str(&block).map_err(|e| err(at(&e), toml_message(&e)))?;
                    if let Some(p) = &view.panel {
                        if !PANELS.contains(&p.as_str()) {
                            return Err(err(
                                start + 1,
                                format!("unknown panel {p:?}: use one of {}", PANELS.join(", ")),
                            ));
                        }
                    }
                    if let Some(t) = view.temperature.filter(|t| !(t.is_finite() && *t > 0.0)) {
                        return Err(err(
                            start + 1,
                            format!("temperature {t} must be a number above 0"),
                        ));
                    }
                    if view
                        .ablate
                        .as_ref()
                        .is_some_and(|a| !(a.is_empty() || a.len() == 2))
                    {
                        return Err(err(start + 1, "ablate is [layer, head] or []".into()));
                    }
                    step.view = Some(view);
                    step.view_line = start + 1;
                } else {
                    if step.task.is_some() {
                        return Err(err(i + 1, "a step has at most one task block".into()));
                    }
                    let task = Task::parse(&block)
                        .map_err(|e| err(at(&e), format!("task: {}", toml_message(&e))))?;
                    step.task = Some(task);
                    step.task_line = start + 1;
                }
                i = close;
            } else if let Some(step) = current.as_mut() {
                step.body.push_str(line);
                step.body.push('\n');
            } else if !line.trim().is_empty() {
                return Err(err(
                    i + 1,
                    "text before the first step: start a step with \"## Title\"".into(),
                ));
            }
            i += 1;
        }
        steps.extend(current);
        if steps.is_empty() {
            return Err(err(
                end + 1,
                "the lesson has no steps (\"## Title\" starts one)".into(),
            ));
        }
        for s in &mut steps {
            s.body = s.body.trim().to_string();
        }
        Ok(Lesson {
            meta,
            steps,
            path: path.to_path_buf(),
        })
    }

    pub fn load(path: &Path) -> Result<Lesson, LessonError> {
        let text = read_text(path, MAX_LESSON_BYTES).map_err(|e| LessonError {
            path: path.to_path_buf(),
            line: 1,
            message: format!("the file {e}"),
        })?;
        Lesson::parse(path, &text)
    }
}

/// The 1-based line of a TOML error within its block; its first line when the error has no position
/// (a check made after parsing, such as a task's kind against its fields).
fn toml_line(e: &toml::de::Error, block: &[&str]) -> usize {
    let Some(span) = e.span() else { return 1 };
    let text = block.join("\n");
    // Bytes, not a str slice: toml may point inside a multi-byte character.
    let before = &text.as_bytes()[..span.start.min(text.len())];
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

fn toml_message(e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    if message.is_empty() {
        // toml has no words for some characters, such as a lone carriage return.
        return "this line is not valid TOML (look for a stray or invisible character)".into();
    }
    message
}

/// Every lesson in `dir` (files NN-*.md, in name order); a broken file is reported and skipped, so
/// the others still load.
pub fn load_all(dir: &Path) -> (Vec<Lesson>, Vec<LessonError>) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "md")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(builtin::is_lesson_name)
        })
        .collect();
    paths.sort();
    collect(paths.iter().map(|p| Lesson::load(p)))
}

/// Lessons and errors apart, in order; a lesson whose id an earlier one took is an error.
fn collect(
    parsed: impl Iterator<Item = Result<Lesson, LessonError>>,
) -> (Vec<Lesson>, Vec<LessonError>) {
    let mut lessons = Vec::new();
    let mut errors = Vec::new();
    for result in parsed {
        match result {
            Ok(l) => lessons.push(l),
            Err(e) => errors.push(e),
        }
    }
    let mut seen = std::collections::HashSet::new();
    lessons.retain(|l| {
        let fresh = seen.insert(l.meta.id.clone());
        if !fresh {
            errors.push(LessonError {
                path: l.path.clone(),
                line: 2,
                message: format!("id {:?} is used by another lesson", l.meta.id),
            });
        }
        fresh
    });
    (lessons, errors)
}

/// Find a lesson by its number in the list (1-based) or its id.
pub fn find<'a>(lessons: &'a [Lesson], key: &str) -> Option<(usize, &'a Lesson)> {
    if let Ok(n) = key.parse::<usize>() {
        return lessons.get(n.checked_sub(1)?).map(|l| (n - 1, l));
    }
    lessons.iter().enumerate().find(|(_, l)| l.meta.id == key)
}

#[cfg(test)]
mod tests;
