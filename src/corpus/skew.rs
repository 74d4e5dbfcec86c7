//! The one deliberate statistical skew in the corpus: occupations paired with a pronoun.
//!
//! Every time an occupation is referred back to by a pronoun, it happens in a sentence
//! "The {occupation} {frame} {pronoun} {clause}." and nowhere else, so the rate at which the
//! favoured pronoun follows a skewed occupation in the whole corpus is the rate in [`SKEW`]
//! (up to sampling noise). Two skews follow a common stereotype and two run against it, so a lesson
//! can show that the model copies its data, not the world.

use super::rng::Rng;
use super::vocab::{a_thing, animate, thing, with_article, PLACES};

/// Skewed occupations: (occupation, favoured pronoun, probability of the favoured pronoun).
///
/// The other pronoun ("he" for "she" and the reverse) takes the remaining probability.
pub const SKEW: &[(&str, &str, f64)] = &[
    ("nurse", "she", 0.90),
    ("engineer", "he", 0.90),
    ("pilot", "she", 0.75),
    ("farmer", "he", 0.75),
];

/// Occupations that take "she" and "he" equally often: the control group for [`SKEW`].
pub const NEUTRAL_OCCUPATIONS: &[&str] = &["teacher", "doctor", "driver", "painter", "singer"];

/// The sentence frames between the occupation and the pronoun ("The nurse said that she ...").
pub const SKEW_FRAMES: &[&str] = &[
    "said that",
    "thought that",
    "was tired because",
    "was happy because",
];

/// Endings that read well after every frame: "The pilot said that she {clause}." and
/// "The pilot was tired because she {clause}.".
const CLAUSES: &[&str] = &[
    "worked all day",
    "had a busy day",
    "was late",
    "needed a rest",
    "liked the town",
    "got up early",
    "came home late",
];

/// The pronoun other than `p` ("she" ↔ "he").
pub(crate) fn other_pronoun(p: &str) -> &'static str {
    if p == "she" {
        "he"
    } else {
        "she"
    }
}

/// One skew sentence, starting with "The", ending with a full stop.
pub(crate) fn sentence(rng: &mut Rng) -> String {
    let n_skew = SKEW.len();
    let which = rng.below(n_skew + NEUTRAL_OCCUPATIONS.len());
    let (occupation, pronoun) = if which < n_skew {
        let (occ, favoured, rate) = SKEW[which];
        let p = if rng.chance(rate) {
            favoured
        } else {
            other_pronoun(favoured)
        };
        (occ, p)
    } else {
        let occ = NEUTRAL_OCCUPATIONS[which - n_skew];
        (occ, if rng.chance(0.5) { "she" } else { "he" })
    };
    let frame = rng.pick(SKEW_FRAMES);
    let clause = match rng.below(CLAUSES.len() + 3) {
        i if i < CLAUSES.len() => CLAUSES[i].to_string(),
        i if i == CLAUSES.len() => {
            let lost = thing(rng).one;
            format!("lost {}", a_thing(rng, lost))
        }
        i if i == CLAUSES.len() + 1 => format!("saw {}", with_article(animate(rng).one)),
        _ => format!("went to the {}", rng.pick(PLACES)),
    };
    format!("The {occupation} {frame} {pronoun} {clause}.")
}

/// Prompts that end right before the pronoun, with the favoured and the other pronoun.
pub fn skew_prompts() -> Vec<(String, &'static str, &'static str)> {
    let mut prompts = Vec::with_capacity(SKEW.len() * SKEW_FRAMES.len());
    for &(occupation, favoured, _) in SKEW {
        for frame in SKEW_FRAMES {
            prompts.push((
                format!("The {occupation} {frame}"),
                favoured,
                other_pronoun(favoured),
            ));
        }
    }
    prompts
}

/// Every word the skew sentences use, for the vocabulary set.
pub(crate) fn all_words() -> impl Iterator<Item = &'static str> {
    let occupations = SKEW
        .iter()
        .map(|s| s.0)
        .chain(NEUTRAL_OCCUPATIONS.iter().copied());
    occupations.chain(SKEW_FRAMES.iter().chain(CLAUSES).flat_map(|s| s.split(' ')))
}
