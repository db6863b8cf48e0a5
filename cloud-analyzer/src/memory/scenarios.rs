//! A seeded generator of multi-turn conversations from labelled prompts, for evaluating session
//! risk (`cloud-analyzer gen-sessions`, `eval-sessions`).
//!
//! The items are first split in two, per family: one half builds the conversations, the other
//! half is written out for training the models the evaluation uses, so no conversation turn
//! comes from a prompt the models were trained on.
//!
//! Conversation types (a *topic* turn is a benign prompt of the conversation's benign family;
//! a *borderline* turn is a hard negative — benign, but with attack vocabulary):
//!
//! | type | label | turns |
//! |---|---|---|
//! | `benign_long` | benign | 8–16, mostly topic, some borderline, a few off-topic |
//! | `benign_hard` | benign | 6–10, mostly borderline |
//! | `sudden_injection` | malicious | 5–10 topic, then one whole attack |
//! | `split_payload` | malicious | 1–3 topic, then an attack cut into consecutive fragments |
//! | `low_and_slow` | malicious | an attack cut into ≥ 4 fragments, 1–2 topic turns between them |
//! | `crescendo` | malicious | topic, a borderline turn, then four growing pieces of an attack |
//! | `poisoning` | malicious | 8–12 borderline turns, then an attack cut into fragments |
//! | `poisoning_control` | malicious | the same fragments after 1–2 topic turns |
//!
//! Fragments are 20–40 words (3 to 12 of them): pieces small enough not to stand out. Each
//! malicious conversation lists its `attack_turns`, which joined in order give the attack
//! whole, so an evaluation can tell the attacks no single prompt reveals from those the
//! detectors miss even whole.

use serde::{Deserialize, Serialize};

use crate::learn::data::Item;
use crate::learn::models::SplitMix;

/// One generated conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// `type-number`.
    pub id: String,
    /// The conversation type (see the module docs).
    #[serde(rename = "type")]
    pub kind: String,
    /// `malicious` or `benign`.
    pub label: String,
    /// Index of the first attack turn (malicious conversations).
    #[serde(default)]
    pub attack_start: Option<usize>,
    /// Indices of the turns that carry the attack (malicious conversations; empty in files
    /// written before it existed): joined in order they give the attack as one prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack_turns: Vec<usize>,
    /// The user turns, in order.
    pub turns: Vec<String>,
}

impl Scenario {
    /// Whether the conversation contains an attack.
    pub fn malicious(&self) -> bool {
        self.label == "malicious"
    }
}

/// Types whose attack is spread over several turns.
pub const MULTI_TURN_TYPES: [&str; 4] = ["split_payload", "low_and_slow", "crescendo", "poisoning"];

/// Every type, in report order.
pub const TYPES: [&str; 8] = [
    "benign_long",
    "benign_hard",
    "sudden_injection",
    "split_payload",
    "low_and_slow",
    "crescendo",
    "poisoning",
    "poisoning_control",
];

/// Splits items in two halves per family (seeded): `(scenario_half, training_half)`.
pub fn split_items(items: &[Item], seed: u64) -> (Vec<Item>, Vec<Item>) {
    let mut families: Vec<&str> = items.iter().map(|i| i.family.as_str()).collect();
    families.sort_unstable();
    families.dedup();
    let mut rng = SplitMix(seed ^ 0x5E55_1015);
    let (mut scenario, mut training) = (Vec::new(), Vec::new());
    for family in families {
        let mut members: Vec<&Item> = items.iter().filter(|i| i.family == family).collect();
        rng.shuffle(&mut members);
        let half = members.len() / 2;
        for (n, item) in members.into_iter().enumerate() {
            if n < half {
                scenario.push(item.clone());
            } else {
                training.push(item.clone());
            }
        }
    }
    (scenario, training)
}

/// Cuts a text into `parts` pieces of about equal word counts (at word boundaries).
pub fn fragments(text: &str, parts: usize) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let parts = parts.clamp(1, words.len().max(1));
    (0..parts)
        .map(|p| {
            let from = words.len() * p / parts;
            let to = words.len() * (p + 1) / parts;
            words[from..to].join(" ")
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Cuts a text into pieces whose sizes follow `weights` (for a crescendo).
fn growing(text: &str, weights: &[usize]) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let total: usize = weights.iter().sum();
    let mut out = Vec::new();
    let mut from = 0;
    let mut acc = 0;
    for w in weights {
        acc += w;
        let to = words.len() * acc / total;
        if to > from {
            out.push(words[from..to].join(" "));
        }
        from = to;
    }
    out
}

struct Pools<'a> {
    topics: Vec<Vec<&'a str>>,
    borderline: Vec<&'a str>,
    attacks: Vec<&'a str>,
    long_attacks: Vec<&'a str>,
}

