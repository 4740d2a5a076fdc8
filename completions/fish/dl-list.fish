complete -c dl-list -l expect -d 'Exit with status 1 when this service is not found (repeatable), for health scripts' -r
complete -c dl-list -s t -l timeout -d 'How long to wait for ping replies (500ms, 2s; bare numbers are seconds); the wait ends early once every service queue the management API knows has answered' -r
complete -c dl-list -l listen -d 'Also listen to heartbeats for this long (e.g. 70s: longer than the services\' heartbeat interval) and show each service\'s heartbeat age' -r
complete -c dl-list -l management-url -d 'The RabbitMQ management API [default: http://BROKER:15672], logged in with the broker\'s user name and password' -r
complete -c dl-list -s f -l format -d 'Output format: auto (table on a terminal, else jsonl), table, jsonl' -r -f -a "auto\t'A table when stdout is a terminal, JSON lines otherwise'
table\t'Aligned columns for people'
jsonl\t'One JSON object per line'"
complete -c dl-list -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-list -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-list -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-list -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-list -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-list -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-list -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-list -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-list -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-list -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-list -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-list -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-list -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-list -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-list -l endpoints -d 'One line per endpoint with its service, instead of one per service (needs the management API)'
complete -c dl-list -l no-management -d 'Do not ask the management API (endpoints and consumers stay unknown)'
complete -c dl-list -l tls -d 'Connect with TLS (amqps)'
complete -c dl-list -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-list -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-list -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-list -s V -l version -d 'Print version'
