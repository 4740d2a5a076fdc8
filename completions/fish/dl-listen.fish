complete -c dl-listen -s n -l count -d 'Stop after printing N messages' -r
complete -c dl-listen -l duration -d 'Stop after this long (500ms, 10s, 2m; bare numbers are seconds)' -r
complete -c dl-listen -l idle-timeout -d 'Stop when no message came for this long' -r
complete -c dl-listen -l queue -d 'Read the durable queue NAME (created if missing) instead of a temporary one: it keeps the messages that arrive while dl-listen is away. Each message is acknowledged once its line is written and flushed. Delete the queue when done (rabbitmqctl delete_queue NAME)' -r
complete -c dl-listen -s f -l format -d 'Output format: jsonl (one JSON object per line), pretty (indented JSON), text (one human line per message: time, routing key, value)' -r -f -a "jsonl\t'One JSON object per line ([`MessageRecord`])'
pretty\t'The same object, indented over several lines'
text\t'`<timestamp> <routing key> <value>`, like camonitor'"
complete -c dl-listen -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-listen -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-listen -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-listen -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-listen -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-listen -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-listen -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-listen -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-listen -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-listen -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-listen -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-listen -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-listen -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-listen -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-listen -s r -l requests -d 'Bind the keys on the requests exchange instead of alerts: the requests, and the replies to the requests shown (it binds `amq.*`, where replies to clients\' reply queues travel, and prints those that answer a request it printed or that the keys match; each reply is waited for 60 s, at most 1000 at a time)'
complete -c dl-listen -l tls -d 'Connect with TLS (amqps)'
complete -c dl-listen -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-listen -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-listen -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-listen -s V -l version -d 'Print version'
