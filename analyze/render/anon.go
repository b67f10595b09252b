package render

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tcptimeline/tcptimeline/analyze"
)

// Anonymizer replaces what identifies a network in output that travels:
// addresses become "host-1", "host-2", ... (ports kept), capture files
// "capture-1", ..., interface names "if-1", ..., MAC addresses "mac-1",
// .... With an analyze.AddrOrder, host numbers are the addresses' order
// of first appearance in the capture, so every command names an address
// alike, whatever it shows; without one, the order in which the
// anonymizer meets them. An address the capture does not hold (one a
// sentence names, or a user typed) becomes "other-host-1", .... Never a
// hash of the address: an unkeyed hash of an IPv4 address is reversed
// in 2^32 tries. A nil *Anonymizer leaves everything as it is. It is
// safe for use by several goroutines.
type Anonymizer struct {
	mu     sync.Mutex
	order  *analyze.AddrOrder
	names  map[netip.Addr]string // without an order, and for addresses outside it
	others int
	// files are the inputs as given (with "stdin" for "-"); file i is
	// "capture-(i+1)".
	files   []string
	secrets map[string]string // literal text -> its replacement
	sorted  []string          // secrets' keys, longest first
	ifaces  map[string]string
	macs    map[string]string
}

// NewAnonymizer returns an anonymizer that numbers addresses as it meets
// them.
func NewAnonymizer() *Anonymizer {
	return &Anonymizer{names: make(map[netip.Addr]string), secrets: map[string]string{}, ifaces: map[string]string{}, macs: map[string]string{}}
}

// NewRunAnonymizer returns an anonymizer for the output of one run: hosts
// numbered by order (the run's Options.Addresses), and files named by
// their place among files, the inputs as given ("-" for stdin).
func NewRunAnonymizer(order *analyze.AddrOrder, files []string) *Anonymizer {
	an := NewAnonymizer()
	an.order = order
	for i, f := range files {
		if f == "-" {
			f = "stdin"
		}
		an.files = append(an.files, f)
		p := fmt.Sprintf("capture-%d", i+1)
		an.secret(f, p)
		if b := filepath.Base(f); b != f && len(b) >= 3 {
			if _, ok := an.secrets[b]; !ok {
				an.secret(b, p)
			}
		}
	}
	return an
}

// secret registers literal text to replace wherever it is written; an
// input's name "stdin" is no secret.
func (an *Anonymizer) secret(s, with string) {
	if s == "" || s == "stdin" || s == with {
		return
	}
	if _, ok := an.secrets[s]; ok {
		return
	}
	an.secrets[s] = with
	an.sorted = append(an.sorted, s)
	sort.SliceStable(an.sorted, func(i, j int) bool { return len(an.sorted[i]) > len(an.sorted[j]) })
}

// Addr returns the pseudonym of a.
func (an *Anonymizer) Addr(a netip.Addr) string {
	if an == nil {
		return a.String()
	}
	an.mu.Lock()
	defer an.mu.Unlock()
	return an.addr(a)
}

func (an *Anonymizer) addr(a netip.Addr) string {
	a = a.Unmap()
	if an.order != nil {
		if i, ok := an.order.Index(a); ok {
			return "host-" + strconv.Itoa(i+1)
		}
	}
	n, ok := an.names[a]
	if !ok {
		if an.order != nil {
			an.others++
			n = fmt.Sprintf("other-host-%d", an.others)
		} else {
			n = fmt.Sprintf("host-%d", len(an.names)+1)
		}
		an.names[a] = n
	}
	return n
}

// AddrPort returns the pseudonym of ap's address with its port.
func (an *Anonymizer) AddrPort(ap netip.AddrPort) string {
	if an == nil {
		return ap.String()
	}
	return an.Addr(ap.Addr()) + ":" + strconv.Itoa(int(ap.Port()))
}

// Func returns AddrPort as a function, or nil for a nil anonymizer, for
// options that take one.
func (an *Anonymizer) Func() func(netip.AddrPort) string {
	if an == nil {
		return nil
	}
	return an.AddrPort
}

// MatchesAddr reports whether pseudonym names a (for --flow host-3:8000).
func (an *Anonymizer) MatchesAddr(pseudonym string, a netip.Addr) bool {
	return an != nil && an.Addr(a) == pseudonym
}

// CaptureName returns the name a capture is shown under: "capture-N"
// for the N-th input.
func (an *Anonymizer) CaptureName(c *analyze.Capture) string {
	if an == nil {
		return c.Name
	}
	for i, f := range an.files {
		if f == c.Name {
			return fmt.Sprintf("capture-%d", i+1)
		}
	}
	return fmt.Sprintf("capture-%d", c.Index+1)
}

// Learn registers what the captures' metadata names (interface names),
// so that Text replaces it too; the renderers call it before they write
// the capture views.
func (an *Anonymizer) Learn(caps []*analyze.Capture) {
	if an == nil {
		return
	}
	an.mu.Lock()
	defer an.mu.Unlock()
	for _, c := range caps {
		an.secret(c.Name, an.captureNameLocked(c))
		for _, ifc := range c.Interfaces {
			an.ifaceLocked(ifc.Name)
		}
	}
}

func (an *Anonymizer) captureNameLocked(c *analyze.Capture) string {
	for i, f := range an.files {
		if f == c.Name {
			return fmt.Sprintf("capture-%d", i+1)
		}
	}
	return fmt.Sprintf("capture-%d", c.Index+1)
}

