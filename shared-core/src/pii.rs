//! Personal data and secrets: linear scanners over the raw text, with checksums where the format
//! has one (Luhn for cards, mod-97 for IBANs) so that random digit runs do not count.
//!
//! Written by hand rather than with `regex`: the core is `no_std` (the `regex` crate needs `std`),
//! each detector is a single bounded pass, and the checksums need code anyway. Secret prefixes
//! are found in one Aho-Corasick pass.

use alloc::vec::Vec;
use serde::Serialize;

use crate::category::Category;
use crate::Error;

/// What kind of sensitive data a detection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// An email address.
    Email,
    /// A phone number (international or formatted national).
    Phone,
    /// A payment card number that passes the Luhn check.
    PaymentCard,
    /// An IBAN that passes the mod-97 check.
    Iban,
    /// A US social security number (`123-45-6789`).
    UsSsn,
    /// An IPv4 address.
    IpAddress,
    /// An OpenAI API key (`sk-…`, `sk-proj-…`).
    OpenaiKey,
    /// A Groq API key (`gsk_…`).
    GroqKey,
    /// An Anthropic API key (`sk-ant-…`).
    AnthropicKey,
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKey,
    /// A GitHub token (`ghp_…`, `github_pat_…`).
    GithubToken,
    /// A Slack token (`xoxb-…`).
    SlackToken,
    /// A Google API key (`AIza…`).
    GoogleApiKey,
    /// A Stripe secret or restricted key (`sk_live_…`).
    StripeKey,
    /// A PEM private-key block.
    PrivateKey,
    /// A JSON Web Token.
    Jwt,
}

impl DataKind {
    /// Personal data or a secret.
    pub fn category(self) -> Category {
        match self {
            DataKind::Email
            | DataKind::Phone
            | DataKind::PaymentCard
            | DataKind::Iban
            | DataKind::UsSsn
            | DataKind::IpAddress => Category::Pii,
            _ => Category::Secret,
        }
    }

    /// The label used in redaction placeholders (`[EMAIL_1]`).
    pub fn label(self) -> &'static str {
        match self {
            DataKind::Email => "EMAIL",
            DataKind::Phone => "PHONE",
            DataKind::PaymentCard => "CARD",
            DataKind::Iban => "IBAN",
            DataKind::UsSsn => "SSN",
            DataKind::IpAddress => "IP",
            DataKind::OpenaiKey => "OPENAI_KEY",
            DataKind::GroqKey => "GROQ_KEY",
            DataKind::AnthropicKey => "ANTHROPIC_KEY",
            DataKind::AwsAccessKey => "AWS_KEY",
            DataKind::GithubToken => "GITHUB_TOKEN",
            DataKind::SlackToken => "SLACK_TOKEN",
            DataKind::GoogleApiKey => "GOOGLE_KEY",
            DataKind::StripeKey => "STRIPE_KEY",
            DataKind::PrivateKey => "PRIVATE_KEY",
            DataKind::Jwt => "JWT",
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Email => "email",
            DataKind::Phone => "phone",
            DataKind::PaymentCard => "payment_card",
            DataKind::Iban => "iban",
            DataKind::UsSsn => "us_ssn",
            DataKind::IpAddress => "ip_address",
            DataKind::OpenaiKey => "openai_key",
            DataKind::GroqKey => "groq_key",
            DataKind::AnthropicKey => "anthropic_key",
            DataKind::AwsAccessKey => "aws_access_key",
            DataKind::GithubToken => "github_token",
            DataKind::SlackToken => "slack_token",
            DataKind::GoogleApiKey => "google_api_key",
            DataKind::StripeKey => "stripe_key",
            DataKind::PrivateKey => "private_key",
            DataKind::Jwt => "jwt",
        }
    }
}

/// A detected span of sensitive data (byte offsets into the scanned text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// What was found.
    pub kind: DataKind,
    /// Start byte offset.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
}

/// How a secret's body after its prefix looks.
#[derive(Clone, Copy)]
struct SecretRule {
    prefix: &'static str,
    kind: DataKind,
    min: usize,
    max: usize,
    charset: fn(u8) -> bool,
}

fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn alnum_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}
fn upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

