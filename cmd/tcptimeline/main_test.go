package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// run runs the command line with args and returns stdout, stderr and the
// exit status. stdin is given to "-".
func run(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &IOStreams{In: bytes.NewReader(stdin), Out: &out, ErrOut: &errOut}
	code = Main(context.Background(), args, io)
	return out.String(), errOut.String(), code
}

const formats = "../../testdata/formats/"

func TestBadInputIsExitTwoWithOneLineNamingTheFile(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"notcapture.pcap", "notcapture.pcap: not a pcap or pcapng capture"},
		{"empty.pcap", "empty.pcap: empty file"},
		{"truncated-header.pcap", "truncated-header.pcap:"},
		{"unknown-linktype.pcap", "unknown-linktype.pcap: unsupported link type 147"},
		{"does-not-exist.pcap", "does-not-exist.pcap: cannot open"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, "timeline", "--color", "never", formats+tc.file)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr, tc.want)
			}
		})
	}
}

func TestTruncatedCaptureWarnsAndAnalysesWhatCameBefore(t *testing.T) {
	stdout, stderr, code := run(t, nil, "timeline", "--color", "never", formats+"truncated.pcap")
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if !strings.Contains(stderr, "truncated.pcap: truncated record at byte offset 5368") {
		t.Errorf("stderr %q, want the warning naming the file and offset 5368", stderr)
	}
	if !strings.Contains(stdout, "6 flows, 44 TCP segments") {
		t.Errorf("stdout does not report the 6 flows and 44 segments before the cut:\n%s", stdout)
	}
}

func TestOneBadFileAmongGoodOnesStillReports(t *testing.T) {
	stdout, stderr, code := run(t, nil, "timeline", "--color", "never", formats+"eth.pcap", formats+"notcapture.pcap")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr, "notcapture.pcap") || !strings.Contains(stdout, "6 flows") {
		t.Errorf("want the good file analysed and the bad one named:\nstdout %s\nstderr %s", stdout, stderr)
	}
}

func TestStdin(t *testing.T) {
	data, err := os.ReadFile(formats + "eth.pcap.gz")
	if err != nil {
		t.Fatal(err)
	}
	stdout, _, code := run(t, data, "timeline", "--color", "never", "-")
	if code != 0 || !strings.Contains(stdout, "capture 0: stdin (pcap, gzip, EN10MB)") {
		t.Errorf("exit %d, stdout:\n%s", code, stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"timeline"},
		{"timeline", "--format", "xml", formats + "eth.pcap"},
		{"timeline", "--time", "local", formats + "eth.pcap"},
		{"timeline", "--color", "sometimes", formats + "eth.pcap"},
		{"timeline", "--fail-on", "no-such-label", formats + "eth.pcap"},
		{"timeline", "--flow", "not-an-endpoint", formats + "eth.pcap"},
		{"timeline", "--port", "70000", formats + "eth.pcap"},
		{"timeline", "--no-such-flag", formats + "eth.pcap"},
		{"no-such-command"},
	} {
		_, stderr, code := run(t, nil, args...)
		if code != 2 || !strings.HasPrefix(stderr, "tcptimeline: ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and an error", args, code, stderr)
		}
	}
}

