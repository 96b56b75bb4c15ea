#!/usr/bin/env bash
# Single-node SLURM cluster on Debian 12 (bookworm) as root, no systemd, no cgroups:
# a real slurmctld + slurmd (+ optional slurmdbd/mariadb for sacct) on 127.0.0.1, for
# testing the workflow's SLURM execution profile for real.
# Tested 2026-11-24 with slurm-wlm 22.05.8-4+deb12u3, munge 0.5.15, mariadb 10.11,
# snakemake 9.27.1 + snakemake-executor-plugin-slurm 2.8.0 (+ -jobstep 0.6.1).
#
#   BASE=/tmp/slurm-cluster ACCOUNTING=1 bash ../shared/slurm/local-cluster.sh up
#   export SLURM_CONF=$BASE/etc/slurm.conf     # (also symlinked to /etc/slurm/slurm.conf)
#   sbatch --wrap hostname ; squeue ; sacct
#   BASE=/tmp/slurm-cluster bash ../shared/slurm/local-cluster.sh down
#
# ACCOUNTING=1 adds mariadb + slurmdbd so that `sacct` works (the slurm executor
# plugin's default status command). ACCOUNTING=0 is lighter; then run snakemake
# with `slurm-status-command: squeue` (needs MinJobAge >= 120 s, set below).
# (CI copy of ../shared/slurm/local-cluster.sh, which a clean clone lacks; used by tests/test_slurm.py.
#  Changed: `up` exits 100 when apt-get cannot install the packages, so that the test can skip on it.)
set -euo pipefail
BASE=${BASE:-/tmp/slurm-cluster}
ACCOUNTING=${ACCOUNTING:-1}
CPUS=${CPUS:-$(nproc)}
MEM_MB=${MEM_MB:-4000}          # must be <= RealMemory that `slurmd -C` reports
FAKE_GPUS=${FAKE_GPUS:-0}       # >0: register N fake GPUs (char devices aliasing /dev/null) to test gpu/gres requests
HOST=$(hostname -s)
PIDS=$BASE/pids

start_bg() {  # name, command...  -> runs in background, records PID
  local name=$1; shift
  nohup "$@" > "$BASE/log/$name.stdout" 2>&1 &
  echo "$name $!" >> "$PIDS"
}

up() {
  export DEBIAN_FRONTEND=noninteractive
  pkgs="slurmctld slurmd slurm-client munge"
  [ "$ACCOUNTING" = 1 ] && pkgs="$pkgs slurmdbd mariadb-server"
  # exit 100 when the packages cannot be installed (no network/mirror): tests/test_slurm.py skips on it
  dpkg -s $pkgs >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends $pkgs; } \
    || { echo "local-cluster.sh: apt-get could not install: $pkgs" >&2; exit 100; }

  mkdir -p "$BASE"/{etc,state,spool,log,run,munge}
  : > "$PIDS"
  # --- munge: own key + socket under $BASE, run as the munge user ---
  chown munge:munge "$BASE/munge"; chmod 0755 "$BASE/munge"   # socket dir must be o+x
  [ -f "$BASE/munge/munge.key" ] || runuser -u munge -- mungekey --create --keyfile="$BASE/munge/munge.key"
  runuser -u munge -- munged --key-file="$BASE/munge/munge.key" \
      --socket="$BASE/munge/munge.socket.2" --pid-file="$BASE/munge/munged.pid" \
      --log-file="$BASE/munge/munged.log" --seed-file="$BASE/munge/munged.seed"   # daemonizes
  sleep 1; echo "munged $(cat "$BASE/munge/munged.pid")" >> "$PIDS"

  local acct_lines="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
  if [ "$ACCOUNTING" = 1 ]; then
    acct_lines="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
# munge socket used for slurmdbd connections (sacct, sacctmgr, slurmctld->dbd)
AccountingStoragePass=$BASE/munge/munge.socket.2
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux"
  fi

  local gres_types="" node_gres=""
  if [ "$FAKE_GPUS" -gt 0 ]; then
    mkdir -p "$BASE/dev"
    for i in $(seq 0 $((FAKE_GPUS-1))); do [ -e "$BASE/dev/nvidia$i" ] || mknod "$BASE/dev/nvidia$i" c 1 3; done
    printf 'AutoDetect=off\nNodeName=%s Name=gpu File=%s/dev/nvidia[0-%d]\n' "$HOST" "$BASE" $((FAKE_GPUS-1)) > "$BASE/etc/gres.conf"
    gres_types="GresTypes=gpu"; node_gres="Gres=gpu:$FAKE_GPUS"
  fi

  cat > "$BASE/etc/slurm.conf" <<EOF
ClusterName=localcluster
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$BASE/munge/munge.socket.2
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
# no systemd / no cgroup plugins
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
$gres_types
$acct_lines
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB $node_gres State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  # snakemake's slurm-jobstep strips SLURM_* (incl. SLURM_CONF) before its inner `srun`,
  # so the config must also be reachable at the compiled-in default path.
  mkdir -p /etc/slurm
  ln -sfn "$BASE/etc/slurm.conf" /etc/slurm/slurm.conf
  [ "$FAKE_GPUS" -gt 0 ] && ln -sfn "$BASE/etc/gres.conf" /etc/slurm/gres.conf
  export SLURM_CONF=$BASE/etc/slurm.conf

  if [ "$ACCOUNTING" = 1 ]; then
    mkdir -p "$BASE/mysql/data" "$BASE/mysql/run"; chown -R mysql:mysql "$BASE/mysql"
    [ -d "$BASE/mysql/data/mysql" ] || mariadb-install-db --user=mysql --datadir="$BASE/mysql/data" >"$BASE/log/mariadb-install.log" 2>&1
    start_bg mariadbd mariadbd --user=mysql --datadir="$BASE/mysql/data" \
        --socket="$BASE/mysql/run/mysqld.sock" --pid-file="$BASE/mysql/run/mysqld.pid" \
        --bind-address=127.0.0.1 --port=3306 --skip-name-resolve --log-error="$BASE/log/mariadb.err"
    for i in $(seq 30); do mariadb -S "$BASE/mysql/run/mysqld.sock" -u root -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
    mariadb -S "$BASE/mysql/run/mysqld.sock" -u root -e "
      CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpass';
      CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpass';
      GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
      GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    cat > "$BASE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$BASE/munge/munge.socket.2
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
LogFile=$BASE/log/slurmdbd.log
PidFile=$BASE/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=slurmpass
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$BASE/etc/slurmdbd.conf"    # slurmdbd refuses a world-readable file
    start_bg slurmdbd slurmdbd -D
    for i in $(seq 30); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
    sacctmgr -i add cluster localcluster >/dev/null 2>&1 || true
  fi

  start_bg slurmctld slurmctld -D -i
  sleep 2
  start_bg slurmd slurmd -D
  for i in $(seq 30); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 1; done
  sinfo
}

down() {
  [ -f "$PIDS" ] || exit 0
  # stop in reverse start order, only the PIDs recorded by `up`
  tac "$PIDS" | while read -r name pid; do kill "$pid" 2>/dev/null && echo "stopped $name ($pid)"; sleep 1; done
  rm -f "$PIDS"
  [ "$(readlink /etc/slurm/slurm.conf)" = "$BASE/etc/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
  [ "$(readlink /etc/slurm/gres.conf)" = "$BASE/etc/gres.conf" ] && rm -f /etc/slurm/gres.conf
  true
}

"${1:-up}"
