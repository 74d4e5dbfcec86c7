//! A report, not a check: the size of the bundled model's training corpus, its measured skew rates
//! and one document of each kind, printed for MODEL_CARD.md and the module documentation.

use std::collections::HashSet;

use super::tests::words;
use super::vocab::is_vocab_word;
use super::*;

/// Size and speed of the default corpus with `repeat_fraction` of repeated spans, its skew rates and
/// one document of each kind. The trainer calls it with its own share of repeated spans (the corpus
/// knows nothing of the trainer); run with
/// `cargo test --release --lib train::tests::training_corpus_size -- --ignored --nocapture`.
pub(crate) fn print_training_corpus(repeat_fraction: f64) {
    let start = std::time::Instant::now();
    let docs = generate(&CorpusConfig {
        repeat_fraction,
        ..CorpusConfig::default()
    });
    let elapsed = start.elapsed();
    let bytes: usize = docs.iter().map(String::len).sum();
    // Pre-tokens as GPT-2's splitter sees them: words plus punctuation marks; made-up names add
    // a few more tokens each after BPE, so real token counts run somewhat higher.
    let mut n_words = 0usize;
    let mut n_punct = 0usize;
    let mut n_names = 0usize;
    let mut vocab: HashSet<String> = HashSet::new();
    for doc in &docs {
        for w in words(doc) {
            n_words += 1;
            let lower = w.to_ascii_lowercase();
            if is_vocab_word(&lower) {
                vocab.insert(lower);
            } else {
                n_names += 1;
            }
        }
        n_punct += doc
            .bytes()
            .filter(|b| b.is_ascii_punctuation() || *b == b'\n')
            .count();
    }
    println!(
        "{} docs, {bytes} bytes in {elapsed:.2?}: {n_words} words ({n_names} name words), \
         {n_punct} punctuation marks, {} distinct vocabulary words",
        docs.len(),
        vocab.len()
    );
    for &(occ, favoured, rate) in SKEW {
        let other = skew::other_pronoun(favoured);
        let (mut fav, mut oth) = (0, 0);
        for doc in &docs {
            for frame in SKEW_FRAMES {
                fav += doc
                    .matches(&format!("The {occ} {frame} {favoured} "))
                    .count();
                oth += doc.matches(&format!("The {occ} {frame} {other} ")).count();
            }
        }
        let measured = fav as f64 / (fav + oth) as f64;
        println!(
            "{occ}: {favoured} {measured:.3} over {} (documented {rate})",
            fav + oth
        );
    }
    // One document of each kind.
    let cfg = CorpusConfig::default();
    let mut shown: Vec<DocKind> = Vec::new();
    for i in 0..cfg.n_docs {
        let (kind, doc) = document(&cfg, i);
        if !shown.contains(&kind) {
            println!("--- {kind:?}\n{doc}");
            shown.push(kind);
        }
    }
    for probe in copy_probe(1, 2) {
        println!(
            "--- probe {:?} at {}\n{}",
            probe.name, probe.second_start, probe.text
        );
    }
    println!("--- {}", repeated_random_words(1, 10));
}
