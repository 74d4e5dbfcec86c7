//! Tests that each mechanism the corpus promises is really in the text.

use std::collections::{HashMap, HashSet};

use super::names::is_training_name_word;
use super::vocab::{is_vocab_word, ACTIONS, ANIMALS, PEOPLE, VERBS};
use super::*;

fn small(seed: u64, n_docs: usize) -> CorpusConfig {
    CorpusConfig {
        seed,
        n_docs,
        ..CorpusConfig::default()
    }
}

/// Sentences of a document (split at . ! ? and newlines), trimmed.
fn sentences(doc: &str) -> impl Iterator<Item = &str> {
    // A closing quote after a full stop would otherwise start the next sentence.
    doc.split(['.', '!', '?', '\n'])
        .map(|s| s.trim_matches(|c: char| c.is_whitespace() || c == '"'))
        .filter(|s| !s.is_empty())
}

/// Alphabetic words of a text.
pub(super) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
}

#[test]
fn same_seed_same_corpus_different_seed_different_corpus() {
    let a = generate(&small(5, 300));
    assert_eq!(a, generate(&small(5, 300)));
    let b = generate(&small(6, 300));
    assert_ne!(a, b);
    let shared = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    assert_eq!(shared, 0, "documents repeated across seeds");
}

#[test]
fn documents_are_short_ascii_and_unmarked() {
    for (i, doc) in generate(&small(11, 2000)).iter().enumerate() {
        assert!(!doc.trim().is_empty(), "doc {i} is empty");
        assert!(
            doc.len() <= MAX_DOC_CHARS,
            "doc {i} has {} bytes",
            doc.len()
        );
        assert!(doc.is_ascii(), "doc {i} is not ASCII");
        assert!(!doc.contains("<|endoftext|>"));
        assert_eq!(doc, doc.trim(), "doc {i} has outer whitespace");
    }
}

#[test]
fn the_mix_follows_the_config() {
    for echo_fraction in [0.0, 0.2] {
        let cfg = CorpusConfig {
            echo_fraction,
            ..small(12, 4000)
        };
        let mut counts: HashMap<String, usize> = HashMap::new();
        for i in 0..cfg.n_docs {
            *counts
                .entry(format!("{:?}", document(&cfg, i).0))
                .or_default() += 1;
        }
        let frac = |k: &str| counts.get(k).copied().unwrap_or(0) as f64 / cfg.n_docs as f64;
        for (kind, want) in [
            ("Repeat", cfg.repeat_fraction),
            ("Counting", cfg.counting_fraction),
            ("Drill", cfg.drill_fraction),
            ("Echo", cfg.echo_fraction),
        ] {
            assert!((frac(kind) - want).abs() < 0.03, "{kind}: {counts:?}");
        }
    }
}

#[test]
fn echo_lines_replace_stories_and_leave_every_other_document_as_it_was() {
    // Echo lines are drawn last, so adding them turns some stories into echo lines and changes nothing
    // else: held-out text (which has none) and the other pattern blocks stay what they were.
    let plain = small(13, 500);
    let echoed = CorpusConfig {
        echo_fraction: 0.3,
        ..plain.clone()
    };
    let mut changed = 0;
    for i in 0..plain.n_docs {
        let (a, b) = (document(&plain, i), document(&echoed, i));
        if a != b {
            assert_eq!((a.0, b.0), (DocKind::Story, DocKind::Echo), "doc {i}");
            changed += 1;
        }
    }
    assert!(changed > 100, "only {changed} echo lines");
}

#[test]
fn story_names_recur_at_least_three_times() {
    let mut two_word = 0;
    for i in 0..1000 {
        let mut rng = Rng::stream(21, i);
        let doc = story::story(&mut rng);
        assert!(!doc.names.is_empty());
        for name in &doc.names {
            let n = count_name(&doc.text, name);
            assert!(n >= 3, "{name} occurs {n} times in:\n{}", doc.text);
            two_word += usize::from(name.contains(' '));
        }
    }
    assert!(two_word > 300, "too few two-word names: {two_word}");
}

