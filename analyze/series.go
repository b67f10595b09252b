package analyze

import (
	"slices"
)

// SeriesKind names one series of the incident chart.
type SeriesKind int

// The series. Counts are AggSum kinds; a later level series (a queue's
// occupancy, say) would be an AggMax kind.
const (
	SeriesNewSYN         SeriesKind = iota // connections opened (first SYNs)
	SeriesSynDropped                       // SYNs dropped by a full queue (the drops the listener view counts as evidence)
	SeriesSynAckAfterAck                   // SYN-ACKs retransmitted after the client's ACK
	SeriesDataIgnored                      // client data segments ignored (data-while-syn-recv)
	SeriesGhost                            // ghost connections queued
	SeriesReset                            // connections reset (first RST of a flow)
	NumSeriesKinds
)

// SeriesNames are the series' stable IDs, in SeriesKind order.
var SeriesNames = [NumSeriesKinds]string{"new-syn", "syn-dropped", "synack-after-ack", "data-ignored", "ghost-connection", "reset"}

// SeriesAgg says how the samples of a kind combine in one bin, and how
// bins combine into a wider one.
type SeriesAgg uint8

// The aggregations.
const (
	AggSum SeriesAgg = iota // events counted: a bin holds their number
	AggMax                  // a level sampled: a bin holds the largest sample
)

// SeriesAggs gives each kind's aggregation.
var SeriesAggs = [NumSeriesKinds]SeriesAgg{AggSum, AggSum, AggSum, AggSum, AggSum, AggSum}

// SeriesBin is one bin of a Series: V[kind] is what happened from
// Origin + Index*Res (inclusive) to the next bin's start.
type SeriesBin struct {
	Index int64
	V     [NumSeriesKinds]int32
}

// Series is what happened at one listener over time, at a fine
// resolution and sparse: only bins in which something happened are kept,
// so a listener seen for two packets costs two bins whatever the span of
// the capture. Bins are aligned at Origin, the run's first packet, and
// Res wide: 1 ms, coarsened (2 ms, 10 ms, 20 ms, 100 ms, ... each a
// multiple of the one before, see SeriesResolutions) whenever more than
// MaxSeriesBins bins would be kept. A renderer chooses its own bin width,
// any multiple of Res, from the capture's span (Rebin); an event is then
// in the bin that holds its time.
type Series struct {
	Origin int64 // nanoseconds since the Unix epoch: where bin 0 starts
	Res    int64 // nanoseconds per bin; 0 for an empty series
	Bins   []SeriesBin
}

// MaxSeriesBins bounds the bins a listener keeps: at most about 170 KiB.
const MaxSeriesBins = 4096

// SeriesResolutions are the widths a Series may have, in nanoseconds,
// finest first; each is a multiple of the one before.
var SeriesResolutions = func() []int64 {
	const ms, s, day = int64(1e6), int64(1e9), int64(86400e9)
	out := []int64{ms, 2 * ms, 10 * ms, 20 * ms, 100 * ms, 200 * ms,
		s, 2 * s, 10 * s, 20 * s, 60 * s, 120 * s, 600 * s, 1200 * s, 3600 * s, 7200 * s, 21600 * s, 43200 * s,
		day, 2 * day, 10 * day, 20 * day, 100 * day, 200 * day, 1000 * day, 2000 * day, 10000 * day, 20000 * day, 100000 * day}
	return out
}()

// Empty reports whether nothing was counted.
func (s *Series) Empty() bool { return len(s.Bins) == 0 }

// Total is the sum of a kind's bins (for an AggMax kind, its largest).
func (s *Series) Total(k SeriesKind) int64 {
	var t int64
	for i := range s.Bins {
		v := int64(s.Bins[i].V[k])
		if SeriesAggs[k] == AggMax {
			t = max(t, v)
		} else {
			t += v
		}
	}
	return t
}

// Span returns the start of the first bin and the end of the last, in
// nanoseconds since the Unix epoch; ok is false for an empty series.
func (s *Series) Span() (start, end int64, ok bool) {
	if len(s.Bins) == 0 {
		return 0, 0, false
	}
	return s.Origin + s.Bins[0].Index*s.Res, s.Origin + (s.Bins[len(s.Bins)-1].Index+1)*s.Res, true
}

