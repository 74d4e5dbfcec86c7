//! The real model: SmolLM2-135M-Instruct as a Q4_1 GGUF, against transformers loading the same file
//! (tests/fixtures/smollm2, written by tools/smollm2_reference.py and tools/gguf_tokenizer_proto.py).
//!
//! The file comes from `tools/fetch_smollm2.sh`, which prints `GLASSBOX_SMOLLM2=<path>`. Without it
//! these tests say so and pass, except where GLASSBOX_REQUIRE_SMOLLM2 is set (CI), where they fail.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::{Device, IndexOp};
use common::{reference_file, rel_err, token_cases};
use glassbox::analysis::heads::{induction_scores, previous_token_scores};
use glassbox::analysis::predictions::softmax;
use glassbox::model::{self, NamesFilter};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2")
}

/// The model, loaded once for every test in this file; `None` when the file is not there.
fn smollm2() -> Option<&'static model::LoadedModel> {
    static MODEL: OnceLock<Option<model::LoadedModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let Some(path) = std::env::var_os("GLASSBOX_SMOLLM2") else {
                assert!(
                    std::env::var_os("GLASSBOX_REQUIRE_SMOLLM2").is_none(),
                    "GLASSBOX_REQUIRE_SMOLLM2 is set but GLASSBOX_SMOLLM2 is not: run tools/fetch_smollm2.sh"
                );
                eprintln!("SKIPPED: GLASSBOX_SMOLLM2 is not set (eval \"$(tools/fetch_smollm2.sh)\")");
                return None;
            };
            Some(
                model::load(Some(path.to_str().unwrap()), &Device::Cpu)
                    .unwrap_or_else(|e| panic!("loading SmolLM2: {e:?}")),
            )
        })
        .as_ref()
}

fn next_probs(m: &model::LoadedModel, text: &str) -> Vec<f32> {
    let ids = m.codec.encode(text, m.codec.prepends_bos()).unwrap();
    let t = m.model.trace(&ids, NamesFilter::parse("logits")).unwrap();
    softmax(&t.next_logits().to_vec1::<f32>().unwrap(), 1.0)
}

fn top(probs: &[f32]) -> (usize, f32) {
    probs
        .iter()
        .copied()
        .enumerate()
        .fold((0, f32::MIN), |a, (i, p)| if p > a.1 { (i, p) } else { a })
}

#[test]
fn it_is_read_as_the_file_says() {
    let Some(m) = smollm2() else { return };
    let c = m.model.config();
    assert_eq!(
        (
            c.n_layers,
            c.d_model,
            c.n_heads,
            c.n_kv_heads,
            c.d_head,
            c.d_mlp,
            c.d_vocab
        ),
        (30, 576, 9, 3, 64, 1536, 49152)
    );
    assert_eq!(c.rope_theta, Some(100000.0));
    assert!(c.tie_embeddings);
    let stored = m.stored_as.as_deref().unwrap();
    assert!(
        stored.contains("Q4_1 (210)") && stored.contains("Q8_0 (1)"),
        "{stored}"
    );
    let chat = m.chat_template.as_ref().unwrap();
    assert!(chat.source.contains("<|im_start|>"));
    assert_eq!(
        (chat.eos_id, chat.eos_token.as_str()),
        (Some(2), "<|im_end|>")
    );
}

