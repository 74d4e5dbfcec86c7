//! Pattern blocks: documents that drill one kind of regularity, one line per item.
//!
//! - counting: number words up and down, counted objects, days, months, letters, ordinals;
//! - drills: agreement pairs, a/an, both word orders of the same action, pronouns;
//! - repeats: spans of random words that recur later in the same document, unmarked. Nothing but
//!   copying can predict the second copy, which is what makes induction heads form.

use super::names::{capitalise, story_name};
use super::phrases::{activity, weather, Gender};
use super::rng::Rng;
use super::vocab::*;
use super::{skew, MAX_DOC_CHARS};

/// Join lines until the text reaches `target` characters (never past the document cap).
fn fill(rng: &mut Rng, target: usize, mut line: impl FnMut(&mut Rng) -> String) -> String {
    let mut text = String::new();
    while text.len() < target {
        let next = line(rng);
        if text.len() + next.len() + 1 > MAX_DOC_CHARS {
            break;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&next);
    }
    text
}

/// `NUMBERS[from..=to]` as "one, two, three", capitalised.
fn count_words(from: usize, to: usize) -> String {
    capitalise(&NUMBERS[from..=to].join(", "))
}

/// A name and a gender, for lines that mention a person once.
fn person(rng: &mut Rng) -> (String, Gender) {
    let (full, _) = story_name(rng);
    (full, Gender::of_kind(rng.chance(0.5)))
}

/// Consecutive items of a cyclic list (days, months), starting anywhere.
fn run_of(rng: &mut Rng, list: &'static [&'static str], k: usize) -> Vec<&'static str> {
    let start = rng.below(list.len());
    (0..k).map(|i| list[(start + i) % list.len()]).collect()
}

/// "a, b and c".
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A block of counting and ordered-list lines.
pub(crate) fn counting_doc(rng: &mut Rng) -> String {
    let target = rng.range(400, 1100);
    fill(rng, target, |rng| match rng.below(10) {
        0 => {
            let from = if rng.chance(0.6) { 1 } else { rng.range(1, 12) };
            let to = (from + rng.range(2, 9)).min(20);
            if rng.chance(0.2) {
                let digits: Vec<String> = (from..=to).map(|n| n.to_string()).collect();
                format!("{}.", digits.join(", "))
            } else {
                format!("{}.", count_words(from, to))
            }
        }
        1 => {
            let from = rng.range(5, 10);
            let to = rng.range(0, 1);
            let down: Vec<&str> = (to..=from).rev().map(|n| NUMBERS[n]).collect();
            format!("{}.", capitalise(&down.join(", ")))
        }
        2 => {
            let (name, _) = person(rng);
            let what = thing(rng);
            let n = rng.range(1, 9);
            if n == 1 {
                format!("{name} has one {}. There is one {}.", what.one, what.one)
            } else {
                let counted = NUMBERS[1..=n].join(", ");
                format!(
                    "{name} has {} {}: {counted}. There are {} {}.",
                    NUMBERS[n], what.many, NUMBERS[n], what.many
                )
            }
        }
        3 => match rng.below(3) {
            0 => format!("The days of the week are {}.", and_list(DAYS)),
            1 => {
                let pair = run_of(rng, DAYS, 2);
                format!("After {} comes {}.", pair[0], pair[1])
            }
            _ => {
                let k = rng.range(3, 6);
                format!("{}.", run_of(rng, DAYS, k).join(", "))
            }
        },
        4 => {
            let k = rng.range(3, 6);
            if rng.chance(0.3) {
                let (name, _) = person(rng);
                format!("{name} was away in {}.", and_list(&run_of(rng, MONTHS, k)))
            } else {
                format!("{}.", run_of(rng, MONTHS, k).join(", "))
            }
        }
        5 => {
            let (name, g) = person(rng);
            let k = rng.range(2, 5);
            let steps: Vec<String> = ORDINALS
                .iter()
                .take(k)
                .enumerate()
                .map(|(i, ord)| {
                    let who = if i == 0 {
                        name.clone()
                    } else {
                        g.subject().to_string()
                    };
                    format!("{}, {who} {}.", capitalise(ord), activity(rng, g))
                })
                .collect();
            steps.join(" ")
        }
        6 => {
            let names: Vec<String> = (0..3).map(|_| person(rng).0).collect();
            format!(
                "{} came first, {} came second and {} came third.",
                names[0], names[1], names[2]
            )
        }
        7 => {
            let start = rng.range(0, 19);
            let k = rng.range(4, 7);
            let letters: Vec<String> = (start..start + k)
                .map(|i| char::from(b'a' + i as u8).to_string())
                .collect();
            format!("{}.", letters.join(", "))
        }
        8 => {
            let a = rng.range(1, 10);
            let b = rng.range(1, 10);
            format!(
                "{} and {} make {}.",
                capitalise(NUMBERS[a]),
                NUMBERS[b],
                NUMBERS[a + b]
            )
        }
        _ => {
            let what = thing(rng);
            let k = rng.range(3, 6);
            let items: Vec<String> = (1..=k)
                .map(|n| {
                    format!(
                        "{} {}",
                        NUMBERS[n],
                        if n == 1 { what.one } else { what.many }
                    )
                })
                .collect();
            format!("{}.", capitalise(&items.join(", ")))
        }
    })
}

