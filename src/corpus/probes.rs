//! Evaluation material for tests of the trained model: copy probes and repeated random words.
//!
//! Both come from their own seed streams (salted), never from the training stream.

use super::names::novel_name;
use super::patterns::random_words;
use super::phrases::{activity, weather, Gender};
use super::rng::Rng;
use super::vocab::{with_article, ADVERBIALS, KINDS, PLACES, VERBS};

/// Salt for copy-probe seeds, so probes never share a stream with training documents.
const COPY_SALT: u64 = 0xC0B1_C0B1_5EED_0001;
/// Salt for repeated-random-word seeds.
const REPEAT_SALT: u64 = 0xC0B1_C0B1_5EED_0002;

/// A short held-out story that names a character with a novel name, then names them again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyProbe {
    /// The whole story.
    pub text: String,
    /// The novel name (one or two words), from [`novel_name`].
    pub name: String,
    /// Byte offset of the name's second occurrence in `text`. Both occurrences follow a space, so
    /// they tokenise alike; `text[..second_start]` is the prompt, and the name is what a model that
    /// copies should predict next.
    pub second_start: usize,
}

/// `n` copy probes for `seed`: "There was a girl named X. ... The next day, X went to the park."
///
/// Between the two mentions are one to three sentences with no names in them, so the only way to
/// predict the second mention is to look back at the first.
pub fn copy_probe(seed: u64, n: usize) -> Vec<CopyProbe> {
    (0..n)
        .map(|i| {
            let mut rng = Rng::stream(seed ^ COPY_SALT, i as u64);
            one_probe(&mut rng)
        })
        .collect()
}

fn one_probe(rng: &mut Rng) -> CopyProbe {
    let name = novel_name(rng);
    let (kind, female) = rng.pick(KINDS);
    let g = Gender::of_kind(female);
    let mut text = format!("There was {} named {name}.", with_article(kind));
    for i in 0..rng.range(1, 3) {
        let sentence = match rng.below(3) {
            0 if i > 0 => weather(rng),
            1 => {
                let verb = rng.pick(VERBS).base;
                format!(
                    "{} liked to {verb} {}.",
                    cap(g.subject()),
                    rng.pick(ADVERBIALS)
                )
            }
            _ => format!("{} {}.", cap(g.subject()), activity(rng, g)),
        };
        text.push(' ');
        text.push_str(&sentence);
    }
    text.push(' ');
    text.push_str(rng.pick(&["The next day,", "One morning,", "After that,", "Later,"]));
    text.push(' ');
    let second_start = text.len();
    text.push_str(&name);
    text.push_str(&format!(" went to the {}.", rng.pick(PLACES)));
    CopyProbe {
        text,
        name,
        second_start,
    }
}

fn cap(word: &str) -> String {
    super::names::capitalise(word)
}

/// `n_words` random common words, then the same words again, space-separated ("w1 … wn w1 … wn").
///
/// The same pool and layout as the repeated spans in training, but from a salted seed stream. An
/// induction head attends from each word of the second copy to the word after its first copy.
pub fn repeated_random_words(seed: u64, n_words: usize) -> String {
    let mut rng = Rng::stream(seed ^ REPEAT_SALT, n_words as u64);
    let span = random_words(&mut rng, n_words);
    if span.is_empty() {
        return span;
    }
    format!("{span} {span}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_probes_point_at_the_second_mention() {
        let probes = copy_probe(91, 300);
        assert_eq!(probes, copy_probe(91, 300));
        for p in &probes {
            assert_eq!(crate::corpus::count_name(&p.text, &p.name), 2, "{p:?}");
            assert!(p.text[p.second_start..].starts_with(&p.name), "{p:?}");
            assert_eq!(p.text.as_bytes()[p.second_start - 1], b' ');
            let first = p.text.find(&p.name).unwrap_or(usize::MAX);
            assert!(
                first < p.second_start && p.text.as_bytes()[first - 1] == b' ',
                "{p:?}"
            );
            assert!(p
                .name
                .split(' ')
                .all(|w| !crate::corpus::names::is_training_name_word(w)));
        }
        assert_ne!(copy_probe(92, 5), probes[..5]);
    }

    #[test]
    fn repeated_random_words_are_two_equal_halves() {
        for n in [1, 8, 20, 30] {
            let text = repeated_random_words(7, n);
            let w: Vec<&str> = text.split(' ').collect();
            assert_eq!(w.len(), 2 * n);
            assert_eq!(w[..n], w[n..]);
            assert_eq!(text, repeated_random_words(7, n));
        }
        assert_ne!(repeated_random_words(7, 20), repeated_random_words(8, 20));
        assert_eq!(repeated_random_words(7, 0), "");
    }
}
