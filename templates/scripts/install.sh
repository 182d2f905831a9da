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
# Wait for a held dpkg/apt lock (unattended-upgrades, another admin) instead of failing.
apt_get() {
  apt-get -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
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
