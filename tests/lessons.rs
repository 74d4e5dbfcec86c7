//! The committed lessons against the bundled model: they parse, pass `lessons check` (their claims
//! hold), and every task can be solved from analysis results while a wrong answer is rejected.

use assert_cmd::Command;
use candle_core::Device;
use glassbox::analysis::heatmap::attention_pattern;
use glassbox::app::lessons::Lessons;
use glassbox::app::worker::{Request, Response, Session};
use glassbox::app::{App, Effect, Overlay};
use glassbox::lesson::progress::Progress;
use glassbox::lesson::task::{best_head, head_scores, Outcome, TaskKind};
use glassbox::lesson::{self, check::check_against, check::check_claim};
use glassbox::model;
use glassbox::ui::theme::ColorMode;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "common/screen.rs"]
mod screen;

fn lessons_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

/// The committed lessons written for the model named `name` (every lesson parses, whichever it is).
fn lessons_for(name: &str) -> Vec<lesson::Lesson> {
    let (lessons, errors) = lesson::load_all(&lessons_dir());
    assert!(errors.is_empty(), "{errors:#?}");
    lessons
        .into_iter()
        .filter(|l| l.meta.model == name)
        .collect()
}

/// SmolLM2, for the lessons written for it: `None` (the test says it skipped) when the file is not
/// here, a failure instead when GLASSBOX_REQUIRE_SMOLLM2 is set (CI).
fn smollm2() -> Option<model::LoadedModel> {
    let known = model::loader::known::SMOLLM2;
    if known.find().is_none() {
        assert!(
            std::env::var_os("GLASSBOX_REQUIRE_SMOLLM2").is_none(),
            "GLASSBOX_REQUIRE_SMOLLM2 is set but SmolLM2 is not here: run tools/fetch_smollm2.sh"
        );
        eprintln!("SKIPPED: SmolLM2 is not here (eval \"$(tools/fetch_smollm2.sh)\")");
        return None;
    }
    Some(model::load(Some(known.alias), &Device::Cpu).unwrap())
}

