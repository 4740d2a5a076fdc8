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

impl LockoutKey {
    /// Read a key as a service does: empty or nil → `None`; a UUID in any of boost's forms
    /// (32 hex digits with or without dashes, optional braces) → `Key`; otherwise `Invalid`.
    pub fn parse(text: &str) -> LockoutKey {
        let _ = text;
        todo!()
    }

    /// The header text: the hyphenated lower-case UUID, the nil UUID for `None`, the original
    /// text for `Invalid`.
    pub fn to_header(&self) -> String {
        todo!()
    }
}
