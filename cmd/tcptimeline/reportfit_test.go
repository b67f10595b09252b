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

// The report's timelines fit 120 columns (the explanations wrapped), in
// Markdown and HTML, over every pinned fixture; the HTML page scales its
// figures to the page and prints the timelines whole: nothing is cut on
// screen or on paper (the picture in the README is this page at 1280 px).
func TestReportTimelinesFitThePage(t *testing.T) {
	const width = 120
	pre := regexp.MustCompile(`(?s)<pre>(.*?)</pre>`)
	dir := t.TempDir()
	for _, in := range goldenInputs(t) {
		fixture := filepath.Base(filepath.Dir(in))
		md, stderr, code := run(t, nil, "report", in)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", in, code, stderr)
		}
		inFence := false
		for i, l := range strings.Split(md, "\n") {
			if strings.HasPrefix(l, "```") {
				inFence = !inFence
				continue
			}
			if inFence && utf8.RuneCountInString(l) > width {
				t.Errorf("%s: Markdown line %d is %d columns: %q", fixture, i+1, utf8.RuneCountInString(l), l)
			}
		}
		out := filepath.Join(dir, fixture+".html")
		if _, stderr, code := run(t, nil, "report", in, "-o", out); code != 0 {
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
			for _, l := range strings.Split(html.UnescapeString(m[1]), "\n") {
				if utf8.RuneCountInString(l) > width {
					t.Errorf("%s: HTML timeline line is %d columns: %q", fixture, utf8.RuneCountInString(l), l)
				}
			}
		}
		for _, css := range []string{".figure svg{max-width:100%;height:auto}", "@media print{", "pre{font-size:9px}"} {
			if !strings.Contains(page, css) {
				t.Errorf("%s: the HTML report's style lacks %q", fixture, css)
			}
		}
	}
}
