package analyze

import "testing"

// A chunked list keeps every element, in order, across chunk boundaries.
func TestChunkedKeepsOrder(t *testing.T) {
	var c chunked[int]
	for i := 0; i < 20000; i++ {
		*c.add() = i
	}
	if c.len() != 20000 {
		t.Fatalf("len = %d, want 20000", c.len())
	}
	want := 0
	c.each(func(v *int) {
		if *v != want {
			t.Fatalf("element %d is %d", want, *v)
		}
		want++
	})
	if want != 20000 || cap(c.chunks[0]) != 2 || cap(c.chunks[len(c.chunks)-1]) != maxChunkLen {
		t.Fatalf("visited %d; first chunk %d, last %d", want, cap(c.chunks[0]), cap(c.chunks[len(c.chunks)-1]))
	}
}
