package render

import (
	"net/netip"
	"testing"
)

func TestAnonymizerIsStableAndKeepsPorts(t *testing.T) {
	an := NewAnonymizer()
	a := netip.MustParseAddrPort("192.168.172.128:53993")
	b := netip.MustParseAddrPort("[fd77::1]:8000")
	if got := an.AddrPort(a); got != "host-1:53993" {
		t.Errorf("first address: %q", got)
	}
	if got := an.AddrPort(b); got != "host-2:8000" {
		t.Errorf("second address: %q", got)
	}
	if got := an.AddrPort(netip.MustParseAddrPort("192.168.172.128:8000")); got != "host-1:8000" {
		t.Errorf("same address again: %q", got)
	}
	in := "the server ignored the ACK of 192.168.172.128:53994 while [fd77::1]:8000 and 10.0.0.9 were queued at 20:25:59.640719"
	want := "the server ignored the ACK of host-1:53994 while [host-2]:8000 and host-3 were queued at 20:25:59.640719"
	if got := an.Text(in); got != want {
		t.Errorf("Text:\n got %q\nwant %q", got, want)
	}
	var none *Anonymizer
	if none.AddrPort(a) != a.String() || none.Text(in) != in {
		t.Error("a nil anonymizer changed something")
	}
}