#[test]
fn pronouns_agree_with_the_only_character() {
    let occupations: Vec<&str> = SKEW
        .iter()
        .map(|s| s.0)
        .chain(NEUTRAL_OCCUPATIONS.iter().copied())
        .collect();
    let mut checked = 0;
    for i in 0..2000 {
        let mut rng = Rng::stream(23, i);
        let doc = story::story(&mut rng);
        if doc.names.len() != 1 {
            continue;
        }
        // Skew sentences are about an occupation, not the character; leave them out.
        let about_character = sentences(&doc.text).filter(|s| {
            !occupations
                .iter()
                .any(|o| s.starts_with(&format!("The {o} ")))
        });
        let mut set: HashSet<&str> = HashSet::new();
        for s in about_character {
            for w in words(s) {
                match w.to_ascii_lowercase().as_str() {
                    "she" | "her" => set.insert("female"),
                    "he" | "his" | "him" => set.insert("male"),
                    _ => false,
                };
            }
        }
        assert!(set.len() <= 1, "mixed pronouns in:\n{}", doc.text);
        checked += 1;
    }
    assert!(checked > 150, "only {checked} one-character stories");
}

#[test]
fn repeated_spans_really_repeat() {
    let mut immediate = 0;
    for i in 0..1000 {
        let mut rng = Rng::stream(22, i);
        let (text, spans) = patterns::repeat_doc(&mut rng);
        assert!(!spans.is_empty());
        for span in &spans {
            let n = span.split(' ').count();
            assert!((8..=30).contains(&n), "span of {n} words");
            assert!(
                text.matches(span.as_str()).count() >= 2,
                "span not repeated:\n{text}"
            );
            immediate += usize::from(text.contains(&format!("{span} {span}")));
        }
    }
    assert!(immediate > 200, "immediate repeats: {immediate}");
}

#[test]
fn skew_rates_match_the_documented_constants() {
    let docs = generate(&small(31, 8000));
    let mut neutral_she = 0usize;
    let mut neutral_total = 0usize;
    let mut tally: HashMap<&str, (usize, usize)> = HashMap::new();
    for doc in &docs {
        for &(occ, favoured, _) in SKEW {
            for frame in SKEW_FRAMES {
                let fav = doc
                    .matches(&format!("The {occ} {frame} {favoured} "))
                    .count();
                let other = skew::other_pronoun(favoured);
                let oth = doc.matches(&format!("The {occ} {frame} {other} ")).count();
                let entry = tally.entry(occ).or_default();
                entry.0 += fav;
                entry.1 += fav + oth;
            }
        }
        for occ in NEUTRAL_OCCUPATIONS {
            for frame in SKEW_FRAMES {
                let she = doc.matches(&format!("The {occ} {frame} she ")).count();
                neutral_she += she;
                neutral_total += she + doc.matches(&format!("The {occ} {frame} he ")).count();
            }
        }
    }
    for &(occ, _, rate) in SKEW {
        let (fav, total) = tally[occ];
        assert!(total > 500, "{occ}: only {total} samples");
        let measured = fav as f64 / total as f64;
        assert!(
            (measured - rate).abs() < 0.04,
            "{occ}: measured {measured:.3}, documented {rate}"
        );
    }
    let measured = neutral_she as f64 / neutral_total as f64;
    assert!(
        (measured - 0.5).abs() < 0.04,
        "neutral occupations: {measured:.3} she"
    );
}

#[test]
fn skew_prompts_end_before_the_pronoun() {
    let prompts = skew_prompts();
    assert_eq!(prompts.len(), SKEW.len() * SKEW_FRAMES.len());
    for (prompt, favoured, other) in &prompts {
        assert!(
            prompt.starts_with("The ") && !prompt.ends_with(' '),
            "{prompt}"
        );
        assert!(SKEW
            .iter()
            .any(|s| prompt.contains(s.0) && s.1 == *favoured));
        assert_ne!(favoured, other);
    }
}

