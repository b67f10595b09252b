package analyze

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// ruleCases prove each label's rule (flowstate/rules.go) on real captures
// from the lab: flows that must carry it, and look-alikes that must not.
// Each names the fact that decides it; analyze/lab_test.go derives the
// same from the truth files, this table is the short answer to "why did
// this flow get (or not get) label X?".
var ruleCases = []struct {
	label   flowstate.Label
	capture string // under ../testdata/lab/
	client  uint16 // the client's port
	want    bool
	why     string
}{
	{flowstate.LabelSynDropped, "load/server.pcap", 41007, true, "first SYN dropped on the full accept queue, a later copy answered"},
	{flowstate.LabelSynDropped, "lost-synack/server.pcap", 41002, false, "the server answered the first SYN; its SYN-ACK was lost on the path"},
	{flowstate.LabelSynDropped, "blackhole/server.pcap", 41001, false, "never answered: syn-unanswered, not a drop by a listener"},

	{flowstate.LabelSynUnanswered, "blackhole/server.pcap", 41001, true, "a firewall drops every SYN: no SYN-ACK ever"},
	{flowstate.LabelSynUnanswered, "one-sided/server.pcap", 41001, false, "the capture misses the server's direction; the client's ACKs prove a SYN-ACK"},
	{flowstate.LabelSynUnanswered, "refused/server.pcap", 41002, false, "refused with a RST"},

	{flowstate.LabelSynAckAfterAck, "ghost/server.pcap", 41005, true, "the timer resent the SYN-ACK a second after the ACK"},
	{flowstate.LabelSynAckAfterAck, "lost-synack/client.pcap", 41003, false, "a lost SYN-ACK seen from the client: the copy follows the ACK by less than a round trip"},
	{flowstate.LabelSynAckAfterAck, "defer-accept/server.pcap", 41003, false, "TCP_DEFER_ACCEPT: the resend skipped the timer's first expiry"},

	{flowstate.LabelDataWhileSynRecv, "ghost/server.pcap", 41007, true, "data resent with SYN-ACK retransmissions after it"},
	{flowstate.LabelDataWhileSynRecv, "lost-data-ack/client.pcap", 41001, false, "an established server's ACK lost on the path"},

	{flowstate.LabelFinBeforeQueued, "ghost/server.pcap", 41005, true, "FIN while the server still held the request"},
	{flowstate.LabelFinBeforeQueued, "client-rst/server.pcap", 41005, false, "the client left with a RST, no FIN"},
	{flowstate.LabelGhostConnection, "ghost/server.pcap", 41005, true, "queued only by the FIN's retransmission"},
	{flowstate.LabelGhostConnection, "client-rst/server.pcap", 41005, false, "the client's RST dropped the request"},
	{flowstate.LabelGhostConnection, "load/server.pcap", 41034, false, "queued by a data retransmission just before the FIN"},

	{flowstate.LabelSynAckRetriesExhausted, "synack-exhausted/server.pcap", 41003, true, "the timer stopped, the next segment met a forgotten request"},
	{flowstate.LabelSynAckRetriesExhausted, "listener-closed/server.pcap", 41006, false, "the listener closed: the request vanished between expiries"},
	{flowstate.LabelSynAckRetriesExhausted, "syncookies-on/server.pcap", 41003, false, "a cookie: no request to run out"},

	{flowstate.LabelRstOnOverflow, "abort-on-overflow/server.pcap", 41004, true, "a bare RST with the ACK's acknowledgment number, at once"},
	{flowstate.LabelRstOnOverflow, "app-reset/server.pcap", 41001, false, "the application's RST carries ACK"},
	{flowstate.LabelRstOnOverflow, "listener-closed/server.pcap", 41006, false, "a bare RST after the listener closed: the request was gone"},

	{flowstate.LabelSynCookieSuspected, "syncookies-on/server.pcap", 41001, true, "its timestamp lags the server's clock"},
	{flowstate.LabelSynCookieSuspected, "healthy/server.pcap", 41001, false, "an ordinary SYN-ACK"},
	{flowstate.LabelSynCookieSuspected, "burst-slow-accept/server.pcap", 41004, false, "a real request: the timer retransmitted it"},

	{flowstate.LabelDeferAccept, "defer-accept/server.pcap", 41003, true, "resent late in the deferral, first data ACKed at once"},
	{flowstate.LabelDeferAccept, "burst-slow-accept/server.pcap", 41004, false, "an overflow: resent at the timer's first expiry, data ignored"},

	{flowstate.LabelAppReset, "app-reset/server.pcap", 41001, true, "RST|ACK after accept()"},
	{flowstate.LabelAppReset, "abort-on-overflow/server.pcap", 41004, false, "the kernel's overflow reset is a bare RST"},
}

func TestRules(t *testing.T) {
	cache := map[string]map[uint16]flowstate.Labels{}
	for _, tc := range ruleCases {
		labels, ok := cache[tc.capture]
		if !ok {
			labels = map[uint16]flowstate.Labels{}
			r, err := Open(filepath.Join("../testdata/lab", tc.capture), 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Run(context.Background(), []*CaptureReader{r}, Options{}, func(f *Flow) error {
				if f.Client.Addr() == netip.MustParseAddr("10.77.0.2") {
					labels[f.Client.Port()] |= f.Labels
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			r.Close()
			cache[tc.capture] = labels
		}
		got, ok := labels[tc.client]
		if !ok {
			t.Errorf("%s: no flow of client port %d", tc.capture, tc.client)
			continue
		}
		if got.Has(tc.label) != tc.want {
			t.Errorf("%s %d: %s = %v, want %v (%s); labels [%s]", tc.capture, tc.client, tc.label, got.Has(tc.label), tc.want, tc.why, got)
		}
	}
}
