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
	"sort"
	"strings"
	"time"
)

// labNice is the nice value of the lab's processes (server, clients,
// tcpdump, ss), so that other load on the machine disturbs their timing less.
const labNice = "-15"

// child is a lab process (server or clients) running inside a namespace.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startChild runs this program's hidden subcommand sub inside ns.
func startChild(ns, sub, scenario string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: exec.Command("ip", "netns", "exec", ns, "nice", "-n", labNice, exe, sub, scenario)}
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

	qdisc, err := setup(sc)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	truth := Truth{
		Scenario:      sc.Name,
		Description:   sc.Description,
		Command:       "go run ./cmd/tcplab run " + filepath.ToSlash(path),
		Family:        sc.Family,
		Server:        netip.AddrPortFrom(serverAddr(sc.Family), uint16(sc.ServerPort())).String(),
		Backlog:       sc.Server.Backlog,
		Qdisc:         qdisc,
		Accept:        describeAccept(sc.Server.Accept),
		ServerCapture: "server.pcap: tcpdump -i " + srvDev + " -s 128 in " + srvNS + " (the server's interface; Ethernet)",
		ClientCapture: "client.pcap: tcpdump -i any -s 128 in " + cliNS + " (the client's side; LINUX_SLL2)",
		SSPollMS:      int(ssPollInterval / time.Millisecond),
	}
	if out, err := sh("uname", "-r"); err == nil {
		truth.Kernel = strings.TrimSpace(out)
	}
	if truth.Sysctls, err = readSysctls(srvNS, sortedKeys(sc.ServerSysctls())); err != nil {
		return err
	}
	cliKeys := append(sortedKeys(sc.CliSysctls()), "net.ipv4.tcp_syn_linear_timeouts")
	if truth.ClientSysctls, err = readSysctls(cliNS, cliKeys); err != nil {
		return err
	}

	srvPcap, cliPcap := filepath.Join(outDir, "server.pcap"), filepath.Join(outDir, "client.pcap")
	d, err := startTcpdump(srvNS, srvDev, srvPcap)
	if err != nil {
		return err
	}
	dumps = append(dumps, d)
	if d, err = startTcpdump(cliNS, "any", cliPcap); err != nil {
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
	// Both are ready (the server listens): give them t0 a little ahead.
	t0 := time.Now().Add(300 * time.Millisecond)
	truth.Start = ts(t0)
	for _, c := range children {
		if _, err := fmt.Fprintln(c.stdin, t0.UnixNano()); err != nil {
			return err
		}
	}

	poller := newSSPoller(sc.ServerPort())
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
	for _, d := range dumps {
		if err := d.stop(); err != nil {
			return err
		}
	}
	dumps = nil
	truth.End = ts(time.Now())
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
	truth.SSHistory = poller.history
	truth.SSFirstSeen = poller.firstSeen()
	truth.ListenQueue = poller.listen
	sort.SliceStable(truth.Clients, func(i, j int) bool { return truth.Clients[i].Local < truth.Clients[j].Local })

	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "truth.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tcplab: %s: wrote %s\n", sc.Name, outDir)
	return nil
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
