package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The lab's network: two namespaces joined by one veth pair, or, with a
// path, by a third namespace and two veth pairs. Nothing else is touched,
// and no traffic leaves these namespaces.
const (
	srvNS  = "lab-srv"
	cliNS  = "lab-cli"
	rtrNS  = "lab-rtr"
	srvDev = "lab-srv0" // veth end inside lab-srv
	cliDev = "lab-cli0" // veth end inside lab-cli
	// The router's ends: rtr-cli faces lab-cli0, rtr-srv faces lab-srv0.
	rtrCliDev = "rtr-cli"
	rtrSrvDev = "rtr-srv"
	// Fixed MAC addresses so that static neighbour entries can replace ARP/ND.
	srvMAC    = "02:77:00:00:00:01"
	cliMAC    = "02:77:00:00:00:02"
	rtrCliMAC = "02:77:00:00:01:02"
	rtrSrvMAC = "02:77:00:00:01:01"
)

// labNamespaces are every namespace the lab may create.
var labNamespaces = []string{srvNS, cliNS, rtrNS}

// serverAddr and clientAddr return the lab addresses for a family.
func serverAddr(family int) netip.Addr {
	if family == 6 {
		return netip.MustParseAddr("fd77::1")
	}
	return netip.MustParseAddr("10.77.0.1")
}

func clientAddr(family int) netip.Addr {
	if family == 6 {
		return netip.MustParseAddr("fd77::2")
	}
	return netip.MustParseAddr("10.77.0.2")
}

