package analyze

import "time"

// Times of day on a capture's own clock. A capture of minutes reads best
// as times of day ("01:10:30.130151"); one that runs past midnight needs
// the date on every time that is not on its first day, or "01:10:30" is
// ambiguous. One rule, used by every output that writes a time of day:
// the date is written when the time is on another UTC day than the run's
// first packet.

const nsPerDay = int64(86400e9)

// utcDay is the number of the UTC day that holds ns (days since
// 1970-01-01, negative before it).
func utcDay(ns int64) int64 {
	d := ns / nsPerDay
	if ns%nsPerDay < 0 {
		d--
	}
	return d
}

// SameDay reports whether two capture times fall on the same UTC day.
func SameDay(a, b int64) bool { return utcDay(a) == utcDay(b) }

// Clock writes the capture time ns as a UTC time of day with
// microseconds, "15:04:05.000000", preceded by its date,
// "2006-01-02 15:04:05.000000", when it is on another UTC day than
// origin (the run's first packet). The fraction is truncated, as
// time.Time.Format does.
func Clock(origin, ns int64) string { return string(AppendClock(nil, origin, ns)) }

// AppendClock appends what Clock writes. It builds no time.Time for a
// time after 1970: a summary writes one per flow.
func AppendClock(b []byte, origin, ns int64) []byte {
	if ns < 0 {
		layout := "15:04:05.000000"
		if !SameDay(origin, ns) {
			layout = "2006-01-02 15:04:05.000000"
		}
		return time.Unix(0, ns).UTC().AppendFormat(b, layout)
	}
	if !SameDay(origin, ns) {
		b = time.Unix(0, ns).UTC().AppendFormat(b, "2006-01-02 ")
	}
	day := ns / 1e9 % 86400
	two := func(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = two(b, day/3600)
	b = append(b, ':')
	b = two(b, day/60%60)
	b = append(b, ':')
	b = two(b, day%60)
	b = append(b, '.')
	us := ns % 1e9 / 1e3
	for d := int64(1e5); d > 0; d /= 10 {
		b = append(b, byte('0'+us/d%10))
	}
	return b
}
