complete -c dl-get -s s -l specifier -d 'Specifier: which attribute to get (e.g. `is-locked`)' -r
complete -c dl-get -s k -l lockout-key -d 'Lockout key (a UUID) for a locked endpoint' -r
complete -c dl-get -s t -l timeout -d 'How long to wait for a reply (500ms, 10s, 2m; bare numbers are seconds; 0 = forever)' -r
complete -c dl-get -l field -d 'Print only this field of the payload (dotted path: `value_cal`, `values.0`); strings print without quotes' -r
complete -c dl-get -l in-flight -d 'In batch mode, how many requests may wait for replies at once' -r
complete -c dl-get -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-get -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-get -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-get -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-get -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-get -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-get -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-get -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-get -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-get -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-get -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-get -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-get -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-get -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-get -l full -d 'Print the whole reply as one JSON object (routing key, return code and message, sender_info, timestamp, payload) instead of the payload alone'
complete -c dl-get -l pretty -d 'Indent JSON output for people'
complete -c dl-get -l broadcast -d 'Print every reply (for `broadcast`) as it arrives, until the timeout (`-t 0`: until interrupted), one line each, with --full implied so each line names the service that answered. Takes one target'
complete -c dl-get -l fail-fast -d 'In batch mode, stop at the first failed request or bad input line'
complete -c dl-get -l tls -d 'Connect with TLS (amqps)'
complete -c dl-get -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-get -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-get -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-get -s V -l version -d 'Print version'
