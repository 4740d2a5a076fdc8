complete -c dl-watch -s i -l interval -d 'How often to get each endpoint (500ms, 10s; bare numbers are seconds); with --alerts, how long to wait for an alert before polling instead' -r
complete -c dl-watch -l until -d 'Stop with status 0 once this condition holds, e.g. \'value_cal >= 49.5\'' -r
complete -c dl-watch -l stable -d 'With --until: the condition must hold this long (every value seen meanwhile)' -r
complete -c dl-watch -l tolerance -d 'With --until: how far two numbers may differ and still be == (and not !=)' -r
complete -c dl-watch -l timeout -d 'With --until: give up after this long (status 75, the last values on stderr)' -r
complete -c dl-watch -l reply-timeout -d 'How long one get waits for its reply' -r
complete -c dl-watch -s f -l format -d 'Output format: jsonl or text (one camonitor-like line per value)' -r -f -a "jsonl\t'One JSON object per line'
text\t'One line for people: endpoint, local-free UTC time, value (like camonitor)'"
complete -c dl-watch -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-watch -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-watch -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-watch -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-watch -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-watch -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-watch -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-watch -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-watch -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-watch -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-watch -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-watch -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-watch -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-watch -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-watch -l always -d 'Print every value, not only changes'
complete -c dl-watch -l alerts -d 'Follow the endpoints\' `sensor_value.<name>` alerts (no load on the service); an endpoint whose alert does not come within --interval is polled, with a note on stderr'
complete -c dl-watch -l tls -d 'Connect with TLS (amqps)'
complete -c dl-watch -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-watch -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-watch -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-watch -s V -l version -d 'Print version'
