//! The dripline return-code table (PROTOCOL.md §A3).

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
        todo!("table lookup")
    }

    /// dl-cpp's description (`Success`, `Access Denied`, …); for unassigned codes a generic
    /// text by range (`Unassigned warning`, `Application-defined code`, …).
    pub fn description(self) -> &'static str {
        todo!("table lookup")
    }

    /// The code for a dl-cpp / ThrowReply name; unknown names fall back to 300 like dl-py.
    pub fn from_name(name: &str) -> ReturnCode {
        let _ = name;
        todo!("table lookup")
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
