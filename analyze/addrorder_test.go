package analyze

import (
	"context"
	"net/netip"
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Addresses are numbered in the order their first packet was read,
// source before destination, whatever a filter keeps, whatever the
// number of flow tables, and every flow handed to emit has its
// addresses numbered.
func TestAddrOrderIsFirstAppearance(t *testing.T) {
	data := readFixture(t, "eth.pcap")
	// The truth: the addresses of the packets, in order.
	r := mustReader(t, "eth.pcap", data)
	var want []netip.Addr
	seen := map[netip.Addr]bool{}
	var seg flowstate.Segment
	for r.Next(&seg) == nil {
		for _, a := range []flowstate.Addr{seg.Src, seg.Dst} {
			if na := a.Netip(); !seen[na] {
				seen[na] = true
				want = append(want, na)
			}
		}
	}
	if len(want) < 3 {
		t.Fatalf("%d addresses in the fixture", len(want))
	}
	for _, c := range []struct {
		name   string
		shards int
		match  func(*flowstate.Segment) bool
	}{
		{"one table", 1, nil},
		{"four tables", 4, nil},
		{"a filter keeping one port", 2, func(s *flowstate.Segment) bool { return s.DstPort == 9 || s.SrcPort == 9 }},
	} {
		o := NewAddrOrder()
		emitted := 0
		_, err := run(context.Background(), []*CaptureReader{mustReader(t, "eth.pcap", data)}, Options{Addresses: o, Match: c.match}, func(f *Flow) error {
			emitted++
			for _, ap := range []netip.AddrPort{f.Client, f.Server} {
				if _, ok := o.Index(ap.Addr()); !ok {
					t.Errorf("%s: flow %d's %s not numbered when emitted", c.name, f.ID, ap)
				}
			}
			return nil
		}, c.shards)
		if err != nil {
			t.Fatal(err)
		}
		if o.Len() != len(want) || emitted == 0 {
			t.Errorf("%s: %d addresses numbered, want %d (%d flows)", c.name, o.Len(), len(want), emitted)
		}
		for i, a := range want {
			if got, ok := o.Index(a); !ok || got != i {
				t.Errorf("%s: %s is %d (%v), want %d", c.name, a, got, ok, i)
			}
			if a.Is4() {
				if got, _ := o.Index(netip.AddrFrom16(a.As16())); got != i {
					t.Errorf("%s: the IPv4-mapped form of %s is %d, want %d", c.name, a, got, i)
				}
			}
		}
		if _, ok := o.Index(netip.MustParseAddr("203.0.113.99")); ok {
			t.Errorf("%s: an address the capture does not hold is numbered", c.name)
		}
	}
}
