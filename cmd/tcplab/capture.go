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

// captureBufferKiB is tcpdump's kernel buffer (-B), large enough that a
// flood or a load run loses nothing before tcpdump reads it.
const captureBufferKiB = 32768

// tcpdump is one running capture.
type tcpdump struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	done   chan error
}

// tcpdumpArgs are the arguments of one capture; direction is "" (both),
// "in" or "out" (tcpdump -Q). Immediate mode hands every frame to tcpdump
// at once: without it libpcap's TPACKET_V3 ring passes frames on in blocks,
// and the frames of a block not yet handed over when tcpdump stops never
// reach the file although the kernel dropped none.
func tcpdumpArgs(iface, file, direction string) []string {
	args := []string{"tcpdump", "-Z", "root", "-i", iface, "-s", "128", "-B", strconv.Itoa(captureBufferKiB), "--immediate-mode", "-U", "-n"}
	if direction != "" {
		args = append(args, "-Q", direction)
	}
	return append(args, "-w", file, captureFilter)
}

// startTcpdump starts tcpdump in a namespace, writing packets as they come
// (-U), and returns once tcpdump says it is listening.
func startTcpdump(ns, iface, file, direction string) (*tcpdump, error) {
	t := &tcpdump{done: make(chan error, 1)}
	t.cmd = exec.Command("ip", append(append([]string{"netns", "exec", ns}, labPrio...), tcpdumpArgs(iface, file, direction)...)...)
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
			t.mu.Lock()
			t.stderr.WriteString(line + "\n")
			t.mu.Unlock()
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
		return nil, fmt.Errorf("tcpdump in %s exited: %v: %s", ns, err, t.output())
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		return nil, fmt.Errorf("tcpdump in %s did not start", ns)
	}
}

func (t *tcpdump) output() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stderr.String()
}

// stop sends SIGINT (ip netns exec and nice exec tcpdump, so the pid is tcpdump's),
// waits for tcpdump to flush and exit, and returns the counts it printed.
func (t *tcpdump) stop() (CaptureStats, error) {
	t.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-t.done:
		return parseTcpdumpStats(t.output())
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		<-t.done
		return CaptureStats{}, fmt.Errorf("tcpdump did not stop on SIGINT")
	}
}

// parseTcpdumpStats reads the three lines tcpdump prints on exit:
// "N packets captured", "N packets received by filter", "N packets dropped
// by kernel".
func parseTcpdumpStats(out string) (CaptureStats, error) {
	var st CaptureStats
	found := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != "packets" {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		switch strings.Join(f[2:], " ") {
		case "captured":
			st.Captured = n
		case "received by filter":
			st.ReceivedByFilter = n
		case "dropped by kernel":
			st.DroppedByKernel = n
		default:
			continue
		}
		found++
	}
	if found != 3 {
		return st, fmt.Errorf("tcpdump printed no statistics: %q", out)
	}
	return st, nil
}

// ssPoller polls `ss -tan` in lab-srv and records, per client, the state
// changes of the server-side socket, and the LISTEN sockets' queues.
type ssPoller struct {
	ports      map[int]bool
	history    map[string][]SSSeen
	last       map[string]string
	listen     []ListenSample
	lastListen map[int]ListenSample
	multi      bool // record the port of each listen sample
	polls      int
	lastPoll   time.Time
	maxGap     time.Duration // longest time between two polls returning
}

// ssPollInterval is how often ss runs.
const ssPollInterval = 50 * time.Millisecond

// newSSPoller follows the server sockets on the given local ports. With
// more than one port, or with multi, each listen sample names its port.
func newSSPoller(multi bool, ports ...int) *ssPoller {
	p := &ssPoller{ports: map[int]bool{}, history: map[string][]SSSeen{}, last: map[string]string{},
		lastListen: map[int]ListenSample{}, multi: multi || len(ports) > 1}
	for _, port := range ports {
		p.ports[port] = true
	}
	return p
}

// run polls until stop is closed.
func (p *ssPoller) run(stop <-chan struct{}) {
	tick := time.NewTicker(ssPollInterval)
	defer tick.Stop()
	for {
		// nsenter enters only the network namespace: `ip netns exec` also
		// remounts /sys in a new mount namespace, which on a busy machine
		// made single polls take up to 0.5 s even at SCHED_FIFO.
		out, err := exec.Command("nsenter", append(append([]string{"--net=/run/netns/" + srvNS}, labPrio...), "ss", "-tanH")...).Output()
		now := time.Now()
		if err == nil {
			p.record(now, string(out))
		}
		if !p.lastPoll.IsZero() {
			p.maxGap = max(p.maxGap, now.Sub(p.lastPoll))
		}
		p.lastPoll = now
		p.polls++
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
		if err != nil || !p.ports[int(local.Port())] {
			continue
		}
		if state == "LISTEN" {
			rq, _ := strconv.Atoi(f[1])
			sq, _ := strconv.Atoi(f[2])
			port := int(local.Port())
			if last, ok := p.lastListen[port]; !ok || last.RecvQ != rq || last.SendQ != sq {
				s := ListenSample{T: ts(t), RecvQ: rq, SendQ: sq}
				if p.multi {
					s.Port = port
				}
				p.lastListen[port] = s
				p.listen = append(p.listen, s)
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

// readNstat returns the absolute values of every Tcp and TcpExt counter in
// a namespace (`nstat -asz`: absolute, no history update, zeros included).
func readNstat(ns string) (map[string]int64, error) {
	out, err := nsExec(ns, "nstat", "-asz")
	if err != nil {
		return nil, err
	}
	m := parseNstatPrefix(strings.NewReader(out), "Tcp")
	for _, n := range NstatNames {
		if _, ok := m[n]; !ok {
			m[n] = 0
		}
	}
	return m, nil
}

// parseNstatPrefix reads nstat output and keeps every counter whose name
// starts with prefix.
func parseNstatPrefix(r io.Reader, prefix string) map[string]int64 {
	m := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.HasPrefix(f[0], prefix) {
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
