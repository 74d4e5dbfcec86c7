//! Every claim kind on the bundled model: a claim that matches what the tutor's view shows holds, the
//! same claim past that number is false, and its message gives the number the view shows. The
//! numbers are measured here with the functions the views use (the worker's capture, the logit lens,
//! the head scores, the attention pattern), never written into the test.

use candle_core::Device;
use glassbox::analysis::heads::{head_scores, Criterion};
use glassbox::analysis::heatmap::attention_pattern;
use glassbox::analysis::positions::position_similarity;
use glassbox::analysis::predictions::{argmax, softmax};
use glassbox::analysis::residual::logit_lens;
use glassbox::lesson::{check::check_claim, Claim};
use glassbox::model::{self, LoadedModel, NamesFilter, Trace};

const ZORVA: &str =
    "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";

/// What the tests read: patterns and scores, the residual stream and the logits.
const HOOKS: &str = "blocks.*.attn.hook_pattern, blocks.*.attn.hook_attn_scores, \
     blocks.*.hook_resid_pre, blocks.*.hook_attn_out, blocks.*.hook_mlp_out, \
     blocks.*.hook_resid_post, logits";

fn load() -> LoadedModel {
    model::load(None, &Device::Cpu).unwrap()
}

/// The prompt as the tutor runs it, with the hooks the tutor records.
fn tutor_trace(m: &LoadedModel, prompt: &str) -> Trace {
    let ids = m.codec.encode(prompt, m.codec.prepends_bos()).unwrap();
    m.model.trace(&ids, NamesFilter::parse(HOOKS)).unwrap()
}

/// Check a claim block (TOML) against the model on `prompt`.
fn check(m: &LoadedModel, prompt: &str, block: &str) -> Result<(), String> {
    let claim: Claim = toml::from_str(block).unwrap_or_else(|e| panic!("{block}: {e}"));
    check_claim(m, prompt, &claim)
}

/// `block` with `bound` holds; with the bound the other way it is false and says `shown`.
fn holds_then_fails(m: &LoadedModel, prompt: &str, block: &str, value: f32, shown: &str) {
    let above = format!("{block}\nabove = {}", value - 0.01);
    assert_eq!(check(m, prompt, &above), Ok(()), "{above}");
    let below = format!("{block}\nbelow = {}", value - 0.01);
    let err = check(m, prompt, &below).unwrap_err();
    assert!(
        err.starts_with("claim false: ") && err.contains(shown),
        "{below}\n{err}"
    );
}

#[test]
fn a_lens_claim_reads_the_row_the_lens_view_shows() {
    let m = load();
    let trace = tutor_trace(&m, ZORVA);
    // What the worker sends the Lens view: the top tokens of each row at the last position.
    let rows = logit_lens(&m.model, trace.capture(), trace.len() - 1, 5).unwrap();
    let k = m.codec.encode(" K", false).unwrap()[0];
    for (layer, row) in rows.iter().skip(1).enumerate() {
        assert_eq!(row.hook, format!("blocks.{layer}.hook_resid_post"));
        let block = format!("kind = \"lens\"\nlayer = {layer}\ntoken = \" K\"");
        let (top, p_top) = row.top[0];
        // The top flag agrees with the row's first token.
        let is_top = top == k;
        assert_eq!(
            check(&m, ZORVA, &format!("{block}\ntop = {is_top}")),
            Ok(())
        );
        let err = check(&m, ZORVA, &format!("{block}\ntop = {}", !is_top)).unwrap_err();
        assert!(err.contains(&format!("{p_top:.3}")), "{err}");
        if let Some(&(_, p)) = row.top.iter().find(|(id, _)| *id == k) {
            // The number the view prints beside ·K in this row.
            holds_then_fails(&m, ZORVA, &block, p, &format!("p(\" K\") = {p:.3}"));
        }
    }
    let err = check(
        &m,
        ZORVA,
        "kind = \"lens\"\nlayer = 4\ntoken = \" K\"\ntop = true",
    );
    assert!(err.unwrap_err().contains("layer 4 does not exist"));
}

