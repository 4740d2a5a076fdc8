//! Lockout keys (PROTOCOL.md §A4.2).

/// The `lockout_key` of a request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LockoutKey {
    /// No key: the nil UUID, an empty string or no header.
    #[default]
    None,
    /// A key (a UUID, given with or without dashes or braces).
    Key(uuid::Uuid),
    /// A non-empty string that is not a UUID (a service replies 308).
    Invalid(String),
}

/// The nil UUID as dl-cpp sends it when a request has no key.
pub const NIL_KEY: &str = "00000000-0000-0000-0000-000000000000";

impl LockoutKey {
    /// Read a key as a service does: empty or nil → `None`; a UUID in any of boost's forms
    /// (32 hex digits with or without dashes, optional braces) → `Key`; otherwise `Invalid`.
    pub fn parse(text: &str) -> LockoutKey {
        if text.is_empty() {
            return LockoutKey::None;
        }
        match parse_boost_uuid(text) {
            Some(uuid) if uuid.is_nil() => LockoutKey::None,
            Some(uuid) => LockoutKey::Key(uuid),
            None => LockoutKey::Invalid(text.to_string()),
        }
    }

    /// The header text: the hyphenated lower-case UUID, the nil UUID for `None`, the original
    /// text for `Invalid`.
    pub fn to_header(&self) -> String {
        match self {
            LockoutKey::None => NIL_KEY.to_string(),
            LockoutKey::Key(uuid) => uuid.hyphenated().to_string(),
            LockoutKey::Invalid(text) => text.clone(),
        }
    }

    /// True when there is no key.
    pub fn is_none(&self) -> bool {
        matches!(self, LockoutKey::None)
    }
}

/// boost::uuids::string_generator: optional `{…}`, 32 hex digits (either case), with the four
/// dashes of the 8-4-4-4-12 form either all present or all absent.
fn parse_boost_uuid(text: &str) -> Option<uuid::Uuid> {
    let inner = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => text,
    };
    let bytes = inner.as_bytes();
    let hex: Vec<u8> = match bytes.len() {
        32 => bytes.to_vec(),
        36 => {
            let dashes_in_place = [8usize, 13, 18, 23]
                .iter()
                .all(|&i| bytes.get(i) == Some(&b'-'));
            if !dashes_in_place {
                return None;
            }
            bytes.iter().copied().filter(|&b| b != b'-').collect()
        }
        _ => return None,
    };
    if hex.len() != 32 {
        return None;
    }
    let mut value: u128 = 0;
    for b in hex {
        let digit = char::from(b).to_digit(16)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(uuid::Uuid::from_u128(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

    fn key() -> LockoutKey {
        LockoutKey::Key(uuid::Uuid::parse_str(KEY).unwrap())
    }

    #[test]
    fn forms_boost_accepts() {
        assert_eq!(LockoutKey::parse(KEY), key());
        assert_eq!(LockoutKey::parse(&KEY.to_uppercase()), key());
        assert_eq!(LockoutKey::parse(&KEY.replace('-', "")), key());
        assert_eq!(LockoutKey::parse(&format!("{{{KEY}}}")), key());
        assert_eq!(
            LockoutKey::parse(&format!("{{{}}}", KEY.replace('-', "").to_uppercase())),
            key()
        );
    }

    #[test]
    fn nil_and_empty_are_no_key() {
        assert_eq!(LockoutKey::parse(""), LockoutKey::None);
        assert_eq!(LockoutKey::parse(NIL_KEY), LockoutKey::None);
        assert_eq!(LockoutKey::parse(&"0".repeat(32)), LockoutKey::None);
        assert_eq!(
            LockoutKey::parse("{00000000-0000-0000-0000-000000000000}"),
            LockoutKey::None
        );
    }

    #[test]
    fn non_uuids_are_invalid() {
        for text in [
            "not-a-key",
            " 0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9a",
            "0a1b2c3d4-e5f-6071-8293-a4b5c6d7e8f9",
            "{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}",
            "urn:uuid:0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8g9",
            "{}",
            "{",
            "é1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
        ] {
            assert_eq!(
                LockoutKey::parse(text),
                LockoutKey::Invalid(text.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn header_text() {
        assert_eq!(LockoutKey::None.to_header(), NIL_KEY);
        assert_eq!(LockoutKey::parse(&KEY.to_uppercase()).to_header(), KEY);
        assert_eq!(LockoutKey::Invalid("x y".into()).to_header(), "x y");
        assert!(LockoutKey::default().is_none());
        assert!(!key().is_none());
    }
}
