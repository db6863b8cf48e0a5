//! Labelled prompts in JSONL (`{"text", "label", "source", "category"}`, the format of
//! `shared/data/corpus.jsonl`; other fields are ignored, `prompt` is read as `text`, and labels
//! may also be 1/0 or true/false) and the source *families* the validation protocol holds out.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

/// Longest line accepted in a data file (a prompt plus its metadata).
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// One labelled prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The prompt.
    pub text: String,
    /// True for an attack.
    pub malicious: bool,
    /// Where it came from.
    pub source: String,
    /// The corpus's category label (`goal_hijacking`, `general:code_request`, …).
    pub category: String,
    /// The family this item belongs to (see [`family_of`]).
    pub family: String,
}

/// A data file that could not be used, with the line it failed on.
#[derive(Debug)]
pub struct DataError {
    /// 1-based line number (0 when the file itself failed).
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// One line. Fields other than these (an `id`, a language, notes) are metadata of the data set
/// and ignored, so a file with extra columns evaluates as it is.
#[derive(Deserialize)]
struct Line {
    /// The prompt (`prompt` is accepted as another name for it).
    #[serde(alias = "prompt")]
    text: String,
    label: serde_json::Value,
    #[serde(default)]
    source: String,
    #[serde(default)]
    category: String,
    /// Optional explicit family (generated data sets it); otherwise derived.
    #[serde(default)]
    family: Option<String>,
}

const LABEL_FORMS: &str =
    "label must be \"malicious\" or \"benign\" (any case), 1 or 0, or true or false (1 and true: malicious)";

/// A label as data sets write it: `"malicious"` / `"benign"` in any case, or 1 / 0 and true /
/// false with the attack as the positive class.
fn is_malicious(label: &serde_json::Value) -> Result<bool, String> {
    use serde_json::Value;
    match label {
        Value::String(name) if name.trim().eq_ignore_ascii_case("malicious") => Ok(true),
        Value::String(name) if name.trim().eq_ignore_ascii_case("benign") => Ok(false),
        Value::Bool(flag) => Ok(*flag),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        other => {
            let shown: String = other.to_string().chars().take(40).collect();
            Err(format!("{LABEL_FORMS}, got {shown}"))
        }
    }
}

/// Parses one JSONL line.
pub fn parse_line(line: &str) -> Result<Item, String> {
    let raw: Line = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let malicious = is_malicious(&raw.label)?;
    if raw.text.is_empty() {
        return Err("empty text".into());
    }
    let family = raw
        .family
        .unwrap_or_else(|| family_of(malicious, &raw.source, &raw.category));
    Ok(Item {
        text: raw.text,
        malicious,
        source: raw.source,
        category: raw.category,
        family,
    })
}

/// Reads a JSONL file. Every malformed line is reported with its number; blank lines are skipped.
pub fn load(path: &Path) -> Result<Vec<Item>, Vec<DataError>> {
    let file = std::fs::File::open(path).map_err(|e| {
        vec![DataError {
            line: 0,
            message: format!("cannot open {}: {e}", path.display()),
        }]
    })?;
    read(std::io::BufReader::new(file))
}

/// Reads JSONL from any reader (see [`load`]).
pub fn read(reader: impl BufRead) -> Result<Vec<Item>, Vec<DataError>> {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let number = i + 1;
        let bytes = match line {
            Ok(b) => b,
            Err(e) => {
                errors.push(DataError {
                    line: number,
                    message: format!("read error: {e}"),
                });
                break;
            }
        };
        if bytes.len() > MAX_LINE_BYTES {
            errors.push(DataError {
                line: number,
                message: format!("line longer than {MAX_LINE_BYTES} bytes"),
            });
            continue;
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            errors.push(DataError {
                line: number,
                message: "not valid UTF-8".into(),
            });
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(item) => items.push(item),
            Err(message) => errors.push(DataError {
                line: number,
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if items.is_empty() {
        return Err(vec![DataError {
            line: 0,
            message: "no items".into(),
        }]);
    }
    Ok(items)
}

/// The family of an item: groups of items that share a template or an origin, so that
/// validation can hold a whole family out (items within a family are correlated).
pub fn family_of(malicious: bool, source: &str, category: &str) -> String {
    let top = category.split(':').next().unwrap_or(category);
    let name = if malicious {
        if category.starts_with("jailbreak_in_the_wild") {
            "jailbreak_in_the_wild"
        } else if category.starts_with("jailbreak") {
            "jailbreak_template"
        } else if category == "goal_hijacking" || category == "prompt_leaking" {
            "promptinject"
        } else if category.starts_with("indirect_injection") {
            "latent_injection"
        } else if category.starts_with("prompt_extraction") {
            "sysprompt_extraction"
        } else if category.starts_with("encoded_injection") {
            "encoded_injection"
        } else {
            top
        }
    } else if source.contains("GPTeacher") {
        if source.contains("Roleplay") {
            "gpteacher_roleplay"
        } else if source.contains("Codegen") {
            "gpteacher_codegen"
        } else if source.contains("Toolformer") {
            "gpteacher_toolformer"
        } else {
            "gpteacher_other"
        }
    } else if source.contains("grade-school-math") {
        "grade_school_math"
    } else if category.starts_with("document_clean") || category.starts_with("general:instruction")
    {
        "garak_benign"
    } else {
        top
    };
    let side = if malicious { "m" } else { "b" };
    format!("{side}:{name}")
}

/// The family of [`joined_benign`] examples.
pub const JOINED_FAMILY: &str = "b:joined";

/// `n` benign examples made by joining 2–4 benign items (seeded), as consecutive turns of a
/// conversation read together are: the session analysis scores such joins, and a model that
/// only ever saw single prompts takes long joined text for a jailbreak (long prompts in the
/// corpus mostly are). A share `family_share` of the joins (0 = none, the shipped models) take
/// every part from the first part's family — a conversation often sends several texts of one
/// kind (two résumés, three WHOIS records), and uniform draws almost never pair a small
/// family's documents (2026-12-05: every false alarm on the generated benign conversations was
/// two such documents read together; measured in the README, not adopted). Family `b:joined`.
pub fn joined_benign(items: &[Item], n: usize, seed: u64, family_share: f64) -> Vec<Item> {
    let benign: Vec<&Item> = items.iter().filter(|i| !i.malicious).collect();
    if benign.len() < 2 {
        return Vec::new();
    }
    let mut by_family: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
    for item in &benign {
        by_family
            .entry(item.family.as_str())
            .or_default()
            .push(item);
    }
    let mut rng = crate::learn::models::SplitMix(seed ^ 0x101E_D000);
    (0..n)
        .map(|_| {
            let parts = 2 + (rng.next_u64() % 3) as usize;
            let first = benign[(rng.next_u64() % benign.len() as u64) as usize];
            // No draw at share 0: the same joins as before the option existed.
            let same_family =
                family_share > 0.0 && ((rng.next_u64() % 1_000_000) as f64) < family_share * 1e6;
            let pool: &[&Item] = match by_family.get(first.family.as_str()) {
                Some(kin) if same_family => kin,
                _ => &benign,
            };
            let text = core::iter::once(first.text.as_str())
                .chain((1..parts).map(|_| {
                    pool[(rng.next_u64() % pool.len() as u64) as usize]
                        .text
                        .as_str()
                }))
                .collect::<Vec<_>>()
                .join("\n");
            Item {
                text,
                malicious: false,
                source: "joined".into(),
                category: "joined".into(),
                family: JOINED_FAMILY.into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_reported_with_numbers() {
        let input = "{\"text\":\"hi\",\"label\":\"benign\"}\n\nnot json\n{\"text\":\"x\",\"label\":\"maybe\"}\n{\"text\":1,\"label\":\"benign\"}\n";
        let errors = read(input.as_bytes()).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(errors[1].message.contains("label"));
    }

    #[test]
    fn labels_are_read_in_the_forms_data_sets_use_and_extra_fields_are_ignored() {
        for (label, malicious) in [
            ("\"malicious\"", true),
            ("\"Malicious\"", true),
            ("\" BENIGN \"", false),
            ("1", true),
            ("0", false),
            ("true", true),
            ("false", false),
        ] {
            let line = format!(r#"{{"id":7,"text":"t","label":{label},"lang":"en","notes":null}}"#);
            let item = parse_line(&line).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(item.malicious, malicious, "{label}");
        }
        let item = parse_line(r#"{"prompt":"p","label":"benign"}"#).unwrap();
        assert_eq!(item.text, "p");
        for label in ["\"maybe\"", "2", "-1", "0.5", "null", "[1]", "{}"] {
            let line = format!(r#"{{"text":"t","label":{label}}}"#);
            let err = parse_line(&line).unwrap_err();
            assert!(err.contains("label"), "{label}: {err}");
        }
        // Both names for the text at once is ambiguous: an error, not a guess.
        assert!(parse_line(r#"{"text":"a","prompt":"b","label":"benign"}"#).is_err());
        assert!(parse_line(r#"{"label":"benign"}"#)
            .unwrap_err()
            .contains("text"));
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_skip() {
        let mut input = b"{\"text\":\"ok\",\"label\":\"benign\"}\n".to_vec();
        input.extend_from_slice(b"{\"text\":\"\xff\",\"label\":\"benign\"}\n");
        let errors = read(&input[..]).unwrap_err();
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn joined_examples_are_seeded_benign_joins() {
        let items: Vec<Item> = (0..6)
            .map(|i| Item {
                text: format!("prompt {i}"),
                malicious: i % 3 == 0,
                source: "s".into(),
                category: "c".into(),
                family: "f".into(),
            })
            .collect();
        let a = joined_benign(&items, 20, 1, 0.0);
        assert_eq!(a, joined_benign(&items, 20, 1, 0.0));
        assert_eq!(a.len(), 20);
        for j in &a {
            assert!(!j.malicious && j.family == JOINED_FAMILY);
            let parts: Vec<&str> = j.text.split('\n').collect();
            assert!((2..=4).contains(&parts.len()));
            // Only benign items (0 and 3 are malicious).
            assert!(parts.iter().all(|p| *p != "prompt 0" && *p != "prompt 3"));
        }
        assert!(joined_benign(&items[..1], 5, 1, 0.0).is_empty());
    }

    #[test]
    fn a_family_share_keeps_that_share_of_joins_to_one_family() {
        // 2 benign items of a small family among 98 of a large one: uniform draws would
        // almost never join the two small ones.
        let items: Vec<Item> = (0..100)
            .map(|i| Item {
                text: format!("prompt {i}"),
                malicious: false,
                source: "s".into(),
                category: "c".into(),
                family: if i < 2 { "b:small" } else { "b:large" }.into(),
            })
            .collect();
        let uniform = joined_benign(&items, 2_000, 7, 0.0);
        let joins = joined_benign(&items, 2_000, 7, 0.5);
        let small = |p: &str| p == "prompt 0" || p == "prompt 1";
        let starts_small: Vec<_> = joins
            .iter()
            .filter(|j| j.text.split('\n').next().is_some_and(small))
            .collect();
        let all_small = starts_small
            .iter()
            .filter(|j| j.text.split('\n').all(small))
            .count();
        // About 2 % start with a small-family item; about half of those stay in the family.
        assert!(starts_small.len() > 10, "{}", starts_small.len());
        let share = all_small as f64 / starts_small.len() as f64;
        assert!((0.3..0.75).contains(&share), "{share}");
        // Share 0: uniform draws, so two small-family parts almost never meet.
        let uniform_small = uniform
            .iter()
            .filter(|j| j.text.split('\n').all(small))
            .count();
        assert!(uniform_small <= 2, "{uniform_small}");
    }

    #[test]
    fn families() {
        assert_eq!(
            family_of(true, "garak", "indirect_injection:report"),
            "m:latent_injection"
        );
        assert_eq!(
            family_of(
                false,
                "github:teknium1/GPTeacher:Codegen/x.json",
                "general:code_request"
            ),
            "b:gpteacher_codegen"
        );
        let item = parse_line(r#"{"text":"t","label":"benign","family":"b:generated_x"}"#).unwrap();
        assert_eq!(item.family, "b:generated_x");
    }
}
