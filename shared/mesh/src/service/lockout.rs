//! The lockout of one endpoint (PROTOCOL.md §A4, Part B): a pure state machine.
//!
//! Each endpoint, the service itself included, has its own lock; locking the service does
//! not lock its endpoints. Texts and codes are dl-cpp's, as captured on the wire.

use super::endpoint::Reply;
use dripline_protocol::{LockoutKey, ReturnCode, SenderInfo};
use serde_json::{json, Value};

/// Whether an endpoint is locked, with which key and by whom.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lockout {
    key: Option<uuid::Uuid>,
    tag: Option<SenderInfo>,
}

impl Lockout {
    /// True while locked.
    pub fn is_locked(&self) -> bool {
        self.key.is_some()
    }

    /// The key the endpoint is locked with.
    pub fn key(&self) -> Option<uuid::Uuid> {
        self.key
    }

    /// May a request with `key` act (set, cmd)? Always when unlocked; when locked only with
    /// the lock's key.
    pub fn authenticate(&self, key: &LockoutKey) -> bool {
        match (&self.key, key) {
            (None, _) => true,
            (Some(locked), LockoutKey::Key(given)) => locked == given,
            (Some(_), _) => false,
        }
    }

    /// 307 `"Request denied due to lockout (key used: <key>)"`: the reply to a request that
    /// failed [`Lockout::authenticate`].
    pub fn denied(key: &LockoutKey) -> Reply {
        Reply::new(
            ReturnCode::ACCESS_DENIED,
            format!(
                "Request denied due to lockout (key used: {})",
                key.to_header()
            ),
        )
    }

    /// The `lock` cmd (after authentication): lock with the request's key, or a fresh random
    /// one when it has none → 0 "Server is now locked" `{"key": …}`; already locked (with this
    /// key) → 200 "Unable to lock server".
    pub fn lock(&mut self, key: &LockoutKey, tag: &SenderInfo) -> Reply {
        if self.is_locked() {
            return Reply::new(ReturnCode::RESOURCE_ERROR, "Unable to lock server");
        }
        let new_key = match key {
            LockoutKey::Key(given) => *given,
            _ => uuid::Uuid::new_v4(),
        };
        self.key = Some(new_key);
        self.tag = Some(tag.clone());
        Reply::new(ReturnCode::SUCCESS, "Server is now locked")
            .with_payload(json!({ "key": new_key.hyphenated().to_string() }))
    }

    /// The `unlock` cmd: not locked → 1 "Already unlocked"; right key or `force` → 0 "Server
    /// unlocked"; otherwise 200 "Failed to unlock server".
    pub fn unlock(&mut self, key: &LockoutKey, force: bool) -> Reply {
        if !self.is_locked() {
            return Reply::new(ReturnCode::WARNING_NO_ACTION_TAKEN, "Already unlocked");
        }
        if force || self.authenticate(key) {
            self.key = None;
            self.tag = None;
            return Reply::new(ReturnCode::SUCCESS, "Server unlocked");
        }
        Reply::new(ReturnCode::RESOURCE_ERROR, "Failed to unlock server")
    }

    /// The `is-locked` get: 0 "Checked lock status" `{"is_locked": bool}` plus `"tag"` (the
    /// locker's `sender_info`) while locked.
    pub fn status(&self) -> Reply {
        let mut payload = serde_json::Map::new();
        payload.insert("is_locked".into(), Value::Bool(self.is_locked()));
        if let Some(tag) = &self.tag {
            payload.insert(
                "tag".into(),
                serde_json::to_value(tag).unwrap_or(Value::Null),
            );
        }
        Reply::new(ReturnCode::SUCCESS, "Checked lock status").with_payload(Value::Object(payload))
    }
}

