# Installs the drop-in read from stdin ($2 bytes) as $1 with mode $4 (0600 when
# it holds Environment= values), keeping the version it replaces as
# $1.previous, then (re)starts the engine when the drop-in or the certificates
# ($3 = 1) changed or the engine is not running. Exit status 42 means the
# engine did not start; stdout then holds its status and journal.
set -e
file=$1 size=$2 certs_changed=$3 mode=${4:-0600}
umask 022
mkdir -p "$(dirname "$file")"
# The new file is private from its first byte; it gets its own mode once complete.
umask 077
tmp="$file.berth-tmp"
rm -f "$tmp"
head -c "$size" > "$tmp"
chmod "$mode" "$tmp"
changed=0
if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
  rm -f "$tmp"
  # Same bytes, but an older berth may have left it readable by everyone.
  chmod "$mode" "$file"
else
  # Keep the previous version only when replacing it, so a re-run cannot
  # overwrite the last good configuration with the new one. It may hold the
  # same secrets, so it is private whatever the old file's mode was.
  if [ -f "$file" ]; then cp "$file" "$file.previous"; chmod 0600 "$file.previous"; fi
  mv -f "$tmp" "$file"
  changed=1
fi
systemctl is-enabled --quiet docker.service 2>/dev/null || systemctl enable --quiet docker.service
restarted=0
if [ "$changed" = 1 ] || [ "$certs_changed" = 1 ] || ! systemctl is-active --quiet docker.service; then
  systemctl daemon-reload
  # The journal quoted on failure starts here, not with older runs' lines.
  since=$(date '+%Y-%m-%d %H:%M:%S')
  # After a failed start, systemd refuses a restart within the start-limit window.
  systemctl reset-failed docker.service docker.socket 2>/dev/null || true
  if ! systemctl restart docker.service 2>/dev/null; then
    systemctl status docker.service --no-pager --lines=0 2>&1 || true
    journalctl -u docker.service --since "$since" -n 30 --no-pager 2>&1 || true
    exit 42
  fi
  restarted=1
fi
echo "changed=$changed"
echo "restarted=$restarted"
