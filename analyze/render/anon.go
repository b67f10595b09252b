package render

import (
	"fmt"
	"net/netip"
)

// Anonymizer replaces addresses with stable pseudonyms for reports that
// travel: the same address always gets the same name ("host-1",
// "host-2", ... in order of first appearance), ports are kept. A nil
// *Anonymizer leaves addresses as they are.
type Anonymizer struct {
	names map[netip.Addr]string
}

// NewAnonymizer returns an empty anonymizer.
func NewAnonymizer() *Anonymizer { return &Anonymizer{names: make(map[netip.Addr]string)} }

// Addr returns the pseudonym of a.
func (an *Anonymizer) Addr(a netip.Addr) string {
	if an == nil {
		return a.String()
	}
	n, ok := an.names[a]
	if !ok {
		n = fmt.Sprintf("host-%d", len(an.names)+1)
		an.names[a] = n
	}
	return n
}

// AddrPort returns the pseudonym of ap's address with its port.
func (an *Anonymizer) AddrPort(ap netip.AddrPort) string {
	if an == nil {
		return ap.String()
	}
	return fmt.Sprintf("%s:%d", an.Addr(ap.Addr()), ap.Port())
}

// Func returns AddrPort as a function, or nil for a nil anonymizer, for
// options that take one.
func (an *Anonymizer) Func() func(netip.AddrPort) string {
	if an == nil {
		return nil
	}
	return an.AddrPort
}

// Text replaces every IP address written in s (as IPv4 dotted quads or
// IPv6, bare or in brackets) with its pseudonym, for sentences such as
// capacity evidence that name hosts.
func (an *Anonymizer) Text(s string) string {
	if an == nil {
		return s
	}
	var b []byte
	i := 0
	for i < len(s) {
		j := i
		for j < len(s) && isAddrChar(s[j]) {
			j++
		}
		if j > i {
			tok := s[i:j]
			// An address may be followed by :port, which the token includes
			// for IPv4 ("1.2.3.4:80"); try the longest parse first.
			if a, rest, ok := parseAddrPrefix(tok); ok {
				b = append(b, an.Addr(a)...)
				b = append(b, rest...)
			} else {
				b = append(b, tok...)
			}
			i = j
			continue
		}
		b = append(b, s[i])
		i++
	}
	return string(b)
}

func isAddrChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
}

// parseAddrPrefix parses an IP address at the start of tok, leaving a
// ":port" or other tail in rest.
func parseAddrPrefix(tok string) (netip.Addr, string, bool) {
	for end := len(tok); end > 0; end-- {
		if a, err := netip.ParseAddr(tok[:end]); err == nil && (a.Is4() || len(tok[:end]) > 4) {
			if a.Is4() && end < len(tok) && tok[end] != ':' {
				continue
			}
			return a, tok[end:], true
		}
	}
	return netip.Addr{}, "", false
}