#[test]
fn every_lesson_parses_and_its_claims_hold_on_the_bundled_model() {
    let lessons = lessons_for(model::loader::BUNDLED_NAME);
    assert!(lessons.len() >= 12, "{} lessons", lessons.len());
    let loaded = model::load(None, &Device::Cpu).unwrap();
    // What the lessons on other models say about this one (lesson 13 compares their heads).
    let (all, _) = lesson::load_all(&lessons_dir());
    for l in all.iter().filter(|l| l.meta.model != loaded.files.name) {
        let problems = glassbox::lesson::check::check_claims_on(l, &loaded);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    for l in &lessons {
        let problems = check_against(l, &loaded);
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(!l.steps.is_empty());
    }
    let claims: usize = lessons
        .iter()
        .flat_map(|l| &l.steps)
        .map(|s| s.claims.len())
        .sum();
    assert!(claims >= 5, "lessons make claims the tests check: {claims}");
}

/// An ablation claim is checked by running the model with the head off: lesson 9's claim that the
/// name copy needs L1H3 holds, and the same claim made of L1H1 is reported false with the numbers.
#[test]
fn an_ablation_claim_is_checked_with_the_head_switched_off() {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let prompt =
        "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";
    let claim = |head: usize| -> lesson::Claim {
        toml::from_str(&format!(
            "kind = \"ablated\"\ntoken = \" K\"\nablate = [1, {head}]\nbelow = 0.05"
        ))
        .unwrap()
    };
    assert_eq!(check_claim(&loaded, prompt, &claim(3)), Ok(()));
    let err = check_claim(&loaded, prompt, &claim(1)).unwrap_err();
    assert!(
        err.starts_with("claim false: with L1H1 ablated p(\" K\") = 0.")
            && err.contains("clean 0."),
        "{err}"
    );
    let err = check_claim(&loaded, prompt, &claim(9));
    assert!(err.unwrap_err().contains("no head L1H9"));
}

/// A positions claim is checked with the tutor's what-if on: lesson 6's "·cat stays on top but falls
/// below 0.5 with positions reversed" holds, the same bound with positions zeroed is reported false
/// with the number, and a bad mode or a claim with no condition does not parse.
#[test]
fn a_positions_claim_is_checked_with_the_positions_changed() {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let prompt = "The dog chased the cat. The";
    let claim = |mode: &str| -> lesson::Claim {
        toml::from_str(&format!(
            "kind = \"positions\"\nmode = \"{mode}\"\ntoken = \" cat\"\nbelow = 0.5\ntop = true"
        ))
        .unwrap()
    };
    assert_eq!(check_claim(&loaded, prompt, &claim("reversed")), Ok(()));
    let err = check_claim(&loaded, prompt, &claim("zeroed")).unwrap_err();
    assert!(
        err.starts_with("claim false: with positions zeroed p(\" cat\") = 0.8"),
        "{err}"
    );
    let top: lesson::Claim =
        toml::from_str("kind = \"positions\"\nmode = \"reversed\"\ntoken = \" dog\"\ntop = true")
            .unwrap();
    let err = check_claim(&loaded, prompt, &top).unwrap_err();
    assert!(err.contains("the top token is \" cat\""), "{err}");
    let lesson_with = |block: &str| {
        format!(
            "+++\nid = \"x\"\ntitle = \"x\"\nsummary = \"x\"\nprompt = \"x\"\nmodel = \"glassbox-tiny\"\n+++\n## S\n```claim\n{block}\n```\n"
        )
    };
    for bad in [
        "kind = \"positions\"\nmode = \"shuffled\"\ntoken = \" cat\"\ntop = true",
        "kind = \"positions\"\nmode = \"zeroed\"\ntoken = \" cat\"",
    ] {
        let parsed = lesson::Lesson::parse(std::path::Path::new("x.md"), &lesson_with(bad));
        assert!(parsed.is_err(), "{bad}");
    }
}

/// An app with the model and the lessons, in a temporary data folder.
struct Rig {
    app: App,
    session: Session,
    _data: tempfile::TempDir,
}

impl Rig {
    fn new() -> Self {
        Self::with_data(tempfile::tempdir().unwrap())
    }

    /// An app whose progress file is `data/progress.json`, read as the tutor reads it.
    fn with_data(data: tempfile::TempDir) -> Self {
        let loaded = model::load(None, &Device::Cpu).unwrap();
        Self::on(loaded, data)
    }

    /// An app on `loaded` with the lessons written for it.
    fn on(loaded: model::LoadedModel, data: tempfile::TempDir) -> Self {
        let all = lessons_for(&loaded.files.name);
        // A model without a BOS token runs nothing on an empty prompt: open with a word.
        let opening = if loaded.codec.prepends_bos() {
            ""
        } else {
            "The"
        };
        let session = Session::new(loaded);
        let mut app = App::new(opening.to_string());
        let progress = Progress::open(Some(data.path().join("progress.json")));
        app.lessons = Lessons::new(all, Vec::new(), progress);
        let mut rig = Rig {
            app,
            session,
            _data: data,
        };
        let info = rig.session.info();
        let out = rig.app.on_response(Response::Loaded(Box::new(info)));
        rig.serve(out);
        // The opening prompt, which the worker runs right after loading.
        rig.serve(vec![Request::Prompt(opening.to_string())]);
        rig
    }

    /// Answer the requests as the worker would, then carry out the app's effects (saving progress) as
    /// the event loop does after each event.
    fn serve(&mut self, queue: Vec<Request>) {
        glassbox::app::worker::serve_inline(&mut self.app, &mut self.session, queue).unwrap();
        glassbox::shell::carry_out_queued(&mut self.app);
    }

    fn key(&mut self, code: KeyCode) {
        let out = self.app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.serve(out);
    }

    fn open(&mut self, lesson: usize, step: usize) {
        let out = self.app.open_lesson(lesson);
        self.serve(out);
        let out = self.app.go_to_step(step);
        self.serve(out);
        self.app.check_task();
        glassbox::shell::carry_out_queued(&mut self.app);
    }

    fn outcome(&mut self) -> Outcome {
        // What the screen needs now (the cursor may have been moved directly), as the event loop
        // asks after each event.
        let out = self.app.fetches();
        self.serve(out);
        self.app.check_task();
        glassbox::shell::carry_out_queued(&mut self.app);
        self.app
            .lessons
            .outcome
            .clone()
            .expect("the task was checked")
    }

    fn select(&mut self, layer: usize, head: usize) {
        self.app.layer = layer;
        self.app.head = head;
        self.key(KeyCode::Null);
    }
}

/// Do the wrong thing, check it is rejected; do the right thing, check it is accepted.
fn solve(rig: &mut Rig, kind: &TaskKind, lesson: usize, step: usize) {
    let snap = || rig_snap(rig);
    match kind {
        TaskKind::SelectHead { criterion, .. } => {
            let (ids, capture) = snap();
            let scores = head_scores(&capture, &ids, rig.app.dims().0, *criterion).unwrap();
            let (l, h, best) = best_head(&scores).unwrap();
            let (wl, wh) = worst(&scores);
            assert!(
                scores[wl][wh] < best,
                "{criterion:?}: all heads score the same"
            );
            rig.select(wl, wh);
            assert!(!rig.outcome().is_done(), "a worse head was accepted");
            rig.select(l, h);
        }
        TaskKind::CursorOnTopKey { layer, head, query } => {
            let (ids, capture) = snap();
            let map = attention_pattern(&capture, *layer, *head, &vec![String::new(); ids.len()])
                .unwrap();
            let q = if *query < 0 {
                ids.len() as i64 + query
            } else {
                *query
            } as usize;
            let top = map.argmax_in_row(q).unwrap();
            rig.app.cursor = if top == 0 { 1 } else { 0 };
            assert!(!rig.outcome().is_done());
            rig.app.cursor = top;
        }
        TaskKind::Temperatures { .. } => {
            for _ in 0..10 {
                rig.key(KeyCode::Char('-'));
            }
            assert!(!rig.outcome().is_done(), "low alone is not enough");
            for _ in 0..10 {
                rig.key(KeyCode::Char('+'));
            }
        }
        TaskKind::AblateHead { criterion } => {
            let (ids, capture) = snap();
            let scores = head_scores(&capture, &ids, rig.app.dims().0, *criterion).unwrap();
            let (l, h, _) = best_head(&scores).unwrap();
            let (wl, wh) = worst(&scores);
            rig.select(wl, wh);
            rig.key(KeyCode::Char('a'));
            assert!(
                !rig.outcome().is_done(),
                "ablating another head was accepted"
            );
            rig.key(KeyCode::Char('a'));
            rig.select(l, h);
            rig.key(KeyCode::Char('a'));
            // Find a position where the head matters, as a learner would by moving the cursor.
            let n = rig.app.n_tokens();
            for pos in (0..n).rev() {
                rig.app.cursor = pos;
                if rig.outcome().is_done() {
                    break;
                }
            }
        }
        TaskKind::Ablate { head: [l, h] } => {
            let other = if (*l, *h) == (0, 0) { (0, 1) } else { (0, 0) };
            rig.select(other.0, other.1);
            rig.key(KeyCode::Char('a'));
            assert!(
                !rig.outcome().is_done(),
                "ablating another head was accepted"
            );
            rig.key(KeyCode::Char('a'));
            rig.select(*l, *h);
            rig.key(KeyCode::Char('a'));
        }
        TaskKind::Generate { count } => {
            for _ in 1..*count {
                rig.key(KeyCode::Char('n'));
            }
            assert!(!rig.outcome().is_done(), "one token short was accepted");
            rig.key(KeyCode::Char('n'));
        }
        TaskKind::Visit { panel, move_cursor } => {
            let other = if panel == "attention" { '2' } else { '1' };
            rig.key(KeyCode::Char(other));
            assert!(!rig.outcome().is_done());
            if panel == "scaling" {
                // The Training view's second page: 9 (a step opens it on the curve), then i.
                rig.key(KeyCode::Char('9'));
                assert!(
                    !rig.outcome().is_done(),
                    "the training curve is not the family"
                );
                rig.key(KeyCode::Char('i'));
            } else if panel == "lens" || panel == "attribution" {
                // The Lens view's two pages: 7, then i when the other page is the one showing (a
                // step before may have left it there).
                use glassbox::app::LensPage;
                rig.key(KeyCode::Char('7'));
                let want = if panel == "lens" {
                    LensPage::Lens
                } else {
                    LensPage::Attribution
                };
                if rig.app.lens_page != want {
                    assert!(!rig.outcome().is_done(), "the other Lens page was accepted");
                    rig.key(KeyCode::Char('i'));
                }
            } else {
                // Digit keys 1 to 9, then 0 for the tenth view.
                let i = lesson::PANELS.iter().position(|p| p == panel).unwrap();
                rig.key(KeyCode::Char(char::from(b'0' + ((i + 1) % 10) as u8)));
            }
            if *move_cursor {
                assert!(!rig.outcome().is_done(), "opened without moving the cursor");
                let back = if rig.app.cursor > 0 {
                    KeyCode::Left
                } else {
                    KeyCode::Right
                };
                rig.key(back);
            }
        }
        TaskKind::HardestToken => {
            let (ids, capture) = snap();
            let logits = capture.get("logits").unwrap().unwrap();
            let losses = glassbox::analysis::predictions::token_losses(&logits, &ids).unwrap();
            let hardest = glassbox::analysis::predictions::argmax(&losses);
            rig.app.cursor = if hardest == 0 { 1 } else { 0 };
            assert!(!rig.outcome().is_done(), "an easier token was accepted");
            rig.app.cursor = hardest;
        }
        TaskKind::PromptContains { text } => {
            rig.key(KeyCode::Char('e'));
            rig.app
                .on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
            for c in format!("No {}", text.chars().rev().collect::<String>()).chars() {
                rig.key(KeyCode::Char(c));
            }
            rig.key(KeyCode::Enter);
            assert!(
                !rig.outcome().is_done(),
                "a prompt without {text:?} was accepted"
            );
            rig.key(KeyCode::Char('e'));
            rig.app
                .on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
            for c in format!("The {text} said that").chars() {
                rig.key(KeyCode::Char(c));
            }
            rig.key(KeyCode::Enter);
        }
        TaskKind::Unscaled => {
            rig.key(KeyCode::Char('3'));
            if rig.app.what_if.unscaled {
                rig.key(KeyCode::Char('u'));
            }
            assert!(!rig.outcome().is_done());
            rig.key(KeyCode::Char('u'));
        }
        TaskKind::Positions { mode } => {
            let want = mode.edit();
            let shown = |rig: &Rig| rig.app.snap.as_ref().unwrap().positions;
            // p cycles through three states: every state on the way that is not the one asked
            // for is not accepted.
            for _ in 0..3 {
                if shown(rig) == want {
                    break;
                }
                assert!(
                    !rig.outcome().is_done(),
                    "positions {mode:?} accepted while {:?}",
                    shown(rig)
                );
                rig.key(KeyCode::Char('p'));
            }
        }
    }
    let outcome = rig.outcome();
    assert!(
        outcome.is_done(),
        "lesson {} step {}: {kind:?} not solved: {outcome:?}",
        lesson + 1,
        step + 1
    );
}

/// The prompt on screen and, as a reference the task checks are compared with, every pattern and
/// the logits from a pass of its own (with the position what-if on screen).
fn rig_snap(rig: &Rig) -> (Vec<u32>, glassbox::model::Capture) {
    let s = rig.app.snap.as_ref().unwrap();
    let model = &rig.session.loaded.model;
    let filter = glassbox::model::NamesFilter::parse("blocks.*.attn.hook_pattern, logits");
    let mut edit = s.positions.map(|e| model.position_edit(e).unwrap());
    let trace = model
        .trace_with(
            &s.ids,
            filter,
            edit.as_mut().map(|h| h as &mut dyn glassbox::model::Hook),
        )
        .unwrap();
    (s.ids.clone(), trace.capture().clone())
}

fn worst(scores: &[Vec<f32>]) -> (usize, usize) {
    let mut w = (0, 0, f32::INFINITY);
    for (l, row) in scores.iter().enumerate() {
        for (h, &s) in row.iter().enumerate() {
            if s < w.2 {
                w = (l, h, s);
            }
        }
    }
    (w.0, w.1)
}

#[test]
fn every_task_is_solvable_and_a_wrong_answer_is_rejected() {
    every_task_is_solvable(Rig::new(), 12);
}

/// The lessons on the real model: their claims hold on SmolLM2, and every task is solvable there
/// with a wrong answer rejected, walked as a learner walks them.
#[test]
fn the_smollm2_lessons_hold_and_their_tasks_are_solvable() {
    let Some(loaded) = smollm2() else { return };
    let lessons = lessons_for(&loaded.files.name);
    assert!(lessons.len() >= 3, "{} lessons on SmolLM2", lessons.len());
    for l in &lessons {
        let problems = check_against(l, &loaded);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    // What the other lessons say about SmolLM2 (lesson 6 compares its rotations with W_pos).
    let (all, _) = lesson::load_all(&lessons_dir());
    let mut elsewhere = 0;
    for l in all.iter().filter(|l| l.meta.model != loaded.files.name) {
        let problems = glassbox::lesson::check::check_claims_on(l, &loaded);
        assert!(problems.is_empty(), "{problems:#?}");
        elsewhere += l
            .steps
            .iter()
            .flat_map(|s| &s.claims_elsewhere)
            .filter(|c| c.0 == loaded.files.name)
            .count();
    }
    assert!(
        elsewhere >= 2,
        "{elsewhere} claims about SmolLM2 in other lessons"
    );
    let rig = Rig::on(loaded, tempfile::tempdir().unwrap());
    every_task_is_solvable(rig, 10);
    let loaded = smollm2().unwrap();
    walk_every_lesson(Rig::on(loaded, tempfile::tempdir().unwrap()), 10);
}

fn every_task_is_solvable(mut rig: Rig, at_least: usize) {
    let lessons = rig.app.lessons.all.clone();
    let mut solved = 0;
    for (li, l) in lessons.iter().enumerate() {
        for (si, step) in l.steps.iter().enumerate() {
            let Some(task) = &step.task else { continue };
            rig.open(li, si);
            let kind = task.kind.clone();
            solve(&mut rig, &kind, li, si);
            solved += 1;
            let progress = &rig.app.lessons.progress.lessons[&l.meta.id];
            assert!(progress.done.contains(&si));
        }
    }
    assert!(solved >= at_least, "{solved} tasks");
    // Every task is done, but only lessons whose last step was reached (a task on it) are complete.
    for l in &lessons {
        let p = &rig.app.lessons.progress.lessons[&l.meta.id];
        let last_has_task = l.steps.last().is_some_and(|s| s.task.is_some());
        assert_eq!(p.completed, last_has_task, "lesson {}", l.meta.id);
    }
    // Reaching the last step afterwards completes every lesson.
    for (li, l) in lessons.iter().enumerate() {
        rig.open(li, l.steps.len() - 1);
        let p = &rig.app.lessons.progress.lessons[&l.meta.id];
        assert!(p.completed, "lesson {} did not complete", l.meta.id);
    }
    // Progress was saved on the way and reads back.
    let path = rig.app.lessons.progress_path.clone().unwrap();
    let saved = glassbox::lesson::progress::Progress::load(&path).unwrap();
    assert_eq!(saved, rig.app.lessons.progress);
}

/// Walking every lesson as a learner does (step by step with >, doing each task on the way), no task
/// is done on arrival: the step's setup, and what earlier steps did, never complete it.
#[test]
fn no_task_is_done_by_the_steps_setup_or_an_earlier_step() {
    walk_every_lesson(Rig::new(), 12);
}

fn walk_every_lesson(mut rig: Rig, at_least: usize) {
    let lessons = rig.app.lessons.all.clone();
    let mut checked = 0;
    for (li, l) in lessons.iter().enumerate() {
        rig.open(li, 0);
        for (si, step) in l.steps.iter().enumerate() {
            assert_eq!(rig.app.lessons.step, si);
            if let Some(task) = &step.task {
                let arrival = rig.outcome();
                assert!(
                    !arrival.is_done(),
                    "lesson {} step {} is done on arrival: {arrival:?}",
                    li + 1,
                    si + 1
                );
                solve(&mut rig, &task.kind, li, si);
                checked += 1;
            }
            rig.key(KeyCode::Char('>'));
        }
    }
    assert!(checked >= at_least, "{checked} tasks");
}

/// What-ifs set during one step (an ablated head, the scaling removed, a temperature, sampling) are
/// gone when the next step or another lesson opens, from the state and from the status line.
#[test]
fn what_ifs_do_not_leak_into_the_next_step_or_lesson() {
    let mut rig = Rig::new();
    rig.open(0, 0);
    for key in ['a', 'u', '+', 's', 'p'] {
        rig.key(KeyCode::Char(key));
    }
    assert!(
        rig.app.what_if.ablation.is_some() && rig.app.what_if.unscaled && rig.app.sampling.sample
    );
    assert!(rig.app.snap.as_ref().unwrap().positions.is_some());
    assert_ne!(rig.app.sampling.temperature, 1.0);
    rig.key(KeyCode::Char('>'));
    assert_eq!(rig.app.lessons.step, 1);
    assert!(
        rig.app.what_if.ablation.is_none() && !rig.app.what_if.unscaled && !rig.app.sampling.sample
    );
    assert_eq!(rig.app.sampling.temperature, 1.0);
    assert_eq!(rig.app.snap.as_ref().unwrap().positions, None);
    let screen = screen::text(&screen::render(&rig.app, ColorMode::Mono, 120, 36));
    assert!(!screen.contains("ablated"), "{screen}");
    assert!(!screen.contains("positions zeroed"), "{screen}");
    // The same on opening another lesson.
    rig.key(KeyCode::Char('a'));
    assert!(rig.app.what_if.ablation.is_some());
    rig.open(2, 0);
    assert!(rig.app.what_if.ablation.is_none());
}

/// After the learner edits the prompt as a step invites, R brings the step's own prompt back.
#[test]
fn r_restores_the_steps_prompt_after_an_edit() {
    let mut rig = Rig::new();
    rig.open(10, 1);
    let lesson_prompt = rig.app.prompt.clone();
    rig.key(KeyCode::Char('e'));
    rig.app
        .on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    for c in "The engineer said that".chars() {
        rig.key(KeyCode::Char(c));
    }
    rig.key(KeyCode::Enter);
    assert_eq!(rig.app.prompt, "The engineer said that");
    assert!(rig.outcome().is_done(), "the engineer prompt is the task");
    let screen = screen::text(&screen::render(&rig.app, ColorMode::Mono, 120, 36));
    assert!(screen.contains("R brings back the lesson's"), "{screen}");
    rig.key(KeyCode::Char('R'));
    assert_eq!(rig.app.prompt, lesson_prompt);
    assert_eq!(rig.app.full_text(), lesson_prompt);
}

/// The last step seen first, the tasks done after: the lesson completes with its last task.
#[test]
fn a_lesson_completes_whichever_comes_last_its_tasks_or_its_last_step() {
    let mut rig = Rig::new();
    let lessons = rig.app.lessons.all.clone();
    let (li, l) = lessons
        .iter()
        .enumerate()
        .find(|(_, l)| l.steps.iter().filter(|s| s.task.is_some()).count() >= 2)
        .expect("a lesson with two tasks");
    rig.open(li, l.steps.len() - 1);
    let tasks: Vec<usize> = (0..l.steps.len())
        .filter(|&i| l.steps[i].task.is_some())
        .collect();
    for &si in &tasks {
        rig.open(li, si);
        let kind = l.steps[si].task.as_ref().unwrap().kind.clone();
        solve(&mut rig, &kind, li, si);
    }
    let p = &rig.app.lessons.progress.lessons[&l.meta.id];
    assert_eq!(p.furthest, l.steps.len() - 1);
    assert!(p.completed, "{p:?}");
}

#[test]
fn the_app_asks_for_progress_to_be_saved_and_writes_nothing_itself() {
    let mut rig = Rig::new();
    let path = rig.app.lessons.progress_path.clone().unwrap();
    let out = rig.app.open_lesson(1);
    assert!(!path.exists(), "the app wrote {}", path.display());
    let effects = rig.app.take_effects();
    let id = rig.app.lessons.all[1].meta.id.clone();
    match effects.as_slice() {
        [Effect::SaveProgress { path: p, progress }] => {
            assert_eq!(p, &path);
            assert_eq!(progress.last.as_deref(), Some(id.as_str()));
        }
        other => panic!("expected one SaveProgress, got {other:?}"),
    }
    glassbox::shell::carry_out(&mut rig.app, effects);
    let saved = glassbox::lesson::progress::Progress::load(&path).unwrap();
    assert_eq!(saved, rig.app.lessons.progress);
    assert!(rig.app.lessons.save_error.is_none());
    rig.serve(out);
}

#[test]
fn a_damaged_progress_file_is_kept_aside_and_the_tutor_says_so() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("progress.json");
    let damaged = r#"{"last": "attention", "lessons": {"tokens": {"step": 2, "done": [1], "completed": false}},}"#;
    std::fs::write(&path, damaged).unwrap();
    let mut rig = Rig::with_data(data);
    let out = rig.app.open_lesson(0);
    rig.serve(out);
    // The status line says so until the first key; the lesson list gives the whole story.
    let screen = screen::text(&screen::render(&rig.app, ColorMode::Mono, 120, 36));
    assert!(
        screen.contains("lesson progress was damaged: set aside"),
        "{screen}"
    );
    rig.key(KeyCode::Char('L'));
    let screen = screen::text(&screen::render(&rig.app, ColorMode::Mono, 120, 36));
    assert!(screen.contains("trailing comma"), "{screen}");
    rig.key(KeyCode::Esc);
    let screen = screen::text(&screen::render(&rig.app, ColorMode::Mono, 120, 36));
    assert!(!screen.contains("lesson progress was damaged"), "{screen}");
    // The damaged bytes are kept beside it, and a new progress file is saved next to them.
    let out = rig.app.open_lesson(1);
    rig.serve(out);
    let dir = path.parent().unwrap();
    let kept: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &path)
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].to_string_lossy().contains("progress.json.damaged-"));
    assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), damaged);
    let saved = Progress::load(&path).unwrap();
    assert_eq!(saved, rig.app.lessons.progress);
}