func (an *Anonymizer) ifaceLocked(name string) string {
	if name == "" {
		return ""
	}
	p, ok := an.ifaces[name]
	if !ok {
		p = fmt.Sprintf("if-%d", len(an.ifaces)+1)
		an.ifaces[name] = p
		an.secret(strconv.Quote(name), strconv.Quote(p))
		an.secret(name, p)
	}
	return p
}

// Capture returns a copy of c fit to travel: its name "capture-N", its
// interfaces "if-N", its warnings through Text, and every other text
// field left empty but its format and link types (a field added later is
// withheld until it is known to be safe).
func (an *Anonymizer) Capture(c *analyze.Capture) *analyze.Capture {
	if an == nil || c == nil {
		return c
	}
	an.Learn([]*analyze.Capture{c})
	out := *c
	out.Name = an.CaptureName(c)
	out.Warnings = make([]string, len(c.Warnings))
	for i, w := range c.Warnings {
		out.Warnings[i] = an.Text(w)
	}
	out.Interfaces = make([]analyze.Interface, len(c.Interfaces))
	an.mu.Lock()
	for i, ifc := range c.Interfaces {
		ifc.Name = an.ifaceLocked(ifc.Name)
		blankStrings(reflect.ValueOf(&ifc).Elem(), "Name", "LinkType")
		out.Interfaces[i] = ifc
	}
	an.mu.Unlock()
	blankStrings(reflect.ValueOf(&out).Elem(), "Name", "Format", "LinkTypes", "Warnings", "Vantage")
	if c.VantageByListener != nil {
		out.VantageByListener = make(map[string]string, len(c.VantageByListener))
		for k, v := range c.VantageByListener {
			out.VantageByListener[an.Text(k)] = v
		}
	}
	return &out
}

// blankStrings empties every string and []string field of the struct v
// but those named in keep.
func blankStrings(v reflect.Value, keep ...string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || contains(keep, f.Name) {
			continue
		}
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.String:
			fv.SetString("")
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
			fv.Set(reflect.Zero(fv.Type()))
		case fv.Kind() == reflect.Map && fv.Type().Elem().Kind() == reflect.String:
			fv.Set(reflect.Zero(fv.Type()))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var (
	macColon = regexp.MustCompile(`(?i)\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b`)
	macDash  = regexp.MustCompile(`(?i)\b[0-9a-f]{2}(?:-[0-9a-f]{2}){5}\b`)
)

// Text replaces, in sentences such as capacity evidence, warnings and
// error messages: the names of the inputs and of their interfaces, every
// IP address in any textual form (IPv4, IPv6 compressed or not, in
// brackets or not, IPv4-mapped, with a zone, which is dropped) and MAC
// addresses.
func (an *Anonymizer) Text(s string) string {
	if an == nil || s == "" {
		return s
	}
	an.mu.Lock()
	defer an.mu.Unlock()
	for _, k := range an.sorted {
		if strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, an.secrets[k])
		}
	}
	for _, re := range []*regexp.Regexp{macColon, macDash} {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			k := strings.ToLower(strings.ReplaceAll(m, "-", ":"))
			p, ok := an.macs[k]
			if !ok {
				p = fmt.Sprintf("mac-%d", len(an.macs)+1)
				an.macs[k] = p
			}
			return p
		})
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isAddrChar(s[j]) {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		tok := s[i:j]
		zone := false
		for k := 0; k < len(tok); {
			a, end, ok := addrAt(tok, k)
			if !ok {
				b.WriteByte(tok[k])
				k++
				continue
			}
			b.WriteString(an.addr(a))
			k = end
			zone = end == len(tok) && a.Is6()
		}
		i = j
		if zone && i < len(s) && s[i] == '%' {
			// fe80::1%eth0: the zone names an interface.
			i++
			for i < len(s) && (isAlnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.') {
				i++
			}
		}
	}
	return b.String()
}

func isAddrChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
}

// runsOn reports whether a dotted quad ending at tok[end] runs on into
// more of a number ("1.2.3.4.5", "1.2.3.45"); a full stop after it does
// not.
func runsOn(tok string, end int) bool {
	isDigit := func(i int) bool { return i < len(tok) && tok[i] >= '0' && tok[i] <= '9' }
	return isDigit(end) || end < len(tok) && tok[end] == '.' && isDigit(end+1)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// maxAddrText is the longest textual form of an IP address
// ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").
const maxAddrText = 45

// addrAt finds the longest IP address starting at tok[k]; an IPv4
// address must not run on from or into more digits or dots ("1.2.3.4.5"
// is none).
func addrAt(tok string, k int) (netip.Addr, int, bool) {
	v4ok := k == 0 || tok[k-1] != '.' && (tok[k-1] < '0' || tok[k-1] > '9')
	for end := min(len(tok), k+maxAddrText); end > k+1; end-- {
		sub := tok[k:end]
		if !strings.ContainsAny(sub, ".:") {
			return netip.Addr{}, 0, false
		}
		a, err := netip.ParseAddr(sub)
		if err != nil {
			continue
		}
		if a.Is4() && (!v4ok || runsOn(tok, end)) {
			continue
		}
		return a, end, true
	}
	return netip.Addr{}, 0, false
}
