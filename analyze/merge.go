package analyze

import (
	"cmp"
	"io"
	"slices"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Merger reads several captures as one, in timestamp order: the files of
// a ring buffer written by tcpdump -C or -G with -W, or captures taken at
// once on several interfaces. It holds one pending segment per file and
// yields the earliest; ties go to the lower file index, then the lower
// frame number. Each segment keeps its File and Frame. Within one file the
// order is the file's own, even where its timestamps go backwards.
//
// Readers made by OpenLater are opened only when the merge reaches the
// time of their first segment (ties as above), so the files of a ring are
// open one or two at a time; the order is the same as if all were open.
// A file is closed, and its buffers dropped, when it has been read.
type Merger struct {
	readers []*CaptureReader
	heap    []pending // min-heap of the next segment of each unfinished file
	later   []int     // readers not opened yet, by first segment time, then index
	started bool
}

type pending struct {
	seg flowstate.Segment
	r   int // index in readers
}

// NewMerger merges readers. The Merger reads them but does not close them.
func NewMerger(readers []*CaptureReader) *Merger {
	return &Merger{readers: readers, heap: make([]pending, 0, len(readers))}
}

// Next fills seg with the earliest pending segment of all files and
// returns io.EOF when every file is done.
func (m *Merger) Next(seg *flowstate.Segment) error {
	if len(m.readers) == 1 {
		// One file: no need to read ahead, which would hold the latest
		// segment of a live capture back until the next one arrives.
		return m.readers[0].Next(seg)
	}
	if !m.started {
		m.started = true
		for i, r := range m.readers {
			if r.later != nil {
				m.later = append(m.later, i)
				continue
			}
			if err := m.push(i); err != nil {
				return err
			}
		}
		slices.SortStableFunc(m.later, func(a, b int) int {
			return cmp.Compare(m.readers[a].later.first, m.readers[b].later.first)
		})
	}
	// Open the files whose first segment comes before the earliest one
	// pending (or at its time: ties go by file index, which the heap
	// orders).
	for len(m.later) > 0 && (len(m.heap) == 0 || m.readers[m.later[0]].later.first <= m.heap[0].seg.Time) {
		i := m.later[0]
		m.later = m.later[1:]
		if err := m.push(i); err != nil {
			return err
		}
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	top := &m.heap[0]
	*seg = top.seg
	if err := m.readers[top.r].Next(&top.seg); err != nil {
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
		if err != io.EOF {
			return err
		}
	}
	m.down(0)
	return nil
}

// push reads reader i's next segment into the heap.
func (m *Merger) push(i int) error {
	m.heap = append(m.heap, pending{r: i})
	p := &m.heap[len(m.heap)-1]
	if err := m.readers[i].Next(&p.seg); err != nil {
		m.heap = m.heap[:len(m.heap)-1]
		if err != io.EOF {
			return err
		}
		return nil
	}
	m.up(len(m.heap) - 1)
	return nil
}

// less orders pending segments by time, then file, then frame.
func (m *Merger) less(i, j int) bool {
	a, b := &m.heap[i].seg, &m.heap[j].seg
	if a.Time != b.Time {
		return a.Time < b.Time
	}
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Frame != b.Frame {
		return a.Frame < b.Frame
	}
	return m.heap[i].r < m.heap[j].r
}

func (m *Merger) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !m.less(i, p) {
			return
		}
		m.heap[i], m.heap[p] = m.heap[p], m.heap[i]
		i = p
	}
}

func (m *Merger) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		if r := l + 1; r < n && m.less(r, l) {
			l = r
		}
		if !m.less(l, i) {
			return
		}
		m.heap[i], m.heap[l] = m.heap[l], m.heap[i]
		i = l
	}
}
