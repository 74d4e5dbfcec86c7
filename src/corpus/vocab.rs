//! The closed vocabulary the corpus is written in (about 700 words).
//!
//! Kept small on purpose: a 4-layer model with a 2k-token vocabulary must see every word often enough
//! to learn it, so that what it gets wrong is the mechanism a lesson is about, not a rare word.
//! No word here may need "an" where its spelling says "a" or the reverse (no "hour", "unicorn",
//! "one-..." words), so the a/an rule stays purely spelling-based and learnable.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::rng::Rng;

/// A countable noun with its plural.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Noun {
    pub one: &'static str,
    pub many: &'static str,
}

const fn n(one: &'static str, many: &'static str) -> Noun {
    Noun { one, many }
}

/// A verb in the three forms the templates need.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Verb {
    pub base: &'static str,
    pub third: &'static str,
    pub past: &'static str,
}

const fn v(base: &'static str, third: &'static str, past: &'static str) -> Verb {
    Verb { base, third, past }
}

/// A transitive action between two animate things, and how the one acted upon reacts.
///
/// The reaction is always about the object, so "The dog bit the man. The man ..." and
/// "The man bit the dog. The dog ..." differ exactly where word order says they should.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Action {
    pub past: &'static str,
    pub reactions: &'static [&'static str],
}

#[rustfmt::skip]
pub(crate) const PEOPLE: &[Noun] = &[
    n("man", "men"), n("woman", "women"), n("boy", "boys"), n("girl", "girls"),
    n("child", "children"), n("baby", "babies"), n("king", "kings"), n("queen", "queens"),
];

#[rustfmt::skip]
pub(crate) const ANIMALS: &[Noun] = &[
    n("dog", "dogs"), n("cat", "cats"), n("bird", "birds"), n("fox", "foxes"), n("horse", "horses"),
    n("cow", "cows"), n("pig", "pigs"), n("duck", "ducks"), n("frog", "frogs"), n("mouse", "mice"),
    n("bear", "bears"), n("lion", "lions"), n("wolf", "wolves"), n("rabbit", "rabbits"),
    n("goat", "goats"), n("monkey", "monkeys"), n("tiger", "tigers"), n("owl", "owls"),
    n("snake", "snakes"), n("hen", "hens"), n("bee", "bees"), n("puppy", "puppies"),
    n("kitten", "kittens"), n("elephant", "elephants"), n("ant", "ants"), n("eagle", "eagles"),
];

#[rustfmt::skip]
pub(crate) const ACTIONS: &[Action] = &[
    Action { past: "bit", reactions: &["was hurt", "cried", "ran away", "yelled"] },
    Action { past: "chased", reactions: &["ran away", "hid", "was scared", "climbed a tree"] },
    Action { past: "pushed", reactions: &["fell down", "was angry", "fell over"] },
    Action { past: "helped", reactions: &["was happy", "said thank you", "smiled"] },
    Action { past: "hugged", reactions: &["smiled", "was happy", "laughed"] },
    Action { past: "kicked", reactions: &["was hurt", "was angry", "cried"] },
    Action { past: "scared", reactions: &["ran away", "jumped", "hid"] },
    Action { past: "fed", reactions: &["was full", "was happy", "ate it all"] },
    Action { past: "called", reactions: &["came", "looked up", "did not hear"] },
    Action { past: "followed", reactions: &["turned around", "walked faster", "stopped"] },
    Action { past: "licked", reactions: &["laughed", "was wet"] },
    Action { past: "found", reactions: &["was glad", "was safe"] },
    Action { past: "tickled", reactions: &["laughed", "giggled"] },
    Action { past: "saw", reactions: &["waved", "looked back"] },
    Action { past: "woke", reactions: &["got up", "was tired"] },
    Action { past: "pulled", reactions: &["fell down", "was angry"] },
];

