package analyze

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SSListing is what one ss file showed: its snapshots in file order. A
// snapshot starts at a timestamp line or at ss's header line (State
// Recv-Q Send-Q ...); rows of a file with neither are one snapshot.
type SSListing struct {
	Name      string
	Snapshots []SSSnapshot
}

// SSSnapshot is one run of ss.
type SSSnapshot struct {
	// Time is when it was taken (nanoseconds since the Unix epoch), from
	// the timestamp line before it; 0 when the file gives none.
	Time int64
	// Line is the snapshot's first line in the file.
	Line int
	// Sockets are its TCP sockets in LISTEN, in file order.
	Sockets []SSSocket
}

// SSWildcard says which addresses a wildcard socket accepts.
type SSWildcard uint8

// Wildcards as ss prints them (iproute2 ss.c, inet_addr_print).
const (
	SSNotWildcard SSWildcard = iota
	SSAnyV4                  // 0.0.0.0: any IPv4 address
	SSAnyV6Only              // [::]: any IPv6 address (IPV6_V6ONLY)
	SSAny                    // *: an IPv6 socket without IPV6_V6ONLY: any address of either family
)

// SSSocket is one LISTEN row of ss: Send-Q is the listen backlog in force
// (sk_max_ack_backlog: min(backlog, net.core.somaxconn)), Recv-Q the
// connections waiting for accept() (sk_ack_backlog).
type SSSocket struct {
	// Local is the local address as ss printed it ("[::1]%lo:8004").
	Local    string
	Addr     netip.Addr // unset for a wildcard
	Wildcard SSWildcard
	Port     uint16
	// Iface is the device the socket is bound to (SO_BINDTODEVICE), the
	// "%lo" of Local; empty when none.
	Iface        string
	RecvQ, SendQ int64
	Line         int
}

// Matches reports whether a connection to server would reach the socket
// by its address and port (the device binding is not checked: a capture
// does not say which device a packet came in on).
func (s *SSSocket) Matches(server netip.AddrPort) bool {
	if s.Port != server.Port() {
		return false
	}
	a := server.Addr().Unmap()
	switch s.Wildcard {
	case SSAny:
		return true
	case SSAnyV4:
		return a.Is4()
	case SSAnyV6Only:
		return a.Is6() && !server.Addr().Is4In6()
	}
	return s.Addr.Unmap() == a
}

// ssStates are the state names ss prints (ss.c, sstate_name).
var ssStates = map[string]bool{
	"UNKNOWN": true, "ESTAB": true, "SYN-SENT": true, "SYN-RECV": true, "FIN-WAIT-1": true, "FIN-WAIT-2": true,
	"TIME-WAIT": true, "UNCONN": true, "CLOSE-WAIT": true, "LAST-ACK": true, "LISTEN": true, "CLOSING": true,
	"NEW-SYN-RECV": true, "BOUND-INACTIVE": true,
}

// ssNetids are the socket kinds ss -a prints in its Netid column.
var ssNetids = map[string]bool{
	"tcp": true, "mptcp": true, "udp": true, "raw": true, "u_str": true, "u_dgr": true, "u_seq": true,
	"p_raw": true, "p_dgr": true, "nl": true, "sctp": true, "tipc": true, "v_str": true, "v_dgr": true,
	"xdp": true, "icmp6": true, "u_str_p": true,
}

