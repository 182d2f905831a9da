# Installs the drop-in read from stdin ($2 bytes) as $1 with mode $4 (0600 when
# it holds Environment= values), keeping the version it replaces as
# $1.previous (always 0600: it may hold the same secrets), and, when $6 is not
# "-", daemon.json ($5) from the next $6 bytes of stdin, keeping the version it
# replaces as $5.berth-previous. Then restarts the engine when anything or the
# certificates ($3 = 1) changed, and starts it when it is not running (a start
# job under way, as on a machine whose engine boots with berth's files already
# in place, is waited for: the engine is not started twice). Exit status 42
# means the engine did not start; stdout then holds its status and journal, the
# files are put back as they were, the engine is started again if it ran before,
# and the last line says how that went: rollback=running, rollback=stopped (it
# did not run before) or rollback=failed.
set -e
file=$1 size=$2 certs_changed=$3 mode=${4:-0600} daemon=${5:-} daemon_size=${6:--}
umask 022
was_active=0
if systemctl is-active --quiet docker.service; then was_active=1; fi
mkdir -p "$(dirname "$file")"
# The new file is private from its first byte; it gets its own mode once complete.
umask 077
tmp="$file.berth-tmp"
rm -f "$tmp"
head -c "$size" > "$tmp"
chmod "$mode" "$tmp"
changed=0 had_file=0
if [ -f "$file" ]; then had_file=1; fi
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
daemon_changed=0
if [ "$daemon_size" != "-" ]; then
  dtmp="$daemon.berth-tmp"
  head -c "$daemon_size" > "$dtmp"
  if [ -f "$daemon" ] && cmp -s "$dtmp" "$daemon"; then
    rm -f "$dtmp"
  else
    if [ -f "$daemon" ]; then cp -p "$daemon" "$daemon.berth-previous"; chmod --reference="$daemon" "$dtmp"; fi
    mv -f "$dtmp" "$daemon"
    daemon_changed=1
  fi
fi
systemctl is-enabled --quiet docker.service 2>/dev/null || systemctl enable --quiet docker.service
restarted=0 action=
if [ "$changed" = 1 ] || [ "$daemon_changed" = 1 ] || [ "$certs_changed" = 1 ]; then
  action=restart
  # Only a changed unit file needs systemd to read its units again (about 100 ms); new
  # certificates or daemon.json are read by the engine itself when it restarts.
  if [ "$changed" = 1 ]; then systemctl daemon-reload; fi
elif [ "$was_active" = 0 ]; then
  action=start
fi
if [ -n "$action" ]; then
  # The journal quoted on failure starts here, not with older runs' lines.
  since=$(date '+%Y-%m-%d %H:%M:%S')
  # After a failed start, systemd refuses a restart within the start-limit window.
  systemctl reset-failed docker.service docker.socket 2>/dev/null || true
  if ! systemctl "$action" docker.service 2>/dev/null; then
    systemctl status docker.service --no-pager --lines=0 2>&1 || true
    journalctl -u docker.service --since "$since" -n 30 --no-pager 2>&1 || true
    # Never leave the host worse than it was: the previous files back, and the engine
    # running again if it ran.
    if [ "$changed" = 1 ]; then
      if [ "$had_file" = 1 ]; then cp -p "$file.previous" "$file"; else rm -f "$file"; fi
    fi
    if [ "$daemon_changed" = 1 ] && [ -f "$daemon.berth-previous" ]; then cp -p "$daemon.berth-previous" "$daemon"; fi
    systemctl daemon-reload
    systemctl reset-failed docker.service docker.socket 2>/dev/null || true
    if [ "$was_active" = 0 ]; then
      echo "rollback=stopped"
    elif systemctl restart docker.service 2>/dev/null && systemctl is-active --quiet docker.service; then
      echo "rollback=running"
    else
      echo "rollback=failed"
    fi
    exit 42
  fi
  # A start of a stopped engine stops nothing: only a restart counts as one.
  if [ "$action" = restart ]; then restarted=1; fi
fi
echo "changed=$changed"
echo "daemon_changed=$daemon_changed"
echo "restarted=$restarted"
