use std::path::Path;

use super::*;

const GOOD: &str = r#"+++
id = "demo"
title = "A demo"
summary = "Shows the format"
prompt = "The dog bit the man."
model = "glassbox-tiny"
+++

## First step
Some *text*.
```view
panel = "attention"
layer = 1
head = 2
cursor = -1
```

## Second step
```task
kind = "select-head"
goal = "Select the previous-token head."
criterion = "previous-token"
hints = ["Look below the diagonal."]
```
More text.
"#;

fn parse(text: &str) -> Result<Lesson, LessonError> {
    Lesson::parse(Path::new("lessons/99-demo.md"), text)
}

#[test]
fn a_lesson_parses_into_steps_with_views_and_tasks() {
    let l = parse(GOOD).unwrap();
    assert_eq!(l.meta.id, "demo");
    assert_eq!(l.steps.len(), 2);
    assert_eq!(l.steps[0].title, "First step");
    assert_eq!(l.steps[0].body, "Some *text*.");
    let v = l.steps[0].view.as_ref().unwrap();
    assert_eq!((v.layer, v.head, v.cursor), (Some(1), Some(2), Some(-1)));
    let t = l.steps[1].task.as_ref().unwrap();
    assert_eq!(
        t.kind,
        TaskKind::SelectHead {
            criterion: task::Criterion::PreviousToken,
            min_score: None
        }
    );
    assert_eq!(l.steps[1].body, "More text.");
    assert_eq!((l.steps[1].line, l.steps[1].task_line), (18, 20));
}

/// The error for `text`, as "line: message".
fn error(text: &str) -> String {
    let e = parse(text).unwrap_err();
    assert_eq!(e.path, Path::new("lessons/99-demo.md"));
    format!("{}: {}", e.line, e.message)
}

#[test]
fn errors_name_the_line() {
    assert!(error("# no front matter").starts_with("1: a lesson starts with"));
    assert!(error("+++\nid = \"x\"\n").contains("no closing +++"));
    let e = error(&GOOD.replace("title = \"A demo\"\n", ""));
    assert!(e.starts_with("2:") && e.contains("title"), "{e}");
    let e = error(&GOOD.replace("panel = \"attention\"", "panel = \"atention\""));
    assert!(e.starts_with("12: unknown panel \"atention\""), "{e}");
    let e = error(&GOOD.replace("head = 2", "head = \"two\""));
    assert!(e.starts_with("14:"), "{e}");
    let e = error(&GOOD.replace("kind = \"select-head\"", "kind = \"pick-head\""));
    assert!(
        e.starts_with("20: task: unknown variant `pick-head`") && e.contains("select-head"),
        "{e}"
    );
    let e = error(&GOOD.replace("criterion = \"previous-token\"\n", ""));
    assert!(
        e.starts_with("20:") && e.contains("missing field `criterion`"),
        "{e}"
    );
    // A field another kind has is still a mistake here, named as such.
    let e = error(&GOOD.replace(
        "criterion = \"previous-token\"",
        "criterion = \"previous-token\"\ncount = 3",
    ));
    assert!(
        e.starts_with("20:") && e.contains("unknown field `count`"),
        "{e}"
    );
    let e = error(&GOOD.replace("\"previous-token\"", "\"previous\""));
    assert!(e.contains("unknown variant `previous`"), "{e}");
    let e = error(&GOOD.replace("```\nMore text.", "More text."));
    assert!(e.contains("never closed"), "{e}");
    let e = error(&GOOD.replace("cursor = -1", "cursr = -1"));
    assert!(e.starts_with("15:") && e.contains("cursr"), "{e}");
    let claim =
        "```claim\nkind = \"ablated\"\ntoken = \" man\"\nablate = [1, 2]\nbelow = 0.1\n```\n";
    let with_claim = |c: &str| GOOD.replace("More text.", &format!("More text.\n{c}"));
    let l = parse(&with_claim(claim)).unwrap();
    let (c, line) = &l.steps[1].claims[0];
    assert_eq!(
        (c, *line),
        (
            &Claim::Ablated {
                prompt: None,
                token: " man".into(),
                ablate: [1, 2],
                below: Some(0.1),
                above: None
            },
            27
        )
    );
    for broken in [
        claim
            .replace("below", "above")
            .replace("```\n", "below = 0.2\n```\n"),
        claim.replace("below = 0.1\n", ""),
        claim.replace("[1, 2]", "[1]"),
    ] {
        let e = error(&with_claim(&broken));
        assert!(e.starts_with("27: claim: "), "{e}");
        assert!(
            e.contains("exactly one of below and above") || e.contains("length 2"),
            "{e}"
        );
    }
    assert!(
        error(&GOOD.replace("## First step", "Stray text\n## First step"))
            .starts_with("9: text before")
    );
}

