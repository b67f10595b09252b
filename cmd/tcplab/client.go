package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clientResult is what the clients process prints when the scenario ends.
type clientResult struct {
	Clients       []ClientTruth       `json:"clients"`
	Flood         *FloodTruth         `json:"flood,omitempty"`
	SysctlChanges []SysctlChangeTruth `json:"sysctl_changes,omitempty"`
}

// runClients runs every client connection of the scenario, the SYN flood
// and the timed sysctl changes, inside lab-cli, and prints their records as
// JSON when the scenario ends. Sockets left open ("none") stay open until
// stdin is closed, after the captures stopped.
func runClients(sc *Scenario, stdin *bufio.Reader, stdout io.Writer) error {
	var fl *flooder
	if sc.Flood != nil {
		var err error
		if fl, err = newFlooder(sc); err != nil {
			return err
		}
	}
	t0, err := awaitStart(stdin, stdout)
	if err != nil {
		return err
	}
	end := t0.Add(ms(sc.DurationMS))
	plans := sc.Plans()
	byWorker := map[int][]int{}
	for i, p := range plans {
		byWorker[p.Worker] = append(byWorker[p.Worker], i)
	}
	out := make([]*ClientTruth, len(plans))
	var res clientResult
	var keep []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, idx := range byWorker {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prevEnd time.Time
			for _, i := range idx {
				p := plans[i]
				start := t0.Add(ms(p.StartMS))
				if p.Seq > 0 {
					start = prevEnd.Add(ms(p.Group.GapMS))
					if u := p.Group.ConnectUntilMS; u > 0 && start.After(t0.Add(ms(u))) {
						return
					}
					if !start.Before(end) {
						return
					}
				}
				local := netip.AddrPortFrom(clientAddr(sc.Family), uint16(p.Port))
				server := netip.AddrPortFrom(serverAddr(sc.Family), uint16(p.ServerPort))
				replyBytes := 0
				if l, ok := sc.Listener(p.ServerPort); ok {
					replyBytes = l.ReplyBytes
				}
				c, tr := runClient(p, start, end, local, server, replyBytes)
				out[i] = &tr
				prevEnd = time.Now()
				if c != nil {
					mu.Lock()
					keep = append(keep, c)
					mu.Unlock()
				}
			}
		}()
	}
	if fl != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Flood = fl.run(t0)
		}()
	}
	for _, ch := range sc.ClientSysctlChanges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sleepUntil(t0.Add(ms(ch.AtMS)))
			err := os.WriteFile("/proc/sys/"+strings.ReplaceAll(ch.Name, ".", "/"), []byte(ch.Value+"\n"), 0o644)
			st := SysctlChangeTruth{T: ts(time.Now()), Name: ch.Name, Value: ch.Value}
			if err != nil {
				st.Error = err.Error()
			}
			mu.Lock()
			res.SysctlChanges = append(res.SysctlChanges, st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, tr := range out {
		if tr != nil {
			res.Clients = append(res.Clients, *tr)
		}
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return err
	}
	io.Copy(io.Discard, stdin)
	for _, c := range keep {
		c.Close()
	}
	return nil
}

