# Prints what berth needs to know about the host as key=value lines, all in
# one round trip (each SSH round trip costs time). It runs as the SSH user,
# before any sudo, and only reads.
echo "uid=$(id -u)"
# The host's clock, compared with berth's: certificates fail across clocks hours apart.
echo "now=$(date +%s)"
for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then
    sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*=\)/os.\1/p' "$f"
    break
  fi
done
if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi
# Minimal hosts may lack the hostname tool; uname is in coreutils.
echo "hostname=$(uname -n 2>/dev/null || hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)"
# Each global address with its interface, so that berth can leave out the bridges and veths the
# engine makes (docker0, br-*, veth*, docker_gwbridge): `hostname -I` lists those too, and a new
# Docker network would make the certificate look stale. Without `ip`, berth names only the
# address it reaches the host at.
if command -v ip >/dev/null 2>&1; then
  ip -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print "address=" $2 " " $4 }'
fi
# The packaged unit's path differs: docker.io has /usr/sbin/dockerd, docker-ce /usr/bin/dockerd.
d=$(command -v dockerd 2>/dev/null) || d=
for p in /usr/sbin/dockerd /usr/bin/dockerd /usr/local/bin/dockerd; do
  if [ -z "$d" ] && [ -x "$p" ]; then d=$p; fi
done
echo "dockerd=$d"
units=$(systemctl list-unit-files --no-legend --no-pager docker.service docker.socket 2>/dev/null) || units=
# A masked docker.socket hands the engine no socket: it must not get -H fd://.
case "$units" in *docker.socket*masked*) echo socket=0 ;; *docker.socket*) echo socket=1 ;; *) echo socket=0 ;; esac
case "$units" in *docker.service*) echo service=1 ;; *) echo service=0 ;; esac
# Other drop-ins of docker.service; one sorting after berth's that sets ExecStart replaces berth's.
for f in /etc/systemd/system/docker.service.d/*.conf /run/systemd/system/docker.service.d/*.conf /lib/systemd/system/docker.service.d/*.conf /usr/lib/systemd/system/docker.service.d/*.conf; do
  [ -f "$f" ] || continue
  case "$f" in */10-machine.conf) continue ;; esac
  echo "dropin=$f"
  if grep -q '^[[:space:]]*ExecStart[[:space:]]*=' "$f" 2>/dev/null; then echo "dropin_exec=$f"; fi
done
# Hosts berth moved out of daemon.json earlier live on in its drop-in.
sed -n 's/^# hosts from daemon.json: //p' /etc/systemd/system/docker.service.d/10-machine.conf 2>/dev/null | sed 's/^/moved_hosts=/'
if systemctl is-active --quiet docker.service 2>/dev/null; then echo active=1; else echo active=0; fi
if command -v cloud-init >/dev/null 2>&1; then echo cloud_init=1; else echo cloud_init=0; fi
echo "hosts=$(grep '^127\.0\.1\.1[[:space:]]' /etc/hosts 2>/dev/null | head -n 1)"
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then echo sudo=1; else echo sudo=0; fi
fi
# Last: the engine's own configuration file, verbatim, after a marker line.
if [ -r /etc/docker/daemon.json ]; then echo "--- daemon.json"; cat /etc/docker/daemon.json; fi
exit 0