const SECRET_RULES: &[SecretRule] = &[
    SecretRule {
        prefix: "sk-ant-",
        kind: DataKind::AnthropicKey,
        min: 20,
        max: 200,
        charset: token_char,
    },
    SecretRule {
        prefix: "sk-proj-",
        kind: DataKind::OpenaiKey,
        min: 20,
        max: 300,
        charset: token_char,
    },
    SecretRule {
        prefix: "sk-svcacct-",
        kind: DataKind::OpenaiKey,
        min: 20,
        max: 300,
        charset: token_char,
    },
    SecretRule {
        prefix: "sk-admin-",
        kind: DataKind::OpenaiKey,
        min: 20,
        max: 300,
        charset: token_char,
    },
    SecretRule {
        prefix: "sk-",
        kind: DataKind::OpenaiKey,
        min: 20,
        max: 200,
        charset: token_char,
    },
    SecretRule {
        prefix: "gsk_",
        kind: DataKind::GroqKey,
        min: 20,
        max: 200,
        charset: alnum,
    },
    SecretRule {
        prefix: "AKIA",
        kind: DataKind::AwsAccessKey,
        min: 16,
        max: 16,
        charset: upper_digit,
    },
    SecretRule {
        prefix: "ASIA",
        kind: DataKind::AwsAccessKey,
        min: 16,
        max: 16,
        charset: upper_digit,
    },
    SecretRule {
        prefix: "ghp_",
        kind: DataKind::GithubToken,
        min: 30,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "gho_",
        kind: DataKind::GithubToken,
        min: 30,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "ghu_",
        kind: DataKind::GithubToken,
        min: 30,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "ghs_",
        kind: DataKind::GithubToken,
        min: 30,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "ghr_",
        kind: DataKind::GithubToken,
        min: 30,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "github_pat_",
        kind: DataKind::GithubToken,
        min: 30,
        max: 255,
        charset: alnum_underscore,
    },
    SecretRule {
        prefix: "xoxb-",
        kind: DataKind::SlackToken,
        min: 10,
        max: 255,
        charset: alnum_dash,
    },
    SecretRule {
        prefix: "xoxp-",
        kind: DataKind::SlackToken,
        min: 10,
        max: 255,
        charset: alnum_dash,
    },
    SecretRule {
        prefix: "xoxa-",
        kind: DataKind::SlackToken,
        min: 10,
        max: 255,
        charset: alnum_dash,
    },
    SecretRule {
        prefix: "xoxr-",
        kind: DataKind::SlackToken,
        min: 10,
        max: 255,
        charset: alnum_dash,
    },
    SecretRule {
        prefix: "xoxs-",
        kind: DataKind::SlackToken,
        min: 10,
        max: 255,
        charset: alnum_dash,
    },
    SecretRule {
        prefix: "xoxe-",
        kind: DataKind::SlackToken,
        min: 10,
        max: 255,
        charset: alnum_dash,
    },
    SecretRule {
        prefix: "AIza",
        kind: DataKind::GoogleApiKey,
        min: 30,
        max: 40,
        charset: token_char,
    },
    SecretRule {
        prefix: "sk_live_",
        kind: DataKind::StripeKey,
        min: 16,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "sk_test_",
        kind: DataKind::StripeKey,
        min: 16,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "rk_live_",
        kind: DataKind::StripeKey,
        min: 16,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "rk_test_",
        kind: DataKind::StripeKey,
        min: 16,
        max: 255,
        charset: alnum,
    },
    SecretRule {
        prefix: "whsec_",
        kind: DataKind::StripeKey,
        min: 16,
        max: 255,
        charset: alnum,
    },
];

const PEM_BEGIN: &str = "-----BEGIN ";
const JWT_PREFIX: &str = "eyJ";
/// Longest private-key block redacted as one span.
const MAX_PEM: usize = 16 * 1024;

/// Shortest token run that can hold a secret (a Slack token: `xoxb-` and ten characters).
const MIN_SECRET_RUN: usize = 15;
/// Shortest token run worth reading: a JWT's first segment (`eyJ…`, ten characters or more).
const MIN_TOKEN_RUN: usize = 10;

/// Finds personal data and secrets. Stateless; `scan` allocates only its result.
#[derive(Debug, Clone, Default)]
pub struct Scanner {}

impl Scanner {
    /// A scanner (kept fallible so that compiled detectors can be added without an API change).
    pub fn new() -> Result<Scanner, Error> {
        Ok(Scanner {})
    }

