//! Chat mode in the tutor, on the bundled model given a small chat template (it has none of its
//! own): the app keeps the question, the worker renders it through the template, `e` edits the
//! question, `c` toggles the template, generating stops at the template's end token, the Next view
//! sets the bare question beside it, and a lesson step's `chat = true` opens it. SmolLM2's own template
//! is tested in tests/smollm2.rs and tests/tutor_tmux.rs.

use candle_core::Device;
use glassbox::analysis::predictions::argmax;
use glassbox::app::lessons::Lessons;
use glassbox::app::worker::{start_inline_as, Request, Session};
use glassbox::app::{App, Overlay, View};
use glassbox::lesson::progress::Progress;
use glassbox::lesson::{check::check_claim, Claim, Lesson};
use glassbox::model::{self, chat::ChatTemplate, LoadedModel};
use glassbox::ui::theme::ColorMode;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "common/screen.rs"]
mod screen;

/// A template in the bundled model's own vocabulary: its one special token, `<|endoftext|>`, opens
/// the turn and a role word names the speakers.
const TEMPLATE: &str = "{% for m in messages %}<|endoftext|>{{ m['role'] }}: {{ m['content'].strip() }}\n{% endfor %}{% if add_generation_prompt %}<|endoftext|>assistant:{% endif %}";

const QUESTION: &str = "Who went to the park?";

/// The bundled model with [`TEMPLATE`], whose end of turn is `eos` (by default `<|endoftext|>`).
fn with_template(eos: Option<u32>) -> LoadedModel {
    let mut loaded = model::load(None, &Device::Cpu).unwrap();
    let end = loaded.codec.token_id("<|endoftext|>").unwrap();
    loaded.chat_template = Some(ChatTemplate {
        source: TEMPLATE.into(),
        bos_token: String::new(),
        eos_token: loaded.codec.token_str(eos.unwrap_or(end)),
        eos_id: Some(eos.unwrap_or(end)),
    });
    loaded
}

fn serve(app: &mut App, session: &mut Session, queue: Vec<Request>) {
    glassbox::app::worker::serve_inline(app, session, queue).unwrap();
}

fn press(app: &mut App, session: &mut Session, code: KeyCode, mods: KeyModifiers) {
    let requests = app.on_key(KeyEvent::new(code, mods));
    serve(app, session, requests);
}

fn key(app: &mut App, session: &mut Session, code: KeyCode) {
    press(app, session, code, KeyModifiers::NONE);
}

fn tokens(app: &App) -> Vec<String> {
    app.snap.as_ref().unwrap().tokens.clone()
}

#[test]
fn the_question_is_kept_and_every_edit_goes_through_the_template_again() {
    let (mut app, mut s) = start_inline_as(with_template(None), QUESTION, true).unwrap();
    assert!(app.chat);
    assert_eq!(
        app.prompt, QUESTION,
        "the app keeps the question, not the template"
    );
    // The strip shows the template's tokens: the special token, the roles, then the question.
    let toks = tokens(&app);
    let rendered = s
        .loaded
        .chat_template
        .as_ref()
        .unwrap()
        .render(QUESTION)
        .unwrap();
    assert_eq!(
        rendered,
        "<|endoftext|>user: Who went to the park?\n<|endoftext|>assistant:"
    );
    let ids = s.loaded.encode_prompt(&rendered, false).unwrap();
    assert_eq!(app.snap.as_ref().unwrap().ids, ids);
    assert_eq!(toks.iter().filter(|t| *t == "<|endoftext|>").count(), 2);
    assert!(
        toks.concat().starts_with("<|endoftext|>user: Who"),
        "{toks:?}"
    );
    // The bare question was run beside it, with the BOS a plain prompt gets.
    let bare = app
        .snap
        .as_ref()
        .unwrap()
        .bare
        .clone()
        .expect("the bare run");
    let bare_ids = s.loaded.encode_prompt(QUESTION, true).unwrap();
    assert_eq!(bare.n_tokens, bare_ids.len());
    assert!(bare.n_tokens < ids.len());

    // e opens the question, not the rendered template; Enter renders the edited one.
    key(&mut app, &mut s, KeyCode::Char('e'));
    let Overlay::Editing(editor) = &app.overlay else {
        panic!("e opens the editor");
    };
    assert_eq!(editor.text(), QUESTION);
    press(&mut app, &mut s, KeyCode::Char('u'), KeyModifiers::CONTROL);
    for c in "Where is Zorva?".chars() {
        key(&mut app, &mut s, KeyCode::Char(c));
    }
    key(&mut app, &mut s, KeyCode::Enter);
    assert_eq!(app.prompt, "Where is Zorva?");
    assert!(app.chat);
    let again = s
        .loaded
        .encode_prompt(
            "<|endoftext|>user: Where is Zorva?\n<|endoftext|>assistant:",
            false,
        )
        .unwrap();
    assert_eq!(app.snap.as_ref().unwrap().ids, again);
    assert_eq!(
        app.snap.as_ref().unwrap().bare.as_ref().unwrap().n_tokens,
        s.loaded
            .encode_prompt("Where is Zorva?", true)
            .unwrap()
            .len()
    );

    // c takes the template away: the question alone, as a plain prompt, and no comparison.
    key(&mut app, &mut s, KeyCode::Char('c'));
    assert!(!app.chat);
    assert_eq!(
        app.snap.as_ref().unwrap().ids,
        s.loaded.encode_prompt("Where is Zorva?", true).unwrap()
    );
    assert!(app.snap.as_ref().unwrap().bare.is_none());
    assert!(app.bare_probs().is_none());
    // And back.
    key(&mut app, &mut s, KeyCode::Char('c'));
    assert!(app.chat);
    assert_eq!(app.snap.as_ref().unwrap().ids, again);
}

