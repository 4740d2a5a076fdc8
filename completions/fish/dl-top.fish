complete -c dl-top -l window -d 'How far back the rate and the sparkline look (1m, 5m, 1h)' -r
complete -c dl-top -l sort -d 'Row order (s on the screen cycles through them)' -r -f -a "name\t'By sensor name'
age\t'Most recent first'
rate\t'Most alerts per minute first'"
complete -c dl-top -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-top -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-top -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-top -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-top -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-top -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-top -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-top -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-top -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-top -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-top -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-top -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-top -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-top -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-top -l tls -d 'Connect with TLS (amqps)'
complete -c dl-top -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-top -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-top -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-top -s V -l version -d 'Print version'
