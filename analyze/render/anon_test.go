package render

import (
	"net/netip"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
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

// Every textual form of an address is replaced, with the same pseudonym
// for the same address; MACs, file names and interface names too.
func TestAnonymizerTextForms(t *testing.T) {
	an := NewRunAnonymizer(nil, []string{"/home/alice/dumps/db1-prod.pcap", "-"})
	for _, c := range []struct{ in, want string }{
		{"SYN from ::2 and [::2]:8000 and 0:0:0:0:0:0:0:2", "SYN from host-1 and [host-1]:8000 and host-1"},
		{"mapped ::ffff:10.0.0.1 is 10.0.0.1:80", "mapped host-2 is host-2:80"},
		{"fe80::1%eth0 said", "host-3 said"},
		{"the last was 10.0.0.1. Then 10.0.0.1, again.", "the last was host-2. Then host-2, again."},
		{"fd77:0000:0000:0000:0000:0000:0000:0001 = fd77::1", "host-4 = host-4"},
		{"at 20:25:59.640719, 3.40 s, version 1.2.3.4.5", "at 20:25:59.640719, 3.40 s, version 1.2.3.4.5"},
		{"from 52:54:00:12:34:56 via 52-54-00-12-34-56", "from mac-1 via mac-1"},
		{"/home/alice/dumps/db1-prod.pcap: truncated; db1-prod.pcap again; stdin fine", "capture-1: truncated; capture-1 again; stdin fine"},
	} {
		if got := an.Text(c.in); got != c.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	an.Learn([]*analyze.Capture{{Name: "/home/alice/dumps/db1-prod.pcap", Interfaces: []analyze.Interface{{Name: "vlan7-192.168.7.20"}}}})
	if got := an.Text(`interface 0 ("vlan7-192.168.7.20") and vlan7-192.168.7.20`); got != `interface 0 ("if-1") and if-1` {
		t.Errorf("interface names: %q", got)
	}
	c := an.Capture(&analyze.Capture{Index: 0, Name: "/home/alice/dumps/db1-prod.pcap", Format: "pcapng", LinkTypes: []string{"EN10MB"},
		Interfaces: []analyze.Interface{{Name: "vlan7-192.168.7.20", LinkType: "EN10MB"}}, Warnings: []string{"/home/alice/dumps/db1-prod.pcap: odd"}})
	if c.Name != "capture-1" || c.Interfaces[0].Name != "if-1" || c.Warnings[0] != "capture-1: odd" || c.Format != "pcapng" || c.Interfaces[0].LinkType != "EN10MB" {
		t.Errorf("Capture: %+v", c)
	}
}