#[test]
fn logits_match_transformers_on_the_same_file() {
    let Some(m) = smollm2() else { return };
    let r = reference_file(&fixtures().join("reference.safetensors"));
    let ids: Vec<u32> = r.tensors["input_ids"]
        .flatten_all()
        .unwrap()
        .to_vec1::<i64>()
        .unwrap()
        .into_iter()
        .map(|i| i as u32)
        .collect();
    assert_eq!(ids.len(), 64);
    let names = "logits, hook_embed, blocks.0.hook_resid_post, blocks.15.hook_resid_post, blocks.29.hook_resid_post";
    let t = m.model.trace(&ids, NamesFilter::parse(names)).unwrap();
    let logits = t.capture().require("logits").unwrap().i(0).unwrap(); // [64, vocab]
    let err = rel_err(&logits.i(63).unwrap(), &r.tensors["logits.last"]);
    assert!(
        err <= 1e-3,
        "last position's logits: relative error {err:.2e}"
    );
    let cols = r.tensors["cols"].to_dtype(candle_core::DType::U32).unwrap();
    let got = logits.index_select(&cols, 1).unwrap(); // [64, 256]
    let err = rel_err(&got, &r.tensors["logits.cols"]);
    assert!(
        err <= 1e-3,
        "every position's logits: relative error {err:.2e}"
    );
    for (hook, key) in [
        ("hook_embed", "hook_embed.last"),
        ("blocks.0.hook_resid_post", "blocks.0.hook_resid_post.last"),
        (
            "blocks.15.hook_resid_post",
            "blocks.15.hook_resid_post.last",
        ),
        (
            "blocks.29.hook_resid_post",
            "blocks.29.hook_resid_post.last",
        ),
    ] {
        let got = t.capture().require(hook).unwrap().i((0, 63)).unwrap();
        let err = rel_err(&got, &r.tensors[key]);
        assert!(err <= 1e-3, "{hook}: relative error {err:.2e}");
    }
}

#[test]
fn it_knows_paris_and_mary() {
    let Some(m) = smollm2() else { return };
    let paris = m.codec.encode(" Paris", false).unwrap();
    let (id, p) = top(&next_probs(m, "The capital of France is"));
    assert_eq!(
        vec![id as u32],
        paris,
        "top token {:?} ({p:.3})",
        m.codec.token_str(id as u32)
    );
    assert!((p - 0.7725).abs() < 0.01, "p(Paris) = {p}");
    let mary = m.codec.encode(" Mary", false).unwrap();
    let probs = next_probs(
        m,
        "When Mary and John went to the store, John gave a drink to",
    );
    let (id, p) = top(&probs);
    assert_eq!(
        vec![id as u32],
        mary,
        "top token {:?} ({p:.3})",
        m.codec.token_str(id as u32)
    );
    assert!((p - 0.9229).abs() < 0.01, "p(Mary) = {p}");
}

/// The random tokens tools/smollm2_reference.py used, repeated twice.
fn repeated_random_tokens() -> Vec<u32> {
    let r = reference_file(&fixtures().join("reference.safetensors"));
    let meta = &r.metadata["reference"];
    let scores = &meta[meta.find("head_scores").unwrap()..];
    let list = &scores[scores.find('[').unwrap() + 1..scores.find(']').unwrap()];
    let ids: Vec<u32> = list.split(',').map(|s| s.trim().parse().unwrap()).collect();
    assert_eq!(ids.len(), 100, "50 random tokens, twice");
    assert_eq!(ids[..50], ids[50..]);
    ids
}

#[test]
fn it_has_sharp_previous_token_and_induction_heads() {
    let Some(m) = smollm2() else { return };
    let ids = repeated_random_tokens();
    let t = m
        .model
        .trace(&ids, NamesFilter::parse("blocks.*.attn.hook_pattern"))
        .unwrap();
    let (mut prev, mut induction) = ((0.0f32, 0, 0), (0.0f32, 0, 0));
    for l in 0..m.model.config().n_layers {
        let p = t
            .capture()
            .require(&format!("blocks.{l}.attn.hook_pattern"))
            .unwrap();
        for (h, s) in previous_token_scores(&p).unwrap().into_iter().enumerate() {
            prev = prev.max_by((s, l, h));
        }
        for (h, s) in induction_scores(&p, 0, 50).unwrap().into_iter().enumerate() {
            induction = induction.max_by((s, l, h));
        }
    }
    assert!(
        prev.0 >= 0.8,
        "best previous-token head L{}H{} {:.2}",
        prev.1,
        prev.2,
        prev.0
    );
    assert!(
        induction.0 >= 0.8,
        "best induction head L{}H{} {:.2}",
        induction.1,
        induction.2,
        induction.0
    );
    eprintln!(
        "previous-token L{}H{} {:.3}, induction L{}H{} {:.3}",
        prev.1, prev.2, prev.0, induction.1, induction.2, induction.0
    );
}

