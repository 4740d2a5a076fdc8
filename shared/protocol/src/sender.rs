//! The `sender_info` header (PROTOCOL.md §A2.3).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One package's version entry in `sender_info.versions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageVersion {
    /// The version string (required by dl-cpp receivers).
    pub version: String,
    /// The commit, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The package, e.g. `driplineorg/dripline-cpp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// Who sent a message. dl-cpp receivers drop messages whose `sender_info` lacks any of
/// `exe`, `hostname`, `username`, `service_name` or `versions`, so all five are always sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderInfo {
    /// Path of the sending executable.
    pub exe: String,
    /// Host name.
    pub hostname: String,
    /// OS user name.
    pub username: String,
    /// Sending service's name; `unknown` for clients such as dl-get.
    pub service_name: String,
    /// Package name → version entry.
    pub versions: BTreeMap<String, PackageVersion>,
}

impl SenderInfo {
    /// The sender info of a dripline-tools program: `versions` holds `dripline` 3.0.0 (the
    /// standard) and `dripline-tools` with `version`. Callers supply the host facts.
    pub fn ours(
        exe: &str,
        hostname: &str,
        username: &str,
        service_name: &str,
        version: &str,
    ) -> Self {
        let mut versions = BTreeMap::new();
        versions.insert(
            "dripline".to_string(),
            PackageVersion {
                version: "3.0.0".to_string(),
                commit: None,
                package: None,
            },
        );
        versions.insert(
            "dripline-tools".to_string(),
            PackageVersion {
                version: version.to_string(),
                commit: None,
                package: Some("dripline-tools".to_string()),
            },
        );
        SenderInfo {
            exe: exe.to_string(),
            hostname: hostname.to_string(),
            username: username.to_string(),
            service_name: service_name.to_string(),
            versions,
        }
    }
}
