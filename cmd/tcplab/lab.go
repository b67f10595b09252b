package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// labNice is the nice value of the lab's processes (server, clients,
// tcpdump, ss), so that other load on the machine disturbs their timing less.
const labNice = "-15"

// labPrio is the command prefix that sets the lab processes' priority:
// nice -15, or with `run --rt` real-time (rtSched), for a machine so busy
// that nice does not keep their timing (see routerSched).
var labPrio = []string{"nice", "-n", labNice}

// rtSched is the lab processes' priority with --rt: SCHED_FIFO, below the
// router's.
var rtSched = []string{"chrt", "-f", "20"}

// routerSched is how the router runs: real-time, SCHED_FIFO. Its delays
// are part of the path's settings, and nice does not keep them: on this
// 2-core machine, busy with other builds, a thread at nice -15 woke from a
// 2 ms clock_nanosleep 62 ms late at the 99th percentile (224 ms at
// worst), one at SCHED_FIFO 10 within 94 µs (4 ms at worst). The router
// sleeps between frames and uses little CPU.
var routerSched = []string{"chrt", "-f", "50"}

// child is a lab process (server or clients) running inside a namespace.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startChild runs this program's hidden subcommand sub ("serve",
// "clients" or "route") inside ns.
func startChild(ns, sub, scenario string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	prio := labPrio
	if sub == "route" {
		prio = routerSched
	}
	args := append(append([]string{"netns", "exec", ns}, prio...), exe, sub, scenario)
	c := &child{cmd: exec.Command("ip", args...)}
	c.cmd.Stderr = os.Stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	line, err := c.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		c.cmd.Process.Kill()
		c.cmd.Wait()
		return nil, fmt.Errorf("%s did not start: %q %v", sub, line, err)
	}
	return c, nil
}

// finish closes stdin (the child then closes what it kept open and exits)
// and waits for it.
func (c *child) finish() error {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		return errors.New("lab process did not exit")
	}
}

