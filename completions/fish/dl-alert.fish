complete -c dl-alert -l rate -d 'Publish at most N alerts per second, evenly paced [default: as fast as possible]' -r
complete -c dl-alert -l speed -d 'With --replay: play this many times faster (10x, 0.5x; a bare number too)' -r
complete -c dl-alert -l retime -d 'With --replay: `now` sends each alert with the time of sending as its timestamp instead of the recorded one' -r -f -a "now\t'The time of sending'"
complete -c dl-alert -s b -l broker -d 'Broker host, or several: HOST[:PORT],HOST[:PORT],... (IPv6 as [ADDR]:PORT; at most 16) [env: DRIPLINE_BROKER; default: localhost, or ~/.dripline_mesh.yaml]' -r
complete -c dl-alert -s p -l port -d 'Broker port, for the addresses that name none [env: DRIPLINE_BROKER_PORT; default: 5672, 5671 with TLS]' -r
complete -c dl-alert -l broker-order -d 'Which broker address to try first: the first listed that answers, or a random one (so that many programs spread over a cluster\'s nodes)' -r -f -a "first\t'As listed: the first that answers'
random\t'A random order at each attempt'"
complete -c dl-alert -l vhost -d 'RabbitMQ virtual host [default: /]' -r
complete -c dl-alert -l amqp-url -d 'Whole broker URL, amqp[s]://[user@]host[:port][/vhost], or several separated by commas (one per node; scheme, user and vhost as in the first) [env: DRIPLINE_AMQP_URL]' -r
complete -c dl-alert -l tls-ca-file -d 'PEM file of the CA that signed the broker\'s TLS certificate (besides the system\'s)' -r -F
complete -c dl-alert -l auth-file -d 'Auth file (JSON or YAML) with a `dripline` group (or the legacy `amqp` group)' -r -F
complete -c dl-alert -s u -l username -d 'User name [env: DRIPLINE_USER; default: guest]' -r
complete -c dl-alert -l password-file -d 'File holding the broker password (trailing newline ignored) [or env: DRIPLINE_PASSWORD]' -r -F
complete -c dl-alert -l mesh-file -d 'Mesh defaults file [default: ~/.dripline_mesh.yaml if it exists]' -r -F
complete -c dl-alert -l requests-exchange -d 'Name of the requests exchange [default: requests]' -r
complete -c dl-alert -l alerts-exchange -d 'Name of the alerts exchange [default: alerts]' -r
complete -c dl-alert -l max-connection-attempts -d 'Connection attempts before giving up, 0 = forever [default: 10, 1 for one-shot tools]' -r
complete -c dl-alert -l log-format -d 'Log line format on stderr' -r -f -a "text\t'One human-readable line per event'
json\t'One JSON object per event, for log aggregation (ELK, Loki)'"
complete -c dl-alert -l transient -d 'Send the alerts transient (AMQP delivery mode 1) as dripline does, instead of persistent (mode 2, kept by a durable queue across a broker restart)'
complete -c dl-alert -l replay -d 'Replay a recording (dl-listen\'s lines on stdin) with its original timing: keep the gaps between the lines\' timestamps (see Replay below)'
complete -c dl-alert -l tls -d 'Connect with TLS (amqps)'
complete -c dl-alert -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c dl-alert -s q -l quiet -d 'Less log output on stderr (-q errors only, -qq nothing)'
complete -c dl-alert -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dl-alert -s V -l version -d 'Print version'