/// Intransitive verbs, for agreement ("the cat runs" / "the cats run") and for story events.
#[rustfmt::skip]
pub(crate) const VERBS: &[Verb] = &[
    v("run", "runs", "ran"), v("play", "plays", "played"), v("sleep", "sleeps", "slept"),
    v("jump", "jumps", "jumped"), v("sing", "sings", "sang"), v("swim", "swims", "swam"),
    v("walk", "walks", "walked"), v("sit", "sits", "sat"), v("hide", "hides", "hid"),
    v("dance", "dances", "danced"), v("laugh", "laughs", "laughed"), v("cry", "cries", "cried"),
    v("fly", "flies", "flew"), v("climb", "climbs", "climbed"), v("eat", "eats", "ate"),
    v("rest", "rests", "rested"), v("wait", "waits", "waited"), v("shout", "shouts", "shouted"),
    v("dig", "digs", "dug"), v("hop", "hops", "hopped"), v("smile", "smiles", "smiled"),
    v("work", "works", "worked"),
];

/// What can follow an intransitive verb in either number.
#[rustfmt::skip]
pub(crate) const ADVERBIALS: &[&str] = &[
    "in the park", "all day", "very fast", "at night", "in the morning", "in the sun", "slowly",
    "quickly", "a lot", "near the river", "under the tree", "after lunch", "in the garden",
    "by the door", "on the hill", "in the rain",
];

#[rustfmt::skip]
pub(crate) const OBJECTS: &[Noun] = &[
    n("ball", "balls"), n("book", "books"), n("box", "boxes"), n("cup", "cups"), n("hat", "hats"),
    n("key", "keys"), n("kite", "kites"), n("lamp", "lamps"), n("map", "maps"), n("pen", "pens"),
    n("rock", "rocks"), n("shoe", "shoes"), n("sock", "socks"), n("spoon", "spoons"),
    n("toy", "toys"), n("tree", "trees"), n("umbrella", "umbrellas"), n("envelope", "envelopes"),
    n("bag", "bags"), n("bell", "bells"), n("bike", "bikes"), n("boat", "boats"),
    n("bowl", "bowls"), n("bottle", "bottles"), n("candle", "candles"), n("car", "cars"),
    n("chair", "chairs"), n("clock", "clocks"), n("coat", "coats"), n("doll", "dolls"),
    n("drum", "drums"), n("flower", "flowers"), n("fork", "forks"), n("gift", "gifts"),
    n("horn", "horns"), n("jar", "jars"), n("leaf", "leaves"), n("letter", "letters"),
    n("pan", "pans"), n("plate", "plates"), n("ring", "rings"), n("rope", "ropes"),
    n("shell", "shells"), n("star", "stars"), n("stick", "sticks"), n("stone", "stones"),
    n("table", "tables"), n("ticket", "tickets"), n("train", "trains"), n("truck", "trucks"),
    n("wheel", "wheels"), n("window", "windows"), n("basket", "baskets"), n("blanket", "blankets"),
    n("brush", "brushes"), n("button", "buttons"), n("coin", "coins"), n("feather", "feathers"),
    n("balloon", "balloons"), n("mitten", "mittens"), n("pillow", "pillows"),
    n("pencil", "pencils"), n("puzzle", "puzzles"), n("robot", "robots"), n("scarf", "scarves"),
    n("whistle", "whistles"), n("wagon", "wagons"), n("apron", "aprons"), n("acorn", "acorns"),
    n("eraser", "erasers"), n("oven", "ovens"), n("anchor", "anchors"), n("arrow", "arrows"),
    n("engine", "engines"), n("ink pot", "ink pots"), n("igloo", "igloos"),
];

#[rustfmt::skip]
pub(crate) const FOODS: &[Noun] = &[
    n("apple", "apples"), n("cake", "cakes"), n("cookie", "cookies"), n("egg", "eggs"),
    n("banana", "bananas"), n("carrot", "carrots"), n("pear", "pears"), n("pie", "pies"),
    n("plum", "plums"), n("sandwich", "sandwiches"), n("orange", "oranges"), n("lemon", "lemons"),
    n("peach", "peaches"), n("cherry", "cherries"), n("potato", "potatoes"),
    n("tomato", "tomatoes"), n("onion", "onions"), n("olive", "olives"), n("muffin", "muffins"),
    n("nut", "nuts"),
];

