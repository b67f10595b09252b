package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverResult is what the serve process prints when the scenario ends.
type serverResult struct {
	Accepts []AcceptTruth `json:"accepts"`
}

// listenBacklog opens a listening TCP socket on addr with exactly the given
// listen(2) backlog (net.Listen would use somaxconn instead).
func listenBacklog(addr netip.AddrPort, backlog int) (net.Listener, error) {
	family := syscall.AF_INET
	if addr.Addr().Is6() {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("SO_REUSEADDR: %w", err)
	}
	if err := syscall.Bind(fd, sockaddr(addr)); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("listen: %w", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	return net.FileListener(f)
}

func sockaddr(a netip.AddrPort) syscall.Sockaddr {
	if a.Addr().Is4() {
		return &syscall.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	}
	return &syscall.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
}

// runServe is the server application, run inside lab-srv. It prints "ready"
// once listening, and the accepts as JSON when the scenario ends; it then
// keeps its sockets until stdin is closed, so that nothing it holds is closed
// while the captures run.
func runServe(sc *Scenario, stdin *bufio.Reader, stdout io.Writer) error {
	addr := netip.AddrPortFrom(serverAddr(sc.Family), uint16(sc.ServerPort()))
	ln, err := listenBacklog(addr, sc.Server.Backlog)
	if err != nil {
		return err
	}
	defer ln.Close()
	t0, err := awaitStart(stdin, stdout)
	if err != nil {
		return err
	}

	end := t0.Add(time.Duration(sc.DurationMS) * time.Millisecond)
	var (
		mu      sync.Mutex
		accepts []AcceptTruth
		conns   []net.Conn
		wg      sync.WaitGroup
	)
	tl := ln.(*net.TCPListener)
	acceptOne := func() bool {
		if err := tl.SetDeadline(end); err != nil {
			return false
		}
		c, err := tl.Accept()
		if err != nil {
			return false
		}
		now := time.Now()
		mu.Lock()
		conns = append(conns, c)
		i := len(accepts)
		accepts = append(accepts, AcceptTruth{Peer: c.RemoteAddr().String(), T: ts(now)})
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := serveConn(sc, c.(*net.TCPConn), end)
			mu.Lock()
			a.Peer, a.T = accepts[i].Peer, accepts[i].T
			accepts[i] = a
			mu.Unlock()
		}()
		return true
	}
	switch sc.Server.Accept.Mode {
	case "immediate":
		sleepUntil(t0.Add(ms(sc.Server.Accept.StartMS)))
		for acceptOne() {
		}
	case "interval":
		next := t0.Add(ms(sc.Server.Accept.StartMS))
		for next.Before(end) {
			sleepUntil(next)
			if !acceptOne() {
				break
			}
			// The application handles what it accepted for IntervalMS before
			// it calls accept again.
			next = time.Now().Add(ms(sc.Server.Accept.IntervalMS))
		}
	}
	sleepUntil(end)
	mu.Lock()
	for _, c := range conns {
		// Unblock handlers still reading; their sockets stay open.
		c.SetDeadline(time.Now())
	}
	mu.Unlock()
	wg.Wait()
	sort.SliceStable(accepts, func(i, j int) bool { return accepts[i].T < accepts[j].T })
	if err := json.NewEncoder(stdout).Encode(serverResult{Accepts: accepts}); err != nil {
		return err
	}
	io.Copy(io.Discard, stdin)
	return nil
}

// awaitStart prints "ready" and reads the scenario start (t0) from the lab:
// one line of Unix nanoseconds. The lab sends it once both the server and
// the clients are ready, so that process start-up never eats into t0.
func awaitStart(stdin *bufio.Reader, stdout io.Writer) (time.Time, error) {
	if _, err := fmt.Fprintln(stdout, "ready"); err != nil {
		return time.Time{}, err
	}
	line, err := stdin.ReadString('\n')
	if err != nil {
		return time.Time{}, fmt.Errorf("read start time: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("start time %q: %w", line, err)
	}
	return time.Unix(0, n), nil
}

// serveConn reads from an accepted connection until EOF, reset or timeout,
// answers the first data with ReplyBytes, then closes as the scenario says.
// A handler still running when the scenario ends leaves the socket open.
func serveConn(sc *Scenario, c *net.TCPConn, end time.Time) AcceptTruth {
	var a AcceptTruth
	timeout := ms(sc.Server.ReadTimeoutMS)
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	buf := make([]byte, 4096)
	first := true
	for {
		c.SetReadDeadline(time.Now().Add(timeout))
		n, err := c.Read(buf)
		now := time.Now()
		if n > 0 {
			if a.Read.FirstT == "" {
				a.Read.FirstT = ts(now)
			}
			a.Read.Bytes += n
			if first {
				a.FirstRead, a.FirstReadT = "data", ts(now)
				first = false
				if sc.Server.ReplyBytes > 0 {
					if _, werr := c.Write(make([]byte, sc.Server.ReplyBytes)); werr != nil {
						a.ReplyError = werr.Error()
					} else {
						a.ReplyBytes = sc.Server.ReplyBytes
					}
				}
			}
			continue
		}
		if err == nil {
			continue
		}
		kind := readEnd(err)
		if !now.Before(end) && kind == "timeout" {
			// The scenario ended while reading: leave the socket alone.
			if first {
				a.FirstRead, a.FirstReadT = "timeout", ts(now)
			}
			a.Read.End, a.Read.EndT = "scenario-end", ts(now)
			a.Close = "none"
			return a
		}
		if first {
			a.FirstRead, a.FirstReadT = kind, ts(now)
		}
		a.Read.End, a.Read.EndT = kind, ts(now)
		break
	}
	a.Close = sc.Server.Close
	if a.Close == "" {
		a.Close = "fin"
	}
	if a.Close == "rst" {
		c.SetLinger(0)
	}
	c.Close()
	a.CloseT = ts(time.Now())
	return a
}

// readEnd names how a read failed.
func readEnd(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "error: " + err.Error()
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}
