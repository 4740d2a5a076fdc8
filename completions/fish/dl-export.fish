complete -c dl-export -s s -l sensor -d 'Sensor to export, by exact name; repeat or separate with commas [default: all]' -r
complete -c dl-export -s m -l match -d 'Sensors whose names match: a glob with * and ? (peach*), else an SQL LIKE pattern (temp_%). Repeatable; adds to --sensor' -r
complete -c dl-export -l since -d 'Start of the range, inclusive (see Times below) [default: the beginning]' -r
complete -c dl-export -l until -d 'End of the range, exclusive (see Times below) [default: now]' -r
complete -c dl-export -l table -d 'Table to read, optionally schema-qualified' -r
complete -c dl-export -s f -l format -d 'Output format' -r -f -a "csv\t'Comma-separated values with a header line'
tsv\t'Tab-separated values with a header line'
jsonl\t'One JSON object per line'"
complete -c dl-export -s o -l output -d 'Write to FILE (atomically: temporary file, then rename) instead of stdout' -r -F
complete -c dl-export -l tz -d 'Write timestamps in this time zone: an ISO 8601 offset east of UTC (+02:00, -05:30) or a name the database knows (Europe/Berlin, UTC, America/Chicago); times without offset in --since/--until are read in it too. POSIX-style UTC+2 or Etc/GMT+2, whose sign means west, is refused' -r
complete -c dl-export -l value -d 'Which value columns to write (or aggregate)' -r -f -a "raw\t'value_raw only'
cal\t'value_cal only'
both\t'value_raw and value_cal'"
complete -c dl-export -l every -d 'Downsample: one row per sensor and bucket of this width (1m, 15s, 1h), aligned to the epoch, computed in the database' -r
complete -c dl-export -l agg -d 'Aggregates per bucket: mean, min, max, first, last, count; repeat or separate with commas [default: mean]' -r
complete -c dl-export -l fill -d 'With --wide: what an empty cell gets' -r -f -a "empty\t'Leave the cell empty (null in JSON)'
previous\t'Repeat the sensor\'s previous value'"
complete -c dl-export -l state -d 'Incremental export: resume after the rows recorded in FILE, and record the new end there (see Incremental exports below)' -r -F
complete -c dl-export -l pg-url -d 'Whole database URL, postgresql://[user[:password]@]host[:port][,host[:port]…]/database [?sslmode=…&target_session_attrs=…]. Its parts override the PG* variables; the flags below override its parts' -r
complete -c dl-export -l pg-host -d 'Database host, or a Unix socket directory; or several, comma-separated (at most 16), tried in order as --pg-target-session-attrs says [env: PGHOST; default: localhost]' -r
complete -c dl-export -l pg-port -d 'Database port, for every host or one per host [env: PGPORT; default: 5432]' -r
complete -c dl-export -l pg-target-session-attrs -d 'Which of several hosts to settle on, as libpq: any (the first that answers); read-write (the primary); read-only; primary; standby; prefer-standby (a standby if one is up, else any) [env: PGTARGETSESSIONATTRS; URL target_session_attrs; default: any, but read-write for dl-log-to-pg with several hosts]' -r
complete -c dl-export -l pg-database -d 'Database name [env: PGDATABASE; default: sensor_data]' -r
complete -c dl-export -l pg-user -d 'Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username; default: postgres]' -r
complete -c dl-export -l pg-password-file -d 'File holding the database password (trailing newline ignored) [or the URL\'s; env: PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or ~/.pgpass; default: postgres]' -r -F
complete -c dl-export -l pg-sslmode -d 'TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name the host) [env: PGSSLMODE; default: prefer]' -r
complete -c dl-export -l pg-sslrootcert -d 'PEM file of root certificates to trust besides the system\'s, for verify-ca and verify-full (with require, the certificate is then checked as verify-ca) [env: PGSSLROOTCERT]' -r -F
complete -c dl-export -l pg-connect-timeout -d 'Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never; default: 10s]' -r
complete -c dl-export -l auth-file -d 'Auth file (JSON or YAML) whose `postgres` group holds username and password' -r -F
complete -c dl-export -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-export -l strict -d 'Fail (status 65) when a --sensor has no row at all in the table, or a --match matches no sensor'
complete -c dl-export -l gzip -d 'Compress the output with gzip'
complete -c dl-export -l no-header -d 'Leave out the CSV/TSV header line'
complete -c dl-export -l epoch -d 'Write timestamps as seconds since 1970-01-01T00:00:00Z (with microseconds)'
complete -c dl-export -l no-progress -d 'Never show a progress bar (it is shown only on a terminal, for long exports)'
complete -c dl-export -l print-query -d 'Print the SQL SELECT that would run, and exit'
complete -c dl-export -l wide -d 'One column per sensor on a shared time axis (needs --every); a row for every bucket in which any sensor has data'
complete -c dl-export -l no-rollup -d 'Compute every bucket from raw rows, never from the 1-minute / 1-hour rollups (which are read, when present and complete, for buckets a whole number of minutes wide)'
complete -c dl-export -l fail-if-empty -d 'Exit with status 2 when no row matched'
complete -c dl-export -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-export -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-export -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-export -s V -l version -d 'Print version'
