//! Short stories: the bulk of the corpus.
//!
//! A story has one to three characters with made-up names, and is a run of templated events about
//! them. Events are chosen so that the mechanisms the lessons show are needed to predict the text:
//! names recur (copying), pronouns agree with a character's gender, "X verb Y. Y reacts." depends on
//! word order, "was/were" and "-s" agree with number, lists count and order, and occupations carry
//! the documented pronoun skew.

mod events;

use super::names::{capitalise, story_name};
use super::phrases::Gender;
use super::rng::Rng;
use super::vocab::*;
use super::{count_name, MAX_DOC_CHARS};

/// A story and the full names of its characters (each occurs at least three times).
pub(crate) struct StoryDoc {
    pub text: String,
    /// Read by the tests that check every name recurs.
    #[cfg_attr(not(test), allow(dead_code))]
    pub names: Vec<String>,
}

struct Character {
    full: String,
    first: String,
    gender: Gender,
    kind: &'static str,
}

struct Story<'r> {
    rng: &'r mut Rng,
    text: String,
    chars: Vec<Character>,
    /// Who the last sentence was about, so a pronoun is only used where it has a clear antecedent.
    last_subject: Option<usize>,
    pet: Noun,
}

/// One story, at most [`MAX_DOC_CHARS`] long.
pub(crate) fn story(rng: &mut Rng) -> StoryDoc {
    let mut target = rng.range(450, 1100);
    loop {
        let doc = Story::new(rng).write(target);
        // Closing sentences can push a long story past the cap; retry shorter (still deterministic).
        if doc.text.len() <= MAX_DOC_CHARS {
            return doc;
        }
        target = target.saturating_sub(250).max(100);
    }
}

impl<'r> Story<'r> {
    fn new(rng: &'r mut Rng) -> Self {
        let n_chars = 1 + rng.weighted(&[15, 60, 25]);
        let mut chars: Vec<Character> = Vec::with_capacity(n_chars);
        while chars.len() < n_chars {
            let (full, first) = story_name(rng);
            // Distinct words across characters, so "Tova" always means one person.
            let clash = chars
                .iter()
                .any(|c| full.split(' ').any(|w| c.full.split(' ').any(|x| x == w)));
            if clash {
                continue;
            }
            let (kind, female) = rng.pick(KINDS);
            chars.push(Character {
                full,
                first,
                gender: Gender::of_kind(female),
                kind,
            });
        }
        let pet = rng.pick(ANIMALS);
        Story {
            rng,
            text: String::new(),
            chars,
            last_subject: None,
            pet,
        }
    }

    fn write(mut self, target: usize) -> StoryDoc {
        self.intro();
        while self.text.len() < target {
            self.event();
        }
        self.closing();
        let names = self.chars.iter().map(|c| c.full.clone()).collect();
        StoryDoc {
            text: self.text,
            names,
        }
    }

    /// Add one event's sentences; events are sometimes split into paragraphs.
    fn emit(&mut self, sentences: &[String]) {
        for (i, s) in sentences.iter().enumerate() {
            if !self.text.is_empty() {
                let newline = i == 0 && self.rng.chance(0.1);
                self.text.push(if newline { '\n' } else { ' ' });
            }
            self.text.push_str(&capitalise(s));
        }
    }

    /// How a character is named mid-text: the full name, or (for two-word names) sometimes just the
    /// first word, as people do.
    fn name_ref(&mut self, i: usize) -> String {
        let c = &self.chars[i];
        if c.full != c.first && self.rng.chance(0.25) {
            c.first.clone()
        } else {
            c.full.clone()
        }
    }

    /// The subject of a new sentence about character `i`: a pronoun only when the previous sentence
    /// was about the same character, so the antecedent is always recoverable.
    fn subject(&mut self, i: usize) -> String {
        let pronoun = self.last_subject == Some(i) && self.rng.chance(0.5);
        self.last_subject = Some(i);
        if pronoun {
            self.chars[i].gender.subject().to_string()
        } else {
            self.name_ref(i)
        }
    }

    /// A character, the protagonist twice as often as each other one.
    fn pick_char(&mut self) -> usize {
        let n = self.chars.len();
        let roll = self.rng.below(n + 1);
        if roll >= n {
            0
        } else {
            roll
        }
    }

    /// Two different characters (needs at least two).
    fn pick_pair(&mut self) -> (usize, usize) {
        let a = self.pick_char();
        let b = (a + 1 + self.rng.below(self.chars.len() - 1)) % self.chars.len();
        (a, b)
    }

    fn intro(&mut self) {
        let place = self.rng.pick(PLACES);
        let c = &self.chars[0];
        let (full, kind, g) = (c.full.clone(), c.kind, c.gender);
        let first = match self.rng.below(5) {
            0 => vec![format!(
                "Once upon a time, there was {} named {full}.",
                with_article(kind)
            )],
            1 => {
                let adj = self.rng.pick(BEING_ADJECTIVES);
                vec![format!(
                    "There was once {} called {full}.",
                    with_article(&format!("{adj} {kind}"))
                )]
            }
            2 => vec![format!(
                "{full} was {} who lived near the {place}.",
                with_article(kind)
            )],
            3 => {
                // Gender shown only by the pronoun, which later pronouns must then agree with.
                let verb = self.rng.pick(VERBS).base;
                let adv = self.rng.pick(ADVERBIALS);
                vec![
                    format!("{full} lived in a small house near the {place}."),
                    format!("{} liked to {verb} {adv}.", g.subject()),
                ]
            }
            _ => vec![format!(
                "This is a story about {} named {full}.",
                with_article(kind)
            )],
        };
        self.emit(&first);
        self.last_subject = Some(0);
        for i in 1..self.chars.len() {
            let (full, kind) = (self.chars[i].full.clone(), self.chars[i].kind);
            let s = match self.rng.below(3) {
                0 => {
                    let s0 = self.subject(0);
                    format!("{s0} had a friend, {} named {full}.", with_article(kind))
                }
                1 => {
                    let s0 = self.subject(0);
                    format!("One day, {s0} met {} called {full}.", with_article(kind))
                }
                _ => {
                    self.last_subject = Some(i);
                    format!("{full} was {} who lived next door.", with_article(kind))
                }
            };
            self.emit(&[s]);
        }
    }

    /// Close the story, adding full-name mentions until every character has at least three.
    fn closing(&mut self) {
        for i in 0..self.chars.len() {
            while count_name(&self.text, &self.chars[i].full) < 3 {
                let full = self.chars[i].full.clone();
                let line = match self.rng.below(4) {
                    0 => format!("In the end, {full} was {}.", self.rng.pick(FEELINGS)),
                    1 => format!("Then {full} went home."),
                    2 => format!("That night, {full} slept well."),
                    _ => format!("Everyone liked {full}."),
                };
                self.last_subject = Some(i);
                self.emit(&[line]);
            }
        }
    }
}
