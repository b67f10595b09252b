package main

// connHeap is a min-heap of connections by the time of their next segment
// (ties by connection id, so the output order is fixed).
type connHeap []*conn

func (h connHeap) less(i, j int) bool {
	a, b := h[i].pk[h[i].next].t, h[j].pk[h[j].next].t
	return a < b || a == b && h[i].id < h[j].id
}

func (h *connHeap) push(c *conn) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *connHeap) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s[n] = nil
	*h = s[:n]
	if n > 0 {
		h.fix0()
	}
}

// fix0 restores the heap after the root's key grew.
func (h connHeap) fix0() {
	n := len(h)
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