#[test]
fn both_word_orders_appear_and_the_reaction_follows_the_object() {
    let singular: HashSet<&str> = PEOPLE.iter().chain(ANIMALS).map(|n| n.one).collect();
    let verbs: HashSet<&str> = ACTIONS.iter().map(|a| a.past).collect();
    let mut triples: HashSet<(String, String, String)> = HashSet::new();
    for doc in generate(&small(41, 3000)) {
        let sents: Vec<&str> = sentences(&doc).collect();
        for pair in sents.windows(2) {
            let w: Vec<&str> = pair[0].split(' ').collect();
            let [the1, x, verb, the2, y] = w[..] else {
                continue;
            };
            if the1 != "The" || the2 != "the" || !verbs.contains(verb) {
                continue;
            }
            if !(singular.contains(x) && singular.contains(y)) {
                continue;
            }
            assert!(
                pair[1].starts_with(&format!("The {y} ")),
                "{} / {}",
                pair[0],
                pair[1]
            );
            triples.insert((x.to_string(), verb.to_string(), y.to_string()));
        }
    }
    let mirrored = triples
        .iter()
        .filter(|(x, v, y)| triples.contains(&(y.clone(), v.clone(), x.clone())))
        .count();
    assert!(triples.len() > 1000, "few SVO sentences: {}", triples.len());
    assert!(
        mirrored > 100,
        "few sentences seen in both orders: {mirrored}"
    );
}

#[test]
fn agreement_and_articles_hold() {
    let singular: HashSet<&str> = PEOPLE.iter().chain(ANIMALS).map(|n| n.one).collect();
    let plural: HashSet<&str> = PEOPLE.iter().chain(ANIMALS).map(|n| n.many).collect();
    let third: HashSet<&str> = VERBS.iter().map(|v| v.third).collect();
    let base: HashSet<&str> = VERBS.iter().map(|v| v.base).collect();
    let cfg = small(51, 3000);
    let (mut checked_a, mut checked_an) = (0, 0);
    for i in 0..cfg.n_docs {
        let (kind, doc) = document(&cfg, i);
        for sentence in sentences(&doc) {
            let toks: Vec<&str> = sentence.split(' ').collect();
            for pair in toks.windows(2) {
                let (a, b) = (
                    pair[0],
                    pair[1].trim_matches(|c: char| !c.is_ascii_alphabetic()),
                );
                let vowel = b.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']);
                if a == "a" || a == "A" {
                    assert!(!vowel, "'{a} {b}' in: {sentence}");
                    checked_a += 1;
                }
                if a == "an" || a == "An" {
                    assert!(vowel, "'{a} {b}' in: {sentence}");
                    checked_an += 1;
                }
                // Random-word spans are word salad by design; agreement is checked elsewhere.
                if kind != DocKind::Repeat {
                    assert!(
                        !(plural.contains(a) && third.contains(b)),
                        "'{a} {b}' in: {sentence}"
                    );
                    assert!(
                        !(singular.contains(a) && base.contains(b)),
                        "'{a} {b}' in: {sentence}"
                    );
                }
            }
        }
    }
    assert!(
        checked_a > 1000 && checked_an > 100,
        "a: {checked_a}, an: {checked_an}"
    );
}

#[test]
fn vocabulary_is_closed_and_small() {
    let mut seen: HashSet<String> = HashSet::new();
    let mut unexpected: HashSet<String> = HashSet::new();
    for doc in generate(&small(61, 3000)) {
        for w in words(&doc) {
            let lower = w.to_ascii_lowercase();
            if is_vocab_word(&lower) {
                seen.insert(lower);
            } else {
                // Anything else must be a generated name: capitalised, from the training half.
                let capitalised = w.starts_with(|c: char| c.is_ascii_uppercase());
                if !(capitalised && is_training_name_word(w)) {
                    unexpected.insert(w.to_string());
                }
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "words outside the vocabulary: {unexpected:?}"
    );
    assert!(
        (400..=1500).contains(&seen.len()),
        "vocabulary of {} words",
        seen.len()
    );
}

#[test]
fn held_out_documents_differ_from_training() {
    let train: HashSet<String> = generate(&small(71, 2000)).into_iter().collect();
    let held = held_out(71, 500);
    assert_eq!(held, held_out(71, 500));
    assert!(held.iter().all(|d| !train.contains(d)));
}

#[test]
fn novel_names_never_occur_in_training_text() {
    let mut training_words: HashSet<String> = HashSet::new();
    for doc in generate(&small(81, 3000)) {
        training_words.extend(words(&doc).map(str::to_string));
    }
    let mut rng = Rng::new(82);
    for _ in 0..2000 {
        let name = novel_name(&mut rng);
        for word in name.split(' ') {
            assert!(
                !training_words.contains(word),
                "{word} (from {name}) is in the training text"
            );
        }
    }
}
