# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dl_history_global_optspecs
    string join \n v/verbose q/quiet log-format= h/help V/version
end

function __fish_dl_history_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dl_history_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dl_history_using_subcommand
    set -l cmd (__fish_dl_history_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dl-history -n "__fish_dl_history_needs_command" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-history -n "__fish_dl_history_needs_command" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-history -n "__fish_dl_history_needs_command" -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-history -n "__fish_dl_history_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-history -n "__fish_dl_history_needs_command" -s V -l version -d 'Print version'
complete -c dl-history -n "__fish_dl_history_needs_command" -f -a "migrate" -d 'Turn plain numeric_data and json_data tables into partitioned ones in place, without losing a row and with the logger running (it waits a moment, twice, for a lock)'
complete -c dl-history -n "__fish_dl_history_needs_command" -f -a "partitions" -d 'List the partitions (one JSON object per line on stdout), or create the next ones'
complete -c dl-history -n "__fish_dl_history_needs_command" -f -a "prune" -d 'Drop whole raw partitions older than --raw whose rollups are complete; delete rollup rows older than --minute / --hour'
complete -c dl-history -n "__fish_dl_history_needs_command" -f -a "rollup" -d 'Bring the 1-minute and 1-hour rollups up to date (from cron, e.g. every minute): recompute from raw rows every minute that got rows since (late and redelivered alerts included), and backfill the rows older than the rollups. Prints one JSON line'
complete -c dl-history -n "__fish_dl_history_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l partition -d 'Partition length' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l table -d 'The numeric table (schema.table allowed)' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l json-table -d 'The table for non-numeric values [default: json_data beside --table]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-url -d 'Whole database URL, postgresql://[user[:password]@]host[:port][,host[:port]…]/database [?sslmode=…&target_session_attrs=…]. Its parts override the PG* variables; the flags below override its parts' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-host -d 'Database host, or a Unix socket directory; or several, comma-separated (at most 16), tried in order as --pg-target-session-attrs says [env: PGHOST; default: localhost]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-port -d 'Database port, for every host or one per host [env: PGPORT; default: 5432]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-target-session-attrs -d 'Which of several hosts to settle on, as libpq: any (the first that answers); read-write (the primary); read-only; primary; standby; prefer-standby (a standby if one is up, else any) [env: PGTARGETSESSIONATTRS; URL target_session_attrs; default: any, but read-write for dl-log-to-pg with several hosts]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-database -d 'Database name [env: PGDATABASE; default: sensor_data]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-user -d 'Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username; default: postgres]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-password-file -d 'File holding the database password (trailing newline ignored) [or the URL\'s; env: PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or ~/.pgpass; default: postgres]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-sslmode -d 'TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name the host) [env: PGSSLMODE; default: prefer]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-sslrootcert -d 'PEM file of root certificates to trust besides the system\'s, for verify-ca and verify-full (with require, the certificate is then checked as verify-ca) [env: PGSSLROOTCERT]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l pg-connect-timeout -d 'Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never; default: 10s]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l auth-file -d 'Auth file (JSON or YAML) whose `postgres` group holds username and password' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-history -n "__fish_dl_history_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l ahead -d 'Create partitions from the current period to N periods ahead (and move rows of the default partition into them)' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l table -d 'The numeric table (schema.table allowed)' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l json-table -d 'The table for non-numeric values [default: json_data beside --table]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-url -d 'Whole database URL, postgresql://[user[:password]@]host[:port][,host[:port]…]/database [?sslmode=…&target_session_attrs=…]. Its parts override the PG* variables; the flags below override its parts' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-host -d 'Database host, or a Unix socket directory; or several, comma-separated (at most 16), tried in order as --pg-target-session-attrs says [env: PGHOST; default: localhost]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-port -d 'Database port, for every host or one per host [env: PGPORT; default: 5432]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-target-session-attrs -d 'Which of several hosts to settle on, as libpq: any (the first that answers); read-write (the primary); read-only; primary; standby; prefer-standby (a standby if one is up, else any) [env: PGTARGETSESSIONATTRS; URL target_session_attrs; default: any, but read-write for dl-log-to-pg with several hosts]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-database -d 'Database name [env: PGDATABASE; default: sensor_data]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-user -d 'Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username; default: postgres]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-password-file -d 'File holding the database password (trailing newline ignored) [or the URL\'s; env: PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or ~/.pgpass; default: postgres]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-sslmode -d 'TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name the host) [env: PGSSLMODE; default: prefer]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-sslrootcert -d 'PEM file of root certificates to trust besides the system\'s, for verify-ca and verify-full (with require, the certificate is then checked as verify-ca) [env: PGSSLROOTCERT]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l pg-connect-timeout -d 'Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never; default: 10s]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l auth-file -d 'Auth file (JSON or YAML) whose `postgres` group holds username and password' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-history -n "__fish_dl_history_using_subcommand partitions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l raw -d 'Raw retention: drop partitions that end at least this long ago (90d, 26weeks)' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l minute -d 'Retention of the 1-minute rollup (2y); kept for ever without it' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l hour -d 'Retention of the 1-hour rollup; kept for ever without it' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l json -d 'Retention of the JSON table\'s partitions (they have no rollup); kept for ever without it' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l table -d 'The numeric table (schema.table allowed)' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l json-table -d 'The table for non-numeric values [default: json_data beside --table]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-url -d 'Whole database URL, postgresql://[user[:password]@]host[:port][,host[:port]…]/database [?sslmode=…&target_session_attrs=…]. Its parts override the PG* variables; the flags below override its parts' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-host -d 'Database host, or a Unix socket directory; or several, comma-separated (at most 16), tried in order as --pg-target-session-attrs says [env: PGHOST; default: localhost]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-port -d 'Database port, for every host or one per host [env: PGPORT; default: 5432]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-target-session-attrs -d 'Which of several hosts to settle on, as libpq: any (the first that answers); read-write (the primary); read-only; primary; standby; prefer-standby (a standby if one is up, else any) [env: PGTARGETSESSIONATTRS; URL target_session_attrs; default: any, but read-write for dl-log-to-pg with several hosts]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-database -d 'Database name [env: PGDATABASE; default: sensor_data]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-user -d 'Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username; default: postgres]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-password-file -d 'File holding the database password (trailing newline ignored) [or the URL\'s; env: PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or ~/.pgpass; default: postgres]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-sslmode -d 'TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name the host) [env: PGSSLMODE; default: prefer]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-sslrootcert -d 'PEM file of root certificates to trust besides the system\'s, for verify-ca and verify-full (with require, the certificate is then checked as verify-ca) [env: PGSSLROOTCERT]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l pg-connect-timeout -d 'Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never; default: 10s]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l auth-file -d 'Auth file (JSON or YAML) whose `postgres` group holds username and password' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -l dry-run -d 'Drop nothing: print what would be dropped (JSON lines on stdout, a summary on stderr)'
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-history -n "__fish_dl_history_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l table -d 'The numeric table (schema.table allowed)' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l json-table -d 'The table for non-numeric values [default: json_data beside --table]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-url -d 'Whole database URL, postgresql://[user[:password]@]host[:port][,host[:port]…]/database [?sslmode=…&target_session_attrs=…]. Its parts override the PG* variables; the flags below override its parts' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-host -d 'Database host, or a Unix socket directory; or several, comma-separated (at most 16), tried in order as --pg-target-session-attrs says [env: PGHOST; default: localhost]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-port -d 'Database port, for every host or one per host [env: PGPORT; default: 5432]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-target-session-attrs -d 'Which of several hosts to settle on, as libpq: any (the first that answers); read-write (the primary); read-only; primary; standby; prefer-standby (a standby if one is up, else any) [env: PGTARGETSESSIONATTRS; URL target_session_attrs; default: any, but read-write for dl-log-to-pg with several hosts]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-database -d 'Database name [env: PGDATABASE; default: sensor_data]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-user -d 'Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username; default: postgres]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-password-file -d 'File holding the database password (trailing newline ignored) [or the URL\'s; env: PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or ~/.pgpass; default: postgres]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-sslmode -d 'TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name the host) [env: PGSSLMODE; default: prefer]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-sslrootcert -d 'PEM file of root certificates to trust besides the system\'s, for verify-ca and verify-full (with require, the certificate is then checked as verify-ca) [env: PGSSLROOTCERT]' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l pg-connect-timeout -d 'Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never; default: 10s]' -r
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l auth-file -d 'Auth file (JSON or YAML) whose `postgres` group holds username and password' -r -F
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -l init -d 'Create the rollups first if missing (tables <table>_1m, <table>_1h, the trigger that marks the minutes written); --init-schema of dl-log-to-pg does too'
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-history -n "__fish_dl_history_using_subcommand rollup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-history -n "__fish_dl_history_using_subcommand help; and not __fish_seen_subcommand_from migrate partitions prune rollup help" -f -a "migrate" -d 'Turn plain numeric_data and json_data tables into partitioned ones in place, without losing a row and with the logger running (it waits a moment, twice, for a lock)'
complete -c dl-history -n "__fish_dl_history_using_subcommand help; and not __fish_seen_subcommand_from migrate partitions prune rollup help" -f -a "partitions" -d 'List the partitions (one JSON object per line on stdout), or create the next ones'
complete -c dl-history -n "__fish_dl_history_using_subcommand help; and not __fish_seen_subcommand_from migrate partitions prune rollup help" -f -a "prune" -d 'Drop whole raw partitions older than --raw whose rollups are complete; delete rollup rows older than --minute / --hour'
complete -c dl-history -n "__fish_dl_history_using_subcommand help; and not __fish_seen_subcommand_from migrate partitions prune rollup help" -f -a "rollup" -d 'Bring the 1-minute and 1-hour rollups up to date (from cron, e.g. every minute): recompute from raw rows every minute that got rows since (late and redelivered alerts included), and backfill the rows older than the rollups. Prints one JSON line'
complete -c dl-history -n "__fish_dl_history_using_subcommand help; and not __fish_seen_subcommand_from migrate partitions prune rollup help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