#[test]
fn a_head_score_claim_reads_the_score_the_heads_view_prints() {
    let m = load();
    let prompt = format!("{ZORVA} Kelpim");
    let trace = tutor_trace(&m, &prompt);
    let scores = head_scores(
        trace.capture(),
        trace.ids(),
        m.model.config().n_layers,
        Criterion::Induction,
    )
    .unwrap();
    let flat: Vec<f32> = scores.iter().flatten().copied().collect();
    let best = argmax(&flat);
    let worst = flat
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    let head = |i: usize| format!("[{}, {}]", i / 4, i % 4);
    let block = |i: usize| {
        format!(
            "kind = \"head-score\"\nhead = {}\ncriterion = \"induction\"",
            head(i)
        )
    };
    assert_eq!(
        check(&m, &prompt, &format!("{}\nbest = true", block(best))),
        Ok(())
    );
    assert_eq!(
        check(&m, &prompt, &format!("{}\nbest = false", block(worst))),
        Ok(())
    );
    let err = check(&m, &prompt, &format!("{}\nbest = true", block(worst))).unwrap_err();
    let named = format!(
        "the best is L{}H{} with {:.3}",
        best / 4,
        best % 4,
        flat[best]
    );
    assert!(err.contains(&named), "{err}");
    let s = flat[best];
    let shown = format!("L{}H{}'s induction score is {s:.3}", best / 4, best % 4);
    holds_then_fails(&m, &prompt, &block(best), s, &shown);
    let err = check(
        &m,
        &prompt,
        "kind = \"head-score\"\nhead = [1, 9]\ncriterion = \"first-token\"\nbest = true",
    );
    assert!(err.unwrap_err().contains("no head L1H9"));
}

#[test]
fn a_probability_claim_reads_the_next_views_number() {
    let m = load();
    let prompt = "The capital of France is";
    let trace = tutor_trace(&m, prompt);
    let probs = softmax(&trace.next_logits().to_vec1::<f32>().unwrap(), 1.0);
    let top = argmax(&probs);
    let token = m.codec.token_str(top as u32);
    let block = format!("kind = \"probability\"\ntoken = {token:?}");
    let p = probs[top];
    holds_then_fails(&m, prompt, &block, p, &format!("p({token:?}) = {p:.3}"));
    let both = format!("{block}\nabove = {}\nbelow = {}", p - 0.01, p + 0.01);
    assert_eq!(check(&m, prompt, &both), Ok(()));
}

#[test]
fn an_attribution_claim_reads_the_lens_views_attribution_page() {
    use glassbox::analysis::attribution::{attribute_prompt, Component, Target};
    let m = load();
    let ids = m.codec.encode(ZORVA, m.codec.prepends_bos()).unwrap();
    let trace = tutor_trace(&m, ZORVA);
    let logits = trace.next_logits().to_vec1::<f32>().unwrap();
    let first = argmax(&logits) as u32;
    let mut rest = logits.clone();
    rest[first as usize] = f32::NEG_INFINITY;
    let second = argmax(&rest) as u32;
    let (token, versus) = (m.codec.token_str(first), m.codec.token_str(second));
    for vs in [None, Some(second)] {
        let target = Target {
            token: first,
            versus: vs,
        };
        // What the worker sends the attribution page, for the last token.
        let a = attribute_prompt(&m.model, &ids, ids.len() - 1, target, None).unwrap();
        let versus_line = vs.map_or(String::new(), |_| format!("\nversus = {versus:?}"));
        // The largest head, and the last layer's MLP.
        let (layer, head, value) = (0..a.n_layers)
            .flat_map(|l| (0..a.n_heads).map(move |h| (l, h)))
            .map(|(l, h)| (l, h, a.head(l, h)))
            .max_by(|x, y| x.2.abs().total_cmp(&y.2.abs()))
            .unwrap();
        let block = format!(
            "kind = \"attribution\"\nhead = [{layer}, {head}]\ntoken = {token:?}{versus_line}"
        );
        let shown = format!("L{layer}H{head}'s direct contribution");
        if value > 0.0 {
            holds_then_fails(&m, ZORVA, &block, value, &format!("{value:+.3}"));
        } else {
            // Negative: it lies below a bound just above it and not above it.
            assert_eq!(
                check(&m, ZORVA, &format!("{block}\nbelow = {}", value + 0.01)),
                Ok(())
            );
            let err = check(&m, ZORVA, &format!("{block}\nabove = {}", value + 0.01)).unwrap_err();
            assert!(
                err.contains(&shown) && err.contains(&format!("{value:+.3}")),
                "{err}"
            );
        }
        let rank = a.rank_of(Component::Head { layer, head }).unwrap();
        assert_eq!(check(&m, ZORVA, &format!("{block}\nrank = {rank}")), Ok(()));
        if rank > 1 {
            let err = check(&m, ZORVA, &format!("{block}\nrank = {}", rank - 1)).unwrap_err();
            assert!(err.contains(&format!("(rank {rank})")), "{err}");
        }
        let last = a.n_layers - 1;
        let mlp = a.mlps[last];
        let block = format!("kind = \"attribution\"\nmlp = {last}\ntoken = {token:?}{versus_line}");
        let around = format!("{block}\nabove = {}\nbelow = {}", mlp - 0.01, mlp + 0.01);
        assert_eq!(check(&m, ZORVA, &around), Ok(()));
        let err = check(&m, ZORVA, &format!("{block}\nabove = {}", mlp + 0.01)).unwrap_err();
        assert!(
            err.contains(&format!("MLP{last}'s direct contribution")),
            "{err}"
        );
    }
}