// dialer returns the dialer of one client connection: its fixed local
// address and the group's socket options, set before connect(2).
func dialer(g ClientGroup, local netip.AddrPort) *net.Dialer {
	d := &net.Dialer{
		LocalAddr: net.TCPAddrFromAddrPort(local),
		// Go's dialer turns keep-alive on (15 s) unless told otherwise.
		KeepAlive: -1,
		Control: func(network, address string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				set := func(level, opt, v int) {
					if serr == nil {
						serr = syscall.SetsockoptInt(int(fd), level, opt, v)
					}
				}
				set(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
				if g.SynRetries > 0 {
					set(syscall.IPPROTO_TCP, syscall.TCP_SYNCNT, g.SynRetries)
				}
				if g.RcvBuf > 0 {
					set(syscall.SOL_SOCKET, syscall.SO_RCVBUF, g.RcvBuf)
				}
				if k := g.Keepalive; k != nil {
					set(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
					set(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, k.IdleS)
					set(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, k.IntervalS)
					set(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, k.Count)
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	if k := g.Keepalive; k != nil {
		// The same values again: Go applies its KeepAliveConfig after
		// connect(2), which would otherwise overwrite them.
		d.KeepAlive = 0
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: time.Duration(k.IdleS) * time.Second,
			Interval: time.Duration(k.IntervalS) * time.Second, Count: k.Count}
	}
	return d
}

// runClient plays one client connection, connecting at start. It returns the
// connection when the plan leaves it open. replyBytes is what the server's
// listener answers ("reply" closes once it was read).
func runClient(p ClientPlan, start, end time.Time, local, server netip.AddrPort, replyBytes int) (net.Conn, ClientTruth) {
	g := p.Group
	tr := ClientTruth{Local: local.String(), Server: server.String(), Sends: []SendTruth{}, Close: "none"}
	sleepUntil(start)
	deadline := end
	if g.ConnectTimeoutMS > 0 {
		deadline = minTime(end, start.Add(ms(g.ConnectTimeoutMS)))
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	connStart := time.Now()
	tr.ConnectStart = ts(connStart)
	nc, err := dialer(g, local).DialContext(ctx, "tcp", server.String())
	connected := time.Now()
	if err != nil {
		tr.ConnectError = connectError(err)
		return nil, tr
	}
	cms := float64(connected.Sub(connStart).Microseconds()) / 1000
	tr.ConnectMS = &cms
	c := nc.(*net.TCPConn)

	// Read in the background for the whole life of the connection.
	rd := &ReadTruth{}
	readDone := make(chan struct{})
	replied := make(chan struct{}) // closed when the reply was read or reading ended
	var rmu sync.Mutex
	resetSeen := false
	go func() {
		defer close(readDone)
		once := sync.Once{}
		defer once.Do(func() { close(replied) })
		buf := make([]byte, 4096)
		for {
			if w := g.PauseReading; w != nil {
				now := time.Now()
				if from, to := start.Add(ms(w.FromMS)), start.Add(ms(w.ToMS)); !now.Before(from) && now.Before(to) {
					sleepUntil(minTime(to, end))
				}
			}
			n, err := c.Read(buf)
			now := time.Now()
			rmu.Lock()
			if n > 0 {
				if rd.FirstT == "" {
					rd.FirstT = ts(now)
				}
				rd.Bytes += n
				if replyBytes > 0 && rd.Bytes >= replyBytes {
					once.Do(func() { close(replied) })
				}
			}
			if err != nil {
				rd.End, rd.EndT = readEnd(err), ts(now)
				if rd.End == "reset" {
					resetSeen = true
				}
				rmu.Unlock()
				return
			}
			rmu.Unlock()
		}
	}()

	closeAt := end
	if g.CloseAtMS > 0 && (g.Close == "fin" || g.Close == "rst" || g.Close == "reply") {
		closeAt = start.Add(ms(g.CloseAtMS))
	}
	for _, s := range g.Sends {
		at := connected.Add(ms(s.AfterMS))
		if !at.Before(closeAt) || !at.Before(end) {
			break
		}
		sleepUntil(at)
		st := SendTruth{T: ts(time.Now()), Bytes: s.Bytes}
		c.SetWriteDeadline(end)
		_, err := c.Write(make([]byte, s.Bytes))
		if err != nil {
			st.Error = err.Error()
			if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
				rmu.Lock()
				resetSeen = true
				rmu.Unlock()
			}
		}
		tr.Sends = append(tr.Sends, st)
	}
	closeNow := false
	switch g.Close {
	case "reply":
		wait := minTime(closeAt, end)
		select {
		case <-replied:
			closeNow = true
		case <-time.After(time.Until(wait)):
			closeNow = wait.Before(end)
		}
	case "fin", "rst":
		if closeNow = !closeAt.After(end); closeNow {
			sleepUntil(closeAt)
		}
	}
	if !closeNow {
		// Left open: wait for the scenario to end, then report.
		sleepUntil(end)
		rmu.Lock()
		tr.ResetSeen = resetSeen
		r := *rd
		rmu.Unlock()
		if r.End == "" {
			r.End = "none"
		}
		tr.Reply = &r
		return c, tr
	}
	if g.Close == "rst" {
		c.SetLinger(0)
	}
	c.Close()
	tr.Close, tr.CloseT = g.Close, ts(time.Now())
	if tr.Close == "reply" {
		tr.Close = "fin"
	}
	<-readDone
	rmu.Lock()
	tr.ResetSeen = resetSeen
	tr.Reply = rd
	rmu.Unlock()
	return nil, tr
}

// connectError names a failed connect(2) briefly.
func connectError(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.ETIMEDOUT):
		return "timeout (syn retries exhausted)"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout (deadline)"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout (deadline)"
	}
	return err.Error()
}
