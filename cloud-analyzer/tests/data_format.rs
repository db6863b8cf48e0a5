//! Property tests for the labelled-JSONL reader that `train`, `eval`, `crossval` and
//! `gen-sessions` share: any bytes give items or line-numbered errors, never a panic; every
//! well-formed line is read whatever other fields it carries; a file with errors yields no items.

use cloud_analyzer::learn::data::{parse_line, read};
use proptest::prelude::*;

fn label_strategy() -> impl Strategy<Value = (serde_json::Value, bool)> {
    prop_oneof![
        Just((serde_json::json!("malicious"), true)),
        Just((serde_json::json!("MALICIOUS"), true)),
        Just((serde_json::json!("Benign"), false)),
        Just((serde_json::json!(1), true)),
        Just((serde_json::json!(0), false)),
        Just((serde_json::json!(true), true)),
        Just((serde_json::json!(false), false)),
    ]
}

proptest! {
    #[test]
    fn any_bytes_give_items_or_numbered_errors(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let lines = bytes.split(|&b| b == b'\n').count();
        match read(&bytes[..]) {
            Ok(items) => prop_assert!(items.iter().all(|i| !i.text.is_empty())),
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| e.line <= lines));
            }
        }
    }

    #[test]
    fn well_formed_lines_are_read_whatever_else_they_carry(
        text in "\\PC{1,80}",
        (label, malicious) in label_strategy(),
        extra_name in "[a-z_]{1,12}",
        extra_value in any::<i64>(),
    ) {
        prop_assume!(!["text", "prompt", "label", "source", "category", "family"].contains(&extra_name.as_str()));
        let mut line = serde_json::json!({"text": text, "label": label});
        line[extra_name.as_str()] = serde_json::json!(extra_value);
        let item = parse_line(&line.to_string()).unwrap();
        prop_assert_eq!(&item.text, &text);
        prop_assert_eq!(item.malicious, malicious);
        let file = format!("{line}\n\n{line}\n");
        prop_assert_eq!(read(file.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn one_bad_line_fails_the_file_with_its_number(good in 1usize..20, bad_at in 0usize..20) {
        let bad_at = bad_at % (good + 1);
        let mut lines: Vec<String> = (0..good)
            .map(|i| serde_json::json!({"text": format!("prompt {i}"), "label": "benign"}).to_string())
            .collect();
        lines.insert(bad_at, r#"{"text": "x", "label": "spam"}"#.to_string());
        let errors = read(lines.join("\n").as_bytes()).unwrap_err();
        prop_assert_eq!(errors.len(), 1);
        prop_assert_eq!(errors[0].line, bad_at + 1);
    }
}