#[test]
fn a_token_count_claim_counts_the_tokenizers_pieces() {
    let m = load();
    for text in [" went", " Kelpim", " France"] {
        let ids = m.codec.encode(text, false).unwrap();
        let block = |n: usize| format!("kind = \"token-count\"\ntext = {text:?}\nvalue = {n}");
        assert_eq!(check(&m, "", &block(ids.len())), Ok(()));
        let err = check(&m, "", &block(ids.len() + 1)).unwrap_err();
        let pieces: Vec<String> = ids
            .iter()
            .map(|&id| format!("{:?}", m.codec.token_str(id)))
            .collect();
        assert!(
            err.contains(&format!("is {} token", ids.len())) && err.contains(&pieces.join(" ")),
            "{err}"
        );
    }
}

#[test]
fn a_continues_claim_follows_greedy_decoding() {
    let m = load();
    let prompt = "The capital of France is";
    // Greedy decoding as the tutor's n does it: the most probable token, appended, again.
    let mut trace = tutor_trace(&m, prompt);
    let mut ids = Vec::new();
    for _ in 0..4 {
        let id = argmax(&trace.next_logits().to_vec1::<f32>().unwrap()) as u32;
        ids.push(id);
        m.model.step(&mut trace, id).unwrap();
    }
    let text = m.codec.decode(&ids);
    let block = |t: &str| format!("kind = \"continues\"\ntext = {t:?}");
    assert_eq!(check(&m, prompt, &block(&text)), Ok(()));
    assert_eq!(
        check(&m, prompt, &block(&m.codec.decode(&ids[..1]))),
        Ok(())
    );
    // The message shows what greedy decoding writes: the prefix it shares, then the rest.
    let shown = format!("{text:?}");
    let shown = format!("writes {}", &shown[..shown.len() - 1]);
    let err = check(&m, prompt, &block(&format!("{text}zzz"))).unwrap_err();
    assert!(
        err.starts_with("claim false: ") && err.contains(&shown),
        "{err}"
    );
    let err = check(&m, prompt, &block(" Paris")).unwrap_err();
    let first = format!("{:?}", m.codec.decode(&ids[..1]));
    let first = format!("writes {}", &first[..first.len() - 1]);
    assert!(
        err.contains(&first) && err.contains("not \" Paris\""),
        "{err}"
    );
}

#[test]
fn an_attention_claim_adds_the_weights_the_attention_view_shows() {
    let m = load();
    let trace = tutor_trace(&m, ZORVA);
    let labels = m.codec.token_labels(trace.ids());
    let map = attention_pattern(trace.capture(), 1, 3, &labels).unwrap();
    // The first ·K and the name's pieces before it.
    let k = labels.iter().position(|t| t == " K").unwrap();
    let w: f32 = (k - 3..=k).map(|j| map.get(k, j).unwrap()).sum();
    let block = format!(
        "kind = \"attention\"\nhead = [1, 3]\nquery = {k}\nkeys = [{}, {}, {}, {}]",
        k - 3,
        k - 2,
        k - 1,
        k
    );
    holds_then_fails(&m, ZORVA, &block, w, &format!("gives {w:.3} to"));
    // Negative positions count from the end, as a view's cursor does.
    let last = labels.len() - 1;
    let w_last = map.get(last, last).unwrap();
    let block = "kind = \"attention\"\nhead = [1, 3]\nkeys = [-1]";
    holds_then_fails(&m, ZORVA, block, w_last, &format!("gives {w_last:.3} to"));
    let err = check(&m, ZORVA, &format!("{block}\nquery = 99\nabove = 0.1")).unwrap_err();
    assert!(err.contains("outside the prompt"), "{err}");
}

