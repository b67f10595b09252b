package analyze_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
)

// timelineJSON renders the JSON timeline of a capture, or of several
// merged.
func timelineJSON(t *testing.T, paths ...string) []byte {
	t.Helper()
	var rs []*analyze.CaptureReader
	for i, path := range paths {
		r, err := analyze.Open(path, i)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rs = append(rs, r)
	}
	var buf bytes.Buffer
	j := render.NewJSON(&buf, render.Options{})
	sum, err := analyze.Run(context.Background(), rs, analyze.Options{Record: true}, j.Flow)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(sum); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Keeping flows that showed only a SYN (or a SYN and a SYN-ACK) in their
// compact pending form, as a table does past many live flows, changes
// nothing in the output: the promoted or finished flow replays what was
// kept.
func TestPendingFlowsChangeNothing(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/lab/*/*.pcap")
	paths = append(paths, "../testdata/seed002/seed002.pcap", "../testdata/formats/eth.pcap", "../testdata/formats/multi-if.pcapng")
	for _, p := range paths {
		full := timelineJSON(t, p)
		restore := analyze.KeepPendingFrom(0)
		pending := timelineJSON(t, p)
		restore()
		if !bytes.Equal(full, pending) {
			t.Errorf("%s: the timeline differs when flows are kept pending first", p)
		}
	}
	// Merged pairs: another point's record of a pending flow's segment
	// is kept in the compact form too.
	pairs, _ := filepath.Glob("../testdata/lab/*/server.pcap")
	for _, srv := range pairs {
		cli := filepath.Join(filepath.Dir(srv), "client.pcap")
		full := timelineJSON(t, srv, cli)
		restore := analyze.KeepPendingFrom(0)
		pending := timelineJSON(t, srv, cli)
		restore()
		if !bytes.Equal(full, pending) {
			t.Errorf("%s + client.pcap: the merged timeline differs when flows are kept pending first", srv)
		}
	}
}