// Standard input named twice is a usage error saying so, before any
// reading (the second "-" would read it empty: "stdin: empty file").
func TestStdinTwiceIsAUsageError(t *testing.T) {
	for _, args := range [][]string{
		{"summary", "-", "-"},
		{"timeline", "--vantage", "server=-", "--vantage", "client=-"},
		{"report", "-", "--vantage", "client=-"},
	} {
		_, stderr, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, `"-" (standard input) given more than once`) {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// The same file named twice is read as two captures of one point, and
// the run says so on stderr (without the name under --anonymize).
func TestSameFileTwiceIsNoticed(t *testing.T) {
	ghost := "../../testdata/lab/ghost/server.pcap"
	_, stderr, code := run(t, nil, "summary", ghost, "../../testdata/lab/ghost/../ghost/server.pcap")
	if code != 0 || !strings.Contains(stderr, "notice: files 1 and 2 are the same file (") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, _ = run(t, nil, "summary", "--anonymize", ghost, ghost)
	if !strings.Contains(stderr, "files 1 and 2 are the same file: read twice") || strings.Contains(stderr, "server.pcap") {
		t.Errorf("--anonymize: stderr %q", stderr)
	}
	if _, stderr, _ = run(t, nil, "summary", ghost, "../../testdata/lab/ghost/client.pcap"); strings.Contains(stderr, "same file") {
		t.Errorf("two files noticed as one: %q", stderr)
	}
}

func TestFailOn(t *testing.T) {
	_, stderr, code := run(t, nil, "timeline", "--color", "never", "--fail-on", "synack-after-ack", "../../testdata/seed002/seed002.pcap")
	if code != 1 || !strings.Contains(stderr, "found synack-after-ack in flow 3") {
		t.Errorf("exit %d, stderr %q; want 1 naming flow 3", code, stderr)
	}
	_, _, code = run(t, nil, "timeline", "--color", "never", "--fail-on", "ghost-connection", "../../testdata/seed002/seed002.pcap")
	if code != 0 {
		t.Errorf("exit %d for a label the capture does not show, want 0", code)
	}
}

func TestFilters(t *testing.T) {
	seed := "../../testdata/seed002/seed002.pcap"
	stdout, _, _ := run(t, nil, "timeline", "--color", "never", "--flow", "5", seed)
	if strings.Count(stdout, "\nflow ") != 0 || !strings.HasPrefix(stdout, "flow 5 ") {
		t.Errorf("--flow 5 printed other flows:\n%s", stdout)
	}
	stdout, _, _ = run(t, nil, "timeline", "--color", "never", "--flow", "192.168.172.128:53994", seed)
	if !strings.HasPrefix(stdout, "flow 4 ") || strings.Contains(stdout, "flow 3 ") {
		t.Errorf("--flow by endpoint:\n%s", stdout)
	}
	stdout, _, _ = run(t, nil, "timeline", "--color", "never", "--anomalies", seed)
	if strings.Contains(stdout, "flow 1 ") || !strings.Contains(stdout, "flow 3 ") {
		t.Errorf("--anomalies kept a clean flow or dropped a labelled one:\n%s", stdout)
	}
	stdout, _, _ = run(t, nil, "timeline", "--color", "never", "--port", "9999", seed)
	if strings.Contains(stdout, "\nflow ") || strings.HasPrefix(stdout, "flow ") || !strings.Contains(stdout, "5 flows not shown") {
		t.Errorf("--port 9999 showed flows, or did not say the filter hid them:\n%s", stdout)
	}
}

func TestColor(t *testing.T) {
	seed := "../../testdata/seed002/seed002.pcap"
	stdout, _, _ := run(t, nil, "timeline", "--color", "always", seed)
	if !strings.Contains(stdout, "\x1b[") {
		t.Error("--color always wrote no escape sequence")
	}
	stdout, _, _ = run(t, nil, "timeline", seed) // not a terminal: auto means none
	if strings.Contains(stdout, "\x1b[") {
		t.Error("--color auto coloured output that is not a terminal")
	}
}

func TestVersionAndHelp(t *testing.T) {
	stdout, _, code := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "tcptimeline ") {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
	stdout, _, code = run(t, nil, "timeline", "--help")
	if code != 0 || !strings.Contains(stdout, "--anomalies") {
		t.Errorf("help: exit %d, %q", code, stdout)
	}
	// The help says what several files are: a ring's pieces or vantage
	// points of one incident; the flag's usage names its syntax once, as
	// a sentence, not as a bare token before a colon.
	if !strings.Contains(stdout, "vantage points of\none incident") {
		t.Errorf("timeline --help does not say files of several points merge as vantage points:\n%s", stdout)
	}
	if strings.Contains(stdout, "NAME=FILE[,FILE...]   NAME=FILE[,FILE...]:") {
		t.Errorf("--vantage usage repeats its syntax as a label:\n%s", stdout)
	}
	stdout, _, code = run(t, nil, "completion", "bash")
	if code != 0 || !strings.Contains(stdout, "bash completion") {
		t.Errorf("completion: exit %d", code)
	}
}

// Every command words --anonymize alike (pseudonyms numbered by first
// appearance, never "stable" hashes), and chart's help names everything
// it draws, the queue and ESTABLISHED lines included.
func TestHelpWordsAlike(t *testing.T) {
	for _, c := range []string{"timeline", "summary", "report", "ladder", "chart", "check"} {
		stdout, _, code := run(t, nil, c, "--help")
		line := ""
		for _, l := range strings.Split(stdout, "\n") {
			if strings.Contains(l, "--anonymize") {
				line = l
			}
		}
		if code != 0 || !strings.Contains(line, "pseudonyms numbered by first appearance") || !strings.Contains(line, "interface names") {
			t.Errorf("%s --help: exit %d, --anonymize %q", c, code, line)
		}
		if c == "chart" && (!strings.Contains(stdout, "queues' occupancy") || !strings.Contains(stdout, "ESTABLISHED")) {
			t.Errorf("chart --help does not name the queue and ESTABLISHED lines:\n%s", stdout)
		}
	}
}

func TestDemo(t *testing.T) {
	lab, err := os.ReadFile("../../testdata/lab/ghost/server.pcap")
	if err != nil || !bytes.Equal(lab, demoCapture) {
		t.Errorf("the embedded demo capture is not testdata/lab/ghost/server.pcap (%v): copy it to demo/ghost.pcap", err)
	}
	stdout, _, code := run(t, nil, "demo", "--color", "never")
	if code != 0 || !strings.Contains(stdout, "ghost-connection") {
		t.Errorf("demo: exit %d, no ghost-connection in:\n%s", code, stdout)
	}
}

func TestJSONDocument(t *testing.T) {
	stdout, _, code := run(t, nil, "timeline", "--format", "json", "../../testdata/seed002/seed002.pcap")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Schema string `json:"schema"`
		Flows  []struct {
			Client, Server string
			Labels         []string
			Packets        []struct {
				File int `json:"file"`
				N    int `json:"n"`
			}
		}
		Captures  []struct{ Packets int }
		Listeners []struct {
			Server              string `json:"server"`
			AcceptQueueCapacity int    `json:"accept_queue_capacity"`
			BacklogEstimate     *int   `json:"backlog_estimate"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.Schema != "tcptimeline/v1" || len(doc.Flows) != 5 || len(doc.Listeners) != 1 {
		t.Fatalf("schema %q, %d flows, %d listeners", doc.Schema, len(doc.Flows), len(doc.Listeners))
	}
	if l := doc.Listeners[0]; l.AcceptQueueCapacity != 2 || l.BacklogEstimate == nil || *l.BacklogEstimate != 1 {
		t.Errorf("listener %+v, want capacity 2, backlog 1", l)
	}
	// Every packet names a frame that exists in its file.
	for _, f := range doc.Flows {
		for _, p := range f.Packets {
			if p.File != 0 || p.N < 1 || p.N > doc.Captures[0].Packets {
				t.Errorf("packet file %d frame %d out of range", p.File, p.N)
			}
		}
	}
}

// goldenInputs are the committed fixtures whose rendering is pinned: the
// lab's server-side captures, seed 002 and the capture spanning days.
func goldenInputs(t *testing.T) []string {
	in, err := filepath.Glob("../../testdata/lab/*/server.pcap")
	if err != nil || len(in) < 8 {
		t.Fatalf("lab fixtures: %v, %d found", err, len(in))
	}
	return append(in, "../../testdata/seed002/seed002.pcap", longCapture)
}

// goldens are the renderings pinned per fixture: name, file extension,
// arguments before the capture.
var goldens = []struct {
	name, ext string
	args      []string
}{
	{"timeline", ".txt", []string{"timeline", "--color", "never"}},
	{"timeline", ".json", []string{"timeline", "--format", "json"}},
	{"summary", ".txt", []string{"summary", "--color", "never"}},
	{"summary", ".json", []string{"summary", "--format", "json"}},
	{"summary", ".csv", []string{"summary", "--format", "csv"}},
	{"report", ".md", []string{"report"}},
}

// TestGolden pins the rendering of the committed fixtures. Run with
// -update to rewrite the files after a deliberate change; inputs are never
// rewritten.
func TestGolden(t *testing.T) {
	for _, in := range goldenInputs(t) {
		fixture := filepath.Base(filepath.Dir(in))
		for _, g := range goldens {
			t.Run(fixture+"/"+g.name+g.ext, func(t *testing.T) {
				stdout, stderr, code := run(t, nil, append(g.args, in)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				checkGolden(t, filepath.Join("testdata", "golden", g.name+"-"+fixture+g.ext), stdout)
			})
		}
	}
}

// Counts agree with their nouns: no golden output says "1 flows" (the
// listener line, connect times, stalls, the totals) or "over 1
// connections", nor "1 client ... the clients".
func TestGoldenCountsAgreeWithTheirNouns(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	bad := regexp.MustCompile(`(^|[^0-9.])1 (flows|connections|TCP segments)\b|1 client sent requests.*the clients`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, at := range bad.FindAllStringIndex(line, -1) {
				if !strings.HasSuffix(line[:at[0]+1], "of ") { // "1 of 1 connections" reads right
					t.Errorf("%s:%d: %q", f, i+1, line[at[0]:at[1]])
				}
			}
		}
	}
}

func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, diff(string(want), got))
	}
}

// diff shows the first lines that differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// TestManyFiles: a ring of 1500 files (eth.pcap, each copy 1000 s after the
// one before) is read as one capture with at most 64 files open
// (RLIMIT_NOFILE lowered for the test: each file is opened when the merge
// reaches it); a file that does not open is named on stderr once, and the
// others are still analysed (exit 2).
func TestManyFiles(t *testing.T) {
	b, err := os.ReadFile(formats + "eth.pcap")
	if err != nil || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Skip("eth.pcap is not there, or not a little-endian microsecond pcap")
	}
	dir := t.TempDir()
	const n = 1500
	args := []string{"summary", "--format", "json"}
	for i := range n {
		c := bytes.Clone(b)
		for off := 24; off+16 <= len(c); off += 16 + int(binary.LittleEndian.Uint32(c[off+8:])) {
			binary.LittleEndian.PutUint32(c[off:], binary.LittleEndian.Uint32(c[off:])+uint32(i)*1000)
		}
		name := filepath.Join(dir, fmt.Sprintf("ring%04d.pcap", i))
		if err := os.WriteFile(name, c, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, name)
		if i == n/2 {
			args = append(args, filepath.Join(dir, "missing.pcap"))
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	low := lim
	low.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	stdout, stderr, code := run(t, nil, args...)
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	if code != 2 || strings.Count(stderr, "missing.pcap") != 1 || !strings.Contains(stderr, "tcptimeline: "+filepath.Join(dir, "missing.pcap")+": cannot open: no such file or directory") {
		t.Errorf("exit %d, stderr %q; want 2 and missing.pcap named once", code, stderr)
	}
	var doc struct {
		Totals   struct{ Flows int } `json:"totals"`
		Captures []struct{ Packets int }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v\n%.300s", err, stdout)
	}
	if doc.Totals.Flows != 6*n || len(doc.Captures) != n {
		t.Errorf("%d flows in %d captures, want %d in %d", doc.Totals.Flows, len(doc.Captures), 6*n, n)
	}
}
