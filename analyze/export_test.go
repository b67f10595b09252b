package analyze

import "context"

// KeepPendingFrom sets how many full flows a table holds before it keeps
// new ones as pending flows, for tests that compare both paths; it returns
// a function that restores the value.
func KeepPendingFrom(n int) (restore func()) {
	old := pendingAbove
	pendingAbove = n
	return func() { pendingAbove = old }
}

// RunShards is Run with the given number of flow tables.
func RunShards(ctx context.Context, readers []*CaptureReader, opts Options, emit func(*Flow) error, shards int) (*Summary, error) {
	return run(ctx, readers, opts, emit, shards)
}

// GenBackwards is a generated capture of many flows whose timestamps go
// backwards often (see genBackwards).
var GenBackwards = genBackwards
