complete -c dl-log-to-pg -l keys -d 'Routing keys to bind on the alerts exchange (repeat or comma-separate)' -r
complete -c dl-log-to-pg -l queue -d 'The durable queue to consume; replicas with the same name share the work' -r
complete -c dl-log-to-pg -l queue-type -d 'Queue type when the queue is created: quorum queues are replicated in a RabbitMQ cluster and keep even transient alerts over a broker restart' -r -f -a "classic\t'A classic durable queue (keeps persistent messages over a restart)'
quorum\t'A replicated quorum queue'"
complete -c dl-log-to-pg -l batch-size -d 'Largest batch: rows committed in one transaction' -r
complete -c dl-log-to-pg -l batch-time -d 'Longest time the first alert of a batch waits before the batch is committed' -r
complete -c dl-log-to-pg -l prefetch -d 'Unacknowledged alerts the broker may send ahead [default: 1.2 × batch size, so the next batch fills while one is committed without holding two batches in memory]' -r
complete -c dl-log-to-pg -l max-message-size -d 'Largest alert stored, in bytes of its body (all chunks); a larger one is dead-lettered with the reason' -r
complete -c dl-log-to-pg -l table -d 'The numeric table (schema.table allowed)' -r
complete -c dl-log-to-pg -l json-table -d 'The table for non-numeric values [default: json_data beside --table]' -r
complete -c dl-log-to-pg -l partition -d 'With --init-schema: create the tables partitioned by time, one partition per UTC month, ISO week or day (same columns and key; see dl-history). The logger then keeps the partitions two periods ahead; a row for a time without one lands in the default partition, never refused' -r
complete -c dl-log-to-pg -l metrics-addr -d 'Serve Prometheus metrics on /metrics and health on /healthz and /readyz at this address (e.g. 0.0.0.0:9102)' -r
complete -c dl-log-to-pg -l stall-timeout -d '/readyz fails when alerts wait and nothing was committed for this long' -r
complete -c dl-log-to-pg -s b -l broker -d 'Broker host [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-log-to-pg -s p -l port -d 'Broker port [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-log-to-pg -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-log-to-pg -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost] [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-log-to-pg -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-log-to-pg -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-log-to-pg -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-log-to-pg -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-log-to-pg -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-log-to-pg -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-log-to-pg -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-log-to-pg -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-log-to-pg -l pg-url -d 'Whole database URL, postgresql://[user[:password]@]host[:port]/database[?sslmode=…]. Its parts override the PG* variables; the flags below override its parts' -r
complete -c dl-log-to-pg -l pg-host -d 'Database host, or a Unix socket directory [env: PGHOST; default: localhost]' -r
complete -c dl-log-to-pg -l pg-port -d 'Database port [env: PGPORT; default: 5432]' -r
complete -c dl-log-to-pg -l pg-database -d 'Database name [env: PGDATABASE; default: sensor_data]' -r
complete -c dl-log-to-pg -l pg-user -d 'Database user [env: PGUSER, then POSTGRES_USER; auth file postgres.username; default: postgres]' -r
complete -c dl-log-to-pg -l pg-password-file -d 'File holding the database password (trailing newline ignored) [or the URL\'s; env: PGPASSWORD, then POSTGRES_PASSWORD; auth file postgres.password; PGPASSFILE or ~/.pgpass; default: postgres]' -r -F
complete -c dl-log-to-pg -l pg-sslmode -d 'TLS, as libpq: disable; prefer (TLS if offered); require (TLS, certificate not checked); verify-ca (certificate must lead to a trusted root); verify-full (… and name the host) [env: PGSSLMODE; default: prefer]' -r
complete -c dl-log-to-pg -l pg-sslrootcert -d 'PEM file of root certificates to trust besides the system\'s, for verify-ca and verify-full (with require, the certificate is then checked as verify-ca) [env: PGSSLROOTCERT]' -r -F
complete -c dl-log-to-pg -l pg-connect-timeout -d 'Give up connecting after this long [env: PGCONNECT_TIMEOUT in seconds, 0 for never; default: 10s]' -r
complete -c dl-log-to-pg -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-log-to-pg -l stdin -d 'Read JSON lines from stdin (as dl-listen prints them, or {"routing_key", "payload", "timestamp"}) instead of consuming from the broker'
complete -c dl-log-to-pg -l init-schema -d 'Create the database, schema and tables (with the deduplicating key and the index on sensor_name, timestamp) if they are missing'
complete -c dl-log-to-pg -l tls -d 'Connect with TLS (amqps)'
complete -c dl-log-to-pg -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-log-to-pg -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-log-to-pg -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-log-to-pg -s V -l version -d 'Print version'