// runScenario runs one scenario file as root and writes its captures and
// truth file into <dir of file>/<name>/.
func runScenario(path string, stderr io.Writer) (err error) {
	sc, err := LoadScenario(path)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network namespaces, tcpdump, sysctls)")
	}
	if err := ensureTools(); err != nil {
		return fmt.Errorf("install tools: %w", err)
	}
	outDir := filepath.Join(filepath.Dir(path), sc.Name)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tcplab: %s: %s\n", sc.Name, sc.Description)

	var children []*child
	var dumps []*tcpdump
	defer func() {
		for _, d := range dumps {
			d.stop()
		}
		for _, c := range children {
			c.finish()
		}
		teardown()
	}()

	lnet, err := setup(sc)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	dir := func(d string) string {
		switch d {
		case "in":
			return " -Q in (only the frames this side received)"
		case "out":
			return " -Q out (only the frames this side sent)"
		}
		return ""
	}
	var capSrv, capCli string
	if sc.Capture != nil {
		capSrv, capCli = sc.Capture.Server, sc.Capture.Client
	}
	truth := Truth{
		Scenario:               sc.Name,
		Description:            sc.Description,
		Command:                "go run ./cmd/tcplab run " + filepath.ToSlash(path),
		Family:                 sc.Family,
		Server:                 netip.AddrPortFrom(serverAddr(sc.Family), uint16(sc.ServerPort())).String(),
		Backlog:                sc.Server.Backlog,
		Qdisc:                  lnet.qdisc,
		Topology:               lnet.topology,
		Offload:                lnet.offload,
		Path:                   sc.Path,
		Firewall:               lnet.firewall,
		Accept:                 describeAccept(sc.Server.Accept),
		ServerCapture:          fmt.Sprintf("server.pcap: tcpdump -i %s -s 128 -B %d --immediate-mode%s in %s (the server's interface; Ethernet)", srvDev, captureBufferKiB, dir(capSrv), srvNS),
		ClientCapture:          fmt.Sprintf("client.pcap: tcpdump -i any -s 128 -B %d --immediate-mode%s in %s (the client's side; LINUX_SLL2)", captureBufferKiB, dir(capCli), cliNS),
		ServerCaptureDirection: capSrv,
		ClientCaptureDirection: capCli,
		SSPollMS:               int(ssPollInterval / time.Millisecond),
		Sched:                  "server, clients, tcpdump, ss: " + strings.Join(labPrio, " "),
	}
	blackholed := map[int]bool{}
	for _, p := range sc.BlackholePorts {
		blackholed[p] = true
	}
	for _, l := range sc.Listeners() {
		cw := l.CloseWhen
		if cw == "" {
			cw = "eof"
		}
		cl := l.Close
		if cl == "" {
			cl = "fin"
		}
		truth.Listeners = append(truth.Listeners, ListenerTruth{
			Local:   netip.AddrPortFrom(serverAddr(sc.Family), uint16(l.Port)).String(),
			Backlog: l.Backlog, Accept: describeAccept(l.Accept), DeferAcceptS: l.DeferAcceptS, RcvBuf: l.RcvBuf,
			Close: cl, CloseWhen: cw, Blackholed: blackholed[l.Port],
		})
	}
	if out, err := sh("uname", "-r"); err == nil {
		truth.Kernel = strings.TrimSpace(out)
	}
	srvKeys := append(sortedKeys(sc.ServerSysctls()), "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack")
	if truth.Sysctls, err = readSysctls(srvNS, uniq(srvKeys)); err != nil {
		return err
	}
	cliKeys := append(sortedKeys(sc.CliSysctls()), "net.ipv4.tcp_syn_linear_timeouts", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack")
	if truth.ClientSysctls, err = readSysctls(cliNS, uniq(cliKeys)); err != nil {
		return err
	}

	// The router first: nothing crosses until it runs.
	var rtr *child
	if sc.Path != nil {
		if rtr, err = startChild(rtrNS, "route", path); err != nil {
			return err
		}
		children = append(children, rtr)
	}
	srvPcap, cliPcap := filepath.Join(outDir, "server.pcap"), filepath.Join(outDir, "client.pcap")
	d, err := startTcpdump(srvNS, srvDev, srvPcap, capSrv)
	if err != nil {
		return err
	}
	dumps = append(dumps, d)
	if d, err = startTcpdump(cliNS, "any", cliPcap, capCli); err != nil {
		return err
	}
	dumps = append(dumps, d)

	srv, err := startChild(srvNS, "serve", path)
	if err != nil {
		return err
	}
	children = append(children, srv)
	cli, err := startChild(cliNS, "clients", path)
	if err != nil {
		return err
	}
	children = append(children, cli)
	// Every lab process is ready (the server listens): give them t0 a
	// little ahead.
	t0 := time.Now().Add(300 * time.Millisecond)
	truth.Start = ts(t0)
	for _, c := range children {
		if _, err := fmt.Fprintln(c.stdin, t0.UnixNano()); err != nil {
			return err
		}
	}

	poller := newSSPoller(len(sc.ExtraListeners) > 0, sc.WatchedPorts()...)
	stopPoll := make(chan struct{})
	pollDone := make(chan struct{})
	go func() { poller.run(stopPoll); close(pollDone) }()

	var sres serverResult
	var cres clientResult
	if err := json.NewDecoder(srv.out).Decode(&sres); err != nil {
		return fmt.Errorf("server result: %w", err)
	}
	if err := json.NewDecoder(cli.out).Decode(&cres); err != nil {
		return fmt.Errorf("client result: %w", err)
	}
	close(stopPoll)
	<-pollDone
	// Let the last packets reach the capture buffers, then stop both captures
	// before anything the lab still holds open is closed.
	time.Sleep(200 * time.Millisecond)
	truth.CaptureStats = map[string]CaptureStats{}
	for i, d := range dumps {
		st, err := d.stop()
		if err != nil {
			return err
		}
		truth.CaptureStats[[]string{"server.pcap", "client.pcap"}[i]] = st
	}
	dumps = nil
	truth.End = ts(time.Now())
	if rtr != nil {
		if _, err := fmt.Fprintln(rtr.stdin, "stop"); err != nil {
			return err
		}
		var rres routerResult
		if err := json.NewDecoder(rtr.out).Decode(&rres); err != nil {
			return fmt.Errorf("router result: %w", err)
		}
		truth.PathLog, truth.PathStats = rres.Log, rres.Stats
	}
	if truth.Nstat, err = readNstat(srvNS); err != nil {
		return err
	}
	if truth.ClientNstat, err = readNstat(cliNS); err != nil {
		return err
	}
	truth.Clients = cres.Clients
	truth.Accepts = sres.Accepts
	if truth.Accepts == nil {
		truth.Accepts = []AcceptTruth{}
	}
	truth.ListenerEvents = sres.ListenerEvents
	truth.ClientSysctlChanges = cres.SysctlChanges
	if cres.Flood != nil {
		cres.Flood.Route = lnet.route
		truth.Flood = cres.Flood
	}
	truth.SSHistory = poller.history
	truth.SSFirstSeen = poller.firstSeen()
	truth.ListenQueue = poller.listen
	truth.SSPolls = poller.polls
	truth.SSMaxGapMS = float64(poller.maxGap.Microseconds()) / 1000
	sort.SliceStable(truth.Clients, func(i, j int) bool { return truth.Clients[i].Local < truth.Clients[j].Local })

	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "truth.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := truth.incomplete(); err != nil {
		return fmt.Errorf("%w (files kept in %s for inspection; re-run)", err, outDir)
	}
	if truth.SSMaxGapMS > 150 {
		fmt.Fprintf(stderr, "tcplab: %s: warning: ss polls up to %.0f ms apart (the machine is busy); consider re-running\n", sc.Name, truth.SSMaxGapMS)
	}
	fmt.Fprintf(stderr, "tcplab: %s: wrote %s\n", sc.Name, outDir)
	return nil
}

