package flowstate

// Seq is a TCP sequence number. Comparisons use serial-number arithmetic
// (RFC 1982, RFC 793 p.24), so they stay right across the 2^32 wrap.
type Seq uint32

// LessThan reports whether s comes before w in sequence space.
func (s Seq) LessThan(w Seq) bool { return int32(s-w) < 0 }

// LessThanEq reports whether s comes before w or equals it.
func (s Seq) LessThanEq(w Seq) bool { return int32(s-w) <= 0 }

// Add returns s advanced by n bytes of sequence space.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the signed distance from w to s.
func (s Seq) Sub(w Seq) int64 { return int64(int32(s - w)) }

// InRange reports whether s lies in the half-open window [a, b).
func (s Seq) InRange(a, b Seq) bool { return a.LessThanEq(s) && s.LessThan(b) }
