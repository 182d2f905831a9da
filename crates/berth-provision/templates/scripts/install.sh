# Installs the Docker engine: the distribution's docker.io package, or the
# script at $1 (a get.docker.com-style URL) when one is given.
set -e
url=$1
if command -v cloud-init >/dev/null 2>&1; then
  # apt fails on its lock while cloud-init is still installing packages (docker/machine #3358).
  echo "waiting for cloud-init to finish"
  cloud-init status --wait >/dev/null 2>&1 || true
fi
export DEBIAN_FRONTEND=noninteractive
# The process holding one of apt's or dpkg's locks, as "PID (command line)", or nothing.
# apt and dpkg take them with fcntl; /proc/locks names each lock's holder by the file's inode.
lock_holder() {
  for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock; do
    ino=$(stat -c %i "$f" 2>/dev/null) || continue
    pid=$(awk -v ino="$ino" '$2 != "->" { n = split($6, dev, ":"); if (dev[n] == ino) { print $5; exit } }' /proc/locks 2>/dev/null)
    if [ -n "$pid" ]; then
      cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)
      echo "$pid (${cmd% })"
      return
    fi
  done
}
# Waits (up to 600 s) while another apt or dpkg run holds a lock, saying who holds it: berth
# shows that line as the step's progress. apt's own DPkg::Lock::Timeout covers the moment
# between this check and apt taking the lock.
wait_for_lock() {
  said= waited=0
  while holder=$(lock_holder) && [ -n "$holder" ]; do
    if [ "$holder" != "$said" ]; then
      echo "waiting for the package lock held by PID $holder"
      said=$holder
    fi
    if [ "$waited" -ge 600 ]; then
      echo "the package lock is still held by PID $holder after 600s; let that run finish (or stop it), then run the provisioning again" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  if [ -n "$said" ]; then echo "the package lock is free"; fi
}
# Wait for a held dpkg/apt lock (unattended-upgrades, another admin) instead of failing, and
# retry a download that failed on the way (a mirror or resolver that did not answer once).
apt_get() {
  wait_for_lock
  apt-get -q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
# An install cut off half-way (berth interrupted, the connection lost) can leave dpkg
# "interrupted", and apt then refuses to run until `dpkg --configure -a` finishes it. When that
# fails (an apt still at work holds the lock), apt below waits for the lock and says the rest.
admindir=${DPKG_ADMINDIR:-/var/lib/dpkg}
if [ -n "$(ls -A "$admindir/updates" 2>/dev/null)" ]; then
  echo "finishing an interrupted dpkg run"
  dpkg --force-confdef --force-confold --configure -a || echo "dpkg --configure -a failed; going on"
fi
if [ -n "$url" ]; then
  if ! command -v curl >/dev/null 2>&1; then
    apt_get update
    apt_get install -y curl ca-certificates
  fi
  script=$(mktemp)
  trap 'rm -f "$script"' EXIT
  # Downloaded first, not piped: a failed download must fail the install, not run half a script.
  # https only, also after a redirect (berth refuses other URLs before it gets here);
  # file:// for a script already on the host.
  curl -fsSL --proto '=https,file' --proto-redir '=https' "$url" -o "$script"
  sh "$script"
else
  apt_get update
  apt_get install -y docker.io
fi