    /// All detections in `text`, sorted by start, non-overlapping (longest wins).
    ///
    /// ```
    /// use shared_core::pii::{DataKind, Scanner};
    /// let found = Scanner::new().unwrap().scan("mail bob@example.com, card 4111 1111 1111 1111");
    /// let kinds: Vec<DataKind> = found.iter().map(|d| d.kind).collect();
    /// assert_eq!(kinds, [DataKind::Email, DataKind::PaymentCard]);
    /// ```
    pub fn scan(&self, text: &str) -> Vec<Detection> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        secrets(text, &mut found);
        // Emails need an `@`; numbers, IBANs and IP addresses need digits. Much text has neither.
        if bytes.contains(&b'@') {
            emails(bytes, &mut found);
        }
        if bytes.iter().any(u8::is_ascii_digit) {
            numbers(bytes, &mut found);
        }
        resolve(found)
    }
}

/// Secrets are long runs of token characters that start with a known prefix (checked only at
/// run starts, so ordinary words cost one comparison), JWTs (three dot-separated runs), and PEM
/// private-key blocks.
fn secrets(text: &str, out: &mut Vec<Detection>) {
    let bytes = text.as_bytes();
    // Every candidate is a run of at least MIN_TOKEN_RUN token characters, so it covers one of
    // the probe positions MIN_TOKEN_RUN apart: ordinary words are mostly skipped unread.
    let mut probe = MIN_TOKEN_RUN - 1;
    let mut done = 0usize;
    while probe < bytes.len() {
        if !token_char(bytes[probe]) {
            probe += MIN_TOKEN_RUN;
            continue;
        }
        let mut start = probe;
        while start > done && token_char(bytes[start - 1]) {
            start -= 1;
        }
        let len = run(bytes, start, token_char, usize::MAX);
        let mut end = start + len;
        let word = &bytes[start..end];
        if word.starts_with(JWT_PREFIX.as_bytes()) {
            if let Some(jwt_end) = jwt(bytes, start) {
                out.push(Detection {
                    kind: DataKind::Jwt,
                    start,
                    end: jwt_end,
                });
                end = end.max(jwt_end);
            }
        } else if len >= MIN_SECRET_RUN && (start == 0 || !token_char(bytes[start - 1])) {
            // Longest prefix wins (`sk-ant-` over `sk-`): the rules list longer prefixes first.
            if let Some(rule) = SECRET_RULES
                .iter()
                .find(|r| word.starts_with(r.prefix.as_bytes()))
            {
                let body = run(bytes, start + rule.prefix.len(), rule.charset, rule.max + 1);
                let after = start + rule.prefix.len() + body;
                let next_ok = !bytes.get(after).is_some_and(|b| (rule.charset)(*b));
                if body >= rule.min && body <= rule.max && next_ok {
                    out.push(Detection {
                        kind: rule.kind,
                        start,
                        end: after,
                    });
                }
            }
        }
        done = end;
        probe = end + MIN_TOKEN_RUN;
    }
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find(PEM_BEGIN)) {
        let start = from + at;
        match pem_block(text, start) {
            Some(end) => {
                out.push(Detection {
                    kind: DataKind::PrivateKey,
                    start,
                    end,
                });
                from = end.max(start + 1);
            }
            None => from = start + PEM_BEGIN.len(),
        }
    }
}

/// Length of the run of `pred` bytes at `from`, up to `cap`.
fn run(bytes: &[u8], from: usize, pred: impl Fn(u8) -> bool, cap: usize) -> usize {
    let end = from.saturating_add(cap).min(bytes.len());
    let mut i = from;
    while i < end && pred(bytes[i]) {
        i += 1;
    }
    i.saturating_sub(from)
}

fn find_within(hay: &[u8], needle: &[u8], limit: usize) -> Option<usize> {
    let hay = hay.get(..hay.len().min(limit + needle.len()))?;
    hay.windows(needle.len()).position(|w| w == needle)
}

fn pem_block(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let label_start = start + PEM_BEGIN.len();
    let close = find_within(bytes.get(label_start..)?, b"-----", 100)?;
    let label = bytes.get(label_start..label_start + close)?;
    if !label.ends_with(b"PRIVATE KEY")
        || !label.iter().all(|b| b.is_ascii_uppercase() || *b == b' ')
    {
        return None;
    }
    let body_start = label_start + close + 5;
    match find_within(bytes.get(body_start..)?, b"-----END ", MAX_PEM) {
        Some(e) => {
            let after = body_start + e + 9;
            let close = find_within(bytes.get(after..)?, b"-----", 100)?;
            Some(after + close + 5)
        }
        None => {
            let mut end = (body_start + MAX_PEM).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            Some(end)
        }
    }
}

