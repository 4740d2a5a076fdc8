//! The dripline return-code table (PROTOCOL.md §A3).

/// The assigned codes of dl-cpp's `return_codes.cc`: (code, name, description).
const TABLE: &[(u32, &str, &str)] = &[
    (0, "success", "Success"),
    (1, "warning_no_action_taken", "No Action Taken"),
    (2, "warning_deprecated_feature", "Deprecated Feature"),
    (3, "warning_dry_run", "Dry Run"),
    (4, "warning_offline", "Offline"),
    (5, "warning_sub_service", "Sub-Service Warning"),
    (100, "amqp_error", "Generic AMQP Error"),
    (101, "amqp_error_broker_connection", "AMQP Connection Error"),
    (
        102,
        "amqp_error_routingkey_notfound",
        "Invalid AMQP Routing Key",
    ),
    (200, "resource_error", "Generic Resource Error"),
    (
        201,
        "resource_error_connection",
        "Resource Connection Error",
    ),
    (202, "resource_error_no_response", "No Response Error"),
    (203, "resource_error_sub_service", "Sub-Service Error"),
    (300, "service_error", "Generic Service Error"),
    (301, "service_error_no_encoding", "Invalid Message Encoding"),
    (302, "service_error_decoding_fail", "Decoding Failed"),
    (303, "service_error_bad_payload", "Invalid Payload"),
    (304, "service_error_invalid_value", "Invalid Value"),
    (305, "service_error_timeout", "Timeout Handling Message"),
    (306, "service_error_invalid_method", "Invalid Command"),
    (307, "service_error_access_denied", "Access Denied"),
    (308, "service_error_invalid_key", "Invalid Lockout Key"),
    (310, "service_error_invalid_specifier", "Invalid Specifier"),
    (400, "client_error", "Generic Client Error"),
    (401, "client_error_invalid_request", "Invalid Request"),
    (402, "client_error_handling_reply", "Error Handling Reply"),
    (403, "client_error_unable_to_send", "Unable to Send"),
    (404, "client_error_timeout", "Client Timeout"),
    (999, "unhandled_exception", "Unhandled Exception"),
];

fn lookup(code: u32) -> Option<&'static (u32, &'static str, &'static str)> {
    TABLE.iter().find(|(known, _, _)| *known == code)
}

/// A dripline return code: 0 success, 1–99 warnings, 100–999 errors by hundred, ≥1000 custom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReturnCode(pub u32);

impl ReturnCode {
    /// 0 success.
    pub const SUCCESS: ReturnCode = ReturnCode(0);
    /// 1 warning_no_action_taken.
    pub const WARNING_NO_ACTION_TAKEN: ReturnCode = ReturnCode(1);
    /// 100 amqp_error.
    pub const AMQP_ERROR: ReturnCode = ReturnCode(100);
    /// 101 amqp_error_broker_connection.
    pub const AMQP_ERROR_BROKER_CONNECTION: ReturnCode = ReturnCode(101);
    /// 200 resource_error.
    pub const RESOURCE_ERROR: ReturnCode = ReturnCode(200);
    /// 300 service_error.
    pub const SERVICE_ERROR: ReturnCode = ReturnCode(300);
    /// 302 service_error_decoding_fail.
    pub const DECODING_FAIL: ReturnCode = ReturnCode(302);
    /// 303 service_error_bad_payload.
    pub const BAD_PAYLOAD: ReturnCode = ReturnCode(303);
    /// 304 service_error_invalid_value.
    pub const INVALID_VALUE: ReturnCode = ReturnCode(304);
    /// 306 service_error_invalid_method.
    pub const INVALID_METHOD: ReturnCode = ReturnCode(306);
    /// 307 service_error_access_denied.
    pub const ACCESS_DENIED: ReturnCode = ReturnCode(307);
    /// 308 service_error_invalid_key.
    pub const INVALID_KEY: ReturnCode = ReturnCode(308);
    /// 310 service_error_invalid_specifier.
    pub const INVALID_SPECIFIER: ReturnCode = ReturnCode(310);
    /// 400 client_error.
    pub const CLIENT_ERROR: ReturnCode = ReturnCode(400);
    /// 401 client_error_invalid_request.
    pub const INVALID_REQUEST: ReturnCode = ReturnCode(401);
    /// 402 client_error_handling_reply.
    pub const HANDLING_REPLY: ReturnCode = ReturnCode(402);
    /// 403 client_error_unable_to_send.
    pub const UNABLE_TO_SEND: ReturnCode = ReturnCode(403);
    /// 404 client_error_timeout.
    pub const CLIENT_TIMEOUT: ReturnCode = ReturnCode(404);
    /// 999 unhandled_exception.
    pub const UNHANDLED_EXCEPTION: ReturnCode = ReturnCode(999);

