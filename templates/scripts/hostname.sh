# Makes the host's name $1 (already checked to be a valid hostname), in
# /etc/hosts first so that sudo and friends can resolve the new name at once.
set -e
name=$1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
awk -v n="$name" '
  /^127\.0\.1\.1[ \t]/ { if (!done) print "127.0.1.1\t" n; done = 1; next }
  { print }
  END { if (!done) print "127.0.1.1\t" n }
' /etc/hosts > "$tmp"
# cat rather than mv: /etc/hosts may be a bind mount in containers.
cmp -s "$tmp" /etc/hosts || cat "$tmp" > /etc/hosts
if [ "$(hostname)" != "$name" ]; then
  if ! hostnamectl set-hostname "$name" 2>/dev/null; then
    hostname "$name"
  fi
fi
[ "$(cat /etc/hostname 2>/dev/null)" = "$name" ] || printf '%s\n' "$name" > /etc/hostname
