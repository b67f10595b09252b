#!/bin/bash
# make.sh: rebuild the capture-format fixtures in this directory.
#
# Run as root (it creates the network namespaces fmt-a and fmt-b joined by a
# veth pair, and sends traffic only between 10.99.0.0/24 and fd99::/64 inside
# them; it deletes them when done):
#
#   testdata/formats/make.sh             record new base captures, then derive
#   testdata/formats/make.sh --derive    keep eth.pcap, sll.pcap, sll2.pcap;
#                                        rebuild everything derived from them
#
# Needs tcpdump, tshark, editcap, mergecap, capinfos, python3 and go.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
REPO=$(cd ../.. && pwd)

record() {
	cleanup() {
		ip netns del fmt-a 2>/dev/null || true
		ip netns del fmt-b 2>/dev/null || true
	}
	cleanup
	trap cleanup EXIT
	ip netns add fmt-a
	ip netns add fmt-b
	ip link add fmt-va type veth peer name fmt-vb
	ip link set fmt-va netns fmt-a
	ip link set fmt-vb netns fmt-b
	ip -n fmt-a link set fmt-va address 02:99:00:00:00:01
	ip -n fmt-b link set fmt-vb address 02:99:00:00:00:02
	ip -n fmt-a addr add 10.99.0.1/24 dev fmt-va
	ip -n fmt-b addr add 10.99.0.2/24 dev fmt-vb
	ip -n fmt-a addr add fd99::1/64 dev fmt-va nodad
	ip -n fmt-b addr add fd99::2/64 dev fmt-vb nodad
	for ns in fmt-a fmt-b; do
		ip -n $ns link set lo up
	done
	ip -n fmt-a link set fmt-va up
	ip -n fmt-b link set fmt-vb up
	sleep 2 # let link-up chatter (MLD reports, router solicitations) pass

	local pids=()
	ip netns exec fmt-b tcpdump -i fmt-vb -s 128 -U -w eth.pcap 2>tcpdump-eth.log &
	pids+=($!)
	ip netns exec fmt-b tcpdump -i any -y LINUX_SLL -s 128 -U -w sll.pcap 2>tcpdump-sll.log &
	pids+=($!)
	ip netns exec fmt-b tcpdump -i any -s 128 -U -w sll2.pcap 2>tcpdump-sll2.log &
	pids+=($!)
	sleep 1.5
	ip netns exec fmt-b python3 traffic.py server >server.log 2>&1 &
	local srv=$!
	sleep 1
	ip netns exec fmt-a python3 traffic.py client
	sleep 1
	kill "$srv"
	kill -INT "${pids[@]}"
	wait "${pids[@]}" || true
	wait "$srv" 2>/dev/null || true
	cat tcpdump-*.log >&2
	rm -f tcpdump-*.log server.log
	cleanup
	trap - EXIT
}

derive() {
	local rw="$HERE/.pcaprewrite"
	(cd "$REPO" && go build -o "$rw" ./cmd/pcaprewrite)

	# Converted with Wireshark's tools.
	editcap -F nsecpcap eth.pcap eth-nsec.pcap
	editcap -F pcapng eth.pcap eth.pcapng
	mergecap -F pcapng -w multi-if.pcapng eth.pcap sll2.pcap
	editcap -F pcapng sll2.pcap .sll2.pcapng
	cat eth.pcapng .sll2.pcapng >multi-section.pcapng
	rm -f .sll2.pcapng
	gzip -n -9 -c eth.pcap >eth.pcap.gz
	gzip -n -9 -c eth.pcapng >eth.pcapng.gz

	# Rewritten by cmd/pcaprewrite.
	for mode in vlan qinq null loop raw be vxlan gre geneve ipv4-options ipv6-ext \
		mpls mpls-pw mpls-pw-cw pppoe pppoe-qinq gtpu erspan1 erspan2 erspan3 nflog \
		llc-snap pbb fabricpath ayiya teredo gre-csum-key-seq nvgre gre-pptp gre-udp \
		gre-mpls gre6 etherip; do
		"$rw" -mode "$mode" -in eth.pcap -out "$mode.pcap"
	done

	# Malformed, hand-made edge cases.
	: >empty.pcap
	printf 'This is not a capture file.\nIt is plain text saved with a .pcap name.\n' >notcapture.pcap
	head -c 10 eth.pcap >truncated-header.pcap
	"$rw" -mode truncate-last -in eth.pcap -out truncated.pcap >truncated.offset
	"$rw" -mode linktype -linktype 147 -in eth.pcap -out unknown-linktype.pcap
	"$rw" -mode absurd-length -record 5 -in eth.pcap -out absurd-length.pcap
	"$rw" -mode dup-tcp -in eth.pcap -out dup-frames.pcap
	"$rw" -mode swap-time -record 10 -in eth.pcap -out backwards-time.pcap
	for mode in ip-fragments ip-version tcp-truncated; do
		"$rw" -mode "$mode" -in eth.pcap -out "$mode.pcap"
	done
	# Two interfaces: Ethernet (frames 1-20 of eth.pcap) and USER0 (the
	# same frames relabelled with link type 147), merged by timestamp.
	editcap -r eth.pcap .a.pcap 1-20
	editcap -T user0 .a.pcap .b.pcap
	mergecap -F pcapng -w mixed-bad-if.pcapng .a.pcap .b.pcap
	rm -f .a.pcap .b.pcap "$rw"

	counts >counts.tsv
	conversations >conv.tsv
}

# counts prints counts.tsv: what tshark reports for every fixture. The last
# column says whether tshark ended with an error; frames read before the
# error are still counted, and a file tshark cannot read at all is "error"
# in every column.
counts() (
	set +e +o pipefail
	printf 'file\tframes\ttcp_frames\tconv_tcp\tconv_tcp_frames\ttshark\n'
	local f
	for f in $(ls *.pcap *.pcapng *.gz | LC_ALL=C sort); do
		local status=ok
		if ! tshark -r "$f" -T fields -e frame.number >.frames 2>.err; then
			status=error
		fi
		if [ "$status" = error ] && [ ! -s .frames ]; then
			printf '%s\terror\terror\terror\terror\terror\n' "$f"
			continue
		fi
		local frames tcp conv convframes
		frames=$(wc -l <.frames)
		tcp=$(tshark -r "$f" -Y tcp 2>/dev/null | wc -l)
		tshark -r "$f" -q -z conv,tcp 2>/dev/null >.conv || true
		conv=$(grep -c '<->' .conv || true)
		# Columns: addrA <-> addrB  frames bytes unit  frames bytes unit  total-frames ...
		convframes=$(awk '/<->/ {s += $10} END {print s + 0}' .conv)
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$frames" "$tcp" "$conv" "$convframes" "$status"
	done
	rm -f .frames .err .conv
)

# conversations prints conv.tsv: every row of tshark's TCP conversation
# table for every fixture tshark reads: the two endpoints as it prints
# them and the conversation's total frames.
conversations() (
	set +e +o pipefail
	printf 'file\ta\tb\tframes\n'
	local f
	for f in $(ls *.pcap *.pcapng *.gz | LC_ALL=C sort); do
		tshark -r "$f" -q -z conv,tcp 2>/dev/null |
			awk -v f="$f" '/<->/ {printf "%s\t%s\t%s\t%s\n", f, $1, $3, $10}'
	done
)

if [ "${1:-}" != --derive ]; then
	record
fi
derive
