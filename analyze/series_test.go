package analyze

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// count returns the events of kind k per bin of width w, aligned at
// origin, as a map from bin index: what a series must hold, computed
// from the times themselves.
func countBins(origin, w int64, times []int64) map[int64]int32 {
	m := map[int64]int32{}
	for _, t := range times {
		m[floorDiv(t-origin, w)]++
	}
	return m
}

func binsOf(bins []SeriesBin, k SeriesKind) map[int64]int32 {
	m := map[int64]int32{}
	for _, b := range bins {
		if b.V[k] != 0 {
			m[b.Index] = b.V[k]
		}
	}
	return m
}

func sameCounts(t *testing.T, what string, got, want map[int64]int32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d bins, want %d", what, len(got), len(want))
	}
	for i, n := range want {
		if got[i] != n {
			t.Errorf("%s: bin %d holds %d, want %d", what, i, got[i], n)
		}
	}
}

// A listener seen twice, 2,000,000 s apart, keeps two bins at 1 ms: its
// cost does not grow with the span.
func TestSeriesSparse(t *testing.T) {
	const origin = int64(1_700_000_000e9)
	b := seriesBuilder{origin: origin}
	b.add(origin+5e6, SeriesNewSYN, 1)
	b.add(origin+2_000_000e9+7e6, SeriesNewSYN, 1)
	b.add(origin+2_000_000e9+7.5e6, SeriesReset, 1)
	s := b.series()
	if s.Res != 1e6 || len(s.Bins) != 2 || s.Bins[0].Index != 5 || s.Bins[1].Index != 2_000_000_007 {
		t.Fatalf("series %+v", s)
	}
	if s.Total(SeriesNewSYN) != 2 || s.Total(SeriesReset) != 1 {
		t.Errorf("totals %d, %d", s.Total(SeriesNewSYN), s.Total(SeriesReset))
	}
	if a, e, _ := s.Span(); a != origin+5e6 || e != origin+2_000_000e9+8e6 {
		t.Errorf("span %d..%d", a-origin, e-origin)
	}
}

// Events at every millisecond for 20 s exceed MaxSeriesBins: the series
// coarsens to a resolution at which it holds at most that many, and
// every event stays in the bin that holds its time, at that resolution
// and at every nice width above it; times before the origin (a clock
// that went backwards) land in negative bins.
func TestSeriesCoarsensAndRebinsExactly(t *testing.T) {
	const origin = int64(1_700_000_000e9)
	rng := rand.New(rand.NewPCG(1, 2))
	var times []int64
	b := seriesBuilder{origin: origin}
	for i := 0; i < 20000; i++ {
		tm := origin + int64(i)*1e6 + rng.Int64N(1e6) - 300e6
		times = append(times, tm)
		b.add(tm, SeriesSynDropped, 1)
	}
	s := b.series()
	if len(s.Bins) > MaxSeriesBins || s.Res == 1e6 {
		t.Fatalf("%d bins at %d ns", len(s.Bins), s.Res)
	}
	if !slices.IsSortedFunc(s.Bins, func(x, y SeriesBin) int { return int(x.Index - y.Index) }) {
		t.Error("bins out of order")
	}
	if s.Bins[0].Index >= 0 {
		t.Errorf("first bin %d: the events before the origin are not before it", s.Bins[0].Index)
	}
	sameCounts(t, "series", binsOf(s.Bins, SeriesSynDropped), countBins(origin, s.Res, times))
	for _, w := range []int64{s.Res, 100e6, 1e9, 2e9, 10e9, 60e9} {
		if w%s.Res != 0 {
			continue
		}
		sameCounts(t, "rebinned", binsOf(s.Rebin(w), SeriesSynDropped), countBins(origin, w, times))
	}
	if s.Rebin(s.Res+1) != nil {
		t.Error("a width that is not a multiple of the resolution was accepted")
	}
}

// Every resolution is a multiple of the one before (so any width that
// fits the coarsest listener fits all).
func TestSeriesResolutionsDivide(t *testing.T) {
	for i := 1; i < len(SeriesResolutions); i++ {
		if SeriesResolutions[i]%SeriesResolutions[i-1] != 0 {
			t.Errorf("%d is not a multiple of %d", SeriesResolutions[i], SeriesResolutions[i-1])
		}
	}
}