fn jwt(bytes: &[u8], start: usize) -> Option<usize> {
    let b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let s1 = run(bytes, start, b64, 4096);
    if s1 < 10 || bytes.get(start + s1) != Some(&b'.') {
        return None;
    }
    let p2 = start + s1 + 1;
    let s2 = run(bytes, p2, b64, 8192);
    if s2 < 10 || bytes.get(p2 + s2) != Some(&b'.') {
        return None;
    }
    let p3 = p2 + s2 + 1;
    let s3 = run(bytes, p3, b64, 4096);
    Some(p3 + s3)
}

fn emails(bytes: &[u8], out: &mut Vec<Detection>) {
    let local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
    for (at, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'@') {
        let mut start = at;
        while start > 0 && at - start < 64 && local(bytes[start - 1]) {
            start -= 1;
        }
        while start < at && bytes[start] == b'.' {
            start += 1;
        }
        let mut end = at + 1 + run(bytes, at + 1, domain, 255);
        while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if start == at || end <= at + 1 {
            continue;
        }
        let dom = &bytes[at + 1..end];
        let Some(dot) = dom.iter().rposition(|b| *b == b'.') else {
            continue;
        };
        let tld = &dom[dot + 1..];
        if tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) && dom[0] != b'.' {
            out.push(Detection {
                kind: DataKind::Email,
                start,
                end,
            });
        }
    }
}

/// Cards, SSNs, phone numbers, IBANs and IPv4 addresses, in one pass that stops at digits. A
/// run of digit groups is tried at every group boundary, longest first, so that neighbouring
/// numbers (`123-45-6789 4111 …`) are found separately rather than merged into neither.
fn numbers(bytes: &[u8], out: &mut Vec<Detection>) {
    let is_sep = |c: u8| matches!(c, b' ' | b'-' | b'(' | b')' | b'.');
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let starts = b.is_ascii_digit()
            || ((b == b'+' || b == b'(') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts {
            i += 1;
            continue;
        }
        // An IBAN's check digits follow its two country letters directly.
        if b.is_ascii_digit() && i >= 2 {
            if let Some(end) = iban_at(bytes, i - 2) {
                out.push(Detection {
                    kind: DataKind::Iban,
                    start: i - 2,
                    end,
                });
                i = end;
                continue;
            }
        }
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.') {
            i += 1;
            continue;
        }
        if b.is_ascii_digit() {
            if let Some(end) = ipv4_at(bytes, i) {
                out.push(Detection {
                    kind: DataKind::IpAddress,
                    start: i,
                    end,
                });
                i = end;
                continue;
            }
        }
        // (end of the group, digits so far, separators so far) for each digit group.
        let mut groups: Vec<(usize, usize, usize)> = Vec::new();
        let (mut digits, mut seps) = (0usize, 0usize);
        let mut j = if matches!(b, b'+' | b'(') { i + 1 } else { i };
        while j < bytes.len() && digits <= 19 {
            if bytes[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                if !bytes.get(j).is_some_and(u8::is_ascii_digit) {
                    groups.push((j, digits, seps));
                }
                continue;
            }
            // A separator run of at most two characters (`) `, ` - `) followed by a digit;
            // two spaces end the number.
            let k = j + run(bytes, j, is_sep, 3);
            if k - j <= 2 && bytes[j..k] != *b"  " && bytes.get(k).is_some_and(u8::is_ascii_digit) {
                seps += 1;
                j = k;
            } else {
                break;
            }
        }
        let found = groups.iter().rev().find_map(|&(end, digits, _)| {
            let clean_end = !bytes.get(end).is_some_and(u8::is_ascii_alphanumeric);
            let kind = classify_number(&bytes[i..end], digits).filter(|_| clean_end)?;
            Some(Detection {
                kind,
                start: i,
                end,
            })
        });
        match found {
            Some(d) => {
                i = d.end;
                out.push(d);
            }
            None => {
                // Retry from the next digit group.
                let first_end = groups.first().map_or(i + 1, |g| g.0);
                i = (first_end..bytes.len())
                    .find(|&k| bytes[k].is_ascii_digit() || bytes[k] == b'(')
                    .unwrap_or(bytes.len())
                    .max(i + 1);
            }
        }
    }
}

