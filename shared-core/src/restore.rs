//! Redaction with restore (pure: hosts feed it bytes and send what it returns): the upstream LLM sees placeholders (`[EMAIL_1]`), the client gets its
//! original values back — in whole JSON responses and in server-sent-event streams, where a
//! placeholder may arrive split over several chunks (`[EM`, `AIL_`, `1]`).
//!
//! ```
//! use shared_core::restore::StreamRestorer;
//! let pairs = vec![("[EMAIL_1]".to_string(), "ann@example.com".to_string())];
//! let mut r = StreamRestorer::new(pairs);
//! let mut out = Vec::new();
//! for piece in [
//!     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Mail [EM\"}}]}\n\n",
//!     "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"AIL_1] now\"},\"finish_reason\":\"stop\"}]}\n\n",
//!     "data: [DONE]\n\n",
//! ] {
//!     out.extend(r.push(piece.as_bytes()));
//! }
//! out.extend(r.finish());
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.contains("Mail "));
//! assert!(text.contains("ann@example.com now"));
//! assert!(!text.contains("EMAIL_1"));
//! ```

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::Value;

/// Replaces every placeholder in `text` with its original value.
pub fn restore_text(text: &str, pairs: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (placeholder, original) in pairs {
        if out.contains(placeholder.as_str()) {
            out = out.replace(placeholder.as_str(), original);
        }
    }
    out
}

/// Restores placeholders in every string of a JSON value (a non-streamed completion).
pub fn restore_json(value: &mut Value, pairs: &[(String, String)]) {
    match value {
        Value::String(s) if s.contains('[') => *s = restore_text(s, pairs),
        Value::Array(items) => items.iter_mut().for_each(|v| restore_json(v, pairs)),
        Value::Object(map) => map.values_mut().for_each(|v| restore_json(v, pairs)),
        _ => {}
    }
}

/// Largest SSE event held while waiting for its end; past it the bytes pass through unchanged.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Most choices (chat) or output parts (Responses) with text held back at once: past it a new
/// one's possible placeholder start is sent as it is (its placeholder then stays unrestored), so
/// an upstream that streams ever new indices cannot grow what the restorer keeps.
const MAX_HELD: usize = 128;

/// Restores placeholders in an OpenAI chat-completions (or Responses API) SSE stream, chunk by
/// chunk.
///
/// Text that could be the start of a placeholder is held back until the next chunk decides it
/// (at most one placeholder's length per choice); everything else is emitted at once.
pub struct StreamRestorer {
    pairs: Vec<(String, String)>,
    /// Bytes of an event whose terminating blank line has not arrived yet.
    partial: Vec<u8>,
    /// Per choice index: content held back because it may be a split placeholder.
    held: BTreeMap<u64, String>,
    /// The last parsed chunk, as a template for flushing held text.
    template: Option<Value>,
    /// Responses API streams: per (output index, content index), the text held back and the
    /// last `response.output_text.delta` event of that part (the template to flush it with).
    held_parts: BTreeMap<(u64, u64), (String, Value)>,
}

/// The Responses API event that carries a piece of output text in `delta`.
const OUTPUT_TEXT_DELTA: &str = "response.output_text.delta";

impl StreamRestorer {
    /// A restorer for these placeholder → original pairs.
    pub fn new(pairs: Vec<(String, String)>) -> StreamRestorer {
        StreamRestorer {
            pairs,
            partial: Vec::new(),
            held: BTreeMap::new(),
            template: None,
            held_parts: BTreeMap::new(),
        }
    }

