package analyze

import (
	"testing"
	"time"
)

// AppendClock writes what time.Time.AppendFormat writes, fraction
// truncated, around midnight and for times before 1970 too; with the
// date exactly when the time is on another UTC day than the origin.
func TestAppendClockMatchesTime(t *testing.T) {
	for _, ns := range []int64{0, 1, 999, 1e9 - 1, 86399999999999, 86400e9, 1_700_000_000_123_456_789, 1_700_003_599_999_999_999, -1, -1_500_000_000} {
		want := time.Unix(0, ns).UTC().Format("15:04:05.000000")
		if got := string(AppendClock(nil, ns, ns)); got != want {
			t.Errorf("AppendClock(%d, %d) = %s, want %s", ns, ns, got, want)
		}
	}
	origin := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC).UnixNano()
	for _, c := range []struct {
		ns   int64
		want string
	}{
		{origin, "23:59:00.000000"},
		{origin + 59_999_999_999, "23:59:59.999999"},
		{origin + 60e9, "2026-11-23 00:00:00.000000"},
		{origin + 60e9 + 3*nsPerDay + 1234e6, "2026-11-26 00:00:01.234000"},
		{origin - 24*3600e9, "2026-11-21 23:59:00.000000"},
		{-1, "1969-12-31 23:59:59.999999"},
	} {
		if got := Clock(origin, c.ns); got != c.want {
			t.Errorf("Clock(origin, %d) = %s, want %s", c.ns, got, c.want)
		}
	}
	if !SameDay(-1, -nsPerDay) || SameDay(-1, 0) {
		t.Error("SameDay: days before 1970 are counted wrong")
	}
}
