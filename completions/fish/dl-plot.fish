complete -c dl-plot -l value -d 'Which value to draw' -r -f -a "raw\t'value_raw'
cal\t'value_cal'"
complete -c dl-plot -l unit -d 'Unit of the values, shown on the y axis (K, mbar, V)' -r
complete -c dl-plot -l tz -d 'Time zone of the time axis: UTC, Z, an ISO 8601 offset east of UTC (+02:00, -05:30) or an IANA zone name (Europe/Berlin) [default: the offset of the first input timestamp]' -r
complete -c dl-plot -l gap -d 'Break a sensor\'s line where two of its points are further apart than this (30s, 5m); `none` never breaks [default: three times the sensor\'s mean interval]' -r
complete -c dl-plot -s o -l output -d 'Write a PNG or SVG file (by its extension) instead of drawing in the terminal' -r -F
complete -c dl-plot -l size -d 'Size: WIDTHxHEIGHT in pixels for -o [default: 1200x600], in characters for the terminal [default: the terminal\'s]' -r
complete -c dl-plot -l title -d 'Title above the plot' -r
complete -c dl-plot -s s -l sensor -d 'Sensor to draw, by exact name; repeat or separate with commas [default: all]' -r
complete -c dl-plot -s m -l match -d 'Sensors whose names match a glob (peach*) or SQL LIKE pattern (temp_%); repeatable' -r
complete -c dl-plot -l since -d 'Start of the range, inclusive: as dl-export\'s (24h, 2026-11-25, an RFC 3339 time) [default: the beginning]' -r
complete -c dl-plot -l until -d 'End of the range, exclusive [default: now]' -r
complete -c dl-plot -l every -d 'Average in the database into buckets of this width (1m, 1h) before drawing' -r
complete -c dl-plot -l table -d 'Table to read, optionally schema-qualified' -r
complete -c dl-plot -l pg-url -d 'Whole database URL, postgresql://[user[:password]@]host[:port][,host[:port]…]/database [?sslmode=…&target_session_attrs=…]. Its parts override the PG* variables; the flags below override its parts' -r
complete -c dl-plot -l pg-host -d 'Database host, or a Unix socket directory; or several, comma-separated (at most 16), tried in order as --pg-target-session-attrs says [env: PGHOST; default: localhost]' -r
complete -c dl-plot -l pg-port -d 'Database port, for every host or one per host [env: PGPORT; default: 5432]' -r
complete -c dl-plot -l pg-target-session-attrs -d 'Which of several hosts to settle on, as libpq: any (the first that answers); read-write (the primary); read-only; primary; standby; prefer-standby (a standby if one is up, else any) [env: PGTARGETSESSIONATTRS; URL target_session_attrs; default: any, but read-write for dl-log-to-pg with several hosts]' -r
complete -c dl-plot -l pg-database -d 'Database name [env: PGDATABASE; default: sensor_data]' -r
complete -c dl-plot -l pg-user -d 'Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username; default: postgres]' -r
complete -c dl-plot -l pg-password-file -d 'File holding the database password (trailing newline ignored) [or the URL\'s; env: PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or ~/.pgpass; default: postgres]' -r -F
complete -c dl-plot -l pg-sslmode -d 'TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name the host) [env: PGSSLMODE; default: prefer]' -r
complete -c dl-plot -l pg-sslrootcert -d 'PEM file of root certificates to trust besides the system\'s, for verify-ca and verify-full (with require, the certificate is then checked as verify-ca) [env: PGSSLROOTCERT]' -r -F
complete -c dl-plot -l pg-connect-timeout -d 'Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never; default: 10s]' -r
complete -c dl-plot -l auth-file -d 'Auth file (JSON or YAML) whose `postgres` group holds username and password' -r -F
complete -c dl-plot -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-plot -l panels -d 'One panel per sensor, stacked, sharing the time axis (with -o)'
complete -c dl-plot -l db -d 'Read from the database (as dl-export does) instead of stdin; implied by --sensor, --match, --since, --until and --every'
complete -c dl-plot -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-plot -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-plot -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-plot -s V -l version -d 'Print version'
