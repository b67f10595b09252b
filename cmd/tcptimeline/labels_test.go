package main

import (
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Every label is listed, each with a meaning.
func TestLabelsListsEveryLabel(t *testing.T) {
	stdout, _, code := run(t, nil, "labels")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != len(flowstate.AllLabels()) {
		t.Fatalf("%d lines, want one per label (%d):\n%s", len(lines), len(flowstate.AllLabels()), stdout)
	}
	for i, l := range flowstate.AllLabels() {
		id, meaning, _ := strings.Cut(lines[i], " ")
		if id != l.String() || strings.TrimSpace(meaning) == "" {
			t.Errorf("line %q: want %s and its meaning", lines[i], l)
		}
	}
}