#[test]
fn a_failed_save_is_shown_until_a_save_succeeds() {
    let mut rig = Rig::new();
    let path = rig.app.lessons.progress_path.clone().unwrap();
    // Something that is not a file where the progress goes: the save is refused, never replaced.
    std::fs::create_dir(&path).unwrap();
    let out = rig.app.open_lesson(1);
    rig.serve(out);
    assert!(path.is_dir());
    let error = rig.app.lessons.save_error.clone().expect("a save error");
    assert!(error.contains("progress.json"), "{error}");
    let screen = screen::text(&screen::render(&rig.app, ColorMode::Mono, 120, 36));
    assert!(
        screen.contains("progress not saved: cannot write"),
        "{screen}"
    );
    // Once the way is clear, the next save succeeds and the message goes.
    std::fs::remove_dir(&path).unwrap();
    let out = rig.app.open_lesson(2);
    rig.serve(out);
    assert!(rig.app.lessons.save_error.is_none());
    assert_eq!(Progress::load(&path).unwrap(), rig.app.lessons.progress);
}

#[test]
fn lessons_list_keeps_a_damaged_progress_file_and_says_so() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("glassbox").join("progress.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\"last\": \"tok").unwrap();
    let out = Command::cargo_bin("glassbox")
        .unwrap()
        .args(["lessons", "list"])
        .env("XDG_DATA_HOME", data.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("warning: ")
            && stderr.contains("was damaged")
            && stderr.contains("kept as"),
        "{stderr}"
    );
    assert!(!path.exists());
    let kept = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(kept, 1);
    // The task counts line up in one column, however long a title is.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let columns: std::collections::BTreeSet<usize> = stdout
        .lines()
        .map(|l| l[..l.find(" tasks").unwrap()].chars().count())
        .collect();
    assert_eq!(columns.len(), 1, "{stdout}");
}

