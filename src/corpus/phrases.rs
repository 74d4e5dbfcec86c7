//! Phrases shared by stories, pattern blocks and probes.

use super::rng::Rng;
use super::vocab::*;

/// Grammatical gender of a character, which fixes its pronouns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gender {
    Female,
    Male,
}

impl Gender {
    pub(crate) fn of_kind(is_female: bool) -> Self {
        if is_female {
            Gender::Female
        } else {
            Gender::Male
        }
    }
    pub(crate) fn subject(self) -> &'static str {
        match self {
            Gender::Female => "she",
            Gender::Male => "he",
        }
    }
    pub(crate) fn possessive(self) -> &'static str {
        match self {
            Gender::Female => "her",
            Gender::Male => "his",
        }
    }
}

/// Something a character did, in the past tense ("went to the park").
pub(crate) fn activity(rng: &mut Rng, g: Gender) -> String {
    match rng.below(10) {
        0 => format!("went to the {}", rng.pick(PLACES)),
        1 => format!("ate {}", with_article(rng.pick(FOODS).one)),
        2 => format!("played with {} {}", g.possessive(), rng.pick(OBJECTS).one),
        3 => {
            let who = animate(rng).one;
            format!("saw {}", a_being(rng, who))
        }
        4 => "read a book".to_string(),
        5 => {
            let what = rng.pick(OBJECTS).one;
            format!("drew {}", a_thing(rng, what))
        }
        6 => "sang a song".to_string(),
        7 => format!(
            "cleaned the {}",
            rng.pick(&["kitchen", "house", "yard", "barn", "garden"])
        ),
        8 => {
            let relative = rng.pick(&[
                "friend",
                "grandmother",
                "grandfather",
                "aunt",
                "uncle",
                "cousin",
            ]);
            format!("visited {} {relative}", g.possessive())
        }
        _ => {
            let what = thing(rng).one;
            format!("found {}", a_thing(rng, what))
        }
    }
}

/// A sentence about the weather or the day, with no characters in it.
pub(crate) fn weather(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!(
            "It was a {} day.",
            rng.pick(&["sunny", "cold", "rainy", "warm", "windy", "quiet"])
        ),
        1 => format!(
            "The sun was {}.",
            rng.pick(&["bright", "warm", "low", "high"])
        ),
        _ => format!(
            "The sky was {}.",
            rng.pick(&["grey", "blue", "dark", "clear"])
        ),
    }
}