/// A block of grammar drills: agreement, a/an, mirrored word orders, pronouns, the skew.
pub(crate) fn drill_doc(rng: &mut Rng) -> String {
    let target = rng.range(400, 1100);
    fill(rng, target, |rng| match rng.below(8) {
        0 => {
            let x = animate(rng);
            let verb = rng.pick(VERBS);
            let adv = rng.pick(ADVERBIALS);
            let one = format!("The {} {} {adv}.", x.one, verb.third);
            let many = format!("The {} {} {adv}.", x.many, verb.base);
            if rng.chance(0.5) {
                format!("{one} {many}")
            } else {
                format!("{many} {one}")
            }
        }
        1 => {
            let x = animate(rng);
            let adj = rng.pick(BEING_ADJECTIVES);
            let n = rng.range(2, 12);
            format!(
                "There is {}. There are {} {}. One {} is {adj}. {} {} are {adj}.",
                with_article(x.one),
                NUMBERS[n],
                x.many,
                x.one,
                capitalise(NUMBERS[n]),
                x.many
            )
        }
        2 => {
            let a = thing(rng).one;
            let b = thing(rng).one;
            let (a, b) = (a_thing(rng, a), a_thing(rng, b));
            format!("I have {a}. You have {b}.")
        }
        3 => {
            let x = animate(rng).one;
            let mut y = animate(rng).one;
            while y == x {
                y = animate(rng).one;
            }
            let action = rng.pick(ACTIONS);
            let (r1, r2) = (rng.pick(action.reactions), rng.pick(action.reactions));
            let past = action.past;
            // Both orders side by side: same words, opposite outcome.
            format!("The {x} {past} the {y}. The {y} {r1}. The {y} {past} the {x}. The {x} {r2}.")
        }
        4 => {
            let (name, g) = person(rng);
            let kind = if g == Gender::Female { "girl" } else { "boy" };
            let verb = rng.pick(VERBS);
            let adv = rng.pick(ADVERBIALS);
            format!(
                "{name} is {}. {} {} {adv}.",
                with_article(kind),
                capitalise(g.subject()),
                verb.third
            )
        }
        5 => {
            let (a, b) = (person(rng).0, person(rng).0);
            let verb = rng.pick(VERBS);
            format!(
                "{a} and {b} are friends. They {} {}.",
                verb.base,
                rng.pick(ADVERBIALS)
            )
        }
        6 => skew::sentence(rng),
        _ => {
            let x = animate(rng);
            let feeling = rng.pick(FEELINGS);
            if rng.chance(0.5) {
                format!(
                    "The {} was {feeling}. The {} were {feeling}.",
                    x.one, x.many
                )
            } else {
                format!(
                    "The {} were {feeling}. The {} was {feeling}.",
                    x.many, x.one
                )
            }
        }
    })
}

/// `n` words drawn uniformly from the span pool, space-separated.
pub(crate) fn random_words(rng: &mut Rng, n: usize) -> String {
    let pool = span_pool();
    (0..n).map(|_| rng.pick(pool)).collect::<Vec<_>>().join(" ")
}

/// A line of ordinary text between spans.
fn filler(rng: &mut Rng) -> String {
    if rng.chance(0.3) {
        return weather(rng);
    }
    let x = animate(rng);
    let verb = rng.pick(VERBS);
    format!("The {} {} {}.", x.one, verb.third, rng.pick(ADVERBIALS))
}

/// A document of random-word spans, each repeated later; returns the text and the spans.
pub(crate) fn repeat_doc(rng: &mut Rng) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut spans = Vec::new();
    if rng.chance(0.5) {
        text.push_str(&filler(rng));
    }
    for _ in 0..rng.range(1, 3) {
        let n_words = rng.range(8, 30);
        let span = random_words(rng, n_words);
        // Immediately (the probe's layout), after some text, or after an unrepeated distractor span.
        let gap = match rng.below(5) {
            0 | 1 => " ".to_string(),
            2 | 3 => {
                let lines: Vec<String> = (0..rng.range(1, 2)).map(|_| filler(rng)).collect();
                format!("\n{}\n", lines.join(" "))
            }
            _ => {
                let k = rng.range(5, 15);
                format!("\n{}\n", random_words(rng, k))
            }
        };
        let block = format!("{span}{gap}{span}");
        if !text.is_empty() && text.len() + block.len() + 1 > MAX_DOC_CHARS {
            break;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&block);
        spans.push(span);
    }
    (text, spans)
}
