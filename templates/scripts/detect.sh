# Prints what berth needs to know about the host as key=value lines, all in
# one round trip (each SSH round trip costs time). It runs as the SSH user,
# before any sudo, and only reads.
echo "uid=$(id -u)"
for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then
    sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*=\)/os.\1/p' "$f"
    break
  fi
done
if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi
echo "hostname=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)"
addrs=$(hostname -I 2>/dev/null) || addrs=
if [ -z "$addrs" ] && command -v ip >/dev/null 2>&1; then
  addrs=$(ip -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }' | tr '\n' ' ')
fi
echo "addresses=$addrs"
# The packaged unit's path differs: docker.io has /usr/sbin/dockerd, docker-ce /usr/bin/dockerd.
d=$(command -v dockerd 2>/dev/null) || d=
for p in /usr/sbin/dockerd /usr/bin/dockerd /usr/local/bin/dockerd; do
  if [ -z "$d" ] && [ -x "$p" ]; then d=$p; fi
done
echo "dockerd=$d"
units=$(systemctl list-unit-files --no-legend --no-pager docker.service docker.socket 2>/dev/null) || units=
case "$units" in *docker.socket*) echo socket=1 ;; *) echo socket=0 ;; esac
case "$units" in *docker.service*) echo service=1 ;; *) echo service=0 ;; esac
if systemctl is-active --quiet docker.service 2>/dev/null; then echo active=1; else echo active=0; fi
if command -v cloud-init >/dev/null 2>&1; then echo cloud_init=1; else echo cloud_init=0; fi
echo "hosts=$(grep '^127\.0\.1\.1[[:space:]]' /etc/hosts 2>/dev/null | head -n 1)"
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then echo sudo=1; else echo sudo=0; fi
fi
exit 0