trait MaxBy {
    fn max_by(self, other: Self) -> Self;
}

impl MaxBy for (f32, usize, usize) {
    fn max_by(self, other: Self) -> Self {
        if other.0 > self.0 {
            other
        } else {
            self
        }
    }
}

#[test]
fn it_tokenizes_as_transformers_does() {
    let Some(m) = smollm2() else { return };
    let cases =
        token_cases(&std::fs::read_to_string(fixtures().join("tokenizer_cases.json")).unwrap());
    assert!(cases.len() >= 20);
    for (text, want) in &cases {
        assert_eq!(&m.codec.encode(text, false).unwrap(), want, "{text:?}");
    }
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("tokenizer_meta.json")).unwrap(),
    )
    .unwrap();
    let chat = &meta["chat_example"];
    let want: Vec<u32> = chat["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let got = m
        .codec
        .encode(chat["text"].as_str().unwrap(), false)
        .unwrap();
    assert_eq!(
        got, want,
        "the chat template's text, special tokens included"
    );
    // glassbox renders the file's template (minijinja) to the text transformers' apply_chat_template
    // gave for the same message.
    let question = chat["messages"][0]["content"].as_str().unwrap();
    assert_eq!(
        m.chat_template.as_ref().unwrap().render(question).unwrap(),
        chat["text"].as_str().unwrap()
    );
    assert_eq!(m.codec.bos_id(), Some(1));
    assert!(
        !m.codec.prepends_bos(),
        "transformers adds no BOS for this file"
    );
}

/// A dump of a real model takes long enough to be interrupted: SIGTERM while the temporary file is
/// being written leaves nothing behind, and the process ends by the signal.
#[cfg(unix)]
#[test]
fn a_signal_during_a_dump_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    if smollm2().is_none() {
        return;
    }
    let model = std::env::var_os("GLASSBOX_SMOLLM2").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all.safetensors");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .arg("dump")
        .arg("--model")
        .arg(&model)
        .args(["--prompt", &"The cat sat on the mat. ".repeat(60)])
        .arg("-o")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let writing = || {
        std::fs::read_dir(dir.path()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".all.safetensors.tmp-")
        })
    };
    while !writing() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the dump ended before its temporary file was seen"
        );
    }
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `generate --chat`: the question inside the chat template, the answer transformers gives through the
/// same template (greedy), and the stop at the end of the assistant's turn.
#[test]
fn generate_chat_answers_inside_the_template_and_stops_at_its_end() {
    if smollm2().is_none() {
        return;
    }
    let model = std::env::var_os("GLASSBOX_SMOLLM2").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .arg("generate")
        .arg("--model")
        .arg(&model)
        .args([
            "--chat",
            "--prompt",
            "What is the capital of France?",
            "-n",
            "40",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("<|im_start|>system\n") && text.contains("<|im_start|>assistant\n"),
        "the template is printed with its special tokens: {text}"
    );
    // Stopped at <|im_end|> long before 40 tokens, which is not printed.
    assert!(
        text.ends_with("<|im_start|>assistant\nThe capital of France is Paris.\n"),
        "{text}"
    );
    // A model without a template says so.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/llama-a");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["generate", "--model", fixtures, "--chat", "--prompt", "Hi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no chat template"));
}

/// The tutor in chat mode on the real model: the strip holds the template's special tokens, the
/// bare question beside it is followed by `<|im_end|>` (as transformers measured, GUIDE.md), and with
/// the template greedy generation answers "The capital of France is Paris." and stops at `<|im_end|>`.
#[test]
fn the_tutor_answers_inside_the_template_and_stops_at_im_end() {
    use glassbox::analysis::predictions::argmax;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    if smollm2().is_none() {
        return;
    }
    let path = std::env::var("GLASSBOX_SMOLLM2").unwrap();
    // The app's session owns its model: a second copy, not the one the other tests share.
    let loaded = model::load(Some(&path), &Device::Cpu).unwrap();
    let (mut app, mut session) =
        glassbox::app::worker::start_inline_as(loaded, "What is the capital of France?", true)
            .unwrap();
    let snap = app.snap.as_ref().unwrap();
    assert_eq!(
        snap.tokens.first().map(String::as_str),
        Some("<|im_start|>")
    );
    assert_eq!(snap.tokens.iter().filter(|t| *t == "<|im_end|>").count(), 2);
    let codec = &session.loaded.codec;
    let (bare, n_bare) = app.bare_probs().unwrap();
    assert_eq!(n_bare, 7, "the bare question: 7 tokens, no BOS");
    assert_eq!(codec.token_str(argmax(&bare) as u32), "<|im_end|>");
    // The numbers README.md quotes: <|im_end|> 0.67 bare, "The" 0.15 on top in the template.
    let p_end = bare[argmax(&bare)];
    assert!((0.62..0.72).contains(&p_end), "{p_end}");
    let with = app.next_probs().unwrap();
    let the = argmax(&with);
    assert_eq!(codec.token_str(the as u32), "The");
    assert!((0.12..0.18).contains(&with[the]), "{}", with[the]);
    let prompt_len = app.prompt_len;
    for _ in 0..20 {
        let requests = app.on_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE));
        glassbox::app::worker::serve_inline(&mut app, &mut session, requests).unwrap();
    }
    let ids = &app.snap.as_ref().unwrap().ids;
    let answer = session.loaded.codec.decode(&ids[prompt_len..]);
    assert_eq!(answer, "The capital of France is Paris.<|im_end|>");
    assert!(
        app.status.contains("<|im_end|> ends the answer"),
        "{}",
        app.status
    );
}

