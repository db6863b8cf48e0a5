//! The request parser on arbitrary bytes: a typed error or a request, never a panic. The same
//! bytes are also sent as a file's `file_data` (inline, or after a text data-URL header): such
//! a part is either read as one text or noted as unread.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared_core::{Limits, Request};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::parse(data, &Limits::default()) {
        assert!(request.text_len() <= data.len());
    }
    let file_data = String::from_utf8_lossy(data);
    for header in ["", "data:text/plain;base64,"] {
        let body = serde_json::json!({"messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_data": format!("{header}{file_data}")}}]}]});
        let request = Request::parse(body.to_string().as_bytes(), &Limits::default())
            .expect("a well-formed file part parses");
        assert_eq!(request.segments.len() + request.unread.len(), 1);
        assert!(request.text_len() <= file_data.len());
    }
});
