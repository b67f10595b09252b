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
	Accepts        []AcceptTruth   `json:"accepts"`
	ListenerEvents []ListenerEvent `json:"listener_events,omitempty"`
}

// listenSocket opens a listening TCP socket on addr with exactly the spec's
// listen(2) backlog (net.Listen would use somaxconn instead), its
// SO_RCVBUF (before listen, so that the window scale offered follows it)
// and TCP_DEFER_ACCEPT.
func listenSocket(addr netip.AddrPort, spec ServerSpec) (*net.TCPListener, error) {
	family := syscall.AF_INET
	if addr.Addr().Is6() {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (*net.TCPListener, error) {
		syscall.Close(fd)
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return fail("SO_REUSEADDR", err)
	}
	if spec.RcvBuf > 0 {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, spec.RcvBuf); err != nil {
			return fail("SO_RCVBUF", err)
		}
	}
	if err := syscall.Bind(fd, sockaddr(addr)); err != nil {
		return fail("bind "+addr.String(), err)
	}
	if spec.DeferAcceptS > 0 {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, spec.DeferAcceptS); err != nil {
			return fail("TCP_DEFER_ACCEPT", err)
		}
	}
	if err := syscall.Listen(fd, spec.Backlog); err != nil {
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

func sockaddr(a netip.AddrPort) syscall.Sockaddr {
	if a.Addr().Is4() {
		return &syscall.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	}
	return &syscall.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
}

// server is the running server application: one or more listeners, each
// with its own accept schedule, and a handler per accepted connection.
type server struct {
	sc      *Scenario
	t0, end time.Time

	mu       sync.Mutex
	accepts  []AcceptTruth
	events   []ListenerEvent
	conns    []net.Conn
	lns      []*net.TCPListener // every listener opened, closed at exit
	handlers sync.WaitGroup
}

// runServe is the server application, run inside lab-srv. It prints "ready"
// once listening, and the accepts as JSON when the scenario ends; it then
// keeps its sockets until stdin is closed, so that nothing it holds is closed
// while the captures run.
func runServe(sc *Scenario, stdin *bufio.Reader, stdout io.Writer) error {
	s := &server{sc: sc}
	specs := sc.Listeners()
	first := make([]*net.TCPListener, len(specs))
	for i, spec := range specs {
		ln, err := listenSocket(s.addr(spec), spec)
		if err != nil {
			return err
		}
		first[i] = ln
		s.lns = append(s.lns, ln)
	}
	defer func() {
		for _, ln := range s.lns {
			ln.Close()
		}
	}()
	t0, err := awaitStart(stdin, stdout)
	if err != nil {
		return err
	}
	s.t0, s.end = t0, t0.Add(ms(sc.DurationMS))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.listener(spec, first[i])
		}()
	}
	wg.Wait()
	sleepUntil(s.end)
	s.mu.Lock()
	for _, c := range s.conns {
		// Unblock handlers still reading or writing; their sockets stay open.
		c.SetDeadline(time.Now())
	}
	s.mu.Unlock()
	s.handlers.Wait()
	s.mu.Lock()
	res := serverResult{Accepts: s.accepts, ListenerEvents: s.events}
	s.mu.Unlock()
	sort.SliceStable(res.Accepts, func(i, j int) bool { return res.Accepts[i].T < res.Accepts[j].T })
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return err
	}
	io.Copy(io.Discard, stdin)
	return nil
}

func (s *server) addr(spec ServerSpec) netip.AddrPort {
	return netip.AddrPortFrom(serverAddr(s.sc.Family), uint16(spec.Port))
}

func (s *server) event(spec ServerSpec, what string) {
	now := time.Now()
	s.mu.Lock()
	s.events = append(s.events, ListenerEvent{T: ts(now), Local: s.addr(spec).String(), Event: what})
	s.mu.Unlock()
}