/// Chat claims on the real model: with the template the top token is "The", bare it is `<|im_end|>`.
#[test]
fn chat_claims_hold_on_the_question_in_the_template() {
    use glassbox::lesson::check::check_claim;
    use glassbox::lesson::Claim;
    let Some(m) = smollm2() else { return };
    let q = "What is the capital of France?";
    let top = |token: &str, chat: bool| Claim::TopToken {
        prompt: None,
        token: token.into(),
        chat,
    };
    assert_eq!(check_claim(m, q, &top("The", true)), Ok(()));
    assert_eq!(check_claim(m, q, &top("<|im_end|>", false)), Ok(()));
    let e = check_claim(m, q, &top("<|im_end|>", true)).unwrap_err();
    assert!(
        e.contains("in the chat template the top token is \"The\""),
        "{e}"
    );
    let continues = |text: &str, chat: bool| Claim::Continues {
        prompt: None,
        text: text.into(),
        chat,
    };
    let answer = "The capital of France is Paris.";
    assert_eq!(check_claim(m, q, &continues(answer, true)), Ok(()));
    // Bare, the question is a finished user turn: the model closes it and starts another.
    let e = check_claim(m, q, &continues(answer, false)).unwrap_err();
    assert!(e.contains("writes \"<|im_end|>"), "{e}");
}

