package render

import (
	"fmt"

	"github.com/tcptimeline/tcptimeline/analyze"
)

// Partial results. After an interrupt (SIGINT, SIGTERM) the analysis
// finishes the flows it has and the renderers write them, unless the
// caller closes Options.Stop: then a renderer writes no more packets or
// flows, only the views known at the end and the partial marker, which
// is part of the result (the last text line, a CSV trailer row, the JSON
// totals' "interrupted", a Markdown or HTML banner).

// cutoff counts what a renderer left out after Stop closed.
type cutoff struct {
	stop  <-chan struct{}
	flows int // flows finished after Stop, not written
}

// done reports whether Stop is closed.
func (c *cutoff) done() bool {
	if c.stop == nil {
		return false
	}
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// checkEvery is how many packets a renderer writes between looks at Stop.
const checkEvery = 1024

// partialText is the partial marker of an interrupted run, "" for a run
// that read all its input.
func partialText(s *analyze.Summary, c *cutoff) string {
	if s == nil || !s.Interrupted && c.flows == 0 {
		return ""
	}
	msg := "interrupted: the output covers the packets read until then"
	if c.flows > 0 {
		msg += fmt.Sprintf("; %s finished after the interrupt not shown", many(c.flows, "flow"))
	}
	return msg
}

// elidedText says what a flow recorded under a limit left out.
func elidedText(f *analyze.Flow) string {
	return fmt.Sprintf("… %d packets not shown: the first %d and the last %d of %d are …", f.Elided, f.ElidedAt, len(f.Packets)-f.ElidedAt, f.NPackets)
}
