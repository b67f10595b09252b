package analyze

import (
	"context"
	"slices"
	"testing"
)

// runFiles analyses captures and returns the finished flows and summary.
func runFiles(t *testing.T, record bool, paths ...string) ([]*Flow, *Summary) {
	t.Helper()
	var readers []*CaptureReader
	for i, p := range paths {
		r, err := Open(p, i)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		readers = append(readers, r)
	}
	var flows []*Flow
	sum, err := Run(context.Background(), readers, Options{Record: record}, func(f *Flow) error {
		flows = append(flows, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return flows, sum
}

// Seed 002's printed trace (Linux 2.6.18, somaxconn=1): connections 1 and
// 2 are queued, 3 and 4 have their ACKs ignored, 5 loses its first SYN and
// then has its ACK ignored; the queue held 2.
func TestSeed002(t *testing.T) {
	for _, record := range []bool{true, false} {
		flows, sum := runFiles(t, record, "../testdata/seed002/seed002.pcap")
		want := map[uint16][]string{
			53991: {},
			53992: {},
			53993: {"synack-retransmit", "synack-after-ack"},
			53994: {"synack-retransmit", "synack-after-ack"},
			53995: {"syn-dropped", "synack-retransmit", "synack-after-ack"},
		}
		if len(flows) != len(want) {
			t.Fatalf("%d flows, want %d", len(flows), len(want))
		}
		for _, f := range flows {
			if got := f.Labels.Strings(); !slices.Equal(got, want[f.Client.Port()]) {
				t.Errorf("record=%v: connection %d: labels %v, want %v", record, f.Client.Port(), got, want[f.Client.Port()])
			}
		}
		if len(sum.Listeners) != 1 {
			t.Fatalf("%d listeners, want 1", len(sum.Listeners))
		}
		l := sum.Listeners[0]
		if l.AcceptQueueCapacity != 2 || l.BacklogEstimate != 1 {
			t.Errorf("record=%v: capacity %d backlog %d, want 2 and 1 (%s)", record, l.AcceptQueueCapacity, l.BacklogEstimate, l.CapacityEvidence)
		}
		if l.Vantage != VantageSameHost {
			t.Errorf("vantage %s, want same-host (loopback)", l.Vantage)
		}
	}
}

// The server state of connection 5's first SYN stays LISTEN (dropped),
// its retransmission is answered, and its ACK is shown ignored.
func TestSeed002Connection5States(t *testing.T) {
	flows, _ := runFiles(t, true, "../testdata/seed002/seed002.pcap")
	var f *Flow
	for _, g := range flows {
		if g.Client.Port() == 53995 {
			f = g
		}
	}
	want := []string{"LISTEN", "SYN-RECEIVED", "SYN-RECEIVED", "SYN-RECEIVED-ACK-IGNORED", "SYN-RECEIVED-ACK-IGNORED"}
	for i, w := range want {
		if got := f.Packets[i].State[1].String(); got != w {
			t.Errorf("packet %d (frame %d): server %s, want %s", i, f.Packets[i].Frame, got, w)
		}
	}
	if f.Notes[1] == "" || f.Notes[4] == "" {
		t.Errorf("labelled packets without a note: %q", f.Notes)
	}
}
