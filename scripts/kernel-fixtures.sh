#!/usr/bin/env bash
# kernel-fixtures.sh: record the kernel-counter and ss fixtures of
# testdata/kernel/ on this machine's kernel, in a network namespace made
# for the purpose (kstat-<pid>), so that nothing else on the host counts.
#
# Usage (as root, from the repository root):
#
#   bash scripts/kernel-fixtures.sh [OUTDIR]     # default testdata/kernel
#
# What it does, in order (testdata/kernel/README.md describes each file):
#
#   1. makes the namespace, brings lo up, starts tcpdump on lo
#      (overflow.pcap);
#   2. takes the "before" snapshots: nstat -asz, netstat -s, and
#      nstat -n (plain nstat's history, for the delta at the end);
#   3. phase A: a listener on 127.0.0.1:8000 with backlog 2 that does not
#      accept for 4 s, six clients 50 ms apart (from the fourth on they find the
#      accept queue full: their SYNs are dropped and retransmitted), and
#      idle listeners on the other address forms ss prints ([::]:8001
#      v6only, *:8002 dual stack, 0.0.0.0%lo:8003, [::1]%lo:8004,
#      [::ffff:127.0.0.1]:8006); ss is read every 0.5 s meanwhile, after a
#      timestamp line;
#   4. phase B: tcp_syncookies=2 (cookies for every SYN), three clients to
#      a listener on 127.0.0.1:8005 that accepts;
#   5. the "after" snapshots in every format, tcpdump stopped, the
#      namespace removed (also on failure or interrupt).
#
# nstat keeps its history in NSTAT_HISTORY, pointed at a private file, so
# the host's /tmp/.nstat.u<uid> is never touched. Timestamps are UTC.
# Needs ip, nstat, ss, netstat (net-tools: apt-get install net-tools),
# tcpdump and python3.
set -euo pipefail

out=${1:-testdata/kernel}
for p in ip nstat ss netstat tcpdump python3; do
	command -v "$p" >/dev/null || { echo "kernel-fixtures: $p is missing" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "kernel-fixtures: run as root (network namespaces)" >&2; exit 2; }

ns=kstat-$$
work=$(mktemp -d)
export NSTAT_HISTORY=$work/nstat.history
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }
stamp() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }

mkdir -p "$out" "$out/bad"
ip netns add "$ns"
in_ns ip link set lo up
in_ns sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_syncookies=1

# ip netns exec execs tcpdump, so $! is tcpdump's own pid (-Z root: it
# keeps root and can write the work directory).
ip netns exec "$ns" tcpdump -Z root -i lo -s 128 -U -n -w "$work/overflow.pcap" tcp 2>"$work/tcpdump.log" &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
sleep 1

in_ns nstat -asz >"$out/nstat-before.txt"
in_ns netstat -s >"$out/netstat-s-before.txt"
in_ns nstat -n

cat >"$work/phase_a.py" <<'EOF'
# Phase A: an accept queue that overflows, and idle listeners of every
# address form ss prints.
import socket as S, time

def listen(fam, addr, port, backlog, v6only=None, dev=None):
    s = S.socket(fam, S.SOCK_STREAM)
    s.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, v6only)
    if dev:
        s.setsockopt(S.SOL_SOCKET, S.SO_BINDTODEVICE, dev.encode())
    s.bind((addr, port))
    s.listen(backlog)
    return s

srv = listen(S.AF_INET, "127.0.0.1", 8000, 2)
idle = [listen(S.AF_INET6, "::", 8001, 5, v6only=1),
        listen(S.AF_INET6, "::", 8002, 7, v6only=0),
        listen(S.AF_INET, "0.0.0.0", 8003, 9, dev="lo"),
        listen(S.AF_INET6, "::1", 8004, 11, dev="lo"),
        listen(S.AF_INET6, "::ffff:127.0.0.1", 8006, 11)]