fn classify_number(span: &[u8], digits: usize) -> Option<DataKind> {
    let ds: Vec<u8> = span
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0')
        .collect();
    let has_dot = span.contains(&b'.');
    // US SSN: exactly ddd-dd-dddd.
    if span.len() == 11 && span[3] == b'-' && span[6] == b'-' && digits == 9 {
        let area = u32::from(ds[0]) * 100 + u32::from(ds[1]) * 10 + u32::from(ds[2]);
        let group = ds[3] * 10 + ds[4];
        let serial = ds[5..].iter().fold(0u32, |a, d| a * 10 + u32::from(*d));
        if area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 {
            return Some(DataKind::UsSsn);
        }
    }
    // Payment card: 13–19 digits, separators only spaces or dashes, Luhn, known leading digit.
    if (13..=19).contains(&digits)
        && !has_dot
        && !span.contains(&b'(')
        && !span.starts_with(b"+")
        && matches!(ds[0], 2..=6)
        && luhn(&ds)
    {
        return Some(DataKind::PaymentCard);
    }
    // Phone: international (`+` and 10–15 digits), `(415) 555-2671`, or three groups shaped
    // 3-3-4 (`415-555-2671`, `415.555.2671`, `415 555 2671`).
    let groups: Vec<usize> = span
        .split(|b| !b.is_ascii_digit())
        .map(<[u8]>::len)
        .filter(|l| *l > 0)
        .collect();
    if span.starts_with(b"+") && (10..=15).contains(&digits) {
        return Some(DataKind::Phone);
    }
    if span.starts_with(b"(") && (10..=11).contains(&digits) && groups.first() == Some(&3) {
        return Some(DataKind::Phone);
    }
    if groups == [3, 3, 4] {
        return Some(DataKind::Phone);
    }
    None
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// An IBAN starting at `i` (two capital letters, two check digits, up to 30 more characters in
/// optional groups of four): its end, if the mod-97 check passes.
fn iban_at(bytes: &[u8], i: usize) -> Option<usize> {
    let boundary = i == 0 || !bytes.get(i - 1)?.is_ascii_alphanumeric();
    let head = bytes.get(i..i + 4)?;
    if !(boundary
        && head[0].is_ascii_uppercase()
        && head[1].is_ascii_uppercase()
        && head[2].is_ascii_digit()
        && head[3].is_ascii_digit())
    {
        return None;
    }
    let mut chars: Vec<u8> = Vec::with_capacity(34);
    let mut j = i;
    let mut end = i;
    while j < bytes.len() && chars.len() < 34 {
        let c = bytes[j];
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            chars.push(c);
            j += 1;
            end = j;
        } else if c == b' '
            && bytes
                .get(j + 1)
                .is_some_and(|n| n.is_ascii_uppercase() || n.is_ascii_digit())
            && (chars.len() % 4 == 0)
        {
            j += 1;
        } else {
            break;
        }
    }
    let clean_end = !bytes.get(end).is_some_and(u8::is_ascii_alphanumeric);
    (chars.len() >= 15 && clean_end && mod97(&chars) == 1).then_some(end)
}

