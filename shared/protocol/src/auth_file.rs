//! The dripline auth file: credentials grouped by what they are for, as JSON or YAML text
//! (`{"dripline": {"username": …, "password": …}, "postgres": {…}}`). Older meshes use the
//! groups `amqp` (which may also name `broker` and `broker-port`) and `postgresql`.
//!
//! Only the text is handled here; callers read the file. Error messages name groups and
//! fields, never values.

use thiserror::Error;

/// A parsed auth file.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthFile {
    groups: serde_yaml::Mapping,
}

/// One group of an auth file; absent fields are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthGroup {
    /// `username`.
    pub username: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// `broker` (legacy `amqp` group).
    pub broker: Option<String>,
    /// `broker_port` or `broker-port` (legacy `amqp` group).
    pub broker_port: Option<u16>,
}

/// Why an auth file's text cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthFileError {
    /// Neither JSON nor YAML.
    #[error("not JSON or YAML ({0})")]
    Syntax(String),
    /// Not a map of groups at the top.
    #[error("expected a map of groups, e.g. {{\"dripline\": {{…}}}}")]
    NotAMap,
    /// A group or one of its fields has the wrong type.
    #[error("{0}")]
    Field(String),
}

impl AuthFile {
    /// Parse an auth file's text (JSON is YAML too, so one parser reads both).
    pub fn parse(text: &str) -> Result<Self, AuthFileError> {
        // serde_yaml's messages name the position, never the values.
        let document: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| AuthFileError::Syntax(e.to_string()))?;
        match document {
            serde_yaml::Value::Mapping(groups) => Ok(AuthFile { groups }),
            _ => Err(AuthFileError::NotAMap),
        }
    }

    /// The group `name`, if the file has it. Strings and numbers are accepted as text.
    pub fn group(&self, name: &str) -> Result<Option<AuthGroup>, AuthFileError> {
        let group = match self.groups.get(name) {
            None | Some(serde_yaml::Value::Null) => return Ok(None),
            Some(serde_yaml::Value::Mapping(group)) => group,
            Some(_) => return Err(AuthFileError::Field(format!("{name} must be a map"))),
        };
        let text = |field: &str| -> Result<Option<String>, AuthFileError> {
            match group.get(field) {
                None | Some(serde_yaml::Value::Null) => Ok(None),
                Some(serde_yaml::Value::String(s)) => Ok(Some(s.clone())),
                Some(serde_yaml::Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(AuthFileError::Field(format!(
                    "{name}.{field} must be a string"
                ))),
            }
        };
        let broker_port = match text("broker_port")?.or(text("broker-port")?) {
            None => None,
            Some(port) => Some(port.parse().map_err(|_| {
                AuthFileError::Field(format!("{name}.broker_port must be a port number"))
            })?),
        };
        Ok(Some(AuthGroup {
            username: text("username")?,
            password: text("password")?,
            broker: text("broker")?,
            broker_port,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_from_json_and_yaml() {
        let file = AuthFile::parse(r#"{"dripline": {"username": "u", "password": 1234}}"#).unwrap();
        let group = file.group("dripline").unwrap().unwrap();
        assert_eq!(group.username.as_deref(), Some("u"));
        assert_eq!(group.password.as_deref(), Some("1234"));
        assert_eq!(file.group("postgres").unwrap(), None);

        let file = AuthFile::parse("amqp:\n  broker: b\n  broker-port: 5673\n").unwrap();
        let group = file.group("amqp").unwrap().unwrap();
        assert_eq!(
            (group.broker.as_deref(), group.broker_port),
            (Some("b"), Some(5673))
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong_without_values() {
        assert_eq!(
            AuthFile::parse("[1, 2]").unwrap_err(),
            AuthFileError::NotAMap
        );
        assert!(matches!(
            AuthFile::parse("{"),
            Err(AuthFileError::Syntax(_))
        ));
        let file = AuthFile::parse(r#"{"dripline": {"password": ["secret"]}}"#).unwrap();
        let error = file.group("dripline").unwrap_err().to_string();
        assert_eq!(error, "dripline.password must be a string");
        assert!(file.group("x").is_ok());
    }
}
