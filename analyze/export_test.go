package analyze

// KeepPendingFrom sets how many full flows a table holds before it keeps
// new ones as pending flows, for tests that compare both paths; it returns
// a function that restores the value.
func KeepPendingFrom(n int) (restore func()) {
	old := pendingAbove
	pendingAbove = n
	return func() { pendingAbove = old }
}