impl<'a> Pools<'a> {
    fn new(items: &'a [Item]) -> Result<Pools<'a>, String> {
        let mut topic_names: Vec<&str> = items
            .iter()
            .filter(|i| !i.malicious && !i.category.starts_with("hard_negative"))
            .map(|i| i.family.as_str())
            .collect();
        topic_names.sort_unstable();
        topic_names.dedup();
        let topics: Vec<Vec<&str>> = topic_names
            .iter()
            .map(|f| {
                items
                    .iter()
                    .filter(|i| {
                        !i.malicious && i.family == *f && !i.category.starts_with("hard_negative")
                    })
                    .map(|i| i.text.as_str())
                    .collect::<Vec<_>>()
            })
            .filter(|v| v.len() >= 10)
            .collect();
        let borderline: Vec<&str> = items
            .iter()
            .filter(|i| !i.malicious && i.category.starts_with("hard_negative"))
            .map(|i| i.text.as_str())
            .collect();
        let attacks: Vec<&str> = items
            .iter()
            .filter(|i| i.malicious)
            .map(|i| i.text.as_str())
            .collect();
        let long_attacks: Vec<&str> = attacks
            .iter()
            .copied()
            .filter(|t| t.split_whitespace().count() >= 24)
            .collect();
        if topics.is_empty() || borderline.is_empty() || long_attacks.is_empty() {
            return Err(
                "the data needs benign families with ≥ 10 items, hard negatives \
                 (category hard_negative:*) and attacks of ≥ 24 words"
                    .into(),
            );
        }
        Ok(Pools {
            topics,
            borderline,
            attacks,
            long_attacks,
        })
    }
}

fn pick<'a>(rng: &mut SplitMix, pool: &[&'a str]) -> &'a str {
    pool[(rng.next_u64() % pool.len() as u64) as usize]
}

fn between(rng: &mut SplitMix, lo: usize, hi: usize) -> usize {
    lo + (rng.next_u64() % (hi - lo + 1) as u64) as usize
}

/// How many fragments an attack is cut into: pieces of 20–40 words (what a message that does
/// not stand out looks like), at least 3 and at most 12.
fn fragment_count(rng: &mut SplitMix, text: &str) -> usize {
    let words = text.split_whitespace().count();
    let size = between(rng, 20, 40);
    words.div_ceil(size).clamp(3, 12)
}