/// Adjectives for things (size, colour, look).
#[rustfmt::skip]
pub(crate) const ADJECTIVES: &[&str] = &[
    "big", "small", "little", "old", "new", "red", "blue", "green", "yellow", "brown", "black",
    "white", "orange", "empty", "odd", "ugly", "open", "icy", "important", "shiny", "round",
    "heavy", "light", "dark", "bright", "strange", "wet", "dry", "clean", "dirty", "tiny", "huge",
    "pretty", "soft", "warm", "cold", "purple", "pink", "grey", "golden", "long", "fine",
];

/// Adjectives for people and animals: the thing adjectives that suit them, plus character.
#[rustfmt::skip]
pub(crate) const BEING_ADJECTIVES: &[&str] = &[
    "big", "small", "little", "old", "young", "brown", "black", "white", "grey", "tiny", "huge",
    "kind", "funny", "quiet", "loud", "fast", "slow", "tall", "short", "brave", "shy", "clever",
    "busy", "lazy", "gentle", "silly", "happy", "sad", "excited", "angry", "odd", "ugly", "eager",
];

#[rustfmt::skip]
pub(crate) const FEELINGS: &[&str] = &[
    "happy", "sad", "tired", "hungry", "scared", "angry", "excited", "proud", "sleepy", "bored",
    "surprised", "worried", "glad", "upset",
];

#[rustfmt::skip]
pub(crate) const PLACES: &[&str] = &[
    "park", "shop", "school", "garden", "farm", "forest", "beach", "river", "lake", "hill", "town",
    "market", "library", "kitchen", "house", "field", "bridge", "castle", "cave", "pond", "zoo",
    "city", "village", "station", "playground", "barn", "yard", "island", "mountain", "harbor",
    "museum", "bakery", "street", "woods",
];

/// Words for the characters of a story, with the pronoun set they take.
#[rustfmt::skip]
pub(crate) const KINDS: &[(&str, bool)] = &[
    // (noun, is_female) ("girl", true), ("boy", false), ("woman", true), ("man", false),
    ("princess", true), ("prince", false), ("queen", true), ("king", false), ("little girl", true),
    ("little boy", false), ("old woman", true), ("old man", false), ("lady", true),
];

#[rustfmt::skip]
pub(crate) const NUMBERS: &[&str] = &[
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty",
];

pub(crate) const ORDINALS: &[&str] = &[
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
];

pub(crate) const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub(crate) const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Short everyday words, used in random-word spans and to keep names from colliding with words.
#[rustfmt::skip]
pub(crate) const FUNCTION_WORDS: &[&str] = &[
    "the", "and", "but", "or", "so", "then", "he", "she", "it", "they", "we", "you", "i", "me",
    "him", "her", "his", "its", "their", "them", "was", "were", "is", "are", "has", "have", "had",
    "with", "to", "of", "in", "on", "at", "for", "from", "by", "up", "down", "out", "over", "under",
    "after", "before", "because", "that", "this", "there", "here", "very", "not", "no", "yes",
    "all", "some", "every", "day", "night", "home", "friend", "sun", "rain", "snow", "morning",
    "lunch", "said", "went", "saw", "liked", "came", "good", "bad", "thank", "once", "time", "upon",
    "named", "called", "lived", "near", "next", "later", "end", "soon", "again", "never", "always",
    "today", "little", "much", "many", "more", "who", "what", "when", "where", "how", "why", "a",
    "an",
];

/// Other words the templates write (kept here so the vocabulary stays one closed list).
#[rustfmt::skip]
pub(crate) const TEMPLATE_WORDS: &[&str] = &[
    "about", "asked", "aunt", "clear", "cleaned", "comes", "counted", "cousin", "days", "drew",
    "everyone", "friends", "fun", "gave", "grandfather", "grandmother", "high", "like", "lost",
    "low", "make", "met", "rainy", "read", "sky", "song", "story", "sunny", "sweet", "uncle",
    "visited", "want", "week", "well", "windy", "can", "things", "sang",
];

