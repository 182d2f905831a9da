# Writes files from stdin: arguments come in threes (PATH MODE SIZE) and stdin
# holds the files' bytes one after the other. Each file goes to a temporary
# name (created 0600) and is renamed over the old one only when it differs.
# Prints changed=1 when any file changed.
set -e
umask 077
changed=0
while [ $# -ge 3 ]; do
  path=$1 mode=$2 size=$3
  shift 3
  mkdir -p "$(dirname "$path")"
  tmp="$path.berth-tmp"
  # GNU head never reads past SIZE bytes, so the next file's bytes stay on stdin.
  head -c "$size" > "$tmp"
  got=$(wc -c < "$tmp")
  if [ "$got" -ne "$size" ]; then
    rm -f "$tmp"
    echo "$path: expected $size bytes on stdin, got $got" >&2
    exit 1
  fi
  chmod "$mode" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    chmod "$mode" "$path"
  else
    mv -f "$tmp" "$path"
    changed=1
  fi
done
echo "changed=$changed"
