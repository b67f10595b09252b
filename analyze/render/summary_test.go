package render

import (
	"bufio"
	"bytes"
	"math/rand"
	"strings"
	"testing"
	"text/tabwriter"
)

// columns aligns rows exactly as text/tabwriter (padding 2, no flags)
// does, block by block, wide characters and colour escapes in the last
// cell included.
func TestColumnsMatchTabwriter(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"-", "10.0.0.1:80", "[fd00::1]:443", "SF", "ShADadFf", "née", "→", "12:00:00.000001", "\x1b[33msyn-dropped\x1b[0m", ""}
	var want, got bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 8, 2, ' ', 0)
	bw := bufio.NewWriter(&got)
	c := &columns{w: bw}
	for block := 0; block < 5; block++ {
		for r := 0; r < 1+rng.Intn(40); r++ {
			cells := make([]string, 9)
			for i := range cells {
				cells[i] = words[rng.Intn(len(words))]
			}
			line := strings.Join(cells, "\t") + "\n"
			tw.Write([]byte(line))
			c.row([]byte(line))
		}
		tw.Flush()
		if err := c.flush(); err != nil {
			t.Fatal(err)
		}
	}
	bw.Flush()
	if got.String() != want.String() {
		t.Errorf("columns wrote\n%s\ntabwriter wrote\n%s", got.String(), want.String())
	}
}
