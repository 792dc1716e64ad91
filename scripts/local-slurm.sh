#!/usr/bin/env bash
# A single-node Slurm on this machine, for the Slurm tests and for trying `fail-lab sweep
# --slurm` without a cluster: munged, slurmctld and slurmd, one node (this host, every core),
# one default partition.
#
#   scripts/local-slurm.sh start    install slurm-wlm and munge if missing, write the
#                                   configuration, start the daemons, wait for the node
#   scripts/local-slurm.sh stop     stop what start started
#   scripts/local-slurm.sh status   the daemons and the node; exit 0 when a job can run
#
# Everything it writes lives in one folder, $LOCAL_SLURM_DIR (default /var/lib/fail-lab-slurm):
# slurm.conf, the controller's state, the node's spool, pid and log files. Clients find the
# configuration through /etc/slurm/slurm.conf, a link made only when no such file exists (a
# machine with a Slurm of its own is left alone: the script refuses). Each command can be
# repeated: start on a running Slurm and stop on a stopped one say so and succeed.
set -euo pipefail

DIR="${LOCAL_SLURM_DIR:-/var/lib/fail-lab-slurm}"
CONF="$DIR/slurm.conf"
ETC_CONF=/etc/slurm/slurm.conf
PARTITION=local
me="local-slurm.sh"

say() { echo "$me: $*"; }
die() {
  echo "$me: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: $me start|stop|status" >&2
  exit 2
}

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (it installs packages, writes $DIR and starts munged, slurmctld" \
      "and slurmd); run it with sudo, or as root in CI"
  fi
}

# pid_alive FILE NAME: the pid in FILE runs a process called NAME.
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ]
}

munge_ok() { command -v munge >/dev/null && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sbatch >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || missing+=(munge)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null ||
    die "missing ${missing[*]} and no apt-get to install them (Debian's slurm-wlm and munge)"
  say "installing slurm-wlm and munge (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  # the packages' scripts must not start the daemons before a configuration exists
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
  fi
  local ok=1
  apt-get update -qq >/dev/null &&
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null || ok=0
  [ -n "$ours" ] && rm -f "$policy"
  [ "$ok" -eq 1 ] || die "apt-get install slurm-wlm munge failed"
}

start_munge() {
  if munge_ok; then
    return 0
  fi
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey -c -k /etc/munge/munge.key >/dev/null || die "mungekey -c failed"
    else
      head -c 1024 /dev/urandom >/etc/munge/munge.key
    fi
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
  touch "$DIR/run/munged.ours"
  for _ in $(seq 50); do
    munge_ok && return 0
    sleep 0.1
  done
  die "munged runs but munge -n | unmunge fails"
}

# The node's memory in MB, a little under the total so slurmd never finds less.
real_memory() { awk '/^MemTotal:/ { printf "%d\n", $2 / 1024 * 0.95 }' /proc/meminfo; }

write_conf() {
  local host cpus
  host=$(hostname -s)
  cpus=$(nproc)
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
  cat >"$CONF.tmp" <<EOF
# Written by scripts/local-slurm.sh: a single-node Slurm on $host.
ClusterName=faillab
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
InactiveLimit=0
KillWait=30
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$(real_memory) State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

link_conf() {
  if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then
    return 0
  fi
  if [ -e "$ETC_CONF" ] || [ -L "$ETC_CONF" ]; then
    die "$ETC_CONF exists and is not this script's: this machine has a Slurm configuration" \
      "of its own, left alone (remove it, or use that Slurm)"
  fi
  mkdir -p "$(dirname "$ETC_CONF")"
  ln -s "$CONF" "$ETC_CONF"
}

node_state() { sinfo -h -N -n "$(hostname -s)" -o '%t' 2>/dev/null | head -n 1; }

wait_for_node() {
  local st=""
  for i in $(seq 120); do
    st=$(node_state || true)
    case "$st" in
      idle | mix | alloc) return 0 ;;
      drain* | down* | inval*)
        if [ "$i" -eq 20 ]; then
          scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
        fi
        ;;
    esac
    sleep 0.5
  done
  die "the node is not ready after 60 s (state: ${st:-unknown}); see $DIR/log/"
}

daemons_up() {
  pid_alive "$DIR/run/slurmctld.pid" slurmctld && pid_alive "$DIR/run/slurmd.pid" slurmd
}

start() {
  need_root
  install_packages
  mkdir -p "$DIR/run"
  if daemons_up && munge_ok; then
    link_conf
    wait_for_node
    say "already running (node $(hostname -s): $(node_state); configuration $CONF)"
    return 0
  fi
  [ -L "$ETC_CONF" ] || [ ! -e "$ETC_CONF" ] || link_conf
  write_conf
  link_conf
  start_munge
  if ! pid_alive "$DIR/run/slurmctld.pid" slurmctld; then
    slurmctld -f "$CONF" || die "slurmctld did not start; see $DIR/log/slurmctld.log"
  fi
  if ! pid_alive "$DIR/run/slurmd.pid" slurmd; then
    slurmd -f "$CONF" || die "slurmd did not start; see $DIR/log/slurmd.log"
  fi
  wait_for_node
  say "started: node $(hostname -s) ($(nproc) CPUs) $(node_state) in partition $PARTITION;" \
    "configuration $CONF"
}

# stop_pid FILE NAME: ends the process NAME whose pid FILE holds and waits for it (10 s,
# then SIGKILL).
stop_pid() {
  local pid
  pid_alive "$1" "$2" || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    [ -d "/proc/$pid" ] || break
    sleep 0.1
  done
  if [ -d "/proc/$pid" ]; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  say "stopped $2"
}

stop() {
  need_root
  if ! pid_alive "$DIR/run/slurmctld.pid" slurmctld && ! pid_alive "$DIR/run/slurmd.pid" slurmd &&
    [ ! -e "$DIR/run/munged.ours" ]; then
    say "not running"
  fi
  stop_pid "$DIR/run/slurmd.pid" slurmd
  stop_pid "$DIR/run/slurmctld.pid" slurmctld
  if [ -e "$DIR/run/munged.ours" ]; then
    stop_pid /run/munge/munged.pid munged
    rm -f "$DIR/run/munged.ours"
  fi
  if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then
    rm -f "$ETC_CONF"
  fi
}

status() {
  local ok=0
  for d in slurmctld slurmd; do
    if pid_alive "$DIR/run/$d.pid" "$d"; then
      say "$d runs (pid $(cat "$DIR/run/$d.pid"))"
    else
      say "$d does not run"
      ok=1
    fi
  done
  if munge_ok; then say "munge works"; else
    say "munge does not work"
    ok=1
  fi
  if [ $ok -eq 0 ]; then
    say "node $(hostname -s): $(node_state || echo unknown)"
    sinfo 2>/dev/null || true
  fi
  return $ok
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
