# Makes the host's name $1 (already checked to be a valid hostname), in
# /etc/hosts first so that sudo and friends can resolve the new name at once.
# Minimal hosts may have no /etc/hosts, no /etc/hostname and no hostname tool.
set -e
name=$1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
hosts=/etc/hosts
[ -f "$hosts" ] || : > "$hosts"
awk -v n="$name" '
  /^127\.0\.1\.1[ \t]/ { if (!done) print "127.0.1.1\t" n; done = 1; next }
  { print }
  END { if (!done) print "127.0.1.1\t" n }
' "$hosts" > "$tmp"
# cat rather than mv: /etc/hosts may be a bind mount in containers.
cmp -s "$tmp" "$hosts" || cat "$tmp" > "$hosts"
chmod 0644 "$hosts"
# The hostname tool first, as docker-machine's provisioners do (`sudo hostname NAME`):
# hostnamectl asks systemd-hostnamed over D-Bus, which is started for the call and costs
# about 70 ms here; the static name is /etc/hostname, written below either way.
if [ "$(uname -n)" != "$name" ]; then
  hostname "$name" 2>/dev/null || hostnamectl set-hostname "$name" 2>/dev/null ||
    printf '%s' "$name" > /proc/sys/kernel/hostname
fi
[ "$(cat /etc/hostname 2>/dev/null)" = "$name" ] || printf '%s\n' "$name" > /etc/hostname