// An AggMax kind keeps the largest sample of a bin, and of the bins a
// wider one merges.
func TestSeriesMaxKind(t *testing.T) {
	defer func(old [NumSeriesKinds]SeriesAgg) { SeriesAggs = old }(SeriesAggs)
	SeriesAggs[SeriesGhost] = AggMax
	b := seriesBuilder{}
	for i, v := range []int32{3, 7, 5, 2} {
		b.add(int64(i)*400e6, SeriesGhost, v)
		b.add(int64(i)*400e6, SeriesNewSYN, v)
	}
	s := b.series()
	got := s.Rebin(1e9)
	if len(got) != 2 || got[0].V[SeriesGhost] != 7 || got[0].V[SeriesNewSYN] != 15 || got[1].V[SeriesGhost] != 2 {
		t.Errorf("rebinned %+v", got)
	}
	if s.Total(SeriesGhost) != 7 {
		t.Errorf("total of a max kind %d, want 7", s.Total(SeriesGhost))
	}
}

// sparseServers writes a classic pcap of one SYN from 10.0.0.1 to each of
// n servers (10.128.0.0 upwards, port 80), then the same SYNs again gap
// seconds later: many listeners, each seen for two packets, over a long
// span. (cmd/capgen -shape servers writes the same for the benchmarks.)
func sparseServers(n int, gap int64) []byte {
	frame := make([]byte, 14+20+20)
	copy(frame[0:], []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := frame[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[12:], []byte{10, 0, 0, 1})
	tcp := frame[34:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12], tcp[13] = 5<<4, 0x02
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	out := make([]byte, 24, 24+2*n*(16+len(frame)))
	binary.LittleEndian.PutUint32(out[0:], magicMicro)
	binary.LittleEndian.PutUint16(out[4:], 2)
	binary.LittleEndian.PutUint16(out[6:], 4)
	binary.LittleEndian.PutUint32(out[16:], 65535)
	binary.LittleEndian.PutUint32(out[20:], 1)
	start := t0.UnixMicro()
	var rec [16]byte
	for pass := int64(0); pass < 2; pass++ {
		for i := 0; i < n; i++ {
			copy(ip[16:], []byte{10, byte(128 + i>>16), byte(i >> 8), byte(i)})
			binary.BigEndian.PutUint32(tcp[4:], uint32(i)*7919)
			ip[10], ip[11] = 0, 0
			binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
			tcp[16], tcp[17] = 0, 0
			pseudo := uint32(6 + 20)
			for j := 12; j < 20; j += 2 {
				pseudo += uint32(binary.BigEndian.Uint16(ip[j:]))
			}
			binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
			us := start + pass*gap*1e6 + int64(i)*10
			binary.LittleEndian.PutUint32(rec[0:], uint32(us/1e6))
			binary.LittleEndian.PutUint32(rec[4:], uint32(us%1e6))
			binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
			binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
			out = append(out, rec[:]...)
			out = append(out, frame...)
		}
	}
	return out
}

// TestHostileManyListenersLongSpan: one SYN to each of 20,000 servers,
// then again 2,000,000 s later (a 1.1 MB capture that once took a minute
// and 1.6 GB: every listener had a per-second series of up to 2^20
// seconds). Each listener now keeps two bins, and what the run keeps
// costs a few KiB per listener.
func TestHostileManyListenersLongSpan(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 listeners")
	}
	const n, gap = 20000, 2_000_000
	data := sparseServers(n, gap)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := mustReader(t, "servers.pcap", data)
	sum, err := Run(context.Background(), []*CaptureReader{r}, Options{}, func(*Flow) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(sum.Listeners) != n || sum.Flows != 2*n {
		t.Fatalf("%d listeners, %d flows; want %d and %d", len(sum.Listeners), sum.Flows, n, 2*n)
	}
	for _, l := range sum.Listeners {
		if len(l.Series.Bins) != 2 || l.Series.Total(SeriesNewSYN) != 2 {
			t.Fatalf("listener %s: series %+v, want two bins of one SYN each", l.Server, l.Series)
		}
	}
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if per := kept / n; per > 4<<10 {
		t.Errorf("the run keeps %d bytes per listener (%d MiB in all), want at most 4 KiB", per, kept>>20)
	}
	if total := after.TotalAlloc - before.TotalAlloc; total > 256<<20 {
		t.Errorf("the run allocated %d MiB, want under 256", total>>20)
	}
	runtime.KeepAlive(sum)
}
