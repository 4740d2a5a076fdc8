complete -c dl-cmd -s s -l specifier -d 'The command (method) to run, e.g. `ping`, `lock`, `unlock`' -r
complete -c dl-cmd -s k -l lockout-key -d 'Lockout key (a UUID) for a locked endpoint' -r
complete -c dl-cmd -s t -l timeout -d 'How long to wait for a reply (500ms, 10s, 2m; bare numbers are seconds; 0 = forever)' -r
complete -c dl-cmd -l field -d 'Print only this field of the payload (dotted path: `value_cal`, `values.0`); strings print without quotes' -r
complete -c dl-cmd -l in-flight -d 'In batch mode, how many requests may wait for replies at once' -r
complete -c dl-cmd -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-cmd -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-cmd -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-cmd -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-cmd -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-cmd -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-cmd -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-cmd -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-cmd -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-cmd -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-cmd -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-cmd -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-cmd -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-cmd -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-cmd -l json -d 'Take each argument value as JSON instead of inferring its type'
complete -c dl-cmd -l full -d 'Print the whole reply as one JSON object (routing key, return code and message, sender_info, timestamp, payload) instead of the payload alone'
complete -c dl-cmd -l pretty -d 'Indent JSON output for people'
complete -c dl-cmd -l broadcast -d 'Print every reply (for `broadcast`) as it arrives, until the timeout (`-t 0`: until interrupted), one line each, with --full implied so each line names the service that answered. Takes one target'
complete -c dl-cmd -l fail-fast -d 'In batch mode, stop at the first failed request or bad input line'
complete -c dl-cmd -l tls -d 'Connect with TLS (amqps)'
complete -c dl-cmd -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-cmd -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-cmd -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-cmd -s V -l version -d 'Print version'
