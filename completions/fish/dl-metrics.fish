complete -c dl-metrics -l metrics-addr -d 'Serve /metrics, /healthz and /readyz (ready while connected to the broker) at this address' -r
complete -c dl-metrics -l max-sensors -d 'The most sensors tracked; alerts of further sensors are counted in dl_metrics_dropped_total{kind="sensor"} and otherwise ignored' -r
complete -c dl-metrics -l max-services -d 'The most services tracked (and, with --requests, service and return-code pairs)' -r
complete -c dl-metrics -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-metrics -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-metrics -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-metrics -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-metrics -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-metrics -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-metrics -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-metrics -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-metrics -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-metrics -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-metrics -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-metrics -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-metrics -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-metrics -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-metrics -s r -l requests -d 'Also listen to the replies on the requests exchange (those to server-named reply queues, amq.gen-…, which every dripline client uses) and count the error replies'
complete -c dl-metrics -l tls -d 'Connect with TLS (amqps)'
complete -c dl-metrics -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-metrics -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-metrics -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-metrics -s V -l version -d 'Print version'