    /// The dl-cpp name (`success`, `service_error_access_denied`, …); `None` for unassigned codes.
    pub fn name(self) -> Option<&'static str> {
        lookup(self.0).map(|&(_, name, _)| name)
    }

    /// dl-cpp's description (`Success`, `Access Denied`, …); for unassigned codes a generic
    /// text by range (`Unassigned warning`, `Application-defined code`, …).
    pub fn description(self) -> &'static str {
        if let Some(&(_, _, description)) = lookup(self.0) {
            return description;
        }
        match self.0 {
            0..=99 => "Unassigned warning",
            100..=199 => "Unassigned AMQP error",
            200..=299 => "Unassigned resource error",
            309 => "Removed from the standard",
            300..=399 => "Unassigned service error",
            400..=499 => "Unassigned client error",
            500..=999 => "Unassigned dripline error",
            _ => "Application-defined code",
        }
    }

    /// The code for a dl-cpp / ThrowReply name; unknown names fall back to 300 like dl-py.
    pub fn from_name(name: &str) -> ReturnCode {
        TABLE
            .iter()
            .find(|(_, known, _)| *known == name)
            .map_or(ReturnCode::SERVICE_ERROR, |(code, _, _)| ReturnCode(*code))
    }

    /// Every assigned code as `(code, name, description)`, in ascending order (for docs and
    /// man pages).
    pub fn all() -> &'static [(u32, &'static str, &'static str)] {
        TABLE
    }

    /// True for 0–99 (success or warning: the request was done).
    pub fn is_success(self) -> bool {
        self.0 < 100
    }

    /// The process exit status dl-agent uses: code / 100, saturated at 255.
    pub fn exit_status(self) -> u8 {
        u8::try_from(self.0 / 100).unwrap_or(u8::MAX)
    }
}

impl std::fmt::Display for ReturnCode {
    /// `307 (service_error_access_denied)`, or the bare number for unassigned codes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_complete() {
        let codes: Vec<u32> = ReturnCode::all().iter().map(|(c, _, _)| *c).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        assert_eq!(codes.len(), 29);
        for (code, name, description) in ReturnCode::all() {
            assert_eq!(ReturnCode(*code).name(), Some(*name));
            assert_eq!(ReturnCode(*code).description(), *description);
            assert_eq!(ReturnCode::from_name(name), ReturnCode(*code));
        }
    }

    #[test]
    fn named_constants_match_the_table() {
        let pairs = [
            (ReturnCode::SUCCESS, "success"),
            (
                ReturnCode::WARNING_NO_ACTION_TAKEN,
                "warning_no_action_taken",
            ),
            (ReturnCode::AMQP_ERROR, "amqp_error"),
            (
                ReturnCode::AMQP_ERROR_BROKER_CONNECTION,
                "amqp_error_broker_connection",
            ),
            (ReturnCode::RESOURCE_ERROR, "resource_error"),
            (ReturnCode::SERVICE_ERROR, "service_error"),
            (ReturnCode::DECODING_FAIL, "service_error_decoding_fail"),
            (ReturnCode::BAD_PAYLOAD, "service_error_bad_payload"),
            (ReturnCode::INVALID_VALUE, "service_error_invalid_value"),
            (ReturnCode::INVALID_METHOD, "service_error_invalid_method"),
            (ReturnCode::ACCESS_DENIED, "service_error_access_denied"),
            (ReturnCode::INVALID_KEY, "service_error_invalid_key"),
            (
                ReturnCode::INVALID_SPECIFIER,
                "service_error_invalid_specifier",
            ),
            (ReturnCode::CLIENT_ERROR, "client_error"),
            (ReturnCode::INVALID_REQUEST, "client_error_invalid_request"),
            (ReturnCode::HANDLING_REPLY, "client_error_handling_reply"),
            (ReturnCode::UNABLE_TO_SEND, "client_error_unable_to_send"),
            (ReturnCode::CLIENT_TIMEOUT, "client_error_timeout"),
            (ReturnCode::UNHANDLED_EXCEPTION, "unhandled_exception"),
        ];
        for (code, name) in pairs {
            assert_eq!(code.name(), Some(name), "{code:?}");
        }
    }

    #[test]
    fn descriptions_from_dl_cpp() {
        assert_eq!(ReturnCode(307).description(), "Access Denied");
        assert_eq!(ReturnCode(403).description(), "Unable to Send");
        assert_eq!(ReturnCode(302).description(), "Decoding Failed");
        assert_eq!(ReturnCode(0).description(), "Success");
    }

    #[test]
    fn unassigned_codes_get_generic_text() {
        assert_eq!(ReturnCode(6).name(), None);
        assert_eq!(ReturnCode(6).description(), "Unassigned warning");
        assert_eq!(ReturnCode(150).description(), "Unassigned AMQP error");
        assert_eq!(ReturnCode(250).description(), "Unassigned resource error");
        assert_eq!(ReturnCode(309).description(), "Removed from the standard");
        assert_eq!(ReturnCode(311).description(), "Unassigned service error");
        assert_eq!(ReturnCode(499).description(), "Unassigned client error");
        assert_eq!(ReturnCode(500).description(), "Unassigned dripline error");
        assert_eq!(ReturnCode(1000).description(), "Application-defined code");
        assert_eq!(
            ReturnCode(u32::MAX).description(),
            "Application-defined code"
        );
    }

    #[test]
    fn unknown_names_fall_back_to_300() {
        assert_eq!(
            ReturnCode::from_name("message_error_invalid_method"),
            ReturnCode::SERVICE_ERROR
        );
        assert_eq!(ReturnCode::from_name(""), ReturnCode(300));
        assert_eq!(ReturnCode::from_name("Success"), ReturnCode(300));
    }

    #[test]
    fn success_and_exit_status() {
        assert!(ReturnCode(0).is_success());
        assert!(ReturnCode(99).is_success());
        assert!(!ReturnCode(100).is_success());
        assert_eq!(ReturnCode(0).exit_status(), 0);
        assert_eq!(ReturnCode(403).exit_status(), 4);
        assert_eq!(ReturnCode(999).exit_status(), 9);
        assert_eq!(ReturnCode(u32::MAX).exit_status(), 255);
    }

    #[test]
    fn display() {
        assert_eq!(
            ReturnCode(307).to_string(),
            "307 (service_error_access_denied)"
        );
        assert_eq!(ReturnCode(1234).to_string(), "1234");
    }
}