#[test]
fn lesson_keys_move_through_steps_and_the_list_opens_lessons() {
    let mut rig = Rig::new();
    rig.key(KeyCode::Char('L'));
    assert_eq!(rig.app.overlay, Overlay::LessonList(0));
    rig.key(KeyCode::Down);
    rig.key(KeyCode::Enter);
    assert_eq!(rig.app.lessons.current, Some(1));
    assert_eq!(rig.app.prompt, rig.app.lessons.all[1].meta.prompt);
    rig.key(KeyCode::Char('>'));
    assert_eq!(rig.app.lessons.step, 1);
    rig.key(KeyCode::Char('<'));
    assert_eq!(rig.app.lessons.step, 0);
    // A step's view is applied: lesson 5 step 1 opens the Heads view.
    let i = rig
        .app
        .lessons
        .all
        .iter()
        .position(|l| l.meta.id == "heads")
        .unwrap();
    rig.open(i, 0);
    assert_eq!(rig.app.view, glassbox::app::View::Heads);
}

#[test]
fn lessons_check_reports_file_and_line_for_a_broken_lesson() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        std::fs::read_to_string(lessons_dir().join("01-what-a-language-model-does.md")).unwrap();
    let bad = dir.path().join("02-bad.md");
    std::fs::write(
        &bad,
        good.replace("panel = \"next\"", "panel = \"nxt\"")
            .replace("layer = 0", "layer = 9"),
    )
    .unwrap();
    let out = Command::cargo_bin("glassbox")
        .unwrap()
        .args(["lessons", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("02-bad.md:") && err.contains("unknown panel \"nxt\""),
        "{err}"
    );
    let big = dir.path().join("03-big.md");
    std::fs::write(&big, good.replace("cursor = -1", "cursor = 999")).unwrap();
    let out = Command::cargo_bin("glassbox")
        .unwrap()
        .args(["lessons", "check"])
        .arg(&big)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("03-big.md:") && err.contains("cursor 999"),
        "{err}"
    );
}

