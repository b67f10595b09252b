package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// clientResult is what the clients process prints when the scenario ends.
type clientResult struct {
	Clients []ClientTruth `json:"clients"`
}

// runClients runs every client of the scenario, inside lab-cli, and prints
// their records as JSON when the scenario ends. Sockets left open ("none")
// stay open until stdin is closed, after the captures stopped.
func runClients(sc *Scenario, stdin *bufio.Reader, stdout io.Writer) error {
	t0, err := awaitStart(stdin, stdout)
	if err != nil {
		return err
	}
	end := t0.Add(ms(sc.DurationMS))
	server := netip.AddrPortFrom(serverAddr(sc.Family), uint16(sc.ServerPort()))
	plans := sc.Plans()
	out := make([]ClientTruth, len(plans))
	var keep []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := netip.AddrPortFrom(clientAddr(sc.Family), uint16(p.Port))
			c, tr := runClient(p, t0, end, local, server)
			out[i] = tr
			if c != nil {
				mu.Lock()
				keep = append(keep, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := json.NewEncoder(stdout).Encode(clientResult{Clients: out}); err != nil {
		return err
	}
	io.Copy(io.Discard, stdin)
	for _, c := range keep {
		c.Close()
	}
	return nil
}

// runClient plays one client. It returns the connection when the plan leaves
// it open.
func runClient(p ClientPlan, t0, end time.Time, local, server netip.AddrPort) (net.Conn, ClientTruth) {
	g := p.Group
	tr := ClientTruth{Local: local.String(), Sends: []SendTruth{}, Close: "none"}
	start := t0.Add(ms(p.StartMS))
	sleepUntil(start)
	d := net.Dialer{
		LocalAddr: net.TCPAddrFromAddrPort(local),
		Control: func(network, address string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
				if serr == nil && g.SynRetries > 0 {
					serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_SYNCNT, g.SynRetries)
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	deadline := end
	if g.ConnectTimeoutMS > 0 {
		deadline = start.Add(ms(g.ConnectTimeoutMS))
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	connStart := time.Now()
	tr.ConnectStart = ts(connStart)
	nc, err := d.DialContext(ctx, "tcp", server.String())
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
	var rmu sync.Mutex
	resetSeen := false
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			now := time.Now()
			rmu.Lock()
			if n > 0 {
				if rd.FirstT == "" {
					rd.FirstT = ts(now)
				}
				rd.Bytes += n
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
	if g.Close != "none" {
		closeAt = start.Add(ms(g.CloseAtMS))
	}
	for _, s := range g.Sends {
		at := connected.Add(ms(s.AfterMS))
		if !at.Before(closeAt) || !at.Before(end) {
			break
		}
		sleepUntil(at)
		st := SendTruth{T: ts(time.Now()), Bytes: s.Bytes}
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
	if g.Close == "none" || closeAt.After(end) {
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
	sleepUntil(closeAt)
	if g.Close == "rst" {
		c.SetLinger(0)
	}
	c.Close()
	tr.Close, tr.CloseT = g.Close, ts(time.Now())
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