fn mod97(chars: &[u8]) -> u32 {
    let rotated = chars.iter().skip(4).chain(chars.iter().take(4));
    let mut rem = 0u32;
    for &c in rotated {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem
}

/// A dotted-quad IPv4 address starting at `start` (each octet ≤ 255): its end.
fn ipv4_at(bytes: &[u8], start: usize) -> Option<usize> {
    let mut j = start;
    for octet in 0..4 {
        let n = run(bytes, j, |b| b.is_ascii_digit(), 4);
        if n == 0 || n > 3 {
            return None;
        }
        let value = bytes[j..j + n]
            .iter()
            .fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
        if value > 255 {
            return None;
        }
        j += n;
        if octet < 3 {
            if bytes.get(j) != Some(&b'.') {
                return None;
            }
            j += 1;
        }
    }
    let continues = match bytes.get(j) {
        Some(b'.') => bytes.get(j + 1).is_some_and(u8::is_ascii_digit),
        Some(b) => b.is_ascii_alphanumeric(),
        None => false,
    };
    (!continues).then_some(j)
}

/// Sorts detections and keeps the longest of any overlapping group.
fn resolve(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
    });
    let mut out: Vec<Detection> = Vec::with_capacity(found.len());
    for d in found {
        match out.last() {
            Some(last) if d.start < last.end => {}
            _ => out.push(d),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(DataKind, &str)> {
        Scanner::new()
            .unwrap()
            .scan(text)
            .into_iter()
            .map(|d| (d.kind, &text[d.start..d.end]))
            .collect()
    }

    #[test]
    fn detectors() {
        let cases: &[(&str, &[(DataKind, &str)])] = &[
            ("write to jane.doe+x@mail.example.co.uk.", &[(DataKind::Email, "jane.doe+x@mail.example.co.uk")]),
            ("call +1 415 555 2671 now", &[(DataKind::Phone, "+1 415 555 2671")]),
            ("call (415) 555-2671", &[(DataKind::Phone, "(415) 555-2671")]),
            ("call 415-555-2671", &[(DataKind::Phone, "415-555-2671")]),
            ("card 4111 1111 1111 1111 exp", &[(DataKind::PaymentCard, "4111 1111 1111 1111")]),
            ("card 5500-0000-0000-0004", &[(DataKind::PaymentCard, "5500-0000-0000-0004")]),
            ("card 4111 1111 1111 1112", &[]),
            ("iban DE89 3704 0044 0532 0130 00 ok", &[(DataKind::Iban, "DE89 3704 0044 0532 0130 00")]),
            ("iban GB82WEST12345698765432", &[(DataKind::Iban, "GB82WEST12345698765432")]),
            ("iban DE89 3704 0044 0532 0130 02", &[]),
            ("ssn 123-45-6789", &[(DataKind::UsSsn, "123-45-6789")]),
            ("ssn 000-45-6789", &[]),
            ("host 192.168.1.20 up", &[(DataKind::IpAddress, "192.168.1.20")]),
            ("version 1.2.3.4.5", &[]),
            ("256.1.1.1", &[]),
            ("key sk-proj-abcdefghijklmnopqrstuvwxyz012345", &[(DataKind::OpenaiKey, "sk-proj-abcdefghijklmnopqrstuvwxyz012345")]),
            ("key sk-ant-api03-abcdefghijklmnopqrstuv", &[(DataKind::AnthropicKey, "sk-ant-api03-abcdefghijklmnopqrstuv")]),
            ("gsk_abcdefghijklmnopqrstuvwxyz0123456789", &[(DataKind::GroqKey, "gsk_abcdefghijklmnopqrstuvwxyz0123456789")]),
            ("AKIAIOSFODNN7EXAMPLE", &[(DataKind::AwsAccessKey, "AKIAIOSFODNN7EXAMPLE")]),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", &[(DataKind::GithubToken, "ghp_abcdefghijklmnopqrstuvwxyz0123456789")]),
            ("xoxb-1234567890-abcdefghij", &[(DataKind::SlackToken, "xoxb-1234567890-abcdefghij")]),
            ("AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", &[(DataKind::GoogleApiKey, "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234")]),
            ("sk_live_abcdefghijklmnop1234", &[(DataKind::StripeKey, "sk_live_abcdefghijklmnop1234")]),
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", &[(DataKind::Jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")]),
            ("a task-based sk-short plan", &[]),
            ("in 2024-01-15 we sold 1234567 units", &[]),
            ("order number 4155552671", &[]),
            (" 123-45-6789  4111 1111 1111 1111 ", &[(DataKind::UsSsn, "123-45-6789"), (DataKind::PaymentCard, "4111 1111 1111 1111")]),
            ("123-45-6789 4111 1111 1111 1111", &[(DataKind::UsSsn, "123-45-6789"), (DataKind::PaymentCard, "4111 1111 1111 1111")]),
        ];
        for (text, want) in cases {
            assert_eq!(&kinds(text), want, "{text}");
        }
    }

    #[test]
    fn private_key_block() {
        let text = "here:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nthanks";
        let got = kinds(text);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, DataKind::PrivateKey);
        assert!(got[0].1.ends_with("-----END RSA PRIVATE KEY-----"));
        assert!(kinds("-----BEGIN CERTIFICATE-----\nabc").is_empty());
        // Unterminated blocks still redact (up to a cap).
        assert_eq!(
            kinds("-----BEGIN PRIVATE KEY-----\nMIIE")[0].0,
            DataKind::PrivateKey
        );
    }
}
