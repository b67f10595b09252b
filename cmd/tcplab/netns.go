package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// The lab's network: two namespaces joined by one veth pair. Nothing else is
// touched, and no traffic leaves these namespaces.
const (
	srvNS  = "lab-srv"
	cliNS  = "lab-cli"
	srvDev = "lab-srv0" // veth end inside lab-srv
	cliDev = "lab-cli0" // veth end inside lab-cli
	// Fixed MAC addresses so that static neighbour entries can replace ARP/ND.
	srvMAC = "02:77:00:00:00:01"
	cliMAC = "02:77:00:00:00:02"
)

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

// ensureTools installs tcpdump and iproute2 with apt-get when one of the
// programs the lab runs is missing.
func ensureTools() error {
	missing := false
	for _, p := range []string{"ip", "ss", "nstat", "tc", "tcpdump", "sysctl"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	fmt.Fprintln(os.Stderr, "tcplab: installing tcpdump and iproute2 with apt-get")
	if _, err := sh("apt-get", "update"); err != nil {
		return err
	}
	cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "tcpdump", "iproute2", "procps")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// teardown deletes the lab namespaces (the veth pair goes with them). It is
// safe to call when they do not exist.
func teardown() {
	for _, ns := range []string{srvNS, cliNS} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			sh("ip", "netns", "del", ns)
		}
	}
}

// setup creates the namespaces, the veth pair with both families' addresses,
// static neighbour entries, the sysctls and the optional qdisc. It returns
// the qdisc command in force ("" when none).
func setup(sc *Scenario) (string, error) {
	teardown()
	steps := [][]string{
		{"netns", "add", srvNS},
		{"netns", "add", cliNS},
		{"link", "add", srvDev, "netns", srvNS, "address", srvMAC, "type", "veth", "peer", "name", cliDev, "netns", cliNS, "address", cliMAC},
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
	}
	for _, s := range steps {
		if _, err := sh("ip", s...); err != nil {
			return "", err
		}
	}
	if err := setSysctls(srvNS, sc.ServerSysctls()); err != nil {
		return "", err
	}
	if err := setSysctls(cliNS, sc.CliSysctls()); err != nil {
		return "", err
	}
	q := sc.Qdisc
	if q == nil {
		return "", nil
	}
	ns, dev := cliNS, cliDev
	if q.Side == "server" {
		ns, dev = srvNS, srvDev
	}
	args := q.TCArgs(dev)
	if _, err := nsExec(ns, append([]string{"tc"}, args...)...); err != nil {
		return "", err
	}
	return fmt.Sprintf("ip netns exec %s tc %s", ns, strings.Join(args, " ")), nil
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