    /// Takes the next bytes of the upstream stream; returns the bytes to send to the client.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some((end, sep)) = event_end(&self.partial) {
            let event: Vec<u8> = self.partial.drain(..end + sep).collect();
            self.event(&event[..end], &event[end..], &mut out);
        }
        if self.partial.len() > MAX_EVENT_BYTES {
            out.append(&mut self.partial);
        }
        out
    }

    /// Ends the stream: anything still held is sent.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.flush_held(&mut out);
        self.flush_held_parts(&mut out);
        if !self.partial.is_empty() {
            let rest = core::mem::take(&mut self.partial);
            match core::str::from_utf8(&rest) {
                Ok(text) => out.extend_from_slice(restore_text(text, &self.pairs).as_bytes()),
                Err(_) => out.extend_from_slice(&rest),
            }
        }
        out
    }

    fn event(&mut self, body: &[u8], separator: &[u8], out: &mut Vec<u8>) {
        let Ok(text) = core::str::from_utf8(body) else {
            out.extend_from_slice(body);
            out.extend_from_slice(separator);
            return;
        };
        let data: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let payload = data.join("\n");
        if payload.trim() == "[DONE]" {
            self.flush_held(out);
            self.flush_held_parts(out);
            out.extend_from_slice(body);
            out.extend_from_slice(separator);
            return;
        }
        let Ok(mut chunk) = serde_json::from_str::<Value>(&payload) else {
            // Comments, keep-alives and anything not JSON: complete placeholders only.
            out.extend_from_slice(restore_text(text, &self.pairs).as_bytes());
            out.extend_from_slice(separator);
            return;
        };
        if let Some(kind) = chunk.get("type").and_then(Value::as_str) {
            if kind.starts_with("response.") {
                self.responses_event(text, separator, chunk, out);
                return;
            }
        }
        self.restore_chunk(&mut chunk);
        let mut template = chunk.clone();
        if let Some(choices) = template.get_mut("choices").and_then(Value::as_array_mut) {
            choices.clear();
        }
        self.template = Some(template);
        // Other lines of the event (event:, id:, retry:) are kept as they were.
        write_event(text, &chunk, separator, out);
    }

    fn restore_chunk(&mut self, chunk: &mut Value) {
        let Some(choices) = chunk.get_mut("choices").and_then(Value::as_array_mut) else {
            restore_json(chunk, &self.pairs);
            return;
        };
        for choice in choices.iter_mut() {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let finished = choice.get("finish_reason").is_some_and(|f| !f.is_null());
            if let Some(Value::String(content)) =
                choice.get_mut("delta").and_then(|d| d.get_mut("content"))
            {
                let mut text = self.held.remove(&index).unwrap_or_default();
                text.push_str(content);
                let keep = if finished || self.held.len() >= MAX_HELD {
                    0
                } else {
                    held_suffix(&text, &self.pairs)
                };
                let split = text.len() - keep;
                if keep > 0 {
                    self.held.insert(index, text[split..].to_string());
                }
                *content = restore_text(&text[..split], &self.pairs);
            } else if finished {
                if let Some(held) = self.held.remove(&index) {
                    if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
                        delta.insert(
                            "content".into(),
                            Value::String(restore_text(&held, &self.pairs)),
                        );
                    }
                }
            }
            // Complete placeholders anywhere else (tool-call arguments, refusals).
            restore_json(choice, &self.pairs);
        }
    }

    /// One Responses API event: an output-text delta is restored like a chat delta (a possible
    /// placeholder start held back until the part's next delta); any other event first flushes
    /// what is held (as delta events of their parts), then has its complete placeholders
    /// restored (`response.output_text.done`, `response.completed` carry the whole text).
    fn responses_event(
        &mut self,
        text: &str,
        separator: &[u8],
        mut event: Value,
        out: &mut Vec<u8>,
    ) {
        if event.get("type").and_then(Value::as_str) == Some(OUTPUT_TEXT_DELTA) {
            if let Some(Value::String(delta)) = event.get("delta") {
                let index = |k: &str| event.get(k).and_then(Value::as_u64).unwrap_or(0);
                let part = (index("output_index"), index("content_index"));
                let mut pending = self
                    .held_parts
                    .remove(&part)
                    .map(|(held, _)| held)
                    .unwrap_or_default();
                pending.push_str(delta);
                let keep = if self.held_parts.len() >= MAX_HELD {
                    0
                } else {
                    held_suffix(&pending, &self.pairs)
                };
                let split = pending.len() - keep;
                let restored = restore_text(&pending[..split], &self.pairs);
                if split < pending.len() {
                    let mut template = event.clone();
                    if let Some(map) = template.as_object_mut() {
                        map.remove("delta");
                    }
                    self.held_parts
                        .insert(part, (pending[split..].to_string(), template));
                }
                if let Some(map) = event.as_object_mut() {
                    map.insert("delta".into(), Value::String(restored));
                }
                write_event(text, &event, separator, out);
                return;
            }
        }
        self.flush_held_parts(out);
        restore_json(&mut event, &self.pairs);
        write_event(text, &event, separator, out);
    }

    /// Sends the Responses text held back, one delta event per part.
    fn flush_held_parts(&mut self, out: &mut Vec<u8>) {
        for (_, (held, mut event)) in core::mem::take(&mut self.held_parts) {
            if let Some(map) = event.as_object_mut() {
                map.insert(
                    "delta".into(),
                    Value::String(restore_text(&held, &self.pairs)),
                );
            }
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(OUTPUT_TEXT_DELTA.as_bytes());
            out.extend_from_slice(b"\ndata: ");
            out.extend_from_slice(event.to_string().as_bytes());
            out.extend_from_slice(b"\n\n");
        }
    }

    fn flush_held(&mut self, out: &mut Vec<u8>) {
        if self.held.is_empty() {
            return;
        }
        let held = core::mem::take(&mut self.held);
        let mut chunk = self
            .template
            .clone()
            .unwrap_or_else(|| serde_json::json!({"object": "chat.completion.chunk"}));
        let choices: Vec<Value> = held
            .into_iter()
            .map(|(index, text)| {
                serde_json::json!({
                    "index": index,
                    "delta": {"content": restore_text(&text, &self.pairs)},
                    "finish_reason": null,
                })
            })
            .collect();
        if let Some(map) = chunk.as_object_mut() {
            map.insert("choices".into(), Value::Array(choices));
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(chunk.to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
    }
}

/// Writes an event: its lines other than `data:` as they were, then `data:` with `payload`.
fn write_event(text: &str, payload: &Value, separator: &[u8], out: &mut Vec<u8>) {
    for line in text.lines().filter(|l| !l.starts_with("data:")) {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(payload.to_string().as_bytes());
    out.extend_from_slice(separator_or_default(separator));
}

fn separator_or_default(separator: &[u8]) -> &[u8] {
    if separator.is_empty() {
        b"\n\n"
    } else {
        separator
    }
}

/// Position and length of the first event terminator (`\n\n`, `\r\n\r\n` or `\r\r`).
fn event_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'\n', b'\n') | (b'\r', b'\r') => return Some((i, 2)),
            (b'\r', b'\n') if bytes.get(i + 2..i + 4) == Some(b"\r\n") => return Some((i, 4)),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Length of the suffix of `text` that is a strict prefix of some placeholder (to hold back).
fn held_suffix(text: &str, pairs: &[(String, String)]) -> usize {
    let Some(start) = text.rfind('[') else {
        return 0;
    };
    let tail = &text[start..];
    if pairs
        .iter()
        .any(|(p, _)| p.len() > tail.len() && p.starts_with(tail))
    {
        tail.len()
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    fn pairs() -> Vec<(String, String)> {
        vec![
            ("[EMAIL_1]".into(), "ann@example.com".into()),
            ("[PHONE_1]".into(), "+49 30 1234567".into()),
        ]
    }

    fn stream(contents: &[&str]) -> String {
        let mut s = String::new();
        for (i, c) in contents.iter().enumerate() {
            let finish = if i + 1 == contents.len() {
                serde_json::json!("stop")
            } else {
                Value::Null
            };
            let chunk = serde_json::json!({"id": "c1", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": finish}]});
            s.push_str(&format!("data: {chunk}\n\n"));
        }
        s.push_str("data: [DONE]\n\n");
        s
    }

    fn content_of(sse: &str) -> String {
        let mut text = String::new();
        for line in sse.lines() {
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            if data == "[DONE]" {
                continue;
            }
            let v: Value = serde_json::from_str(data).unwrap();
            for c in v["choices"].as_array().unwrap() {
                if let Some(s) = c["delta"]["content"].as_str() {
                    text.push_str(s);
                }
            }
        }
        text
    }

    fn run(input: &[u8], cuts: &[usize]) -> String {
        let mut r = StreamRestorer::new(pairs());
        let mut out = Vec::new();
        let mut last = 0;
        for &c in cuts {
            let c = c.min(input.len()).max(last);
            out.extend(r.push(&input[last..c]));
            last = c;
        }
        out.extend(r.push(&input[last..]));
        out.extend(r.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn split_placeholders_are_restored() {
        let sse = stream(&["Write to [", "EMAIL", "_1", "] or call [PHO", "NE_1]."]);
        let out = run(sse.as_bytes(), &[]);
        assert_eq!(
            content_of(&out),
            "Write to ann@example.com or call +49 30 1234567."
        );
        assert!(out.ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn held_text_stays_bounded_however_many_indices_stream() {
        // Each event opens a new choice (chat) or output part (Responses) ending in a possible
        // placeholder start; what is held never passes MAX_HELD, and no text is lost.
        let mut r = StreamRestorer::new(pairs());
        let mut out = Vec::new();
        let n = MAX_HELD as u64 * 3;
        for i in 0..n {
            let chunk = serde_json::json!({"object": "chat.completion.chunk",
                "choices": [{"index": i, "delta": {"content": "a [EM"}, "finish_reason": null}]});
            out.extend(r.push(format!("data: {chunk}\n\n").as_bytes()));
            let delta = serde_json::json!({"type": "response.output_text.delta",
                "output_index": i, "content_index": 0, "delta": "b [PH"});
            out.extend(r.push(format!("data: {delta}\n\n").as_bytes()));
            assert!(r.held.len() <= MAX_HELD && r.held_parts.len() <= MAX_HELD);
        }
        out.extend(r.finish());
        let out = String::from_utf8(out).unwrap();
        // Held text comes out later, in its own event: count the pieces.
        for piece in ["a ", "[EM", "b ", "[PH"] {
            assert_eq!(out.matches(piece).count() as u64, n, "{piece:?} lost");
        }
    }

    #[test]
    fn text_that_only_looks_like_a_placeholder_start_is_not_lost() {
        let sse = stream(&["see [E", "xample] and [EMAIL_", "2]", " end ["]);
        let out = run(sse.as_bytes(), &[3, 50, 51, 120]);
        assert_eq!(content_of(&out), "see [Example] and [EMAIL_2] end [");
    }

    #[test]
    fn held_text_is_flushed_when_the_stream_ends_without_finish_reason() {
        let chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": "mail [EMA"}, "finish_reason": null}]});
        let input = format!("data: {chunk}\n\ndata: [DONE]\n\n");
        let out = run(input.as_bytes(), &[]);
        assert_eq!(content_of(&out), "mail [EMA");
        let done = out.find("[DONE]").unwrap();
        assert!(out[..done].contains("[EMA"), "held text precedes [DONE]");
    }

    #[test]
    fn non_json_events_and_comments_pass() {
        let input = b": keep-alive\n\nevent: ping\ndata: hello [EMAIL_1]\n\n";
        let out = run(input, &[5]);
        assert_eq!(
            out,
            ": keep-alive\n\nevent: ping\ndata: hello ann@example.com\n\n"
        );
    }

    #[test]
    fn whole_json_responses_are_restored() {
        let mut v = serde_json::json!({"choices": [{"message": {"content": "Hi [EMAIL_1]", "tool_calls": [{"function": {"arguments": "{\"to\":\"[EMAIL_1]\"}"}}]}}]});
        restore_json(&mut v, &pairs());
        assert_eq!(v["choices"][0]["message"]["content"], "Hi ann@example.com");
        assert!(v.to_string().contains("ann@example.com\\\""));
    }

    fn responses_stream(deltas: &[&str]) -> String {
        let whole: String = deltas.concat();
        let mut events = vec![
            serde_json::json!({"type": "response.created", "response": {"id": "r1", "output": []}}),
        ];
        for (i, d) in deltas.iter().enumerate() {
            events.push(
                serde_json::json!({"type": "response.output_text.delta", "item_id": "m1",
                "output_index": 0, "content_index": 0, "delta": d, "sequence_number": i + 1}),
            );
        }
        events.push(
            serde_json::json!({"type": "response.output_text.done", "item_id": "m1",
            "output_index": 0, "content_index": 0, "text": whole}),
        );
        events.push(
            serde_json::json!({"type": "response.completed", "response": {"id": "r1",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": whole}]}]}}),
        );
        events
            .iter()
            .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
            .collect()
    }

    /// The concatenated deltas, the `done` text and the completed response's text.
    fn responses_texts(sse: &str) -> (String, String, String) {
        let (mut deltas, mut done, mut completed) = (String::new(), String::new(), String::new());
        let mut kind = "";
        for line in sse.lines() {
            if let Some(k) = line.strip_prefix("event: ") {
                kind = k;
            }
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(
                v["type"].as_str(),
                Some(kind),
                "event line matches the payload"
            );
            match kind {
                "response.output_text.delta" => deltas.push_str(v["delta"].as_str().unwrap()),
                "response.output_text.done" => done = v["text"].as_str().unwrap().into(),
                "response.completed" => {
                    completed = v["response"]["output"][0]["content"][0]["text"]
                        .as_str()
                        .unwrap()
                        .into()
                }
                _ => {}
            }
        }
        (deltas, done, completed)
    }

    #[test]
    fn responses_streams_are_restored_however_split() {
        let sse = responses_stream(&["Mail [EM", "AIL_1] or call [", "PHONE_1", "]. End [EMA"]);
        let want = "Mail ann@example.com or call +49 30 1234567. End [EMA";
        let bytes = sse.as_bytes();
        for a in (0..bytes.len()).step_by(3) {
            let b = (a * 7 + 13) % bytes.len();
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let (deltas, done, completed) = responses_texts(&run(bytes, &[lo, hi]));
            assert_eq!(deltas, want, "cuts {lo} {hi}");
            assert_eq!(
                done,
                "Mail ann@example.com or call +49 30 1234567. End [EMA"
            );
            assert_eq!(completed, done);
        }
        // The held "[EMA" goes out before the part's `done` event, as a delta of its part.
        let out = run(bytes, &[]);
        let done_at = out.find("response.output_text.done").unwrap();
        assert!(out[..done_at].contains("\"delta\":\"[EMA\""), "{out}");
    }

    /// A Responses stream whose deltas go to two interleaved output parts (part index, text).
    fn two_part_responses_stream(deltas: &[(usize, String)]) -> String {
        let mut whole = [String::new(), String::new()];
        let mut out =
            String::from("event: response.created\ndata: {\"type\":\"response.created\"}\n\n");
        for (part, d) in deltas {
            whole[*part].push_str(d);
            let e = serde_json::json!({"type": "response.output_text.delta",
                "output_index": part, "content_index": 0, "delta": d});
            out.push_str(&format!("event: response.output_text.delta\ndata: {e}\n\n"));
        }
        for (part, text) in whole.iter().enumerate() {
            let e = serde_json::json!({"type": "response.output_text.done",
                "output_index": part, "content_index": 0, "text": text});
            out.push_str(&format!("event: response.output_text.done\ndata: {e}\n\n"));
        }
        out
    }

    /// Per part: the concatenated deltas and the `done` text.
    fn texts_per_part(sse: &str) -> [(String, String); 2] {
        let mut parts: [(String, String); 2] = Default::default();
        for data in sse.lines().filter_map(|l| l.strip_prefix("data: ")) {
            let v: Value = serde_json::from_str(data).unwrap();
            let Some(part) = v["output_index"].as_u64() else {
                continue;
            };
            let slot = &mut parts[part as usize];
            match v["type"].as_str() {
                Some("response.output_text.delta") => slot.0.push_str(v["delta"].as_str().unwrap()),
                Some("response.output_text.done") => slot.1 = v["text"].as_str().unwrap().into(),
                _ => {}
            }
        }
        parts
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Whatever the deltas (placeholder pieces, stray brackets, two parts interleaved) and
        /// wherever the bytes are cut, each part's deltas add up to its restored text, and its
        /// `done` text is restored whole.
        #[test]
        fn responses_deltas_add_up_to_the_restored_text(
            deltas in proptest::collection::vec(
                (0usize..2, "(\\[|\\]|EMAIL_|PHONE_|1|2|_| |x|\\[EMAIL_1\\]|\\[PHONE_1\\]){0,6}"),
                0..12,
            ),
            cuts in proptest::collection::vec(0usize..4096, 0..4),
        ) {
            let sse = two_part_responses_stream(&deltas);
            let mut cuts = cuts;
            cuts.sort_unstable();
            let got = texts_per_part(&run(sse.as_bytes(), &cuts));
            let mut whole = [String::new(), String::new()];
            for (part, d) in &deltas {
                whole[*part].push_str(d);
            }
            for (part, text) in whole.iter().enumerate() {
                let want = restore_text(text, &pairs());
                proptest::prop_assert_eq!(&got[part].0, &want, "deltas of part {}", part);
                proptest::prop_assert_eq!(&got[part].1, &want, "done text of part {}", part);
            }
        }
    }

    #[test]
    fn every_split_of_the_stream_gives_the_same_content() {
        let sse = stream(&["A [EMAIL_1] B [PHONE_", "1] C [", "EMAIL_1]"]);
        let expected = "A ann@example.com B +49 30 1234567 C ann@example.com";
        let bytes = sse.as_bytes();
        for a in 0..bytes.len() {
            let b = (a * 7 + 13) % bytes.len();
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            assert_eq!(
                content_of(&run(bytes, &[lo, hi])),
                expected,
                "cuts {lo} {hi}"
            );
        }
    }
}
