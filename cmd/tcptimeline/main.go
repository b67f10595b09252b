// Command tcptimeline turns a tcpdump capture from an incident into an
// explanation: an annotated timeline of every TCP flow with what the
// client and the server each believed, and labels for the patterns of a
// Linux listen-queue overflow.
//
// Exit status: 0 when the run went fine, 1 when a finding asked for with
// --fail-on (or a check's expectation) is met or missed, 2 for a usage
// error, an input that cannot be read or an output that cannot be
// written, 130 or 143 when SIGINT or SIGTERM interrupted the run.
package main

import (
	"context"
	"os"
	"runtime/debug"
)

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit: the garbage collector works harder as the heap
		// nears it instead of letting it double, so a flood of a million
		// half-open flows stays within a few hundred MiB.
		debug.SetMemoryLimit(448 << 20)
	}
	ctx, stop := signalContext(context.Background())
	code := Main(ctx, os.Args[1:], SystemStreams())
	stop()
	os.Exit(code)
}
