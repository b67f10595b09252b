package analyze

import (
	"unsafe"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// warmSink keeps the compiler from dropping warm's loads.
var warmSink uintptr

// warm reads one word from every cache line of a finished flow (but its
// analysis bookkeeping, which the merge does not read). The flow
// was last written by a shard's goroutine, on another core; the merge
// reads most of it (listener view, vantage, the renderer), each line a
// miss that waits for that core. Reading a whole batch of flows ahead in
// one go, with loads that do not depend on each other, lets the processor
// overlap those misses instead of meeting them one by one.
func warm(f *flowstate.Flow) {
	p := unsafe.Pointer(f)
	var s uintptr
	from, to := flowstate.WarmRange()
	for off := from; off+8 <= to; off += 64 {
		s += *(*uintptr)(unsafe.Add(p, off))
	}
	warmSink += s
}
