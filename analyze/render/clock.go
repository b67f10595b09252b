package render

import (
	"strconv"
	"strings"

	"github.com/tcptimeline/tcptimeline/analyze"
)

// Durations on the capture's own clock, as people read them: "450 ms",
// "2.5 s", "1 min 30 s", "3 h", "2 d 12 h".

const (
	nsMS   = int64(1e6)
	nsSec  = int64(1e9)
	nsMin  = 60 * nsSec
	nsHour = 60 * nsMin
	nsDay  = 24 * nsHour
)

// humanDur writes a duration in the largest unit it reaches, with a
// remainder in the next unit when there is one ("1 h 30 min"); below a
// minute as a decimal ("2.5 s", "450 ms", "0.25 ms").
func humanDur(ns int64) string {
	if ns < 0 {
		return "-" + humanDur(-ns)
	}
	switch {
	case ns == 0:
		return "0 s"
	case ns < nsSec:
		return decimal(float64(ns)/1e6, 3) + " ms"
	case ns < nsMin:
		return decimal(float64(ns)/1e9, 3) + " s"
	}
	units := []struct {
		ns   int64
		name string
	}{{nsDay, "d"}, {nsHour, "h"}, {nsMin, "min"}, {nsSec, "s"}}
	for i, u := range units[:3] {
		if ns < u.ns {
			continue
		}
		whole := ns / u.ns
		s := strconv.FormatInt(whole, 10) + " " + u.name
		rest := ns - whole*u.ns
		next := units[i+1]
		if r := rest / next.ns; r > 0 {
			s += " " + strconv.FormatInt(r, 10) + " " + next.name
		} else if rest > 0 && rest >= next.ns/100 {
			s += " " + decimal(float64(rest)/float64(next.ns), 2) + " " + next.name
		}
		return s
	}
	return decimal(float64(ns)/1e9, 3) + " s"
}

// decimal writes v with at most digits decimals, trailing zeros dropped.
func decimal(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// niceWidths are the bin widths and tick steps the chart may use, in
// nanoseconds: 1, 2, 5 times a power of ten below a minute, then whole
// minutes, hours and days; every analyze.SeriesResolutions width is one
// of them (TestNiceWidthsHoldSeriesResolutions), so that a width fitting any listener's series always exists.
var niceWidths = func() []int64 {
	var w []int64
	for _, m := range []int64{1, 2, 5, 10, 20, 50, 100, 200, 500} {
		w = append(w, m*nsMS)
	}
	for _, s := range []int64{1, 2, 5, 10, 15, 20, 30} {
		w = append(w, s*nsSec)
	}
	for _, m := range []int64{1, 2, 5, 10, 15, 20, 30} {
		w = append(w, m*nsMin)
	}
	for _, h := range []int64{1, 2, 3, 6, 12} {
		w = append(w, h*nsHour)
	}
	for _, d := range []int64{1, 2, 5, 7, 10, 14, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000} {
		w = append(w, d*nsDay)
	}
	return w
}()

// niceWidth returns the narrowest nice width of at least min nanoseconds
// that is a multiple of every resolution in res (each is a multiple of
// the one before, so of the largest).
func niceWidth(min, res int64) int64 {
	for _, w := range niceWidths {
		if w >= min && (res <= 0 || w%res == 0) {
			return w
		}
	}
	return niceWidths[len(niceWidths)-1]
}

// relForm is how a flow's times since the run's first packet are
// written. It is chosen once per flow, from its packet farthest from the
// run's first, so that the column reads the same way down a flow: a
// capture of minutes keeps milliseconds, one of hours reads as a clock,
// one of days as dates.
type relForm uint8

const (
	relMS   relForm = iota // below an hour: milliseconds, "2003.225"
	relHMS                 // below a day: hours, minutes, seconds, "1:02:03.000038"
	relDate                // a day or more: the UTC date and time, as --time abs writes it
)

// relFormOf picks the form of a flow's relative times.
func relFormOf(f *analyze.Flow) relForm {
	far := max(abs64(f.LastTime-f.Origin), abs64(f.FirstTime-f.Origin))
	switch {
	case far >= nsDay:
		return relDate
	case far >= nsHour:
		return relHMS
	}
	return relMS
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// appendHMS appends a time since the run's first packet as
// h:mm:ss.uuuuuu, to the microsecond as the millisecond column is
// ("2003.225" ms): "1:02:03.000038", "-0:00:01.500000". The fraction is
// truncated toward zero, as the capture's microsecond times are.
func appendHMS(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	us := ns / 1000
	b = strconv.AppendInt(b, us/3_600_000_000, 10)
	two := func(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = append(b, ':')
	b = two(b, us/60_000_000%60)
	b = append(b, ':')
	b = two(b, us/1_000_000%60)
	b = append(b, '.')
	for d := int64(1e5); d > 0; d /= 10 {
		b = append(b, byte('0'+us/d%10))
	}
	return b
}