// incomplete reports a run whose files do not hold everything that
// happened: a capture the kernel dropped frames from, a router that lost or
// could not send a frame, a flood SYN not sent, a sysctl change that failed.
func (t *Truth) incomplete() error {
	var errs []error
	for _, f := range sortedKeys(t.CaptureStats) {
		if n := t.CaptureStats[f].DroppedByKernel; n != 0 {
			errs = append(errs, fmt.Errorf("%s: %d packets dropped by kernel", f, n))
		}
	}
	for _, st := range t.PathStats {
		if st.SocketDrops+st.SendErrors+st.RecvErrors != 0 {
			errs = append(errs, fmt.Errorf("router %s: %d socket drops, %d send errors, %d receive errors", st.Dir, st.SocketDrops, st.SendErrors, st.RecvErrors))
		}
	}
	if f := t.Flood; f != nil && f.SendErrors != 0 {
		errs = append(errs, fmt.Errorf("flood: %d SYNs not sent", f.SendErrors))
	}
	for _, c := range t.ClientSysctlChanges {
		if c.Error != "" {
			errs = append(errs, fmt.Errorf("client sysctl %s: %s", c.Name, c.Error))
		}
	}
	return errors.Join(errs...)
}

func uniq(ks []string) []string {
	sort.Strings(ks)
	return slices.Compact(ks)
}

func describeAccept(a AcceptSchedule) string {
	switch a.Mode {
	case "never":
		return "never"
	case "immediate":
		return fmt.Sprintf("immediately, from t0+%dms", a.StartMS)
	}
	return fmt.Sprintf("first accept at t0+%dms, then %dms after each accept returned", a.StartMS, a.IntervalMS)
}