// Rebin returns the series in bins of width w nanoseconds, aligned at
// Origin, only those in which something happened, in time order. w must be
// a positive multiple of Res; otherwise nil is returned.
func (s *Series) Rebin(w int64) []SeriesBin {
	if s.Res <= 0 || w <= 0 || w%s.Res != 0 {
		return nil
	}
	return rebin(s.Bins, w/s.Res)
}

// rebin merges bins whose Index/factor is the same (floor division, so
// bins before Origin land in negative bins).
func rebin(bins []SeriesBin, factor int64) []SeriesBin {
	var out []SeriesBin
	for i := range bins {
		j := floorDiv(bins[i].Index, factor)
		if n := len(out); n > 0 && out[n-1].Index == j {
			mergeBin(&out[n-1], &bins[i])
			continue
		}
		out = append(out, SeriesBin{Index: j, V: bins[i].V})
	}
	return out
}

func mergeBin(dst, src *SeriesBin) {
	for k := range dst.V {
		if SeriesAggs[k] == AggMax {
			dst.V[k] = max(dst.V[k], src.V[k])
		} else {
			dst.V[k] += src.V[k]
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// seriesBuilder accumulates a listener's Series as flows finish, in any
// time order. Its bins are unsorted until series(); an index from bin to
// position is built only once there are more than a few.
type seriesBuilder struct {
	origin int64
	res    int // index into SeriesResolutions
	bins   []SeriesBin
	index  map[int64]int32
}

// seriesLinear is how many bins are searched one by one before an index
// is built.
const seriesLinear = 16

// add records sample v of kind k at time t (ns since the Unix epoch): an
// event for an AggSum kind (v is then usually 1), a level for an AggMax one.
func (b *seriesBuilder) add(t int64, k SeriesKind, v int32) {
	for {
		bin := b.find(floorDiv(t-b.origin, SeriesResolutions[b.res]))
		if bin == nil {
			b.coarsen()
			continue
		}
		if SeriesAggs[k] == AggMax {
			bin.V[k] = max(bin.V[k], v)
		} else {
			bin.V[k] += v
		}
		return
	}
}

// find returns bin i, adding it if needed; nil when it is new and the
// series holds MaxSeriesBins already (and can be coarsened).
func (b *seriesBuilder) find(i int64) *SeriesBin {
	if b.index == nil {
		for j := range b.bins {
			if b.bins[j].Index == i {
				return &b.bins[j]
			}
		}
	} else if j, ok := b.index[i]; ok {
		return &b.bins[j]
	}
	if len(b.bins) >= MaxSeriesBins && b.res < len(SeriesResolutions)-1 {
		return nil
	}
	b.bins = append(b.bins, SeriesBin{Index: i})
	if b.index != nil {
		b.index[i] = int32(len(b.bins) - 1)
	} else if len(b.bins) > seriesLinear {
		b.reindex()
	}
	return &b.bins[len(b.bins)-1]
}

// coarsen moves the series to the next resolution, until it holds at
// most half of MaxSeriesBins.
func (b *seriesBuilder) coarsen() {
	b.sort()
	for len(b.bins) > MaxSeriesBins/2 && b.res < len(SeriesResolutions)-1 {
		factor := SeriesResolutions[b.res+1] / SeriesResolutions[b.res]
		b.res++
		b.bins = rebin(b.bins, factor)
	}
	b.reindex()
}

func (b *seriesBuilder) sort() {
	slices.SortFunc(b.bins, func(x, y SeriesBin) int {
		switch {
		case x.Index < y.Index:
			return -1
		case x.Index > y.Index:
			return 1
		}
		return 0
	})
}

func (b *seriesBuilder) reindex() {
	if len(b.bins) <= seriesLinear {
		b.index = nil
		return
	}
	b.index = make(map[int64]int32, len(b.bins))
	for j := range b.bins {
		b.index[b.bins[j].Index] = int32(j)
	}
}

// series returns the Series, sorted, and frees the builder's index.
func (b *seriesBuilder) series() Series {
	if len(b.bins) == 0 {
		return Series{Origin: b.origin}
	}
	b.sort()
	b.index = nil
	return Series{Origin: b.origin, Res: SeriesResolutions[b.res], Bins: slices.Clip(b.bins)}
}