/// The `force` flag of an unlock payload, read as dl-cpp's `get_value("force", false)`:
/// `true`, a non-zero number, or the strings `true`/`True`/`1`.
pub fn force_flag(payload: &Value) -> bool {
    match payload.get("force") {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(text)) => matches!(text.as_str(), "true" | "True" | "1"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    fn key() -> LockoutKey {
        LockoutKey::parse(KEY)
    }

    fn tag() -> SenderInfo {
        SenderInfo::ours("/usr/bin/dl-cmd", "vm", "root", "unknown", "0.1.0")
    }

    #[test]
    fn unlocked_lets_everyone_in() {
        let lock = Lockout::default();
        assert!(lock.authenticate(&LockoutKey::None));
        assert!(lock.authenticate(&key()));
        let status = lock.status();
        assert_eq!(status.code, ReturnCode::SUCCESS);
        assert_eq!(status.message, "Checked lock status");
        assert_eq!(status.payload, json!({"is_locked": false}));
    }

    #[test]
    fn lock_with_client_key_then_only_that_key_passes() {
        let mut lock = Lockout::default();
        let reply = lock.lock(&key(), &tag());
        assert_eq!(reply.code, ReturnCode::SUCCESS);
        assert_eq!(reply.message, "Server is now locked");
        assert_eq!(reply.payload, json!({"key": KEY}));
        assert!(lock.authenticate(&key()));
        assert!(!lock.authenticate(&LockoutKey::None));
        assert!(!lock.authenticate(&LockoutKey::parse("11111111-2222-3333-4444-555555555555")));
        let status = lock.status();
        assert_eq!(status.payload["is_locked"], json!(true));
        assert_eq!(status.payload["tag"]["exe"], json!("/usr/bin/dl-cmd"));
        assert_eq!(status.payload["tag"]["service_name"], json!("unknown"));
    }

    #[test]
    fn lock_without_key_makes_one() {
        let mut lock = Lockout::default();
        let reply = lock.lock(&LockoutKey::None, &tag());
        let made = reply.payload["key"].as_str().unwrap().to_string();
        assert_eq!(made.len(), 36);
        assert!(lock.authenticate(&LockoutKey::parse(&made)));
        assert_eq!(lock.key().unwrap().to_string(), made);
    }

    #[test]
    fn relock_with_same_key_is_200() {
        let mut lock = Lockout::default();
        lock.lock(&key(), &tag());
        let reply = lock.lock(&key(), &tag());
        assert_eq!(reply.code, ReturnCode::RESOURCE_ERROR);
        assert_eq!(reply.message, "Unable to lock server");
    }

    #[test]
    fn denied_text_names_the_key_used() {
        assert_eq!(
            Lockout::denied(&LockoutKey::None).message,
            "Request denied due to lockout (key used: 00000000-0000-0000-0000-000000000000)"
        );
        assert_eq!(Lockout::denied(&key()).code, ReturnCode::ACCESS_DENIED);
    }

    #[test]
    fn unlock_rules() {
        let mut lock = Lockout::default();
        let reply = lock.unlock(&LockoutKey::None, false);
        assert_eq!(
            (reply.code, reply.message.as_str()),
            (ReturnCode(1), "Already unlocked")
        );

        lock.lock(&key(), &tag());
        let reply = lock.unlock(&LockoutKey::None, false);
        assert_eq!(
            (reply.code, reply.message.as_str()),
            (ReturnCode(200), "Failed to unlock server")
        );
        assert!(lock.is_locked());

        let reply = lock.unlock(&key(), false);
        assert_eq!(
            (reply.code, reply.message.as_str()),
            (ReturnCode(0), "Server unlocked")
        );
        assert!(!lock.is_locked());
        assert_eq!(lock.status().payload, json!({"is_locked": false}));

        lock.lock(&key(), &tag());
        let reply = lock.unlock(&LockoutKey::None, true);
        assert_eq!(reply.code, ReturnCode::SUCCESS);
        assert!(!lock.is_locked());
    }

    #[test]
    fn force_flag_forms() {
        assert!(force_flag(&json!({"force": true})));
        assert!(force_flag(&json!({"force": 1})));
        assert!(force_flag(&json!({"force": "true"})));
        assert!(!force_flag(&json!({"force": false})));
        assert!(!force_flag(&json!({})));
        assert!(!force_flag(&json!(null)));
    }
}