/// Generates `per_type` conversations of every type from `items` (use the scenario half of
/// [`split_items`]).
pub fn generate(items: &[Item], per_type: usize, seed: u64) -> Result<Vec<Scenario>, String> {
    let pools = Pools::new(items)?;
    let mut rng = SplitMix(seed);
    let mut out = Vec::new();
    let topic_turns = |rng: &mut SplitMix, topic: &[&str], n: usize| -> Vec<String> {
        (0..n).map(|_| pick(rng, topic).to_string()).collect()
    };
    for kind in TYPES {
        for n in 0..per_type {
            let topic = &pools.topics[(rng.next_u64() % pools.topics.len() as u64) as usize];
            let mut turns: Vec<String> = Vec::new();
            let mut attack_start = None;
            let mut attack_turns: Vec<usize> = Vec::new();
            let mut attack = |turns: &mut Vec<String>, piece: String| {
                attack_turns.push(turns.len());
                turns.push(piece);
            };
            match kind {
                "benign_long" => {
                    for _ in 0..between(&mut rng, 8, 16) {
                        let r = rng.next_u64() % 100;
                        let text = if r < 75 {
                            pick(&mut rng, topic)
                        } else if r < 90 {
                            pick(&mut rng, &pools.borderline)
                        } else {
                            let other = &pools.topics
                                [(rng.next_u64() % pools.topics.len() as u64) as usize];
                            pick(&mut rng, other)
                        };
                        turns.push(text.to_string());
                    }
                }
                "benign_hard" => {
                    for _ in 0..between(&mut rng, 6, 10) {
                        let text = if rng.next_u64() % 100 < 60 {
                            pick(&mut rng, &pools.borderline)
                        } else {
                            pick(&mut rng, topic)
                        };
                        turns.push(text.to_string());
                    }
                }
                "sudden_injection" => {
                    let k = between(&mut rng, 5, 10);
                    turns = topic_turns(&mut rng, topic, k);
                    attack_start = Some(turns.len());
                    attack(&mut turns, pick(&mut rng, &pools.attacks).to_string());
                }
                "split_payload" => {
                    let k = between(&mut rng, 1, 3);
                    turns = topic_turns(&mut rng, topic, k);
                    attack_start = Some(turns.len());
                    let payload = pick(&mut rng, &pools.long_attacks);
                    let parts = fragment_count(&mut rng, payload);
                    for piece in fragments(payload, parts) {
                        attack(&mut turns, piece);
                    }
                    if rng.next_u64() % 2 == 0 {
                        turns.push(pick(&mut rng, topic).to_string());
                    }
                }
                "low_and_slow" => {
                    let k = between(&mut rng, 1, 2);
                    turns = topic_turns(&mut rng, topic, k);
                    attack_start = Some(turns.len());
                    let payload = pick(&mut rng, &pools.long_attacks);
                    let parts = fragment_count(&mut rng, payload).max(4);
                    for fragment in fragments(payload, parts) {
                        attack(&mut turns, fragment);
                        let gap = between(&mut rng, 1, 2);
                        turns.extend(topic_turns(&mut rng, topic, gap));
                    }
                }
                "crescendo" => {
                    let k = between(&mut rng, 1, 2);
                    turns = topic_turns(&mut rng, topic, k);
                    turns.push(pick(&mut rng, &pools.borderline).to_string());
                    attack_start = Some(turns.len());
                    for piece in growing(pick(&mut rng, &pools.long_attacks), &[1, 2, 3, 4]) {
                        attack(&mut turns, piece);
                    }
                }
                "poisoning" | "poisoning_control" => {
                    // Both types draw the same attack for the same `n`: a paired comparison.
                    let mut paired = SplitMix(seed ^ 0x9015_0000 ^ n as u64);
                    let payload = pick(&mut paired, &pools.long_attacks);
                    let k = if kind == "poisoning" {
                        between(&mut rng, 8, 12)
                    } else {
                        between(&mut rng, 1, 2)
                    };
                    for _ in 0..k {
                        let text = if kind == "poisoning" {
                            pick(&mut rng, &pools.borderline)
                        } else {
                            pick(&mut rng, topic)
                        };
                        turns.push(text.to_string());
                    }
                    attack_start = Some(turns.len());
                    let parts = fragment_count(&mut paired, payload);
                    for piece in fragments(payload, parts) {
                        attack(&mut turns, piece);
                    }
                }
                _ => unreachable!("TYPES lists every kind handled above"),
            }
            let label = if attack_start.is_some() {
                "malicious"
            } else {
                "benign"
            };
            out.push(Scenario {
                id: format!("{kind}-{n:04}"),
                kind: kind.to_string(),
                label: label.to_string(),
                attack_start,
                attack_turns,
                turns,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str, malicious: bool, family: &str, category: &str) -> Item {
        Item {
            text: text.to_string(),
            malicious,
            source: "test".into(),
            category: category.into(),
            family: family.into(),
        }
    }

    fn items() -> Vec<Item> {
        let mut v = Vec::new();
        for i in 0..40 {
            v.push(item(
                &format!("benign topic prompt number {i}."),
                false,
                "b:a",
                "general",
            ));
            v.push(item(
                &format!("ignore safety words {i}."),
                false,
                "b:h",
                "hard_negative:x",
            ));
            let attack = (0..30)
                .map(|w| format!("w{i}x{w}"))
                .collect::<Vec<_>>()
                .join(" ");
            v.push(item(&attack, true, "m:x", "x"));
        }
        v
    }

    #[test]
    fn fragments_keep_every_word_in_order() {
        let text = "one two three four five six seven";
        let parts = fragments(text, 3);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.join(" "), text);
        assert_eq!(fragments("a b", 5), vec!["a", "b"]);
    }

    #[test]
    fn generation_is_seeded_and_halves_do_not_overlap() {
        let (scenario_half, training_half) = split_items(&items(), 1);
        assert_eq!(scenario_half.len() + training_half.len(), 120);
        for t in &training_half {
            assert!(!scenario_half.contains(t));
        }
        let a = generate(&scenario_half, 5, 9).unwrap();
        let b = generate(&scenario_half, 5, 9).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 5 * TYPES.len());
        for s in &a {
            assert_eq!(s.malicious(), s.attack_start.is_some(), "{}", s.id);
            if let Some(start) = s.attack_start {
                assert!(start < s.turns.len());
            }
            assert_eq!(s.malicious(), !s.attack_turns.is_empty(), "{}", s.id);
            if let (Some(start), Some(&first)) = (s.attack_start, s.attack_turns.first()) {
                assert_eq!(first, start, "{}: the first attack turn", s.id);
                assert!(s.attack_turns.windows(2).all(|w| w[0] < w[1]), "{}", s.id);
                assert!(
                    s.attack_turns.iter().all(|&t| t < s.turns.len()),
                    "{}",
                    s.id
                );
                // Joined in order, the attack turns are one whole attack of the scenario half.
                let joined: Vec<&str> = s
                    .attack_turns
                    .iter()
                    .map(|&t| s.turns[t].as_str())
                    .collect();
                let joined = joined.join(" ");
                assert!(
                    scenario_half.iter().any(|i| i.malicious
                        && i.text.split_whitespace().collect::<Vec<_>>().join(" ") == joined),
                    "{}: the attack turns do not join into an attack",
                    s.id
                );
            }
            for turn in &s.turns {
                let from_training = training_half.iter().any(|t| t.text.contains(turn.as_str()));
                assert!(!from_training, "{} uses a training prompt", s.id);
            }
        }
        let pair = |kind: &str, n: usize| {
            a.iter()
                .find(|s| s.id == format!("{kind}-{n:04}"))
                .unwrap()
                .clone()
        };
        let (p, c) = (pair("poisoning", 2), pair("poisoning_control", 2));
        let tail = |s: &Scenario| s.turns[s.attack_start.unwrap()..].to_vec();
        assert_eq!(
            tail(&p),
            tail(&c),
            "poisoning and its control share the attack"
        );
    }
}