/// Found by tests/fuzz.rs: `temperature = inf` (or nan, 0, -1) parsed, and the tutor then showed
/// the next-token distribution at that temperature.
#[test]
fn temperatures_must_be_positive_numbers() {
    for t in ["inf", "nan", "0.0", "-1.0"] {
        let e = error(&GOOD.replace("cursor = -1", &format!("cursor = -1\ntemperature = {t}")));
        assert!(
            e.starts_with("12: temperature") && e.contains("above 0"),
            "{e}"
        );
        let task =
            format!("```task\nkind = \"temperatures\"\ngoal = \"g\"\nlow = {t}\nhigh = 2.0\n```\n");
        let e = error(&GOOD.replace("Some *text*.", &task));
        assert!(e.contains("numbers above 0"), "{e}");
    }
}

#[test]
fn a_broken_file_does_not_stop_the_others_loading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("01-good.md"), GOOD).unwrap();
    std::fs::write(dir.path().join("02-bad.md"), GOOD.replace("+++\n\n", "")).unwrap();
    std::fs::write(dir.path().join("03-dup.md"), GOOD).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a lesson").unwrap();
    let (lessons, errors) = load_all(dir.path());
    assert_eq!(lessons.len(), 1);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|e| e.path.ends_with("02-bad.md")));
    assert!(errors
        .iter()
        .any(|e| e.message.contains("used by another lesson")));
    assert_eq!(find(&lessons, "1").unwrap().1.meta.id, "demo");
    assert_eq!(find(&lessons, "demo").unwrap().0, 0);
    assert!(find(&lessons, "2").is_none() && find(&lessons, "0").is_none());
}

/// Found by tests/fuzz.rs: toml gives no message for some characters (a lone carriage return), and
/// the error named the line with nothing after it.
#[test]
fn an_error_toml_gives_no_words_for_still_says_something() {
    let e = error(&GOOD.replace("title = \"A demo\"", "\rtitle = \"A demo\""));
    assert!(e.starts_with("3: ") && e.len() > "3: ".len() + 10, "{e}");
}

/// The claim kinds that read a number need the bounds their kind asks for, in an order that leaves
/// room; each error names the claim's line.
#[test]
fn claims_need_their_bounds_and_say_which() {
    let with_claim =
        |c: &str| GOOD.replace("More text.", &format!("More text.\n```claim\n{c}\n```\n"));
    let parsed = |c: &str| parse(&with_claim(c)).map(|l| l.steps[1].claims[0].0.clone());
    let lens = "kind = \"lens\"\nlayer = 2\ntoken = \" K\"";
    assert_eq!(
        parsed(&format!("{lens}\nabove = 0.9\ntop = true")).unwrap(),
        Claim::Lens {
            prompt: None,
            layer: 2,
            token: " K".into(),
            above: Some(0.9),
            below: None,
            top: Some(true)
        }
    );
    let head = "kind = \"head-score\"\nhead = [2, 0]\ncriterion = \"induction\"";
    assert_eq!(
        parsed(&format!("{head}\nbest = true")).unwrap(),
        Claim::HeadScore {
            prompt: None,
            head: [2, 0],
            criterion: task::Criterion::Induction,
            above: None,
            below: None,
            best: Some(true)
        }
    );
    let attention = "kind = \"attention\"\nhead = [1, 3]\nkeys = [6, 7]";
    assert!(matches!(
        parsed(&format!("{attention}\nbelow = 0.5")).unwrap(),
        Claim::Attention { query: -1, .. }
    ));
    for (block, says) in [
        (lens.to_string(), "needs above, below or top"),
        (head.to_string(), "needs above, below or best"),
        (
            "kind = \"probability\"\ntoken = \" a\"".into(),
            "needs above, below or both",
        ),
        (attention.to_string(), "needs above, below or both"),
        (
            "kind = \"attention\"\nhead = [1, 3]\nkeys = []\nabove = 0.1".into(),
            "at least one key",
        ),
        (
            "kind = \"position-similarity\"\npositions = [1, 2]".into(),
            "needs above, below",
        ),
        (
            "kind = \"train-log\"\ncolumn = \"train_loss\"".into(),
            "needs above, below",
        ),
        ("kind = \"shape\"".into(), "needs a field"),
        (
            "kind = \"attribution\"\nhead = [0, 0]\nmlp = 0\ntoken = \" K\"\nabove = 0".into(),
            "exactly one of head and mlp",
        ),
        (
            "kind = \"attribution\"\ntoken = \" K\"\nabove = 0".into(),
            "exactly one of head and mlp",
        ),
        (
            "kind = \"attribution\"\nhead = [0, 0]\ntoken = \" K\"".into(),
            "needs above, below or rank",
        ),
        (
            "kind = \"attribution\"\nmlp = 1\ntoken = \" K\"\nrank = 0".into(),
            "rank counts from 1",
        ),
        ("kind = \"continues\"\ntext = \"\"".into(), "needs a text"),
        (
            "kind = \"probability\"\ntoken = \" a\"\nabove = 0.6\nbelow = 0.4".into(),
            "above < below",
        ),
        (format!("{lens}\nabove = nan"), "must be numbers"),
        (
            "kind = \"token-count\"\ntext = \"a\"".into(),
            "missing field `value`",
        ),
        (
            "kind = \"shape\"\nlayers = 4".into(),
            "unknown field `layers`",
        ),
    ] {
        let e = error(&with_claim(&block));
        assert!(
            e.starts_with("27: claim: ") && e.contains(says),
            "{block}: {e}"
        );
    }
}

