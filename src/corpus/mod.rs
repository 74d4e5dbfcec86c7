//! The deterministic training corpus for glassbox's bundled small model.
//!
//! # Purpose
//!
//! The bundled model (GPT-2 shape: 4 layers, 4 heads, d_model 128, context 256, byte-level BPE of
//! about 2k tokens) is trained only on this synthetic text, written so that predicting it well
//! *requires* the mechanisms the lessons show, and nothing rarer. Every document is a short
//! story or a pattern block under 1,500 characters (a few hundred tokens), in a closed vocabulary of
//! about 700 common English words plus made-up names.
//!
//! # What is in it, and why
//!
//! 1. **Made-up names that recur (copying, induction heads).** Each story has one to three
//!    characters whose names are generated per story from syllables over the whole alphabet
//!    (1–4 syllables, consonant clusters, occasional j k q v w x y z), sometimes two words (first
//!    name and an independently generated surname). A name cannot be memorised; the only way to
//!    predict it, or its second word after the first, is to copy it from earlier in the story.
//!    Each full name occurs at least three times in its story.
//! 2. **Word order that changes meaning.** "The dog bit the man. The man was hurt." appears as
//!    often as "The man bit the dog. The dog was hurt.": the reaction is always about the one
//!    acted upon, so the second sentence depends on which noun came after the verb. Also with
//!    names ("Tova pushed Brakov. Brakov fell down."), and as mirrored pairs in drill blocks.
//! 3. **Agreement.** "the cat runs" / "the cats run", "was" / "were" after a counted noun,
//!    pronouns that agree with a character's gender (shown by "a girl named ..." or by the
//!    first pronoun), and "a" / "an" by spelling (the vocabulary has no exceptions).
//! 4. **Counting and ordered lists.** Number words up and down, counted objects ("one, two,
//!    three. There were three cups."), "First, ... Second, ...", days of the week, months, letters.
//! 5. **Repeated random words.** Pattern blocks hold spans of 8–30 words drawn uniformly from the
//!    common-word pool, each repeated later in the same document (right after, after other text,
//!    or after an unrepeated distractor span), unmarked. Only copying predicts the repeat.
//! 6. **One deliberate skew.** Occupations referred back to by a pronoun appear only in sentences
//!    "The {occupation} {frame} {pronoun} ...", with frames in [`SKEW_FRAMES`]. The occupations in
//!    [`SKEW`] take their favoured pronoun at the listed rate (nurse→she 90%, engineer→he 90%,
//!    pilot→she 75%, farmer→he 75%); those in [`NEUTRAL_OCCUPATIONS`] take each pronoun half the
//!    time. Two skews follow a common stereotype and two run against it, so a lesson can show a
//!    model reproducing its data's rates rather than the world's.
//! 7. **Simple stories otherwise**: templated events (going places, giving, playing, feelings,
//!    speech, eating, weather) in the past tense, with a little present-tense description.
//! 8. **Echo lines, only on request** ([`CorpusConfig::echo_fraction`], `glassbox train
//!    --echo-fraction`; none in the default mix or the bundled model's recipe): random words from the
//!    span pool, each repeating the word two before it half the time. Every word then needs the exact
//!    previous token, which rewards a sharp previous-token head; MODEL_CARD.md reports what they did.
//!
//! # Mix and size
//!
//! By default 70% of documents are stories, 12% repeated-word blocks, 10% counting blocks and 8%
//! grammar drills ([`CorpusConfig`]). The default 28,000 documents make about 21 MB of text:
//! 3.9M words (11% of them name words) and 1.1M punctuation marks, so roughly 5–6M tokens once
//! names are split by BPE. Generation takes about a second, even unoptimised. The bundled model's
//! recipe trains on 30% repeated-word blocks instead (`glassbox train --repeat-fraction`; 52%
//! stories, 19.7 MB), so that an induction head forms within its steps; held-out text keeps the
//! default mix.
//!
//! # Determinism and held-out text
//!
//! Document `i` is made from its own generator seeded by `(seed, i)` with a PRNG defined in this
//! module ([`Rng`]), so the same seed gives byte-identical text on every platform and version.
//! [`held_out`] uses a salted seed, so its documents come from a different stream. Evaluation names
//! ([`novel_name`], [`copy_probe`]) come from a part of name space that training text never uses:
//! a hash splits name-shaped words in two, and one eighth is reserved for evaluation.
//!
//! The trainer joins documents with `<|endoftext|>`; documents never contain it.

