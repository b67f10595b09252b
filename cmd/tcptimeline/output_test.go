package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failingWriter fails after n bytes, as a full disk does.
type failingWriter struct {
	w io.Writer
	n int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, errors.New("no space left on device")
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// -o writes beside the target and renames: a write that fails leaves the
// old report (and its chart) as they were and no temporary file; one that
// succeeds replaces both and names both on stderr.
func TestOutputIsAtomic(t *testing.T) {
	dir := t.TempDir()
	md, svg := filepath.Join(dir, "x.md"), filepath.Join(dir, "x.svg")
	os.WriteFile(md, []byte("old report"), 0o644)
	os.WriteFile(svg, []byte("old chart"), 0o644)

	defer func(old func(*os.File) io.Writer) { tempWriter = old }(tempWriter)
	calls := 0
	tempWriter = func(f *os.File) io.Writer {
		calls++
		if calls == 2 { // the report, after its chart
			return &failingWriter{w: f, n: 100}
		}
		return f
	}
	_, stderr, code := run(t, nil, "report", ghost, "-o", md)
	if code != 2 || !strings.Contains(stderr, "cannot write "+md+": no space left on device") {
		t.Errorf("a failed write: exit %d, stderr %q; want 2 naming the file", code, stderr)
	}
	for name, want := range map[string]string{md: "old report", svg: "old chart"} {
		if b, _ := os.ReadFile(name); string(b) != want {
			t.Errorf("%s: %q after a failed write, want the old %q", name, b, want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}

	tempWriter = func(f *os.File) io.Writer { return f }
	_, stderr, code = run(t, nil, "report", ghost, "-o", md)
	if code != 0 || !strings.Contains(stderr, "wrote "+svg) || !strings.Contains(stderr, "wrote "+md) {
		t.Errorf("exit %d, stderr %q: want both files named", code, stderr)
	}
	b, _ := os.ReadFile(md)
	c, _ := os.ReadFile(svg)
	if !strings.HasPrefix(string(b), "# TCP incident report") || !strings.HasPrefix(string(c), "<svg") {
		t.Error("the files were not replaced")
	}
	if st, err := os.Stat(md); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode())
	}
	for _, args := range [][]string{{"ladder", ghost, "-o", filepath.Join(dir, "l.svg")}, {"chart", ghost, "-o", filepath.Join(dir, "c.html")}} {
		_, stderr, code := run(t, nil, args...)
		if code != 0 || !strings.Contains(stderr, "wrote "+args[len(args)-1]) {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// A capture whose file name is markup reaches the Markdown report
// escaped.
func TestReportEscapesFileName(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "<img src=x onerror=alert(1)>.pcap")
	data, _ := os.ReadFile(ghost)
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Skip(err)
	}
	stdout, _, code := run(t, nil, "report", name)
	if code != 0 || strings.Contains(stdout, "<img") && !strings.Contains(stdout, `\<img`) || !strings.Contains(stdout, `\<img src=x onerror=alert\(1\)\>.pcap`) {
		t.Errorf("exit %d:\n%s", code, stdout[:min(len(stdout), 300)])
	}
}
