#!/bin/bash
# compare.sh BEFORE AFTER: the folders capture.sh wrote; lists every file that differs (timings
# such as "(0.14 s)" at a line's end are ignored) and exits 1 when any does.
set -u
bad=0; n=0
for f in "$1"/*.cmd; do
  k=$(basename "${f%.cmd}"); n=$((n + 1))
  for ext in out err rc csv; do
    [ -e "$1/$k.$ext" ] || [ -e "$2/$k.$ext" ] || continue
    if ! cmp -s <(sed -E 's/\([0-9.]+ s\)$//' "$1/$k.$ext" 2>/dev/null) <(sed -E 's/\([0-9.]+ s\)$//' "$2/$k.$ext" 2>/dev/null); then
      echo "differs: $k.$ext  rigfit $(cat "$f")"; bad=$((bad + 1))
    fi
  done
done
echo "compared $n commands: $bad files differ"
[ $bad -eq 0 ]
