package main

import "math"

// rng is SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and its
// output for a seed is fixed here, whatever the Go release, so files stay
// byte-identical.
type rng struct{ s uint64 }

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a number in [0, n); the modulo bias is negligible for the
// small n used here.
func (r *rng) intn(n int) int { return int(r.u64() % uint64(n)) }

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// exp returns an exponentially distributed number of the given mean.
func (r *rng) exp(mean float64) float64 { return -mean * math.Log(1-r.float()) }
