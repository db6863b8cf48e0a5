//! Redaction with typed, numbered placeholders (`[EMAIL_1]`, `[OPENAI_KEY_2]`).
//!
//! Numbering is per kind across the whole request, and the same value always gets the same
//! placeholder, so a model can still tell "the same address" from "another address", and the
//! host can put originals back into the response.

use alloc::string::String;
use alloc::vec::Vec;

use crate::pii::{DataKind, Detection};
use crate::verdict::Redaction;

/// Assigns placeholders for one request.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    /// (kind, original, placeholder)
    seen: Vec<(DataKind, String, String)>,
    pub redactions: Vec<Redaction>,
}

impl Redactor {
    fn placeholder(&mut self, kind: DataKind, original: &str) -> String {
        if let Some((_, _, p)) = self
            .seen
            .iter()
            .find(|(k, o, _)| *k == kind && o == original)
        {
            return p.clone();
        }
        let n = self.seen.iter().filter(|(k, _, _)| *k == kind).count() + 1;
        let p = alloc::format!("[{}_{}]", kind.label(), n);
        self.seen.push((kind, String::from(original), p.clone()));
        p
    }

    /// `text` with every detection (sorted, non-overlapping) replaced by its placeholder.
    pub fn apply(
        &mut self,
        text: &str,
        detections: &[Detection],
        message: Option<usize>,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for d in detections {
            let (Some(before), Some(original)) = (text.get(at..d.start), text.get(d.start..d.end))
            else {
                continue;
            };
            out.push_str(before);
            let p = self.placeholder(d.kind, original);
            out.push_str(&p);
            self.redactions.push(Redaction {
                placeholder: p,
                kind: d.kind,
                message,
            });
            at = d.end;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        out
    }

    /// Placeholder → original pairs.
    pub fn restore_pairs(&self) -> Vec<(String, String)> {
        self.seen
            .iter()
            .map(|(_, o, p)| (p.clone(), o.clone()))
            .collect()
    }
}
