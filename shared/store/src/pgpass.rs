//! libpq's password file (`PGPASSFILE`, default `~/.pgpass`): lines of
//! `hostname:port:database:username:password`, `*` matching anything, `\` escaping `:` and `\`,
//! `#` starting a comment. The first line matching the connection gives the password. As libpq,
//! a file that is missing is skipped quietly, and one that others may read (mode not `0600` or
//! less) or that is not a regular file is skipped with a warning.

use std::path::PathBuf;

/// Files larger than this are not read (a password file has a few lines).
const MAX_LEN: u64 = 1024 * 1024;

/// What a line must match.
pub(crate) struct Target<'a> {
    /// Host name, address or Unix socket directory.
    pub host: &'a str,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub database: &'a str,
    /// User name.
    pub user: &'a str,
}

/// The password for `config` in the password file (`PGPASSFILE` or `$HOME/.pgpass` in `env`),
/// if there is one and a line matches.
pub(crate) fn lookup(config: &Target<'_>, env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let path = match env("PGPASSFILE").filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env("HOME").filter(|h| !h.is_empty())?).join(".pgpass"),
    };
    let metadata = std::fs::metadata(&path).ok()?;
    let skip = |why: &str| {
        tracing::warn!(file = %path.display(), "password file ignored: {why}");
        None
    };
    if !metadata.is_file() {
        return skip("not a regular file");
    }
    if metadata.len() > MAX_LEN {
        return skip("larger than 1 MiB");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            return skip(
                "group or others may access it; permissions should be u=rw (0600) or less",
            );
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    find(&text, config)
}

/// The password of the first line of `text` that matches `config`.
fn find(text: &str, config: &Target<'_>) -> Option<String> {
    let port = config.port.to_string();
    let host_matches = |entry: &str| {
        entry == "*"
            || entry == config.host
            // A Unix socket counts as `localhost` (libpq does so for its default directory).
            || (config.host.starts_with('/') && entry == "localhost")
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(fields)
        .find(|[host, line_port, database, user, _]| {
            host_matches(host)
                && (line_port == "*" || *line_port == port)
                && (database == "*" || *database == config.database)
                && (user == "*" || *user == config.user)
        })
        .map(|[.., password]| password)
        .filter(|password| !password.is_empty())
}

/// The five fields of a line, unescaped; `None` for a line with fewer.
fn fields(line: &str) -> Option<[String; 5]> {
    let mut fields: Vec<String> = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    fields.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config<'a>(host: &'a str, user: &'a str) -> Target<'a> {
        Target {
            host,
            port: 5432,
            database: "sensor_data",
            user,
        }
    }

    #[test]
    fn first_matching_line_wins() {
        let text = "# comment\n\
                    db.example:5432:sensor_data:alice:first\n\
                    *:*:sensor_data:alice:second\n\
                    localhost:5432:*:bob:with\\:colon\\\\\n\
                    short:line\n";
        assert_eq!(
            find(text, &config("db.example", "alice")).as_deref(),
            Some("first")
        );
        assert_eq!(
            find(text, &config("other", "alice")).as_deref(),
            Some("second")
        );
        assert_eq!(
            find(text, &config("localhost", "bob")).as_deref(),
            Some("with:colon\\")
        );
        assert_eq!(
            find(text, &config("/run/postgresql", "bob")).as_deref(),
            Some("with:colon\\")
        );
        assert_eq!(find(text, &config("other", "carol")), None);
    }

    #[test]
    fn files_others_can_read_are_skipped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("store-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pgpass");
        std::fs::write(&file, "*:*:*:*:filepw\n").unwrap();
        let env = |name: &str| (name == "PGPASSFILE").then(|| file.display().to_string());
        let target = config("localhost", "alice");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(lookup(&target, &env).as_deref(), Some("filepw"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(lookup(&target, &env), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