#[test]
fn a_position_similarity_claim_reads_the_positions_views_map() {
    let m = load();
    let w_pos = m.model.pos_embed().unwrap();
    let map = position_similarity(w_pos, 21).unwrap();
    for b in [11, 20] {
        let s = map.get(10, b).unwrap();
        let block = format!("kind = \"position-similarity\"\npositions = [10, {b}]");
        holds_then_fails(&m, "", &block, s, &format!("cosine similarity {s:.3}"));
    }
}

#[test]
fn a_train_log_claim_reads_the_models_training_log() {
    let m = load();
    let log = std::fs::read_to_string(m.files.dir.join("train_log.csv")).unwrap();
    let header: Vec<&str> = log.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "train_loss").unwrap();
    let first: f32 = log
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(col)
        .unwrap()
        .parse()
        .unwrap();
    let block = "kind = \"train-log\"\ncolumn = \"train_loss\"\nstep = 1";
    holds_then_fails(&m, "", block, first, "train_loss = ");
    let last = log.lines().last().unwrap().split(',').nth(col).unwrap();
    let v: f32 = last.parse().unwrap();
    let block = "kind = \"train-log\"\ncolumn = \"train_loss\"";
    holds_then_fails(&m, "", block, v, &format!("train_loss = {last}"));
    let err = check(&m, "", "kind = \"train-log\"\ncolumn = \"loss\"\nabove = 1").unwrap_err();
    assert!(
        err.contains("no column \"loss\"") && err.contains("train_loss"),
        "{err}"
    );
}

#[test]
fn a_shape_claim_compares_the_configuration() {
    let m = load();
    let c = m.model.config().clone();
    let block = format!(
        "kind = \"shape\"\nn_layers = {}\nn_heads = {}\nd_head = {}\nd_vocab = {}",
        c.n_layers, c.n_heads, c.d_head, c.d_vocab
    );
    assert_eq!(check(&m, "", &block), Ok(()));
    let wrong = block.replace(
        &format!("n_heads = {}", c.n_heads),
        &format!("n_heads = {}", c.n_heads + 8),
    );
    let err = check(&m, "", &wrong).unwrap_err();
    assert_eq!(
        err,
        format!(
            "claim false: n_heads is {}, not {}",
            c.n_heads,
            c.n_heads + 8
        )
    );
}

/// Claims at or past an edge (positions, layers and heads the model does not have, a text far longer
/// than the context, a log step that is not there) are errors that say so, never a panic or a hang.
#[test]
fn a_claim_past_an_edge_is_an_error_that_says_so() {
    let m = load();
    let max = i64::MAX;
    for (block, says) in [
        (
            format!("kind = \"lens\"\nlayer = {max}\ntoken = \" K\"\ntop = true"),
            "does not exist",
        ),
        (
            format!(
                "kind = \"head-score\"\nhead = [{max}, 0]\ncriterion = \"induction\"\nbest = true"
            ),
            "no head",
        ),
        (
            format!(
                "kind = \"attention\"\nhead = [0, 0]\nquery = {}\nkeys = [0]\nabove = 0.5",
                i64::MIN
            ),
            "outside the prompt",
        ),
        (
            format!(
                "kind = \"attention\"\nhead = [0, 0]\nkeys = [{}]\nabove = 0.5",
                i64::MAX
            ),
            "outside the prompt",
        ),
        (
            format!("kind = \"position-similarity\"\npositions = [0, {max}]\nabove = 0.5"),
            "does not exist",
        ),
        (
            "kind = \"train-log\"\ncolumn = \"train_loss\"\nstep = 0\nabove = 1".into(),
            "no row for step",
        ),
        (
            "kind = \"train-log\"\ncolumn = \"heldout_loss\"\nstep = 1\nabove = 1".into(),
            "no number in heldout_loss",
        ),
        (
            "kind = \"lens\"\nlayer = 0\ntoken = \" Kelpim\"\ntop = true".into(),
            "is 4 tokens, a claim needs one",
        ),
        (
            format!("kind = \"continues\"\ntext = {:?}", "a".repeat(5000)),
            "claim false: greedy decoding",
        ),
    ] {
        let err = check(&m, ZORVA, &block).unwrap_err();
        assert!(err.contains(says), "{block}\n{err}");
    }
}
