package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// captureFilter keeps the fixtures to the lab's TCP traffic.
const captureFilter = "tcp"

// tcpdump is one running capture.
type tcpdump struct {
	cmd    *exec.Cmd
	stderr strings.Builder
	done   chan error
}

// startTcpdump starts tcpdump in a namespace, writing packets as they come
// (-U), and returns once tcpdump says it is listening.
func startTcpdump(ns, iface, file string) (*tcpdump, error) {
	t := &tcpdump{done: make(chan error, 1)}
	t.cmd = exec.Command("ip", "netns", "exec", ns, "nice", "-n", labNice, "tcpdump", "-Z", "root", "-i", iface, "-s", "128", "-U", "-n", "-w", file, captureFilter)
	pipe, err := t.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			t.stderr.WriteString(line + "\n")
			if strings.Contains(line, "listening on") {
				once.Do(func() { close(ready) })
			}
		}
		t.done <- t.cmd.Wait()
	}()
	select {
	case <-ready:
		return t, nil
	case err := <-t.done:
		return nil, fmt.Errorf("tcpdump in %s exited: %v: %s", ns, err, t.stderr.String())
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		return nil, fmt.Errorf("tcpdump in %s did not start", ns)
	}
}

// stop sends SIGINT (ip netns exec and nice exec tcpdump, so the pid is tcpdump's)
// and waits for tcpdump to flush and exit.
func (t *tcpdump) stop() error {
	t.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-t.done:
		return nil
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		<-t.done
		return fmt.Errorf("tcpdump did not stop on SIGINT")
	}
}

// ssPoller polls `ss -tan` in lab-srv and records, per client, the state
// changes of the server-side socket, and the LISTEN socket's queue.
type ssPoller struct {
	port    int
	history map[string][]SSSeen
	last    map[string]string
	listen  []ListenSample
}

// ssPollInterval is how often ss runs.
const ssPollInterval = 50 * time.Millisecond

func newSSPoller(port int) *ssPoller {
	return &ssPoller{port: port, history: map[string][]SSSeen{}, last: map[string]string{}}
}

// run polls until stop is closed.
func (p *ssPoller) run(stop <-chan struct{}) {
	tick := time.NewTicker(ssPollInterval)
	defer tick.Stop()
	for {
		out, err := exec.Command("ip", "netns", "exec", srvNS, "nice", "-n", labNice, "ss", "-tanH").Output()
		if err == nil {
			p.record(time.Now(), string(out))
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// record takes one ss output, observed at t (the time ss returned: a state
// shown was reached at or before t, after the previous poll).
func (p *ssPoller) record(t time.Time, out string) {
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		state := f[0]
		local, err := netip.ParseAddrPort(f[3])
		if err != nil || int(local.Port()) != p.port {
			continue
		}
		if state == "LISTEN" {
			rq, _ := strconv.Atoi(f[1])
			sq, _ := strconv.Atoi(f[2])
			if n := len(p.listen); n == 0 || p.listen[n-1].RecvQ != rq || p.listen[n-1].SendQ != sq {
				p.listen = append(p.listen, ListenSample{T: ts(t), RecvQ: rq, SendQ: sq})
			}
			continue
		}
		peer, err := netip.ParseAddrPort(f[4])
		if err != nil {
			continue
		}
		k := peer.String()
		seen[k] = true
		if p.last[k] != state {
			p.last[k] = state
			p.history[k] = append(p.history[k], SSSeen{T: ts(t), State: state})
		}
	}
	for k, st := range p.last {
		if !seen[k] && st != "gone" {
			p.last[k] = "gone"
			p.history[k] = append(p.history[k], SSSeen{T: ts(t), State: "gone"})
		}
	}
}

// firstSeen returns, per peer, the first observation of a full socket (any
// state but SYN-RECV and gone).
func (p *ssPoller) firstSeen() map[string]SSSeen {
	m := map[string]SSSeen{}
	for k, h := range p.history {
		for _, s := range h {
			if s.State != "SYN-RECV" && s.State != "gone" {
				m[k] = s
				break
			}
		}
	}
	return m
}

// readNstat returns the absolute values of NstatNames in a namespace
// (`nstat -asz`: absolute, no history update, zeros included).
func readNstat(ns string) (map[string]int64, error) {
	out, err := nsExec(ns, "nstat", "-asz")
	if err != nil {
		return nil, err
	}
	return parseNstat(strings.NewReader(out), NstatNames), nil
}

// parseNstat reads nstat output ("Name value rate" lines) and keeps names;
// a wanted name nstat did not print is recorded as 0.
func parseNstat(r io.Reader, names []string) map[string]int64 {
	want := map[string]bool{}
	m := map[string]int64{}
	for _, n := range names {
		want[n] = true
		m[n] = 0
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && want[f[0]] {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				m[f[0]] = v
			}
		}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
