//! Look-alike characters folded to the Latin letter they imitate.
//!
//! A curated subset of Unicode's confusables (UTS #39) covering the Cyrillic, Greek, Armenian and
//! Latin-extended letters that homoglyph attacks use. It is applied *after* lowercasing and
//! compatibility decomposition, so only lowercase sources are listed. Because signature phrases go
//! through the same folding, non-Latin text stays consistent with non-Latin signatures.
//! Kept as a sorted table (binary search, no allocation) rather than a data file so the public
//! [`crate::normalize()`] needs no engine.

/// (look-alike, Latin letter), sorted by the first column.
const TABLE: &[(char, char)] = &[
    ('ı', 'i'),
    ('ȷ', 'j'),
    ('ɑ', 'a'),
    ('ɡ', 'g'),
    ('ɩ', 'i'),
    ('ʟ', 'l'),
    ('α', 'a'),
    ('β', 'b'),
    ('γ', 'y'),
    ('ε', 'e'),
    ('η', 'n'),
    ('ι', 'i'),
    ('κ', 'k'),
    ('ν', 'v'),
    ('ο', 'o'),
    ('ρ', 'p'),
    ('τ', 't'),
    ('υ', 'u'),
    ('χ', 'x'),
    ('ω', 'w'),
    ('ϲ', 'c'),
    ('ϳ', 'j'),
    ('а', 'a'),
    ('в', 'b'),
    ('е', 'e'),
    ('к', 'k'),
    ('м', 'm'),
    ('н', 'h'),
    ('о', 'o'),
    ('р', 'p'),
    ('с', 'c'),
    ('т', 't'),
    ('у', 'y'),
    ('х', 'x'),
    ('ѕ', 's'),
    ('і', 'i'),
    ('ј', 'j'),
    ('ѵ', 'v'),
    ('ҙ', 'z'),
    ('һ', 'h'),
    ('ӏ', 'l'),
    ('ԁ', 'd'),
    ('ԛ', 'q'),
    ('ԝ', 'w'),
    ('զ', 'q'),
    ('ս', 'u'),
    ('օ', 'o'),
    ('ᴀ', 'a'),
    ('ᴄ', 'c'),
    ('ᴅ', 'd'),
    ('ᴇ', 'e'),
    ('ᴊ', 'j'),
    ('ᴋ', 'k'),
    ('ᴍ', 'm'),
    ('ᴏ', 'o'),
    ('ᴘ', 'p'),
    ('ᴛ', 't'),
    ('ᴜ', 'u'),
    ('ᴠ', 'v'),
    ('ᴡ', 'w'),
    ('ᴢ', 'z'),
];

/// The Latin letter `c` imitates, if it is a known look-alike.
pub(crate) fn fold(c: char) -> Option<char> {
    TABLE
        .binary_search_by(|(k, _)| k.cmp(&c))
        .ok()
        .map(|i| TABLE[i].1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_and_targets_ascii() {
        assert!(super::TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(super::TABLE.iter().all(|(_, l)| l.is_ascii_lowercase()));
    }
}
