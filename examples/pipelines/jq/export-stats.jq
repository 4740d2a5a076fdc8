# dl-export JSON lines -> one JSON line per sensor: count, min, max, mean of a value column
# (value_cal unless --arg column value_raw), in sensor order. Rows whose value is null, NaN or
# infinite (dl-export writes those as null or as strings) are not counted. Reads the rows as a
# stream: memory grows with the number of sensors, not rows.
#
#   dl-export --since 24h --format jsonl | jq -nc -f export-stats.jq
#   dl-export --since 24h --format jsonl | jq -nc --arg column value_raw -f export-stats.jq
($ARGS.named.column // "value_cal") as $column
| reduce (inputs | {sensor: .sensor_name, value: .[$column]} | select(.value | type == "number"))
    as $row ({};
    .[$row.sensor] |= (
      if . == null then {count: 0, sum: 0, min: $row.value, max: $row.value} else . end
      | .count += 1
      | .sum += $row.value
      | .min = ([.min, $row.value] | min)
      | .max = ([.max, $row.value] | max)))
| to_entries
| sort_by(.key)[]
| {sensor: .key, count: .value.count, min: .value.min, max: .value.max,
   mean: (.value.sum / .value.count)}
