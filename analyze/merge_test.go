package analyze

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Captures here are hand-built in memory.

func TestMergerOrder(t *testing.T) {
	at := func(ms ...int) []record {
		recs := make([]record, len(ms))
		for i, m := range ms {
			recs[i] = record{t: t0.Add(time.Duration(m) * time.Millisecond), data: tcpFrame(t, uint16(1000+m), uint32(i))}
		}
		return recs
	}
	files := [][]record{
		at(0, 10, 20, 30),
		at(5, 10, 25),
		{},
		at(10, 40),
	}
	var readers []*CaptureReader
	for i, recs := range files {
		c, err := NewCaptureReader("f", bytes.NewReader(buildPcap(t, layers.LinkTypeEthernet, 65535, recs)), i)
		if err != nil {
			t.Fatal(err)
		}
		readers = append(readers, c)
	}
	m := NewMerger(readers)
	type got struct {
		ms    int64
		file  int32
		frame int64
	}
	want := []got{{0, 0, 1}, {5, 1, 1}, {10, 0, 2}, {10, 1, 2}, {10, 3, 1}, {20, 0, 3}, {25, 1, 3}, {30, 0, 4}, {40, 3, 2}}
	var seq []got
	for {
		var s flowstate.Segment
		err := m.Next(&s)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.SrcPort != uint16(1000+(s.Time-t0.UnixNano())/1e6) {
			t.Fatalf("segment mixed up: %+v", s)
		}
		seq = append(seq, got{(s.Time - t0.UnixNano()) / 1e6, s.File, s.Frame})
	}
	if len(seq) != len(want) {
		t.Fatalf("got %v, want %v", seq, want)
	}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("got %v, want %v", seq, want)
		}
	}
	var s flowstate.Segment
	if err := m.Next(&s); err != io.EOF {
		t.Errorf("Next after the end: %v", err)
	}
}

func TestMergerNoReaders(t *testing.T) {
	var s flowstate.Segment
	if err := NewMerger(nil).Next(&s); err != io.EOF {
		t.Errorf("Next: %v", err)
	}
}

// TestMergerFixtures merges two captures recorded at the same time on the
// same host (Ethernet and LINUX_SLL2): every segment of both, in time order.
func TestMergerFixtures(t *testing.T) {
	var readers []*CaptureReader
	for i, name := range []string{"eth.pcap", "sll2.pcap"} {
		c, err := Open(formats+name, i)
		if err != nil {
			t.Skipf("fixtures not there: %v", err)
		}
		defer c.Close()
		readers = append(readers, c)
	}
	m := NewMerger(readers)
	var prev flowstate.Segment
	n, perFile := 0, [2]int{}
	for {
		var s flowstate.Segment
		if err := m.Next(&s); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if n > 0 && (s.Time < prev.Time || s.Time == prev.Time && s.File < prev.File) {
			t.Fatalf("out of order: %+v after %+v", s, prev)
		}
		perFile[s.File]++
		prev = s
		n++
	}
	if perFile != [2]int{44, 44} {
		t.Errorf("segments per file %v, want 44 each", perFile)
	}
}

func BenchmarkMerger(b *testing.B) {
	data := buildPcap(b, layers.LinkTypeEthernet, 65535, someRecords(b, 10000))
	b.ReportAllocs()
	for b.Loop() {
		var readers []*CaptureReader
		for i := range 4 {
			c, err := NewCaptureReader("f", bytes.NewReader(data), i)
			if err != nil {
				b.Fatal(err)
			}
			readers = append(readers, c)
		}
		m := NewMerger(readers)
		var s flowstate.Segment
		for m.Next(&s) == nil {
		}
	}
}