// sh runs a command and returns its combined output, with the command in the
// error.
func sh(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// nsExec runs a command inside a namespace.
func nsExec(ns string, args ...string) (string, error) {
	return sh("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// ensureTools installs tcpdump, iproute2, procps, ethtool, nftables and
// util-linux (chrt, nsenter) with apt-get when one of the programs the lab runs is
// missing.
func ensureTools() error {
	missing := false
	for _, p := range []string{"ip", "ss", "nstat", "tc", "tcpdump", "sysctl", "ethtool", "nft", "chrt", "nsenter"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	fmt.Fprintln(os.Stderr, "tcplab: installing tcpdump, iproute2, procps, ethtool, nftables and util-linux with apt-get")
	if _, err := sh("apt-get", "update"); err != nil {
		return err
	}
	cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "tcpdump", "iproute2", "procps", "ethtool", "nftables", "util-linux")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// teardown deletes the lab namespaces (the veth pairs, nftables table and
// routes go with them). It is safe to call when they do not exist.
func teardown() {
	for _, ns := range labNamespaces {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			sh("ip", "netns", "del", ns)
		}
	}
}

// labNet is what setup put in place, for the truth file.
type labNet struct {
	qdisc    string // the tc command, or ""
	topology string // "" for one veth pair
	offload  string // the ethtool commands, or ""
	firewall string // nft list ruleset, or ""
	route    string // the flood's return route, or ""
}

// setup creates the namespaces, the veth pair (or, with a path, the router
// namespace and two pairs) with both families' addresses, static neighbour
// entries, the sysctls, the optional qdisc, offload settings, nftables
// rules and the flood's return route.
func setup(sc *Scenario) (labNet, error) {
	var lnet labNet
	teardown()
	steps := [][]string{
		{"netns", "add", srvNS},
		{"netns", "add", cliNS},
	}
	if sc.Path == nil {
		steps = append(steps,
			[]string{"link", "add", srvDev, "netns", srvNS, "address", srvMAC, "type", "veth", "peer", "name", cliDev, "netns", cliNS, "address", cliMAC})
	} else {
		steps = append(steps,
			[]string{"netns", "add", rtrNS},
			// The router has no addresses: no IPv6 link-local either.
			[]string{"netns", "exec", rtrNS, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"},
			[]string{"netns", "exec", rtrNS, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"},
			[]string{"link", "add", cliDev, "netns", cliNS, "address", cliMAC, "type", "veth", "peer", "name", rtrCliDev, "netns", rtrNS, "address", rtrCliMAC},
			[]string{"link", "add", srvDev, "netns", srvNS, "address", srvMAC, "type", "veth", "peer", "name", rtrSrvDev, "netns", rtrNS, "address", rtrSrvMAC},
			[]string{"-n", rtrNS, "link", "set", "lo", "up"},
			[]string{"-n", rtrNS, "link", "set", rtrCliDev, "promisc", "on", "up"},
			[]string{"-n", rtrNS, "link", "set", rtrSrvDev, "promisc", "on", "up"},
		)
		lnet.topology = fmt.Sprintf("%s %s <-> %s %s %s <-> %s %s: tcplab route in %s (%s) bridges the two veth pairs over AF_PACKET (no addresses, no kernel forwarding)",
			cliNS, cliDev, rtrCliDev, rtrNS, rtrSrvDev, srvDev, srvNS, rtrNS, strings.Join(routerSched, " "))
	}
	steps = append(steps, [][]string{
		{"-n", srvNS, "addr", "add", "10.77.0.1/24", "dev", srvDev},
		{"-n", cliNS, "addr", "add", "10.77.0.2/24", "dev", cliDev},
		{"-n", srvNS, "addr", "add", "fd77::1/64", "dev", srvDev, "nodad"},
		{"-n", cliNS, "addr", "add", "fd77::2/64", "dev", cliDev, "nodad"},
		{"-n", srvNS, "link", "set", "lo", "up"},
		{"-n", cliNS, "link", "set", "lo", "up"},
		{"-n", srvNS, "link", "set", srvDev, "up"},
		{"-n", cliNS, "link", "set", cliDev, "up"},
		{"-n", srvNS, "neigh", "replace", "10.77.0.2", "lladdr", cliMAC, "dev", srvDev, "nud", "permanent"},
		{"-n", cliNS, "neigh", "replace", "10.77.0.1", "lladdr", srvMAC, "dev", cliDev, "nud", "permanent"},
		{"-n", srvNS, "neigh", "replace", "fd77::2", "lladdr", cliMAC, "dev", srvDev, "nud", "permanent"},
		{"-n", cliNS, "neigh", "replace", "fd77::1", "lladdr", srvMAC, "dev", cliDev, "nud", "permanent"},
	}...)
	for _, s := range steps {
		if _, err := sh("ip", s...); err != nil {
			return lnet, err
		}
	}
	if err := setSysctls(srvNS, sc.ServerSysctls()); err != nil {
		return lnet, err
	}
	if err := setSysctls(cliNS, sc.CliSysctls()); err != nil {
		return lnet, err
	}
	if !sc.Offload() {
		// Segments as TCP made them (no 64 KB super-frames the router could
		// not write out) and checksums filled in (the server verifies the
		// frames the router writes).
		offs := [][]string{{cliNS, cliDev}, {srvNS, srvDev}}
		if sc.Path != nil {
			offs = append(offs, []string{rtrNS, rtrCliDev}, []string{rtrNS, rtrSrvDev})
		}
		var cmds []string
		for _, o := range offs {
			args := []string{"ethtool", "-K", o[1], "tx", "off", "tso", "off", "gso", "off", "gro", "off"}
			if _, err := nsExec(o[0], args...); err != nil {
				return lnet, err
			}
			cmds = append(cmds, "ip netns exec "+o[0]+" "+strings.Join(args, " "))
		}
		lnet.offload = strings.Join(cmds, "; ")
	}
	if len(sc.BlackholePorts) > 0 {
		rs, err := blackhole(sc.BlackholePorts)
		if err != nil {
			return lnet, err
		}
		lnet.firewall = rs
	}
	if f := sc.Flood; f != nil {
		args := []string{"-n", srvNS, "route", "add", f.FloodPrefix().String(), "via", clientAddr(4).String(), "dev", srvDev}
		if _, err := sh("ip", args...); err != nil {
			return lnet, err
		}
		lnet.route = "ip " + strings.Join(args, " ")
	}
	q := sc.Qdisc
	if q == nil {
		return lnet, nil
	}
	ns, dev := cliNS, cliDev
	if q.Side == "server" {
		ns, dev = srvNS, srvDev
	}
	args := q.TCArgs(dev)
	if _, err := nsExec(ns, append([]string{"tc"}, args...)...); err != nil {
		return lnet, err
	}
	lnet.qdisc = fmt.Sprintf("ip netns exec %s tc %s", ns, strings.Join(args, " "))
	return lnet, nil
}

// blackhole makes nftables in lab-srv drop every SYN (without ACK) to the
// ports, and returns the ruleset in force.
func blackhole(ports []int) (string, error) {
	var ps []string
	for _, p := range ports {
		ps = append(ps, strconv.Itoa(p))
	}
	rules := fmt.Sprintf(`table inet tcplab {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport { %s } tcp flags & (syn | ack) == syn drop
	}
}
`, strings.Join(ps, ", "))
	cmd := exec.Command("ip", "netns", "exec", srvNS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("nft: %w: %s", err, out)
	}
	return nsExec(srvNS, "nft", "list", "ruleset")
}

func setSysctls(ns string, m map[string]string) error {
	for _, k := range sortedKeys(m) {
		if _, err := nsExec(ns, "sysctl", "-q", "-w", k+"="+m[k]); err != nil {
			return err
		}
	}
	return nil
}

// readSysctls reads back the values in force.
func readSysctls(ns string, keys []string) (map[string]string, error) {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		out, err := nsExec(ns, "sysctl", "-n", k)
		if err != nil {
			return nil, err
		}
		m[k] = strings.TrimSpace(out)
	}
	return m, nil
}