#[test]
fn lessons_check_reports_a_visit_task_that_opens_on_its_own_panel() {
    // Pressing the key of the view already on screen changes nothing, so the task could not be done.
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(lessons_dir().join("12-beyond-this-model.md")).unwrap();
    let bad = dir.path().join("12-bad.md");
    std::fs::write(
        &bad,
        good.replace("panel = \"heads\"", "panel = \"attention\""),
    )
    .unwrap();
    let out = Command::cargo_bin("glassbox")
        .unwrap()
        .args(["lessons", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("12-bad.md:")
            && err.contains("opens on the attention view already"),
        "{err}"
    );
}

#[test]
fn an_unknown_lesson_is_a_one_line_error() {
    let data = tempfile::tempdir().unwrap();
    Command::cargo_bin("glassbox")
        .unwrap()
        .env("XDG_DATA_HOME", data.path())
        .args(["--lesson", "99"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("no lesson \"99\""));
}

/// A claim of the kinds that read the views' numbers, made false, fails `lessons check` at its line,
/// with what the model does instead: lesson 7's lens claim said of a layer where ·K is not on top.
#[test]
fn lessons_check_says_what_the_model_does_instead_of_a_false_lens_claim() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(lessons_dir().join("07-residual-stream.md")).unwrap();
    let claim = "kind = \"lens\"\nlayer = 1\ntoken = \" K\"\ntop = false";
    assert!(good.contains(claim));
    let bad = dir.path().join("07-bad.md");
    std::fs::write(
        &bad,
        good.replace(
            claim,
            "kind = \"lens\"\nlayer = 1\ntoken = \" K\"\ntop = true",
        ),
    )
    .unwrap();
    let line = good[..good.find(claim).unwrap()].lines().count() + 1;
    let out = Command::cargo_bin("glassbox")
        .unwrap()
        .args(["lessons", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "07-bad.md:{line}: claim false: at blocks.1.hook_resid_post"
        )) && err.contains("not the top token; by row: blocks.0.hook_resid_pre"),
        "{err}"
    );
}