// listener runs one listening socket's accept schedule until the scenario
// ends, closing it and opening it again when the spec says so.
func (s *server) listener(spec ServerSpec, ln *net.TCPListener) {
	relisten := make(chan *net.TCPListener, 1)
	if spec.CloseListenerMS > 0 {
		go func() {
			sleepUntil(s.t0.Add(ms(spec.CloseListenerMS)))
			ln.Close()
			s.event(spec, "closed")
			if spec.RelistenMS == 0 {
				return
			}
			sleepUntil(s.t0.Add(ms(spec.RelistenMS)))
			nl, err := listenSocket(s.addr(spec), spec)
			if err != nil {
				s.event(spec, "listen failed: "+err.Error())
				return
			}
			s.mu.Lock()
			s.lns = append(s.lns, nl)
			s.mu.Unlock()
			s.event(spec, "listening")
			relisten <- nl
		}()
	}
	current := ln
	acceptOne := func() bool {
		for {
			if err := current.SetDeadline(s.end); err != nil && !errors.Is(err, net.ErrClosed) {
				return false
			}
			c, err := current.Accept()
			if err == nil {
				s.accepted(spec, c.(*net.TCPConn))
				return true
			}
			if !errors.Is(err, net.ErrClosed) || spec.RelistenMS == 0 {
				return false
			}
			select {
			case current = <-relisten:
			case <-time.After(time.Until(s.end)):
				return false
			}
		}
	}
	switch spec.Accept.Mode {
	case "immediate":
		sleepUntil(s.t0.Add(ms(spec.Accept.StartMS)))
		for acceptOne() {
		}
	case "interval":
		next := s.t0.Add(ms(spec.Accept.StartMS))
		for next.Before(s.end) {
			sleepUntil(next)
			if !acceptOne() {
				break
			}
			// The application handles what it accepted for IntervalMS before
			// it calls accept again.
			next = time.Now().Add(ms(spec.Accept.IntervalMS))
		}
	}
	sleepUntil(s.end)
}

// accepted records a connection accept(2) returned and starts its handler.
func (s *server) accepted(spec ServerSpec, c *net.TCPConn) {
	now := time.Now()
	s.mu.Lock()
	s.conns = append(s.conns, c)
	i := len(s.accepts)
	s.accepts = append(s.accepts, AcceptTruth{Peer: c.RemoteAddr().String(), Local: c.LocalAddr().String(), T: ts(now)})
	s.mu.Unlock()
	s.handlers.Add(1)
	go func() {
		defer s.handlers.Done()
		a := s.serveConn(spec, c)
		s.mu.Lock()
		a.Peer, a.Local, a.T = s.accepts[i].Peer, s.accepts[i].Local, s.accepts[i].T
		s.accepts[i] = a
		s.mu.Unlock()
	}()
}

// serveConn reads from an accepted connection until EOF, reset or timeout,
// answers the first data with ReplyBytes, then closes as the spec says.
// A handler still running when the scenario ends leaves the socket open.
func (s *server) serveConn(spec ServerSpec, c *net.TCPConn) AcceptTruth {
	var a AcceptTruth
	if spec.CloseWhen == "accept" {
		a.FirstRead, a.FirstReadT = "none", ts(time.Now())
		a.Read = ReadTruth{End: "none", EndT: a.FirstReadT}
		return closeConn(spec, c, a)
	}
	timeout := ms(spec.ReadTimeoutMS)
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	buf := make([]byte, 4096)
	first := true
	for {
		if w := spec.PauseReading; w != nil {
			now := time.Now()
			if from, to := s.t0.Add(ms(w.FromMS)), s.t0.Add(ms(w.ToMS)); !now.Before(from) && now.Before(to) {
				sleepUntil(minTime(to, s.end))
			}
		}
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
				if spec.ReplyBytes > 0 {
					if _, werr := c.Write(make([]byte, spec.ReplyBytes)); werr != nil {
						a.ReplyError = werr.Error()
					} else {
						a.ReplyBytes = spec.ReplyBytes
					}
				}
				if spec.CloseWhen == "first-read" {
					a.Read.End, a.Read.EndT = "closed", ts(time.Now())
					break
				}
			}
			continue
		}
		if err == nil {
			continue
		}
		kind := readEnd(err)
		if !now.Before(s.end) && kind == "timeout" {
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
	return closeConn(spec, c, a)
}

// closeConn closes an accepted connection with FIN or, SO_LINGER {1, 0},
// RST.
func closeConn(spec ServerSpec, c *net.TCPConn, a AcceptTruth) AcceptTruth {
	a.Close = spec.Close
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
	case errors.Is(err, syscall.ETIMEDOUT):
		// Before the net.Error test: ETIMEDOUT also says Timeout().
		return "etimedout"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "error: " + err.Error()
}

// awaitStart prints "ready" and reads the scenario start (t0) from the lab:
// one line of Unix nanoseconds. The lab sends it once every lab process is
// ready, so that process start-up never eats into t0.
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

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