#[test]
fn generating_stops_at_the_templates_end_token() {
    // The end token is whatever the model writes first here, so the first n ends the turn.
    let (app, _) = start_inline_as(with_template(None), QUESTION, true).unwrap();
    let first = argmax(&app.next_probs().unwrap()) as u32;
    let (mut app, mut s) = start_inline_as(with_template(Some(first)), QUESTION, true).unwrap();
    let n = app.n_tokens();
    // Three presses at once: the first runs, the other two wait their turn.
    let requests = app.on_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE));
    assert!(app
        .on_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE))
        .is_empty());
    app.on_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE));
    assert_eq!(app.queued, 2);
    serve(&mut app, &mut s, requests);
    assert_eq!(
        app.n_tokens(),
        n + 1,
        "the end token is shown, and nothing after it"
    );
    assert_eq!(app.snap.as_ref().unwrap().ids.last(), Some(&first));
    assert_eq!(app.queued, 0);
    assert!(app.turn_over());
    assert!(app.status.contains("ends the answer"), "{}", app.status);
    // Another n adds nothing and says why.
    app.status.clear();
    key(&mut app, &mut s, KeyCode::Char('n'));
    assert_eq!(app.n_tokens(), n + 1);
    assert!(app.status.contains("ends the answer"), "{}", app.status);
    // Backspace takes the end token back, and generating goes on.
    key(&mut app, &mut s, KeyCode::Backspace);
    assert!(!app.turn_over());
    // Without chat mode the same token is just a token: generating does not stop there.
    key(&mut app, &mut s, KeyCode::Char('c'));
    key(&mut app, &mut s, KeyCode::Char('n'));
    key(&mut app, &mut s, KeyCode::Char('n'));
    assert!(!app.status.contains("ends the answer"), "{}", app.status);
}

#[test]
fn the_next_view_sets_the_bare_question_beside_the_template() {
    let (mut app, mut s) = start_inline_as(with_template(None), QUESTION, true).unwrap();
    key(&mut app, &mut s, KeyCode::Char('8'));
    assert_eq!(app.view, View::Next);
    let (bare, _) = app.bare_probs().unwrap();
    let bare_top = argmax(&bare) as u32;
    let with_top = argmax(&app.next_probs().unwrap()) as u32;
    for (w, h) in [(80, 24), (120, 36)] {
        let screen = screen::text(&screen::render(&app, ColorMode::Mono, w, h));
        let heads = screen
            .lines()
            .find(|l| l.contains("WITH the chat template"))
            .unwrap_or_else(|| panic!("{w}×{h}:\n{screen}"));
        assert!(heads.contains("WITHOUT it: the bare question"), "{screen}");
        // Each side's top token heads its own column.
        let label =
            |id: u32| glassbox::text::visible(&app.info.as_ref().unwrap().codec.token_label(id));
        let rows: Vec<&str> = screen
            .lines()
            .skip_while(|l| !l.contains("entropy"))
            .collect();
        let first = rows.get(1).unwrap_or_else(|| panic!("{screen}"));
        let (left, right) = first.split_once('│').unwrap_or_else(|| panic!("{screen}"));
        assert!(
            left.trim_start().starts_with(&label(with_top)),
            "{w}×{h}:\n{screen}"
        );
        assert!(
            right.trim_start().starts_with(&label(bare_top)),
            "{w}×{h}:\n{screen}"
        );
        assert!(
            screen.contains("│ chat "),
            "the status line says chat mode is on:\n{screen}"
        );
    }
    // Without chat mode the view is the one distribution.
    key(&mut app, &mut s, KeyCode::Char('c'));
    let screen = screen::text(&screen::render(&app, ColorMode::Mono, 80, 24));
    assert!(!screen.contains("WITHOUT it"), "{screen}");
}