/// A claim block may name another model: it is kept apart from the lesson's own claims, with its
/// line; an unknown model, a model named twice or a model that is not a string is an error on the
/// line that says it.
#[test]
fn a_claim_about_another_model_is_kept_apart_and_checked_for_a_known_name() {
    let with_claim =
        |c: &str| GOOD.replace("More text.", &format!("More text.\n```claim\n{c}\n```\n"));
    let top = "kind = \"top-token\"\ntoken = \" a\"";
    let l = parse(&with_claim(&format!(
        "model = \"SmolLM2-135M-Instruct\"\n{top}"
    )))
    .unwrap();
    assert!(l.steps[1].claims.is_empty());
    let (name, claim, _) = &l.steps[1].claims_elsewhere[0];
    assert_eq!(name, "SmolLM2-135M-Instruct");
    assert_eq!(
        claim,
        &Claim::TopToken {
            prompt: None,
            token: " a".into(),
            chat: false,
        }
    );
    assert_eq!(l.other_models(), vec!["SmolLM2-135M-Instruct"]);
    // Naming the lesson's own model is the same as naming none.
    let own = parse(&with_claim(&format!("model = \"glassbox-tiny\"\n{top}"))).unwrap();
    assert_eq!(own.steps[1].claims.len(), 1);
    assert!(own.other_models().is_empty());
    let line_of =
        |text: &str, needle: &str| 1 + text.lines().position(|l| l.contains(needle)).unwrap();
    for (bad, needle, says) in [
        ("model = \"gpt-5\"", "gpt-5", "unknown model"),
        ("model = 3", "model = 3", "string"),
        (
            "model = \"glassbox-tiny\"\nmodel = \"SmolLM2-135M-Instruct\"",
            "model = \"SmolLM2",
            "once",
        ),
    ] {
        let text = with_claim(&format!("{bad}\n{top}"));
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, line_of(&text, needle), "{bad}: {e}");
        assert!(e.message.contains(says), "{bad}: {e}");
    }
}

#[test]
fn the_built_in_lessons_are_the_source_trees_named_as_there() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (from_tree, tree_errors) = load_all(&root.join("lessons"));
    let (built_in, errors) = Source::Builtin.load();
    assert!(errors.is_empty() && tree_errors.is_empty(), "{errors:?}");
    assert!(!built_in.is_empty());
    assert_eq!(built_in.len(), from_tree.len());
    for (b, t) in built_in.iter().zip(&from_tree) {
        assert_eq!(
            b.path,
            Path::new("lessons").join(t.path.file_name().unwrap())
        );
        assert_eq!((&b.meta, &b.steps), (&t.meta, &t.steps));
    }
    // Every file is there to export, README.md (the format reference) included.
    let names: Vec<&str> = builtin::files().iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"README.md"), "{names:?}");
}

#[test]
fn an_error_in_a_built_in_lesson_names_its_file() {
    // Parsed from text, as the built-in lessons are: the error still names lessons/NAME.md.
    let e = Lesson::parse(
        Path::new("lessons/03-self-attention.md"),
        "+++\nid = 1\n+++\n",
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with("lessons/03-self-attention.md:"),
        "{e}"
    );
}