/// The letters, for alphabet runs ("c, d, e, f").
pub(crate) const LETTERS: &str = "abcdefghijklmnopqrstuvwxyz";

/// "a" or "an" for a following word, by spelling (the vocabulary has no exceptions to this).
pub(crate) fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u' | b'A' | b'E' | b'I' | b'O' | b'U') => "an",
        _ => "a",
    }
}

/// `word` with its indefinite article: "an apple", "a cat".
pub(crate) fn with_article(word: &str) -> String {
    format!("{} {word}", article(word))
}

/// "a/an [adjective] noun", with an adjective about half the time.
pub(crate) fn a_thing(rng: &mut Rng, noun: &str) -> String {
    if rng.chance(0.5) {
        with_article(&format!("{} {noun}", rng.pick(ADJECTIVES)))
    } else {
        with_article(noun)
    }
}

/// "a/an [adjective] person-or-animal", with an adjective about half the time.
pub(crate) fn a_being(rng: &mut Rng, noun: &str) -> String {
    if rng.chance(0.5) {
        with_article(&format!("{} {noun}", rng.pick(BEING_ADJECTIVES)))
    } else {
        with_article(noun)
    }
}

/// A person or an animal (for "X bit Y" sentences).
pub(crate) fn animate(rng: &mut Rng) -> Noun {
    if rng.chance(0.35) {
        rng.pick(PEOPLE)
    } else {
        rng.pick(ANIMALS)
    }
}

/// A countable thing, edible or not.
pub(crate) fn thing(rng: &mut Rng) -> Noun {
    if rng.chance(0.3) {
        rng.pick(FOODS)
    } else {
        rng.pick(OBJECTS)
    }
}

/// The pool random-word spans draw from: common content and function words, minus "a"/"an"
/// (whose article rule a random span would otherwise teach the model to break).
pub(crate) fn span_pool() -> &'static [&'static str] {
    static POOL: OnceLock<Vec<&'static str>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool: Vec<&'static str> = Vec::new();
        pool.extend(
            OBJECTS
                .iter()
                .filter(|o| !o.one.contains(' '))
                .map(|o| o.one),
        );
        pool.extend(FOODS.iter().map(|o| o.one));
        pool.extend(ANIMALS.iter().map(|o| o.one));
        pool.extend(PEOPLE.iter().map(|o| o.one));
        pool.extend(VERBS.iter().map(|v| v.base));
        pool.extend(ADJECTIVES.iter().chain(BEING_ADJECTIVES).copied());
        pool.extend(PLACES.iter().copied());
        pool.extend(
            FUNCTION_WORDS
                .iter()
                .copied()
                .filter(|w| !matches!(*w, "a" | "an" | "i")),
        );
        pool.sort_unstable();
        pool.dedup();
        pool
    })
}

/// Every word the corpus writes outside names (lowercase), so generated names never collide
/// with a real word and a test can tell names from vocabulary.
pub(crate) fn is_vocab_word(lower: &str) -> bool {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set: HashSet<String> = HashSet::new();
        let mut add = |w: &str| {
            for part in w.split(' ') {
                set.insert(part.to_ascii_lowercase());
            }
        };
        for list in [PEOPLE, ANIMALS, OBJECTS, FOODS] {
            for noun in list {
                add(noun.one);
                add(noun.many);
            }
        }
        for verb in VERBS {
            add(verb.base);
            add(verb.third);
            add(verb.past);
        }
        for action in ACTIONS {
            add(action.past);
            action.reactions.iter().for_each(|r| add(r));
        }
        for list in [
            ADVERBIALS,
            ADJECTIVES,
            BEING_ADJECTIVES,
            FEELINGS,
            PLACES,
            NUMBERS,
            ORDINALS,
            DAYS,
            MONTHS,
        ] {
            list.iter().for_each(|w| add(w));
        }
        KINDS.iter().for_each(|(k, _)| add(k));
        FUNCTION_WORDS
            .iter()
            .chain(TEMPLATE_WORDS)
            .for_each(|w| add(w));
        LETTERS.split("").for_each(&mut add);
        super::skew::all_words().for_each(add);
        set
    })
    .contains(lower)
}