#[test]
fn a_model_without_a_template_says_so_and_stays_plain() {
    let loaded = model::load(None, &Device::Cpu).unwrap();
    let (mut app, mut s) = start_inline_as(loaded, QUESTION, false).unwrap();
    let ids = app.snap.as_ref().unwrap().ids.clone();
    key(&mut app, &mut s, KeyCode::Char('c'));
    assert!(!app.chat);
    assert!(
        app.status.contains("glassbox-tiny has no chat template"),
        "{}",
        app.status
    );
    assert_eq!(app.snap.as_ref().unwrap().ids, ids);
}

const LESSON: &str = r#"+++
id = "chat-test"
title = "Chat"
summary = "x"
prompt = "Zorva went to the park."
model = "glassbox-tiny"
+++
## Plain
The lesson's prompt.

## In the template
```view
prompt = "Who went to the park?"
chat = true
panel = "next"
```

## A plain prompt again
```view
prompt = "Zorva went home."
```
"#;

#[test]
fn a_lesson_step_opens_its_prompt_in_chat_mode() {
    let lesson = Lesson::parse(std::path::Path::new("x.md"), LESSON).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut app, mut s) = start_inline_as(with_template(None), "", false).unwrap();
    app.lessons = Lessons::new(
        vec![lesson],
        Vec::new(),
        Progress::open(Some(data.path().join("progress.json"))),
    );
    let out = app.open_lesson(0);
    serve(&mut app, &mut s, out);
    assert!(!app.chat);
    assert_eq!(app.prompt, "Zorva went to the park.");
    key(&mut app, &mut s, KeyCode::Char('>'));
    assert!(app.chat, "the step's chat = true");
    assert_eq!(app.prompt, QUESTION);
    assert!(tokens(&app).concat().contains("assistant:"));
    assert_eq!(app.view, View::Next);
    // The learner's own question, then R: the step's question in the template again.
    key(&mut app, &mut s, KeyCode::Char('c'));
    assert!(!app.chat);
    key(&mut app, &mut s, KeyCode::Char('R'));
    assert!(app.chat);
    assert_eq!(app.prompt, QUESTION);
    assert!(tokens(&app).concat().contains("assistant:"));
    // A step that sets a prompt without chat runs it plain.
    key(&mut app, &mut s, KeyCode::Char('>'));
    assert!(!app.chat);
    assert!(!tokens(&app).concat().contains("assistant:"));
}

#[test]
fn chat_claims_read_the_question_in_the_template() {
    let loaded = with_template(None);
    let rendered = loaded
        .chat_template
        .as_ref()
        .unwrap()
        .render(QUESTION)
        .unwrap();
    let ids = loaded.encode_prompt(&rendered, false).unwrap();
    let trace = loaded
        .model
        .trace(&ids, model::NamesFilter::parse("logits"))
        .unwrap();
    let probs = glassbox::analysis::predictions::softmax(
        &trace.next_logits().to_vec1::<f32>().unwrap(),
        1.0,
    );
    let top = argmax(&probs) as u32;
    let top_text = loaded.codec.token_str(top);
    let claim = |block: String| -> Claim {
        let text = format!(
            "+++\nid = \"x\"\ntitle = \"x\"\nsummary = \"x\"\nprompt = \"x\"\nmodel = \"glassbox-tiny\"\n+++\n## S\n```claim\n{block}\n```\n"
        );
        let lesson = Lesson::parse(std::path::Path::new("x.md"), &text).unwrap();
        lesson.steps[0].claims[0].0.clone()
    };
    let top_claim = claim(format!(
        "kind = \"top-token\"\ntoken = {top_text:?}\nchat = true"
    ));
    assert_eq!(check_claim(&loaded, QUESTION, &top_claim), Ok(()));
    let p = probs[top as usize];
    let within = claim(format!(
        "kind = \"probability\"\ntoken = {top_text:?}\nchat = true\nabove = {}\nbelow = {}",
        p - 0.01,
        p + 0.01
    ));
    assert_eq!(check_claim(&loaded, QUESTION, &within), Ok(()));
    let outside = claim(format!(
        "kind = \"probability\"\ntoken = {top_text:?}\nchat = true\nabove = {}",
        (p + 0.01).min(0.999)
    ));
    let e = check_claim(&loaded, QUESTION, &outside).unwrap_err();
    assert!(e.contains("in the chat template"), "{e}");
    // A model without a template: the claim cannot hold, and says why.
    let plain = model::load(None, &Device::Cpu).unwrap();
    let e = check_claim(&plain, QUESTION, &top_claim).unwrap_err();
    assert!(e.contains("has no chat template"), "{e}");
}
