//! The verdict: what the engine decided, how sure it is, and why.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::decode::Layer;
use crate::pii::DataKind;
use crate::request::Role;

/// The decision, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Pass the request on.
    Allow,
    /// Uncertain: ask the cloud analyzer.
    Escalate,
    /// Refuse the request.
    Block,
}

impl Decision {
    /// The lowercase name used in JSON and in `x-mnemosyne-verdict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Escalate => "escalate",
            Decision::Block => "block",
        }
    }
}

/// Which detector produced a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// A signature phrase or template pattern.
    Signature,
    /// A PII or secret detector.
    SensitiveData,
    /// An obfuscation signal (hidden or invisible characters, mixed scripts, encoded payloads).
    Obfuscation,
    /// The learned n-gram scorer.
    Learned,
    /// The request parser: content parts it passed on unread.
    Parser,
}

/// One piece of evidence behind a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The detector that fired.
    pub detector: Detector,
    /// What it is evidence of.
    pub category: Category,
    /// Which signature (`en:12`), data kind (`email`) or signal (`hidden_unicode_tags`).
    pub id: String,
    /// Its contribution after role and obfuscation adjustments (0 for flag-only signals).
    #[serde(serialize_with = "four_decimals")]
    pub weight: f32,
    /// The role that carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The message (or input item) index it was found in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<usize>,
    /// Where it was found: in plain text or under an encoding.
    pub layer: Layer,
}

/// A value replaced by a placeholder. The original is never part of the serialized verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redaction {
    /// The placeholder written in its place, e.g. `[EMAIL_1]`.
    pub placeholder: String,
    /// What kind of data it was.
    pub kind: DataKind,
    /// The message it was in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<usize>,
}

/// The engine's answer for one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// What to do (in monitor mode always `allow`; see `monitor`).
    #[serde(rename = "verdict")]
    pub decision: Decision,
    /// Combined score in [0, 1].
    #[serde(serialize_with = "four_decimals")]
    pub score: f32,
    /// Categories that fired, sorted and distinct.
    pub categories: Vec<Category>,
    /// The evidence, strongest first.
    pub reasons: Vec<Reason>,
    /// Values replaced by placeholders, when policy asked for redaction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Redaction>,
    /// In monitor mode: the decision that enforcement would have made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Decision>,
    /// The request body with placeholders in place of redacted values (when any were redacted
    /// and the request came from a body). Never serialized.
    #[serde(skip)]
    pub redacted_body: Option<String>,
    /// Placeholder → original pairs, for putting values back into responses. Never serialized.
    #[serde(skip)]
    pub restore: Vec<(String, String)>,
}

impl Verdict {
    /// Replaces every placeholder in `text` with its original value.
    pub fn restore_text(&self, text: &str) -> String {
        let mut out = String::from(text);
        for (placeholder, original) in &self.restore {
            if out.contains(placeholder.as_str()) {
                out = out.replace(placeholder.as_str(), original);
            }
        }
        out
    }

    /// The score formatted for the `x-mnemosyne-score` header (three decimals).
    pub fn score_header(&self) -> String {
        let milli = libm::roundf(self.score.clamp(0.0, 1.0) * 1000.0) as u32;
        alloc::format!("{}.{:03}", milli / 1000, milli % 1000)
    }
}

/// Serializes an `f32` as the nearest 4-decimal `f64`, so JSON shows `0.92`, not `0.9200000166`.
fn four_decimals<S: serde::Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(libm::round(f64::from(*x) * 10_000.0) / 10_000.0)
}