// ParseSS reads the output of ss -lnt (or -ltn, -lntp, -tan, with or
// without -H, "state listening" without the State column), one run or
// several. Runs are separated by ss's header line or by a timestamp line
// before each: RFC 3339 (date -u +%FT%T.%NZ, date -Ins, date
// --rfc-3339=ns), optionally after "# "; date -u's default
// ("Wed Dec  2 02:22:37 UTC 2026"); or date -R. Lines starting with
// whitespace (ss -i's details) and other lines starting with '#' are
// skipped. Only TCP sockets in LISTEN are kept. Errors (*LineError) name
// the file and line: a row that is not ss's, a queue that is not an
// integer, an address or port that is not numeric (ss without -n), a
// timestamp in a zone other than UTC given by name, a file with no
// LISTEN socket.
func ParseSS(name string, data []byte) (*SSListing, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, lineErr(name, 0, "binary data, not the output of ss -lnt")
	}
	out := &SSListing{Name: name}
	var cur *SSSnapshot
	fresh := false // cur has begun at a timestamp and has no header or rows yet
	netid, state := false, true
	begin := func(line int, t int64) {
		out.Snapshots = append(out.Snapshots, SSSnapshot{Time: t, Line: line})
		cur = &out.Snapshots[len(out.Snapshots)-1]
	}
	headerSeen := false
	listening := 0
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		l := strings.TrimRight(raw, "\r ")
		if strings.TrimSpace(l) == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		if t, ok, err := ssTimestamp(l); err != nil {
			return nil, lineErr(name, line, "%v", err)
		} else if ok {
			begin(line, t)
			fresh = true
			continue
		}
		if l[0] == '#' {
			continue
		}
		f := strings.Fields(l)
		switch f[0] {
		case "Netid", "State", "Recv-Q":
			netid, state = f[0] == "Netid", f[0] != "Recv-Q"
			if cur == nil || !fresh {
				begin(line, 0)
			}
			fresh, headerSeen = false, true
			continue
		}
		if cur == nil {
			begin(line, 0)
		}
		fresh = false
		if !headerSeen {
			// Without a header (ss -H), the row says which columns it has.
			netid = ssNetids[f[0]]
			k := 0
			if netid {
				k = 1
			}
			state = k < len(f) && !isInteger(f[k])
		}
		k := 0
		if netid {
			if !ssNetids[f[0]] {
				return nil, lineErr(name, line, "not an ss row: %s is not a socket kind (Netid)", quoteLine(f[0]))
			}
			if f[0] != "tcp" && f[0] != "mptcp" {
				continue
			}
			k++
		}
		st := "LISTEN" // ss ... state listening prints no State column
		if state {
			if k >= len(f) || !ssStates[f[k]] {
				return nil, lineErr(name, line, "not an ss row: want State Recv-Q Send-Q Local Peer, got %s", quoteLine(l))
			}
			st = f[k]
			k++
		}
		if len(f) < k+4 {
			return nil, lineErr(name, line, "not an ss row: want Recv-Q Send-Q Local Peer after the state, got %s", quoteLine(l))
		}
		if st != "LISTEN" {
			continue
		}
		s := SSSocket{Local: f[k+2], Line: line}
		var err error
		if s.RecvQ, err = strconv.ParseInt(f[k], 10, 64); err != nil || s.RecvQ < 0 {
			return nil, lineErr(name, line, "Recv-Q %s is not a count", quoteLine(f[k]))
		}
		if s.SendQ, err = strconv.ParseInt(f[k+1], 10, 64); err != nil || s.SendQ < 0 {
			return nil, lineErr(name, line, "Send-Q %s is not a count", quoteLine(f[k+1]))
		}
		if err := s.parseLocal(); err != nil {
			return nil, lineErr(name, line, "local address %s: %v", quoteLine(s.Local), err)
		}
		cur.Sockets = append(cur.Sockets, s)
		listening++
	}
	if listening == 0 {
		return nil, lineErr(name, 0, "no TCP socket in LISTEN: want the output of ss -lnt")
	}
	return out, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// parseLocal reads ss's local address: addr[%iface]:port, with IPv6 in
// brackets, "*" for a dual-stack wildcard.
func (s *SSSocket) parseLocal() error {
	i := strings.LastIndexByte(s.Local, ':')
	if i < 0 {
		return errString("no port")
	}
	host, port := s.Local[:i], s.Local[i+1:]
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return errString("port " + strconv.Quote(port) + " is not a number: give ss -n's output")
	}
	s.Port = uint16(p)
	if j := strings.LastIndexByte(host, '%'); j >= 0 && j > strings.LastIndexByte(host, ']') {
		host, s.Iface = host[:j], host[j+1:]
	}
	switch host {
	case "*":
		s.Wildcard = SSAny
		return nil
	case "0.0.0.0":
		s.Wildcard = SSAnyV4
		return nil
	case "[::]":
		s.Wildcard = SSAnyV6Only
		return nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return errString("not a numeric address: give ss -n's output")
	}
	if z := a.Zone(); z != "" && s.Iface == "" {
		s.Iface = z
	}
	s.Addr = a.WithZone("")
	return nil
}

var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// ssTimestamp reads a timestamp line. ok is false for a line that is not
// one; err is set for a line that means to be one and cannot be read.
func ssTimestamp(l string) (t int64, ok bool, err error) {
	s := strings.TrimSpace(strings.TrimPrefix(l, "#"))
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' && isDigits(s[:4]) {
		// RFC 3339, as date -u +%FT%T.%NZ, date -Ins (a comma before the
		// fraction) or date --rfc-3339=ns (a space for the T) print it.
		r := strings.Replace(s, ",", ".", 1)
		if len(r) > 10 && r[10] == ' ' {
			r = r[:10] + "T" + r[11:]
		}
		v, perr := time.Parse(time.RFC3339Nano, r)
		if perr != nil {
			return 0, false, errString("timestamp " + quoteLine(s) + " is not RFC 3339 (date -u +%FT%T.%NZ)")
		}
		return v.UnixNano(), true, nil
	}
	for _, d := range weekdays {
		if !strings.HasPrefix(s, d) {
			continue
		}
		if v, perr := time.Parse(time.RFC1123Z, s); perr == nil { // date -R
			return v.UnixNano(), true, nil
		}
		f := strings.Fields(s)
		if len(f) == 6 && f[4] != "UTC" && f[4] != "GMT" {
			return 0, false, errString("timestamp " + quoteLine(s) + " is in zone " + f[4] + ", whose offset the name does not give: use date -u or date -Ins")
		}
		v, perr := time.Parse(time.UnixDate, strings.Join(f, " "))
		if perr != nil {
			v, perr = time.Parse("Mon Jan 2 15:04:05 MST 2006", strings.Join(f, " "))
		}
		if perr != nil {
			return 0, false, errString("timestamp " + quoteLine(s) + " is not date -u's (Wed Dec  2 02:22:37 UTC 2026), date -R's or RFC 3339")
		}
		return v.UnixNano(), true, nil
	}
	return 0, false, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
