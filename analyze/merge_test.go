package analyze

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"syscall"
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

// TestMergerManyFiles: a ring of 2000 files is read with at most 48 files
// open (RLIMIT_NOFILE lowered for the test), as one capture: the same
// flows as the same packets in one file. Each file is opened when the
// merge reaches it and closed once read, with its buffers dropped.
func TestMergerManyFiles(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	names := writeRing(t, dir, 2000)
	var one bytes.Buffer
	writePcap(&one, genConns(rand.New(rand.NewPCG(5, 6)), 2000*5, t0.UnixNano(), 2000*10e9))
	print := func(f *Flow) string {
		return fmt.Sprintf("%d %v %v %v %d %d", f.ID, f.Client, f.Server, f.Labels, f.NPackets, f.FinishTime)
	}
	var want, got []string
	r1, err := NewCaptureReader("one.pcap", bytes.NewReader(one.Bytes()), 0)
	if err != nil {
		t.Fatal(err)
	}
	refSum, err := Run(context.Background(), []*CaptureReader{r1}, Options{}, func(f *Flow) error { want = append(want, print(f)); return nil })
	if err != nil {
		t.Fatal(err)
	}

	low := lim
	low.Cur = 48
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	var sum *Summary
	var flows int
	peak := peakHeap(func() {
		var readers []*CaptureReader
		for i, name := range names {
			r, err := OpenLater(name, i, nil)
			if err != nil {
				t.Fatal(err)
			}
			readers = append(readers, r)
		}
		var err error
		sum, err = Run(context.Background(), readers, Options{}, func(f *Flow) error { flows++; got = append(got, print(f)); return nil })
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("2000 files: peak heap %.1f MiB", float64(peak)/(1<<20))
	var packets int64
	for _, c := range sum.Captures {
		packets += c.Packets
		if len(c.Warnings) != 0 {
			t.Fatalf("%s: warnings %q", c.Name, c.Warnings)
		}
	}
	if len(sum.Captures) != 2000 || packets != refSum.Captures[0].Packets || sum.Segments != refSum.Segments || flows != refSum.Flows {
		t.Errorf("%d captures, %d packets, %d segments, %d flows; want 2000, %d, %d, %d", len(sum.Captures), packets, sum.Segments, flows,
			refSum.Captures[0].Packets, refSum.Segments, refSum.Flows)
	}
	if !slices.Equal(got, want) {
		t.Errorf("the ring's flows differ from the one file's")
	}
	// Measured 11.7-14.3 MiB above the test's own inputs; all 2000 files
	// open at once with their buffers (the bug) cost over 2 GB.
	if peak > 32<<20 {
		t.Errorf("peak heap %d MiB for 2000 files, want under 32 MiB", peak>>20)
	}
}
