package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sort"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// routerResult is what the route process prints when the lab says stop.
type routerResult struct {
	Log   []PathEvent `json:"log"`
	Stats []PathStats `json:"stats"`
}

// packetSocket opens an AF_PACKET socket bound to one interface, receiving
// every frame that arrives on it (not the ones this socket or another
// sends: PACKET_IGNORE_OUTGOING), with kernel receive timestamps.
func packetSocket(ifname string) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return -1, err
	}
	proto := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, fmt.Errorf("packet socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s on %s: %w", what, ifname, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail("PACKET_IGNORE_OUTGOING", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20); err != nil {
		return fail("SO_RCVBUFFORCE", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20); err != nil {
		return fail("SO_SNDBUFFORCE", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fail("promiscuous mode", err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// recvFrame reads one frame and its kernel receive time.
func recvFrame(fd int, buf, oob []byte) ([]byte, time.Time, error) {
	for {
		n, oobn, _, from, err := unix.Recvmsg(fd, buf, oob, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		t := time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
					ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
					t = time.Unix(ts.Sec, ts.Nsec)
				}
			}
		}
		return append([]byte(nil), buf[:n]...), t, nil
	}
}

// router is the running bridge.
type router struct {
	mu     sync.Mutex
	engine *pathEngine
	log    []PathEvent
	logT   []time.Time // arrival time of each log entry
	stats  [2]PathStats
	fds    [2]int // receiving socket per direction: c2s reads rtr-cli
}

// runRoute is the router, run inside lab-rtr. It bridges the two interfaces
// from the moment it prints "ready"; the rules' times count from t0, read
// next; a second line ("stop") makes it print its log and statistics as
// JSON; it then forwards on until stdin is closed.
func runRoute(sc *Scenario, stdin *bufio.Reader, stdout io.Writer) error {
	p := sc.Path
	if p == nil {
		return errors.New("the scenario has no path")
	}
	r := &router{}
	var err error
	if r.fds[c2s], err = packetSocket(rtrCliDev); err != nil {
		return err
	}
	if r.fds[s2c], err = packetSocket(rtrSrvDev); err != nil {
		return err
	}
	// Until t0 is known the rules' clock starts now; no client sends before t0.
	r.engine = newPathEngine(p, time.Now())
	for d := range 2 {
		r.stats[d].Dir = pathDir(d).String()
		r.stats[d].DelayMS = r.engine.dirSpec(pathDir(d)).DelayMS
		r.stats[d].Loss = r.engine.dirSpec(pathDir(d)).Loss
	}
	t0, err := awaitStart(stdin, stdout)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.engine.t0 = t0
	r.mu.Unlock()
	for d := range 2 {
		in := make(chan pathItem, 65536)
		out := r.fds[1-d] // c2s frames leave on rtr-srv, read by the s2c socket
		go r.receive(pathDir(d), in)
		go r.send(pathDir(d), in, out)
	}
	// "stop"
	if _, err := stdin.ReadString('\n'); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	res := r.result()
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return err
	}
	io.Copy(io.Discard, stdin)
	return nil
}

// receive reads one direction's frames and queues the ones that pass.
func (r *router) receive(d pathDir, in chan<- pathItem) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, 256)
	delay := time.Duration(r.engine.dirSpec(d).DelayMS * float64(time.Millisecond))
	for {
		frame, t, err := recvFrame(r.fds[d], buf, oob)
		if err != nil {
			r.mu.Lock()
			r.stats[d].RecvErrors++
			r.mu.Unlock()
			time.Sleep(time.Millisecond)
			continue
		}
		f := parseFrame(frame)
		r.mu.Lock()
		r.stats[d].Frames++
		if f.tcp {
			r.stats[d].TCPFrames++
		}
		v := r.engine.decide(&f, d, t)
		it := pathItem{frame: frame, due: t.Add(delay), flow: key(&f, d)}
		if v.action != "pass" {
			ev := r.event(&f, d, t, v)
			switch v.action {
			case "drop":
				if v.rule == "random" {
					r.stats[d].DroppedRandom++
				} else {
					r.stats[d].DroppedRule++
				}
			case "hold":
				r.stats[d].Held++
				it.held, it.left, it.event = true, v.holdFrames, ev
				it.due = it.due.Add(ms(v.holdMS))
			}
		}
		r.mu.Unlock()
		if v.action != "drop" {
			in <- it
		}
	}
}

