//! The crate's one error type.
//!
//! Every failure the engine can report — unusable request bodies and invalid configuration — is an
//! [`Error`]. Hosts map it to an HTTP answer with [`Error::http_status`] and [`Error::code`], and to
//! the OpenAI-style body with [`crate::contract::error_body`].

use alloc::string::String;
use core::fmt;

/// Why a request body or a configuration could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The body is larger than the policy's `limits.max_body_bytes`.
    BodyTooLarge {
        /// The configured cap, in bytes.
        limit: usize,
        /// The size that was offered, in bytes.
        actual: usize,
    },
    /// The body is not valid UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        valid_up_to: usize,
    },
    /// The body nests arrays/objects deeper than the policy allows.
    TooDeep {
        /// The configured cap.
        limit: usize,
    },
    /// The body is not syntactically valid JSON.
    InvalidJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// A field has the wrong JSON type (for example `messages` is not an array).
    WrongType {
        /// JSON path of the field, e.g. `messages[2].content`.
        path: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// An object has a key that differs from a field the firewall reads only in case (or in
    /// the letters lenient parsers fold to ASCII: `ſ`, `K`, `ı`, `İ`): parsers that match keys without
    /// regard to case (Go's `encoding/json`, behind Ollama and many gateways) read it as that
    /// field, this one would not.
    AmbiguousKey {
        /// JSON path of the object, e.g. `messages[0]` (empty for the body itself).
        path: String,
        /// The key as sent (at most 64 characters of it).
        key: String,
        /// The field it would be read as.
        field: &'static str,
    },
    /// None of `messages`, `prompt` or `input` is present.
    MissingField {
        /// The field that was expected.
        field: &'static str,
    },
    /// More messages, content parts or text than the policy allows.
    TooMany {
        /// What overflowed (`messages`, `content parts`, `text bytes`).
        what: &'static str,
        /// The configured cap.
        limit: usize,
    },
    /// The policy (or another configuration input) is invalid.
    InvalidConfig {
        /// What is wrong, in words an operator can act on.
        message: String,
    },
}

impl Error {
    /// The HTTP status a host should answer with: `413` for size caps, `400` for malformed
    /// input, `500` for configuration errors (never the client's fault).
    pub fn http_status(&self) -> u16 {
        match self {
            Error::BodyTooLarge { .. } | Error::TooMany { .. } => 413,
            Error::InvalidConfig { .. } => 500,
            _ => 400,
        }
    }

    /// A stable, machine-readable code for the error body's `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::InvalidUtf8 { .. } => "invalid_utf8",
            Error::TooDeep { .. } => "nesting_too_deep",
            Error::InvalidJson { .. } => "invalid_json",
            Error::WrongType { .. } => "invalid_type",
            Error::AmbiguousKey { .. } => "ambiguous_key",
            Error::MissingField { .. } => "missing_field",
            Error::TooMany { .. } => "too_many_items",
            Error::InvalidConfig { .. } => "invalid_config",
        }
    }

    /// The OpenAI error `type` this error belongs to.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::InvalidConfig { .. } => "server_error",
            _ => "invalid_request_error",
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::InvalidConfig {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BodyTooLarge { limit, actual } => write!(
                f,
                "request body is {actual} bytes, over the limit of {limit} bytes"
            ),
            Error::InvalidUtf8 { valid_up_to } => {
                write!(f, "request body is not valid UTF-8 (at byte {valid_up_to})")
            }
            Error::TooDeep { limit } => {
                write!(f, "request body nests deeper than {limit} levels")
            }
            Error::InvalidJson {
                line,
                column,
                message,
            } => write!(
                f,
                "request body is not valid JSON at line {line}, column {column}: {message}"
            ),
            Error::WrongType { path, expected } => write!(f, "`{path}` must be {expected}"),
            Error::AmbiguousKey { path, key, field } => {
                let at = if path.is_empty() { "the body" } else { path };
                write!(
                    f,
                    "`{at}` has the key {key:?}, which some parsers read as `{field}` (they match keys in any case): spell it `{field}`"
                )
            }
            Error::MissingField { field } => write!(
                f,
                "request body has no `{field}` (expected a chat-completions `messages` array, a `prompt` or an `input`)"
            ),
            Error::TooMany { what, limit } => {
                write!(f, "request has more {what} than the limit of {limit}")
            }
            Error::InvalidConfig { message } => write!(f, "invalid configuration: {message}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
