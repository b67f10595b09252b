package analyze

import (
	"net/netip"
	"sync"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// AddrOrder numbers the addresses of a run in the order they first
// appear in its packets (each packet's source before its destination),
// before any filter: the same capture gives every address the same
// number in every command, whatever is shown and in whatever order, which
// is what stable pseudonyms need (render.Anonymizer). Pass one in
// Options.Addresses; Index may be called from any goroutine while the
// run goes on, and knows every address of every packet read so far: a
// flow handed to emit has all its addresses numbered.
//
// It costs a map lookup per packet and a map entry per address, so a run
// keeps one only when asked.
type AddrOrder struct {
	mu    sync.RWMutex
	num   map[flowstate.Addr]int32 // written by the reading goroutine only
	last  [2]flowstate.Addr        // the last addresses seen, checked first
	lastN int                      // how many of last are set
	n     int
}

// NewAddrOrder returns an empty AddrOrder.
func NewAddrOrder() *AddrOrder { return &AddrOrder{num: make(map[flowstate.Addr]int32)} }

// see numbers the addresses of one segment (the reading goroutine).
func (o *AddrOrder) see(s *flowstate.Segment) {
	o.add(s.Src)
	o.add(s.Dst)
}

func (o *AddrOrder) add(a flowstate.Addr) {
	if o.lastN > 0 && a == o.last[0] || o.lastN > 1 && a == o.last[1] {
		return
	}
	o.last[1], o.last[0] = o.last[0], a
	o.lastN = min(o.lastN+1, 2)
	if _, ok := o.num[a]; ok { // no lock: this goroutine is the only writer
		return
	}
	o.mu.Lock()
	o.num[a] = int32(o.n)
	o.n++
	o.mu.Unlock()
}

// Index returns a's number (0 for the first address of the run) and
// whether a appeared in a packet read so far. An IPv4-mapped IPv6
// address is the IPv4 address.
func (o *AddrOrder) Index(a netip.Addr) (int, bool) {
	if o == nil {
		return 0, false
	}
	o.mu.RLock()
	i, ok := o.num[flowstate.AddrFromNetip(a.Unmap())]
	o.mu.RUnlock()
	return int(i), ok
}

// Len returns how many addresses were numbered.
func (o *AddrOrder) Len() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.n
}
