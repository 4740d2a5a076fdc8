# dl-listen JSON lines -> CSV: a header, then timestamp,sensor,value_raw,value_cal for every
# sensor_value.<sensor> alert (other messages are skipped; a missing value is an empty cell).
#
#   dl-listen 'sensor_value.#' | jq --unbuffered -nr -f listen-csv.jq > values.csv
"timestamp,sensor,value_raw,value_cal",
(inputs
 | select(.routing_key | startswith("sensor_value."))
 | [.timestamp, (.routing_key | ltrimstr("sensor_value.")), .payload.value_raw, .payload.value_cal]
 | @csv)
