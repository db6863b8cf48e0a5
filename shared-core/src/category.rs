//! What a signal is evidence of.

use serde::{Deserialize, Serialize};

/// The kind of threat (or sensitive data) a signal points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// "Ignore all previous instructions", "new instructions:", goal hijacking.
    InstructionOverride,
    /// Attempts to make the model reveal its system prompt or hidden context.
    PromptExtraction,
    /// Role/persona jailbreaks: DAN, developer mode, "no restrictions", evil confidants.
    Jailbreak,
    /// A request for seriously harmful help — the goal a jailbreak wraps: weapons, drug
    /// synthesis, malware, fraud, violence, exploitation of children. Not an input of the
    /// learned models; flagged by default, and a policy can block (or escalate) it.
    HarmfulRequest,
    /// Chat-template and delimiter injection: `<|im_start|>`, `[INST]`, fake `Assistant:` turns.
    TemplateInjection,
    /// Data exfiltration: markdown images/links that carry data to URLs, "send this to…".
    DataExfiltration,
    /// Tool and agent misuse: running commands, deleting data, calling tools on an attacker's behalf.
    ToolMisuse,
    /// Deliberately hidden text: tag characters, invisible characters inside words, mixed scripts.
    Obfuscation,
    /// The learned scorer's verdict on the text as a whole.
    PromptInjection,
    /// Personal data: email, phone, payment card, IBAN, national ids, IP addresses.
    Pii,
    /// Credentials: API keys and tokens, private keys, JWTs.
    Secret,
    /// Text that talks *about* attacks (security articles, questions about prompt injection).
    /// Never raises the score; it caps a score-based block at escalate so the analyzer decides.
    Discussion,
    /// Content the firewall passed on without reading it: images, audio, video, files that are
    /// not text, files sent by reference, tools the upstream runs itself (what they fetch never
    /// passes the firewall). Never raises the score; flagged by default, and a policy can block
    /// (or escalate) requests that carry it.
    UnreadContent,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 13] = [
        Category::InstructionOverride,
        Category::PromptExtraction,
        Category::Jailbreak,
        Category::HarmfulRequest,
        Category::TemplateInjection,
        Category::DataExfiltration,
        Category::ToolMisuse,
        Category::Obfuscation,
        Category::PromptInjection,
        Category::Pii,
        Category::Secret,
        Category::Discussion,
        Category::UnreadContent,
    ];

    /// The snake_case name used in JSON, data files and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::InstructionOverride => "instruction_override",
            Category::PromptExtraction => "prompt_extraction",
            Category::Jailbreak => "jailbreak",
            Category::HarmfulRequest => "harmful_request",
            Category::TemplateInjection => "template_injection",
            Category::DataExfiltration => "data_exfiltration",
            Category::ToolMisuse => "tool_misuse",
            Category::Obfuscation => "obfuscation",
            Category::PromptInjection => "prompt_injection",
            Category::Pii => "pii",
            Category::Secret => "secret",
            Category::Discussion => "discussion",
            Category::UnreadContent => "unread_content",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// True for categories that describe an attack (as opposed to sensitive data, talk about
    /// attacks, or content not read).
    pub fn is_attack(self) -> bool {
        !matches!(
            self,
            Category::Pii | Category::Secret | Category::Discussion | Category::UnreadContent
        )
    }
}