time.sleep(0.3)
clients = []
for i in range(6):
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.bind(("127.0.0.1", 42001 + i))
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", 8000))
    clients.append(c)
    time.sleep(0.05)
time.sleep(0.2)
for c in clients:
    try:
        c.send(b"hello\n")
    except OSError:
        pass  # not connected yet: its SYN was dropped
time.sleep(4)
srv.settimeout(6)
served = 0
deadline = time.time() + 6
while served < len(clients) and time.time() < deadline:
    try:
        a, _ = srv.accept()
    except S.timeout:
        break
    a.settimeout(1)
    try:
        a.recv(100)
    except OSError:
        pass
    a.sendall(b"bye\n")
    a.close()
    served += 1
for c in clients:
    c.close()
time.sleep(0.5)
print("phase A: served", served)
EOF

cat >"$work/phase_b.py" <<'EOF'
# Phase B: with tcp_syncookies=2 every SYN is answered with a cookie.
import socket as S, time

srv = S.socket(S.AF_INET, S.SOCK_STREAM)
srv.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 8005))
srv.listen(16)
for i in range(3):
    c = S.create_connection(("127.0.0.1", 8005), timeout=3, source_address=("127.0.0.1", 42101 + i))
    a, _ = srv.accept()
    c.sendall(b"hello\n")
    a.recv(100)
    a.sendall(b"bye\n")
    c.recv(100)
    c.close()
    a.close()
time.sleep(0.5)
print("phase B: 3 connections")
EOF

in_ns python3 "$work/phase_a.py" >"$work/phase_a.log" &
phase_a=$!
pids+=("$phase_a")
# Wait until the overflowing listener exists, then read ss as its queue
# fills.
for _ in $(seq 50); do
	in_ns ss -ltnH 'sport = :8000' | grep -q LISTEN && break
	sleep 0.1
done
: >"$out/ss-snapshots.txt"
: >"$out/ss-date-u.txt"
for i in 1 2 3 4 5 6 7 8; do
	{ echo "# $(stamp)"; in_ns ss -ltn; } >>"$out/ss-snapshots.txt"
	{ date -u; in_ns ss -ltnH; } >>"$out/ss-date-u.txt"
	case $i in
	3)
		in_ns ss -lnt >"$out/ss-lnt.txt"
		in_ns ss -lntH >"$out/ss-lntH.txt"
		in_ns ss -lntp >"$out/ss-lntp.txt"
		in_ns ss -lnt state listening >"$out/ss-lnt-state-listening.txt"
		in_ns ss -tanH >"$out/ss-tanH.txt"
		;;
	esac
	sleep 0.5
done
wait "$phase_a"
cat "$work/phase_a.log"

in_ns sysctl -qw net.ipv4.tcp_syncookies=2
in_ns python3 "$work/phase_b.py"
in_ns sysctl -qw net.ipv4.tcp_syncookies=1

in_ns nstat -asz >"$out/nstat-after.txt"
in_ns netstat -s >"$out/netstat-s-after.txt"
in_ns nstat >"$out/nstat-delta.txt"
in_ns nstat -az >"$out/nstat-az.txt"
in_ns nstat -asjz >"$out/nstat-asjz.json"
in_ns cat /proc/net/netstat /proc/net/snmp >"$out/proc-netstat-snmp.txt"
in_ns cat /proc/net/netstat /proc/net/snmp /proc/net/snmp6 >"$out/proc-netstat-snmp-snmp6.txt"
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
cp "$work/overflow.pcap" "$out/overflow.pcap"
cat "$work/tcpdump.log" >&2
{
	echo "kernel: $(uname -r)"
	echo "iproute2: $(ss --version)"
	echo "net-tools: $(netstat --version 2>&1 | head -1)"
	echo "recorded: $(date -u +%Y-%m-%dT%H:%M:%SZ) in namespace $ns"
} >"$out/RECORDED"
echo "kernel-fixtures: wrote $out"