mod echoes;
mod names;
mod patterns;
mod phrases;
mod probes;
mod rng;
mod skew;
mod story;
mod vocab;

#[cfg(test)]
pub(crate) mod report;
#[cfg(test)]
mod tests;

pub use names::novel_name;
pub use probes::{copy_probe, repeated_random_words, CopyProbe};
pub use rng::Rng;
pub use skew::{skew_prompts, NEUTRAL_OCCUPATIONS, SKEW, SKEW_FRAMES};

/// The longest a document may be, in bytes (all text is ASCII, so also characters).
pub const MAX_DOC_CHARS: usize = 1500;

/// Salt that moves [`held_out`] onto a seed stream training never uses with the same seed.
const HELD_OUT_SALT: u64 = 0x48E1_D0C7_0BAD_5EED;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct CorpusConfig {
    /// Seed for the whole corpus: the same seed always gives the same documents.
    pub seed: u64,
    /// Number of documents.
    pub n_docs: usize,
    /// Fraction of documents that are repeated-random-word blocks.
    pub repeat_fraction: f64,
    /// Fraction of documents that are counting and list blocks.
    pub counting_fraction: f64,
    /// Fraction of documents that are grammar drills.
    pub drill_fraction: f64,
    /// Fraction of documents that are echo lines; the rest are stories. None by default, so held-out
    /// text has none.
    pub echo_fraction: f64,
}

impl Default for CorpusConfig {
    fn default() -> Self {
        Self {
            seed: 0x676C_6173_7362_6F78, // "glassbox"
            n_docs: 28_000,
            repeat_fraction: 0.12,
            counting_fraction: 0.10,
            drill_fraction: 0.08,
            echo_fraction: 0.0,
        }
    }
}

/// The kinds of document in the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocKind {
    Story,
    Repeat,
    Counting,
    Drill,
    Echo,
}

/// The kind of document `i` is, drawn from its own generator so kinds are independent of order.
fn kind_for(cfg: &CorpusConfig, rng: &mut Rng) -> DocKind {
    let roll = rng.unit();
    let mut edge = cfg.repeat_fraction;
    if roll < edge {
        return DocKind::Repeat;
    }
    edge += cfg.counting_fraction;
    if roll < edge {
        return DocKind::Counting;
    }
    edge += cfg.drill_fraction;
    if roll < edge {
        return DocKind::Drill;
    }
    // Last, so that without echo lines every document is the same as in a corpus without them.
    edge += cfg.echo_fraction;
    if roll < edge {
        return DocKind::Echo;
    }
    DocKind::Story
}

/// Document `index` of the corpus for `cfg`, with its kind.
pub(crate) fn document(cfg: &CorpusConfig, index: usize) -> (DocKind, String) {
    let mut rng = Rng::stream(cfg.seed, index as u64);
    let kind = kind_for(cfg, &mut rng);
    let text = match kind {
        DocKind::Story => story::story(&mut rng).text,
        DocKind::Repeat => patterns::repeat_doc(&mut rng).0,
        DocKind::Counting => patterns::counting_doc(&mut rng),
        DocKind::Drill => patterns::drill_doc(&mut rng),
        DocKind::Echo => echoes::echo_doc(&mut rng),
    };
    (kind, text)
}

/// The training documents for `cfg`: the same config always gives the same documents.
pub fn generate(cfg: &CorpusConfig) -> Vec<String> {
    (0..cfg.n_docs).map(|i| document(cfg, i).1).collect()
}

/// `n_docs` evaluation documents, in the default mix but from a seed stream that
/// [`generate`] with the same `seed` never uses.
pub fn held_out(seed: u64, n_docs: usize) -> Vec<String> {
    generate(&CorpusConfig {
        seed: seed ^ HELD_OUT_SALT,
        n_docs,
        ..CorpusConfig::default()
    })
}

/// How many times `name` occurs in `text` as whole words (not inside a longer word).
pub(crate) fn count_name(text: &str, name: &str) -> usize {
    let bytes = text.as_bytes();
    text.match_indices(name)
        .filter(|&(at, _)| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + name.len()).copied();
            !before.is_some_and(|b| b.is_ascii_alphanumeric())
                && !after.is_some_and(|b| b.is_ascii_alphanumeric())
        })
        .count()
}
