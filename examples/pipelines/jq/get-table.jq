# dl-get --full - (batch mode) -> a table, one row per endpoint asked: endpoint, value_cal,
# value_raw, status (the return code's name, or the error). Tab-separated, with a header; pipe
# it into `column -t -s "$(printf '\t')"` to align it. A missing value shows as `-`.
#
#   printf '%s\n' peaches chips waffles | jq -cR '{target: .}' \
#     | dl-get --full - | jq -nr -f get-table.jq | column -t -s "$(printf '\t')"
def cell: if . == null then "-" else tostring end;
["endpoint", "value_cal", "value_raw", "status"],
(inputs
 | if .error then [.error.target, null, null, .error.return_name]
   else [.routing_key, .payload.value_cal, .payload.value_raw, .return_name] end
 | map(cell))
| @tsv
