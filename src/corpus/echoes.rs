//! Echo lines: random words in which, half the time, the next word repeats the word before the last
//! ("sun cat sun hat sun ...").
//!
//! At every word the best guess is "the word just before this one, with even odds", so every word
//! needs the exact identity of the previous token. The copy is the prediction itself, so a head that
//! blurs the previous word with the ones further back spreads probability over words that are not
//! coming, and no later layer can make up for it: these lines reward a sharp previous-token head.
//! Models do grow such a head on these lines; how far it carries over to stories, at what share of
//! the corpus and after an echo-only start, is in the bundled model's MODEL_CARD.md (not far enough:
//! on stories the model puts the head to other uses).

use super::rng::Rng;
use super::vocab::span_pool;
use super::MAX_DOC_CHARS;

/// The chance that a word echoes the word two before it.
pub(crate) const ECHO_CHANCE: f64 = 0.5;

/// A document: one line of 60 to 180 words from the span pool.
pub(crate) fn echo_doc(rng: &mut Rng) -> String {
    let pool = span_pool();
    let n_words = rng.range(60, 180);
    let mut words: Vec<&str> = vec![rng.pick(pool), rng.pick(pool)];
    while words.len() < n_words {
        let word = if rng.chance(ECHO_CHANCE) {
            words[words.len() - 2]
        } else {
            rng.pick(pool)
        };
        words.push(word);
    }
    let mut text = String::new();
    for word in words {
        let sep = if text.is_empty() { "" } else { " " };
        if text.len() + sep.len() + word.len() > MAX_DOC_CHARS {
            break;
        }
        text.push_str(sep);
        text.push_str(word);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_half_the_words_echo_the_word_two_before() {
        let (mut echoes, mut words) = (0usize, 0usize);
        for i in 0..300 {
            let doc = echo_doc(&mut Rng::stream(21, i));
            assert!(doc.len() <= MAX_DOC_CHARS && !doc.contains('\n'), "doc {i}");
            let w: Vec<&str> = doc.split(' ').collect();
            assert!(w.len() >= 60, "doc {i}: {} words", w.len());
            assert!(w.iter().all(|x| span_pool().contains(x)), "doc {i}");
            echoes += w.windows(3).filter(|t| t[0] == t[2]).count();
            words += w.len() - 2;
        }
        // Echoes plus the chance that a random word happens to match.
        let rate = echoes as f64 / words as f64;
        let expected = ECHO_CHANCE + (1.0 - ECHO_CHANCE) / span_pool().len() as f64;
        assert!((rate - expected).abs() < 0.02, "echo rate {rate:.3}");
    }
}