// event logs a dropped or held frame and returns its index. r.mu is held.
func (r *router) event(f *frameInfo, d pathDir, t time.Time, v pathVerdict) int {
	seq, ack := r.engine.relSeq(f, d)
	ev := PathEvent{
		T: ts(t), Dir: d.String(), Src: f.src.String(), Dst: f.dst.String(),
		Flags: tcpFlags(f.flags), Seq: f.seq, Ack: f.ack, RelSeq: seq, RelAck: ack,
		Len: f.payload, IPID: f.ipID, Action: v.action, Rule: v.rule,
	}
	if v.action == "hold" {
		ev.HoldFrames, ev.HoldMS = v.holdFrames, v.holdMS
	}
	r.log = append(r.log, ev)
	r.logT = append(r.logT, t)
	return len(r.log) - 1
}

// send forwards one direction's frames when they are due. It sleeps with
// clock_nanosleep on its own OS thread: Go's timers wake up to a few
// milliseconds late on a busy machine, the kernel's hrtimers within
// microseconds.
func (r *router) send(d pathDir, in <-chan pathItem, out int) {
	runtime.LockOSThread()
	var q pathQueue
	drain := func() {
		for {
			select {
			case it := <-in:
				q.push(it)
			default:
				return
			}
		}
	}
	for {
		drain()
		due, ok := q.nextDue()
		if !ok {
			q.push(<-in)
			continue
		}
		if now := time.Now(); due.After(now) {
			// With frames in arrival order waiting, nothing that arrives
			// meanwhile is due earlier (a fixed delay). With only held frames
			// waiting, look at the arrivals every 200 µs.
			if len(q.fifo) == 0 {
				due = minTime(due, now.Add(200*time.Microsecond))
			}
			sleepUntilPrecise(due)
			continue
		}
		for _, it := range q.pop(time.Now()) {
			err := writeFrame(out, it.frame)
			now := time.Now()
			r.mu.Lock()
			if err != nil {
				r.stats[d].SendErrors++
			} else {
				r.stats[d].Forwarded++
			}
			if it.held {
				r.log[it.event].ReleasedT = ts(now)
				r.log[it.event].ReleasedBy = it.releasedBy
			}
			r.mu.Unlock()
		}
	}
}

// sleepUntilPrecise sleeps until t on CLOCK_REALTIME (the clock of the
// captures and of time.Now's wall reading).
func sleepUntilPrecise(t time.Time) {
	ts := unix.NsecToTimespec(t.UnixNano())
	for {
		err := unix.ClockNanosleep(unix.CLOCK_REALTIME, unix.TIMER_ABSTIME, &ts, nil)
		if err != unix.EINTR {
			return
		}
	}
}

func writeFrame(fd int, b []byte) error {
	for {
		_, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

// result returns the log in time order and the statistics, with the
// sockets' own drop counts (PACKET_STATISTICS: frames the kernel could not
// queue to the router).
func (r *router) result() routerResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range 2 {
		if st, err := unix.GetsockoptTpacketStats(r.fds[d], unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			r.stats[d].SocketDrops += int(st.Drops)
		}
	}
	order := make([]int, len(r.log))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return r.logT[order[i]].Before(r.logT[order[j]]) })
	log := make([]PathEvent, 0, len(order))
	for _, i := range order {
		log = append(log, r.log[i])
	}
	return routerResult{Log: log, Stats: []PathStats{r.stats[c2s], r.stats[s2c]}}
}
