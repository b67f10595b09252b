package render

import (
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

func TestAppendHMS(t *testing.T) {
	for _, c := range []struct {
		ns   int64
		want string
	}{
		{0, "0:00:00.000000"},
		{nsHour, "1:00:00.000000"},
		{nsHour + 2*nsMin + 3*nsSec + 38_999, "1:02:03.000038"},
		{nsDay - 1, "23:59:59.999999"},
		{-1_500_000_000, "-0:00:01.500000"},
		{100 * nsHour, "100:00:00.000000"},
	} {
		if got := string(appendHMS(nil, c.ns)); got != c.want {
			t.Errorf("appendHMS(%d) = %s, want %s", c.ns, got, c.want)
		}
	}
}

// A flow's form is decided by its packet farthest from the run's first:
// milliseconds below an hour, h:mm:ss below a day, dates beyond, before
// the origin as after it.
func TestRelFormOf(t *testing.T) {
	const origin = int64(1_763_773_830_130_151_000)
	for _, c := range []struct {
		first, last int64 // from origin
		want        relForm
	}{
		{0, nsHour - 1, relMS},
		{0, nsHour, relHMS},
		{nsHour - 1, nsHour - 1, relMS},
		{10 * nsMin, nsDay - 1, relHMS},
		{nsDay - nsSec, nsDay, relDate},
		{-nsHour, 0, relHMS},
		{-nsDay, -nsDay + nsSec, relDate},
	} {
		f := &analyze.Flow{Flow: &flowstate.Flow{}, Origin: origin}
		f.FirstTime, f.LastTime = origin+c.first, origin+c.last
		if got := relFormOf(f); got != c.want {
			t.Errorf("first %+d last %+d: form %d, want %d", c.first, c.last, got, c.want)
		}
	}
}

// A clock offset that rounds to zero reads "+0.000000", never
// "-0.000000": the ghost pair's is -5e-07 s (its two files' microsecond
// stamps, half a microsecond apart on average).
func TestVantageTextClockNeverMinusZero(t *testing.T) {
	unc := 0.0
	for _, off := range []float64{0, -5e-7, 5e-7, -4e-7, -1e-9} {
		c := &analyze.Capture{Index: 1, ClockOffset: &off, ClockOffsetUncertainty: &unc}
		if got := vantageText(c, nil); got != "; clock +0.000000 s ± 0.000000 s against capture 0" {
			t.Errorf("offset %g: %q", off, got)
		}
	}
}
