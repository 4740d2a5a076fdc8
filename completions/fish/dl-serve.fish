complete -c dl-serve -s c -l config -d 'The service configuration file (YAML, dripline-python format)' -r -F
complete -c dl-serve -l heartbeat-interval-s -d 'Seconds between heartbeat alerts, 0 = none; overrides the config\'s heartbeat_interval_s [default: 60]' -r
complete -c dl-serve -l heartbeat-routing-key -d 'First routing-key word of heartbeat alerts; overrides dripline_mesh.heartbeat_routing_key [default: heartbeat]' -r
complete -c dl-serve -l max-message-size -d 'Largest request accepted, in bytes, all its chunks together; a bigger one is answered 302 and the refusals are counted in a warning at most every 10 s' -r
complete -c dl-serve -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-serve -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-serve -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-serve -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-serve -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-serve -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-serve -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-serve -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-serve -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-serve -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-serve -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-serve -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-serve -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-serve -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-serve -l check -d 'Check the config file (and broker settings) and exit without connecting'
complete -c dl-serve -l tls -d 'Connect with TLS (amqps)'
complete -c dl-serve -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-serve -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-serve -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-serve -s V -l version -d 'Print version'