#[test]
fn direct_logit_attribution_matches_transformers_on_the_ioi_prompt() {
    use glassbox::analysis::attribution::{attribute_prompt, Target};
    let Some(m) = smollm2() else { return };
    let r = reference_file(&fixtures().join("attribution.safetensors")).tensors;
    let ids: Vec<u32> = r["input_ids"]
        .flatten_all()
        .unwrap()
        .to_vec1::<i64>()
        .unwrap()
        .into_iter()
        .map(|i| i as u32)
        .collect();
    // Our tokenizer gives the ids transformers gave.
    assert_eq!(
        m.codec
            .encode(
                "When Mary and John went to the store, John gave a drink to",
                m.codec.prepends_bos()
            )
            .unwrap(),
        ids
    );
    let pos = r["pos"].to_scalar::<i64>().unwrap() as usize;
    let tokens = r["tokens"].to_vec1::<i64>().unwrap();
    let (mary, john) = (tokens[0] as u32, tokens[1] as u32);
    assert_eq!(m.codec.token_label(mary), " Mary");
    let ours = |versus| {
        attribute_prompt(
            &m.model,
            &ids,
            pos,
            Target {
                token: mary,
                versus,
            },
            None,
        )
        .unwrap()
    };
    let heads = r["heads"].to_dtype(candle_core::DType::F32).unwrap(); // [2, 30, 9]
    let mlps = &r["mlps"]; // [2, 30]
    for (a, theirs_heads, theirs_mlps) in [
        (ours(None), heads.i(0).unwrap(), mlps.i(0).unwrap()),
        (
            ours(Some(john)),
            (heads.i(0).unwrap() - heads.i(1).unwrap()).unwrap(),
            (mlps.i(0).unwrap() - mlps.i(1).unwrap()).unwrap(),
        ),
    ] {
        let ours_heads = candle_core::Tensor::new(a.heads.as_slice(), &Device::Cpu).unwrap();
        let e = rel_err(&ours_heads, &theirs_heads.flatten_all().unwrap());
        assert!(e <= 1e-4, "heads: rel err {e:e}");
        eprintln!(
            "SmolLM2 attribution ({:?}): heads rel err {e:e}",
            a.target.versus
        );
        let ours_mlps = candle_core::Tensor::new(a.mlps.as_slice(), &Device::Cpu).unwrap();
        let e = rel_err(&ours_mlps, &theirs_mlps);
        assert!(e <= 1e-4, "MLPs: rel err {e:e}");
        eprintln!(
            "SmolLM2 attribution ({:?}): MLPs rel err {e:e}",
            a.target.versus
        );
        assert!((a.total() - a.logit).abs() <= 1e-4 * a.logit.abs().max(1.0));
    }
}

/// Tokens that are wide (CJK) characters take two cells: the strip gives each its own room, the
/// heatmap's row labels line up on the right and its column labels keep one cell per key.
#[test]
fn wide_tokens_take_their_own_room_on_screen() {
    use glassbox::ui::theme::{ColorMode, Theme};
    use glassbox::ui::Screen;
    if smollm2().is_none() {
        return;
    }
    let path = std::env::var("GLASSBOX_SMOLLM2").unwrap();
    let loaded = model::load(Some(&path), &Device::Cpu).unwrap();
    let (app, _session) =
        glassbox::app::worker::start_inline(loaded, "東京は日本の首都です。The capital").unwrap();
    let tokens = &app.snap.as_ref().unwrap().tokens;
    assert!(tokens.iter().any(|t| t == "本"), "{tokens:?}");
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| {
            let theme = Theme::new(ColorMode::Mono);
            f.render_widget(Screen { app: &app, theme }, f.area())
        })
        .unwrap();
    // No two tokens' rectangles overlap, and a wide token's is two cells.
    let hits = app.hits.borrow().tokens.clone();
    for (i, (a, ia)) in hits.iter().enumerate() {
        for (b, _) in &hits[i + 1..] {
            assert!(a.intersection(*b).is_empty(), "{a:?} and {b:?} overlap");
        }
        if tokens[*ia] == "本" {
            assert_eq!(a.width, 2, "{a:?}");
        }
    }
    // Every row label ends in the same column (the cursor's marker after it).
    let buf = terminal.backend().buffer().clone();
    let area = app.hits.borrow().heatmap.expect("a heatmap").area;
    // The labels' column ends two cells before the plot: the marker, then a gap.
    let x_end = area.x - 3;
    for y in area.y..area.y + 10 {
        let symbol = buf[(x_end, y)].symbol();
        let before = buf[(x_end - 1, y)].symbol();
        assert!(
            !symbol.trim().is_empty() || !before.trim().is_empty(),
            "row {y} has no label ending at column {x_end}"
        );
    }
}
