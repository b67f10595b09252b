package main

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The report's timelines fit 120 columns (the explanations wrapped), 132
// for one in UTC dates and times, in Markdown and HTML, over every pinned
// fixture and with --time abs; the HTML page scales its
// figures to the page and prints the timelines whole: nothing is cut on
// screen or on paper (the picture in the README is this page at 1280 px).
func TestReportTimelinesFitThePage(t *testing.T) {
	pre := regexp.MustCompile(`(?s)<pre>(.*?)</pre>`)
	// widthOf is the widest a timeline may be, from its column header.
	widthOf := func(block string) int {
		if strings.Contains(block, "  time (UTC)  ") {
			return 132
		}
		return 120
	}
	dir := t.TempDir()
	for _, in := range goldenInputs(t) {
		for _, abs := range []bool{false, true} {
			fixture := filepath.Base(filepath.Dir(in))
			args := []string{"report", in}
			if abs {
				fixture += "-abs"
				args = append(args, "--time", "abs")
			}
			md, stderr, code := run(t, nil, args...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", in, code, stderr)
			}
			for i, block := range strings.Split(md, "```") {
				if i%2 == 0 {
					continue // outside a fence
				}
				for _, l := range strings.Split(block, "\n") {
					if w := widthOf(block); utf8.RuneCountInString(l) > w {
						t.Errorf("%s: a Markdown timeline line is %d columns, more than %d: %q", fixture, utf8.RuneCountInString(l), w, l)
					}
				}
			}
			out := filepath.Join(dir, fixture+".html")
			if _, stderr, code := run(t, nil, append(args, "-o", out)...); code != 0 {
				t.Fatalf("%s: exit %d: %s", in, code, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			blocks := pre.FindAllStringSubmatch(page, -1)
			if len(blocks) == 0 && strings.Contains(md, "## Representative flows") {
				t.Errorf("%s: no timeline in the HTML report", fixture)
			}
			for _, m := range blocks {
				block := html.UnescapeString(m[1])
				for _, l := range strings.Split(block, "\n") {
					if w := widthOf(block); utf8.RuneCountInString(l) > w {
						t.Errorf("%s: an HTML timeline line is %d columns, more than %d: %q", fixture, utf8.RuneCountInString(l), w, l)
					}
				}
				// A packet line is never cut: only marks, labels and notes wrap.
				if strings.Contains(block, "\n    SYN-RECEIVED") || strings.Contains(block, "\n    ESTABLISHED") {
					t.Errorf("%s: a packet line was wrapped inside its state columns", fixture)
				}
			}
			for _, css := range []string{".figure svg{max-width:100%;height:auto}", "@media print{", "pre{font-size:8.5px}"} {
				if !strings.Contains(page, css) {
					t.Errorf("%s: the HTML report's style lacks %q", fixture, css)
				}
			}
		}
	}
}
