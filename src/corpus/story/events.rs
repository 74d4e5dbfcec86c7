//! The events a story is made of, one or a few sentences each.

use super::Story;
use crate::corpus::phrases::{activity, weather};
use crate::corpus::skew;
use crate::corpus::vocab::*;

impl Story<'_> {
    pub(super) fn event(&mut self) {
        // Relative frequency of each match arm below, in order: go, see, have, give*, play*,
        // feeling, speech, names act*, animals act, agreement, counting, days, ordinals, skew, pet,
        // eat, weather. (* needs two characters; otherwise two animals act on each other.) The skew
        // weight gives about one skew sentence per story.
        const WEIGHTS: [u32; 17] = [8, 6, 5, 6, 5, 6, 6, 8, 9, 8, 4, 3, 3, 9, 4, 5, 3];
        let two = self.chars.len() >= 2;
        let sentences: Vec<String> = match self.rng.weighted(&WEIGHTS) {
            0 => {
                let c = self.pick_char();
                let s = self.subject(c);
                vec![format!("{s} went to the {}.", self.rng.pick(PLACES))]
            }
            1 => {
                let c = self.pick_char();
                let s = self.subject(c);
                let what = thing(self.rng).one;
                let what = a_thing(self.rng, what);
                vec![format!(
                    "{s} saw {what} near the {}.",
                    self.rng.pick(PLACES)
                )]
            }
            2 => {
                let c = self.pick_char();
                let s = self.subject(c);
                // No adjective here: the next sentence gives one, and two could contradict.
                let what = with_article(self.rng.pick(OBJECTS).one);
                self.last_subject = None;
                vec![
                    format!("{s} had {what}."),
                    format!("It was {}.", self.rng.pick(ADJECTIVES)),
                ]
            }
            3 if two => {
                let (a, b) = self.pick_pair();
                let sa = self.subject(a);
                let rb = self.name_ref(b);
                let what = thing(self.rng).one;
                let what = a_thing(self.rng, what);
                let sb = self.subject(b);
                vec![
                    format!("{sa} gave {rb} {what}."),
                    format!("{sb} said, \"Thank you!\""),
                ]
            }
            4 if two => {
                let (a, b) = self.pick_pair();
                let sa = self.subject(a);
                let rb = self.name_ref(b);
                self.last_subject = None;
                let adv = self.rng.pick(ADVERBIALS);
                let after =
                    self.rng
                        .pick(&["They had fun.", "They were happy.", "They were tired."]);
                vec![format!("{sa} and {rb} played {adv}."), after.to_string()]
            }
            5 => {
                let c = self.pick_char();
                let s = self.subject(c);
                let g = self.chars[c].gender;
                let feeling = self.rng.pick(FEELINGS);
                let (verb, what) = (
                    self.rng.pick(&["lost", "found"]),
                    self.rng.pick(OBJECTS).one,
                );
                vec![format!(
                    "{s} was {feeling} because {} {verb} {} {what}.",
                    g.subject(),
                    g.possessive()
                )]
            }
            6 => self.speech(),
            7 if two => {
                let (a, b) = self.pick_pair();
                let sa = self.subject(a);
                let rb = self.name_ref(b);
                let action = self.rng.pick(ACTIONS);
                // A pronoun for the one acted upon only where gender makes it unambiguous.
                let distinct = self.chars[a].gender != self.chars[b].gender;
                self.last_subject = Some(b);
                let sb = if distinct && self.rng.chance(0.4) {
                    self.chars[b].gender.subject().to_string()
                } else {
                    self.name_ref(b)
                };
                let reaction = self.rng.pick(action.reactions);
                vec![
                    format!("{sa} {} {rb}.", action.past),
                    format!("{sb} {reaction}."),
                ]
            }
            9 => self.agreement(),
            10 => {
                let c = self.pick_char();
                let s = self.subject(c);
                let what = thing(self.rng);
                let n = self.rng.range(2, 7);
                let count = NUMBERS[1..=n].join(", ");
                vec![
                    format!("{s} counted the {}: {count}.", what.many),
                    format!("There were {} {}.", NUMBERS[n], what.many),
                ]
            }
            11 => self.days(),
            12 => self.ordinals(),
            13 => {
                self.last_subject = None;
                vec![skew::sentence(self.rng)]
            }
            14 => {
                let c = self.pick_char();
                let s = self.subject(c);
                let pet = self.pet.one;
                let pet_phrase = a_being(self.rng, pet);
                self.last_subject = None;
                let verb = self.rng.pick(VERBS).base;
                vec![
                    format!("{s} had {pet_phrase}."),
                    format!("The {pet} liked to {verb}."),
                ]
            }
            15 => {
                let c = self.pick_char();
                let s = self.subject(c);
                let food = with_article(self.rng.pick(FOODS).one);
                let taste = self
                    .rng
                    .pick(&["sweet", "good", "soft", "warm", "cold", "big", "small"]);
                self.last_subject = None;
                vec![format!("{s} ate {food}."), format!("It was {taste}.")]
            }
            16 => {
                self.last_subject = None;
                vec![weather(self.rng)]
            }
            // Events that need two characters fall back to two animals acting on each other.
            _ => self.animal_svo(),
        };
        self.emit(&sentences);
    }

    /// "The dog bit the man. The man was hurt." — only word order says who reacts.
    fn animal_svo(&mut self) -> Vec<String> {
        let x = animate(self.rng).one;
        let mut y = animate(self.rng).one;
        while y == x {
            y = animate(self.rng).one;
        }
        let action = self.rng.pick(ACTIONS);
        let reaction = self.rng.pick(action.reactions);
        self.last_subject = None;
        vec![
            format!("The {x} {} the {y}.", action.past),
            format!("The {y} {reaction}."),
        ]
    }

    fn speech(&mut self) -> Vec<String> {
        let c = self.pick_char();
        match self.rng.below(3) {
            0 => {
                let what = thing(self.rng).one;
                let r = self.name_ref(c);
                self.last_subject = Some(c);
                vec![format!("\"I like this {what},\" said {r}.")]
            }
            1 => {
                let s = self.subject(c);
                vec![format!(
                    "{s} said, \"I want to {}.\"",
                    self.rng.pick(VERBS).base
                )]
            }
            _ => {
                let (verb, adv) = (self.rng.pick(VERBS).base, self.rng.pick(ADVERBIALS));
                let r = self.name_ref(c);
                self.last_subject = Some(c);
                vec![format!("\"Can we {verb} {adv}?\" asked {r}.")]
            }
        }
    }

    /// Number agreement: was/were after a counted noun, -s in the present tense.
    fn agreement(&mut self) -> Vec<String> {
        let x = animate(self.rng);
        let adj = self.rng.pick(BEING_ADJECTIVES);
        match self.rng.below(3) {
            0 => {
                let c = self.pick_char();
                let s = self.subject(c);
                let n = self.rng.range(2, 9);
                self.last_subject = None;
                vec![
                    format!(
                        "{s} saw {} {} near the {}.",
                        NUMBERS[n],
                        x.many,
                        self.rng.pick(PLACES)
                    ),
                    format!("The {} were {adj}.", x.many),
                ]
            }
            1 => {
                let c = self.pick_char();
                let s = self.subject(c);
                self.last_subject = None;
                let seen = a_being(self.rng, x.one);
                vec![
                    format!("{s} saw {seen}."),
                    format!("The {} was {adj}.", x.one),
                ]
            }
            _ => {
                let (verb, adv) = (self.rng.pick(VERBS), self.rng.pick(ADVERBIALS));
                self.last_subject = None;
                if self.rng.chance(0.5) {
                    vec![format!("Every day, the {} {} {adv}.", x.many, verb.base)]
                } else {
                    vec![format!("Every day, the {} {} {adv}.", x.one, verb.third)]
                }
            }
        }
    }

    /// "On Monday, Tova ... On Tuesday, she ..." over consecutive days.
    fn days(&mut self) -> Vec<String> {
        let c = self.pick_char();
        let g = self.chars[c].gender;
        let start = self.rng.below(DAYS.len());
        let k = self.rng.range(2, 4);
        let mut out = Vec::with_capacity(k);
        for step in 0..k {
            let who = if step == 0 {
                self.subject(c)
            } else {
                g.subject().to_string()
            };
            let what = activity(self.rng, g);
            out.push(format!(
                "On {}, {who} {what}.",
                DAYS[(start + step) % DAYS.len()]
            ));
        }
        out
    }

    /// "First, Tova ... Second, she ..."
    fn ordinals(&mut self) -> Vec<String> {
        let c = self.pick_char();
        let g = self.chars[c].gender;
        let k = self.rng.range(2, 4);
        let mut out = Vec::with_capacity(k);
        for (step, ordinal) in ORDINALS.iter().take(k).enumerate() {
            let who = if step == 0 {
                self.subject(c)
            } else {
                g.subject().to_string()
            };
            let what = activity(self.rng, g);
            out.push(format!("{ordinal}, {who} {what}."));
        }
        out
    }
}
