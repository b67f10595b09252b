#!/bin/sh
# Records the packet-direction vantage fixtures (run as root from the
# repository root: sh testdata/vantage/make.sh). Three namespaces, the
# kernel forwarding in the middle one:
#   vt-cli 10.78.1.2 -- vt-rtr (10.78.1.1 | 10.78.2.1) -- vt-srv 10.78.2.2
# Five connections to a listener on 10.78.2.2:8000, captured at once
#   router.pcap      tcpdump -i any in vt-rtr (LINUX_SLL2): every packet In
#                    on one interface and Out on the other
#   client-sll1.pcap tcpdump -i any -y LINUX_SLL in vt-cli (SLL v1)
#   server.pcapng    dumpcap -i any in vt-srv (pcapng, LINUX_SLL)
set -eu
out=testdata/vantage
cleanup() {
	for n in vt-cli vt-rtr vt-srv; do ip netns del $n 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup
for n in vt-cli vt-rtr vt-srv; do ip netns add $n; ip -n $n link set lo up; done
ip link add vt-c0 netns vt-cli type veth peer name vt-rc netns vt-rtr
ip link add vt-s0 netns vt-srv type veth peer name vt-rs netns vt-rtr
ip -n vt-cli addr add 10.78.1.2/24 dev vt-c0; ip -n vt-cli link set vt-c0 up
ip -n vt-srv addr add 10.78.2.2/24 dev vt-s0; ip -n vt-srv link set vt-s0 up
ip -n vt-rtr addr add 10.78.1.1/24 dev vt-rc; ip -n vt-rtr link set vt-rc up
ip -n vt-rtr addr add 10.78.2.1/24 dev vt-rs; ip -n vt-rtr link set vt-rs up
ip -n vt-cli route add default via 10.78.1.1
ip -n vt-srv route add default via 10.78.2.1
ip netns exec vt-rtr sysctl -qw net.ipv4.ip_forward=1
for n in vt-cli vt-rtr vt-srv; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip netns exec vt-rtr tcpdump -i any -s 128 -U -w $out/router.pcap tcp 2>/dev/null & p1=$!
ip netns exec vt-cli tcpdump -i any -y LINUX_SLL -s 128 -U -w $out/client-sll1.pcap tcp 2>/dev/null & p2=$!
ip netns exec vt-srv dumpcap -q -i any -s 128 -f tcp -w $out/server.pcapng 2>/dev/null & p3=$!
ip netns exec vt-srv python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.2.2", 8000)); s.listen(8); s.settimeout(6)
try:
    while True:
        c, _ = s.accept(); d = c.recv(100); c.sendall(b"ok " + d); c.close()
except OSError:
    pass
' & ps=$!
sleep 2
for i in 1 2 3 4 5; do
	ip netns exec vt-cli python3 -c '
import socket, sys
c = socket.create_connection(("10.78.2.2", 8000)); c.sendall(b"hello %s" % sys.argv[1].encode()); c.recv(100); c.close()' $i
	sleep 0.2
done
sleep 1
kill -INT $p1 $p2 $p3
wait $p1 $p2 $p3 || true
kill $ps 2>/dev/null || true
