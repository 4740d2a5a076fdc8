//! Lists of broker addresses: `host[:port],host[:port],…` (IPv6 in brackets), as `--broker`,
//! `DRIPLINE_BROKER`, the mesh file's `broker` and an auth file's `broker` take them.

use std::fmt;

/// At most this many broker addresses in one list: a RabbitMQ cluster has a handful of nodes,
/// and every address costs a connection attempt in each round.
pub const MAX_BROKER_ADDRESSES: usize = 16;

/// Longest host name accepted (DNS allows 253; a bracketed IPv6 address with a zone is less).
const MAX_HOST_LEN: usize = 255;

/// One entry of a broker list as written: a host, and a port when the entry names one (else
/// the port the settings name, 5672 by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerAddress {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The entry's own port.
    pub port: Option<u16>,
}

/// A broker node to connect to: host and port, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerNode {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl fmt::Display for BrokerNode {
    /// `host:port`, `[v6]:port` for an IPv6 address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// In which order a connection tries the broker addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BrokerOrder {
    /// As listed: the first that answers (a standby list).
    #[default]
    First,
    /// Shuffled at each attempt, so that many programs spread over a cluster's nodes.
    Random,
}

/// Parse a comma-separated broker list. Every entry is checked; the error names the bad one.
pub fn parse_broker_list(text: &str) -> Result<Vec<BrokerAddress>, String> {
    let count = text.split(',').count();
    if count > MAX_BROKER_ADDRESSES {
        return Err(format!(
            "{count} broker addresses; at most {MAX_BROKER_ADDRESSES} are accepted"
        ));
    }
    text.split(',')
        .enumerate()
        .map(|(index, entry)| {
            parse_address(entry.trim()).map_err(|why| {
                if count == 1 {
                    format!("'{}': {why}", entry.trim())
                } else {
                    format!("entry {} '{}': {why}", index + 1, entry.trim())
                }
            })
        })
        .collect()
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address (no port).
fn parse_address(entry: &str) -> Result<BrokerAddress, String> {
    if entry.is_empty() {
        return Err("empty broker address".into());
    }
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("'[' without ']' (write IPv6 addresses as [addr]:port)")?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("expected ':port' after ']'")?,
            ),
        };
        if !host.contains(':') {
            return Err("brackets are for IPv6 addresses only".into());
        }
        (host, port)
    } else if entry.matches(':').count() > 1 {
        // A bare IPv6 address, as a single `--broker ::1` always was.
        (entry, None)
    } else {
        match entry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if host.len() > MAX_HOST_LEN {
        return Err(format!("host longer than {MAX_HOST_LEN} bytes"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._:%".contains(c);
    if let Some(bad) = host.chars().find(|c| !allowed(*c)) {
        return Err(format!("{bad:?} is not allowed in a host name"));
    }
    let port = port
        .map(|port| match port.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("'{port}' is not a port number (1-65535)")),
            Ok(port) => Ok(port),
        })
        .transpose()?;
    Ok(BrokerAddress {
        host: host.to_string(),
        port,
    })
}

/// Split a list of `amqp[s]://` URLs at the commas that start another URL (a comma inside a
/// URL, e.g. in a password, stays where it is).
pub(crate) fn split_url_list(text: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut start = 0;
    for (at, _) in text.match_indices(',') {
        let next = text[at + 1..].trim_start().to_ascii_lowercase();
        if next.starts_with("amqp://") || next.starts_with("amqps://") {
            urls.push(text[start..at].trim());
            start = at + 1;
        }
    }
    urls.push(text[start..].trim());
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(host: &str, port: Option<u16>) -> BrokerAddress {
        BrokerAddress {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn lists_of_hosts_ports_and_ipv6() {
        assert_eq!(
            parse_broker_list("a, b:5673,[::1]:5674,[fe80::1%eth0],::1").unwrap(),
            vec![
                address("a", None),
                address("b", Some(5673)),
                address("::1", Some(5674)),
                address("fe80::1%eth0", None),
                address("::1", None),
            ]
        );
        assert_eq!(
            parse_broker_list("rabbit-0.rabbit.svc").unwrap(),
            vec![address("rabbit-0.rabbit.svc", None)]
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let cases = [
            ("a,,b", "entry 2 '': empty broker address"),
            ("a,", "entry 2 '': empty broker address"),
            ("", "'': empty broker address"),
            (
                "a,b:99999",
                "entry 2 'b:99999': '99999' is not a port number",
            ),
            ("a:0", "'a:0': '0' is not a port number"),
            ("a:", "'a:': '' is not a port number"),
            (":5672", "no host"),
            ("[::1", "without ']'"),
            ("[::1]x", "expected ':port'"),
            ("[host]:1", "brackets are for IPv6"),
            ("a b", "' ' is not allowed"),
            ("user@host", "'@' is not allowed"),
        ];
        for (text, expected) in cases {
            let error = parse_broker_list(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let long = "h".repeat(256);
        assert!(parse_broker_list(&long)
            .unwrap_err()
            .contains("longer than"));
    }

    #[test]
    fn lists_are_bounded() {
        let sixteen = vec!["h"; 16].join(",");
        assert_eq!(parse_broker_list(&sixteen).unwrap().len(), 16);
        let thousand = vec!["h"; 1000].join(",");
        let error = parse_broker_list(&thousand).unwrap_err();
        assert!(
            error.contains("1000 broker addresses; at most 16"),
            "{error}"
        );
    }

    #[test]
    fn nodes_print_ipv6_in_brackets() {
        let node = |host: &str| BrokerNode {
            host: host.into(),
            port: 5672,
        };
        assert_eq!(node("::1").to_string(), "[::1]:5672");
        assert_eq!(node("a").to_string(), "a:5672");
    }

    #[test]
    fn url_lists_split_only_before_a_scheme() {
        assert_eq!(
            split_url_list("amqp://u:p,w@a, AMQPS://b:5671/v,amqp://c"),
            vec!["amqp://u:p,w@a", "AMQPS://b:5671/v", "amqp://c"]
        );
        assert_eq!(split_url_list("amqp://a"), vec!["amqp://a"]);
    }
}
