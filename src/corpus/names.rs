//! Made-up names, so that a name can only be predicted by copying it from earlier in the text.
//!
//! Names are built from syllables (onset, vowel, coda) over the whole alphabet, 1–4 syllables long,
//! with consonant clusters and the rarer letters (j k q v w x y z) now and then, so every piece a
//! tokenizer can split a new name into is seen often in training.
//!
//! The space of name-shaped words is split in two by a hash: one eighth is reserved for evaluation
//! ([`novel_name`]) and never used in training text. So a copy test's name is guaranteed new to the
//! model while having exactly the same shape and letter statistics as the names it trained on.

use super::rng::Rng;
use super::vocab::is_vocab_word;

const ONSETS: &[(&str, u32)] = &[
    ("b", 6),
    ("c", 4),
    ("d", 6),
    ("f", 4),
    ("g", 4),
    ("h", 4),
    ("l", 7),
    ("m", 7),
    ("n", 6),
    ("p", 5),
    ("r", 7),
    ("s", 7),
    ("t", 7),
    ("j", 2),
    ("k", 3),
    ("q", 1),
    ("v", 2),
    ("w", 2),
    ("x", 1),
    ("y", 1),
    ("z", 2),
];

const CLUSTERS: &[&str] = &[
    "bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gl", "gr", "kl", "kr", "pl", "pr", "sc",
    "sh", "sk", "sl", "sm", "sn", "sp", "st", "str", "sv", "th", "tr", "tw", "vr", "wr", "zh",
    "zv", "ph", "gw", "kw", "vl", "xh",
];

const VOWELS: &[(&str, u32)] = &[("a", 6), ("e", 6), ("i", 5), ("o", 5), ("u", 3), ("y", 1)];

const DIPHTHONGS: &[&str] = &[
    "ai", "au", "ea", "ei", "ia", "ie", "io", "oa", "oo", "ou", "ua", "ue", "ya", "yo", "ae",
];

const CODAS: &[&str] = &[
    "n", "r", "l", "s", "m", "k", "t", "x", "z", "v", "d", "g", "nd", "rk", "st", "sh", "th", "ck",
    "lm", "rn", "ks", "nk", "j", "w", "y", "q",
];

/// Which half of name space a word belongs to (FNV-1a over its lowercase bytes).
fn is_reserved(word: &str) -> bool {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h.is_multiple_of(8)
}

/// One lowercase name-shaped word, not yet filtered.
fn raw_word(rng: &mut Rng) -> String {
    let syllables = 1 + rng.weighted(&[15, 45, 30, 10]);
    let mut word = String::with_capacity(12);
    let mut after_coda = false;
    for i in 0..syllables {
        let last = i + 1 == syllables;
        let roll = rng.below(100);
        if i == 0 && roll < 15 {
            // Vowel-initial names (Ilsa, Ombre) so capital vowels are trained too.
        } else if !after_coda && roll >= 75 {
            word.push_str(rng.pick(CLUSTERS));
        } else {
            let onset = rng.pick_weighted(ONSETS);
            // "q" is mostly "qu", as in English, but not always, so "Q" alone still occurs.
            word.push_str(if onset == "q" && rng.chance(0.7) {
                "qu"
            } else {
                onset
            });
        }
        if rng.chance(0.2) {
            word.push_str(rng.pick(DIPHTHONGS));
        } else {
            word.push_str(rng.pick_weighted(VOWELS));
        }
        after_coda = rng.chance(if last { 0.5 } else { 0.25 });
        if after_coda {
            word.push_str(rng.pick(CODAS));
        }
    }
    word
}

/// A capitalised name word from the training (`reserved == false`) or evaluation half.
fn name_word(rng: &mut Rng, reserved: bool) -> String {
    loop {
        let word = raw_word(rng);
        if (3..=12).contains(&word.len()) && !is_vocab_word(&word) && is_reserved(&word) == reserved
        {
            return capitalise(&word);
        }
    }
}

/// `word` with its first letter upper-case.
pub(crate) fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A training name: one word or two (first name and an independently made surname).
/// Returns (full name, first word).
pub(crate) fn story_name(rng: &mut Rng) -> (String, String) {
    let first = name_word(rng, false);
    if rng.chance(0.4) {
        let last = name_word(rng, false);
        (format!("{first} {last}"), first)
    } else {
        (first.clone(), first)
    }
}

/// A made-up name for evaluation: same shape as training names, but drawn from the reserved part
/// of name space, so none of its words ever occurs in text from [`generate`](super::generate) or
/// [`held_out`](super::held_out). One word or two.
pub fn novel_name(rng: &mut Rng) -> String {
    let first = name_word(rng, true);
    if rng.chance(0.5) {
        format!("{first} {}", name_word(rng, true))
    } else {
        first
    }
}

/// True when `word` (any case) could be a training name word: used by tests.
#[cfg(test)]
pub(crate) fn is_training_name_word(word: &str) -> bool {
    !is_reserved(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_the_alphabet_and_vary_in_length() {
        let mut rng = Rng::new(3);
        let mut letters = [false; 26];
        let mut lengths = std::collections::BTreeSet::new();
        for _ in 0..3000 {
            let (full, first) = story_name(&mut rng);
            assert!(full.starts_with(&first));
            for word in full.split(' ') {
                assert!(
                    word.chars().next().is_some_and(|c| c.is_ascii_uppercase()),
                    "{word}"
                );
                assert!(is_training_name_word(word));
                lengths.insert(word.len());
            }
            for b in full
                .to_ascii_lowercase()
                .bytes()
                .filter(u8::is_ascii_lowercase)
            {
                letters[usize::from(b - b'a')] = true;
            }
        }
        assert!(letters.iter().all(|&l| l), "missing letters: {letters:?}");
        assert!(lengths.len() >= 8, "lengths {lengths:?}");
    }

    #[test]
    fn novel_names_come_from_the_reserved_half() {
        let mut rng = Rng::new(9);
        for _ in 0..500 {
            let name = novel_name(&mut rng);
            assert!(name.split(' ').all(|w| !is_training_name_word(w)), "{name}");
        }
    }
}
