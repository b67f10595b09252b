package analyze

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// The parity test: on every committed capture, the Wireshark analysis
// flags and numbers we give each frame must equal what tshark 4.0.17 gave
// it (stored by scripts/tshark-analysis.sh under testdata/tshark/), except
// the differences written down, with their reasons, in
// testdata/tshark/accepted.tsv. Every difference is listed.

const tsharkDir = "../testdata/tshark/"

// tsharkFrame is one line of a stored tshark analysis.
type tsharkFrame struct {
	analysis    []string
	dupNum      string
	dupFrame    string
	win         string
	ackRTT      string
	inFlight    string
	haveAnalyse bool
}

// tsvRow is one line of a tab-separated file of tshark's fields: its
// 1-based line number and its fields.
type tsvRow struct {
	line int
	f    []string
}

// readTSV reads the rows of a tab-separated file of tshark's fields,
// skipping blank lines and # comments; a row without exactly fields
// fields fails the test.
func readTSV(t *testing.T, path string, fields int) []tsvRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []tsvRow
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != fields {
			t.Fatalf("%s:%d: %d fields, want %d", path, i+1, len(f), fields)
		}
		rows = append(rows, tsvRow{i + 1, f})
	}
	return rows
}

func readTshark(t *testing.T, path string) map[int64]tsharkFrame {
	t.Helper()
	out := map[int64]tsharkFrame{}
	for _, row := range readTSV(t, path, 7) {
		f := row.f
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, row.line, err)
		}
		fr := tsharkFrame{dupNum: f[2], dupFrame: f[3], win: f[4], ackRTT: f[5], inFlight: f[6]}
		if f[1] != "-" {
			fr.analysis = strings.Split(f[1], ",")
		}
		out[n] = fr
	}
	return out
}

// acceptedDiff is one written-down difference.
type acceptedDiff struct{ capture, frame, field string }

func readAccepted(t *testing.T) map[acceptedDiff]string {
	t.Helper()
	out := map[acceptedDiff]string{}
	f, err := os.Open(tsharkDir + "accepted.tsv")
	if errors.Is(err, fs.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		p := strings.SplitN(line, "\t", 4)
		if len(p) != 4 || strings.TrimSpace(p[3]) == "" {
			t.Fatalf("accepted.tsv:%d: want capture, frame, field and a reason, tab-separated", ln)
		}
		out[acceptedDiff{p[0], p[1], p[2]}] = p[3]
	}
	return out
}

// ourFrame is what our analysis gave one frame, in tshark's spelling.
type ourFrame struct {
	analysis []string
	dupNum   string
	dupFrame string
	win      string
	ackRTT   string
	inFlight string
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ourFrames(t *testing.T, capture string) (map[int64]ourFrame, bool) {
	t.Helper()
	r, err := Open(capture, 0)
	if err != nil {
		return nil, false
	}
	defer r.Close()
	out := map[int64]ourFrame{}
	_, err = Run(context.Background(), []*CaptureReader{r}, Options{Record: true}, func(f *Flow) error {
		for _, p := range f.Packets {
			o := ourFrame{analysis: p.Analysis.Strings(), win: strconv.FormatUint(uint64(p.WinScaled), 10),
				dupNum: "-", dupFrame: "-", ackRTT: "-", inFlight: "-"}
			if p.DupAckNum != 0 {
				o.dupNum = strconv.FormatUint(uint64(p.DupAckNum), 10)
				if p.DupAckOf >= 0 {
					o.dupFrame = strconv.FormatInt(f.Packets[p.DupAckOf].Frame, 10)
				} else {
					o.dupFrame = "0"
				}
			}
			if p.AckRTT != 0 {
				o.ackRTT = fmt.Sprintf("%.9f", float64(p.AckRTT)/1e9)
			}
			if p.BytesInFlight != 0 {
				o.inFlight = strconv.FormatUint(uint64(p.BytesInFlight), 10)
			}
			if _, dup := out[p.Frame]; dup {
				t.Errorf("%s: frame %d in two flows", capture, p.Frame)
			}
			out[p.Frame] = o
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, true
}

// sameRTT compares tshark's ack_rtt (seconds, 9 decimals) with ours.
func sameRTT(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && math.Abs(x-y) < 5e-10
}

func TestWiresharkParity(t *testing.T) {
	accepted := readAccepted(t)
	used := map[acceptedDiff]bool{}
	var refs []string
	err := filepath.WalkDir(tsharkDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".tsv") && p != tsharkDir+"accepted.tsv" {
			refs = append(refs, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every capture must have its reference: a new capture needs
	// scripts/tshark-analysis.sh run again.
	_ = filepath.WalkDir("../testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && p == "../testdata/tshark" {
				return filepath.SkipDir
			}
			return err
		}
		if !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz")) {
			return nil
		}
		rel := strings.TrimPrefix(p, "../testdata/")
		if _, err := os.Stat(tsharkDir + rel + ".tsv"); err != nil {
			if r, err := Open(p, 0); err == nil {
				r.Close()
				t.Errorf("%s: no tshark reference %s: run bash scripts/tshark-analysis.sh %s", rel, tsharkDir+rel+".tsv", "testdata/"+rel)
			}
		}
		return nil
	})
	slices.Sort(refs)
	total, differ := 0, 0
	for _, ref := range refs {
		rel := strings.TrimSuffix(strings.TrimPrefix(ref, tsharkDir), ".tsv")
		t.Run(rel, func(t *testing.T) {
			want := readTshark(t, ref)
			got, ok := ourFrames(t, "../testdata/"+rel)
			if !ok {
				if len(want) > 0 {
					t.Errorf("we cannot read it; tshark found %d TCP frames", len(want))
				}
				return
			}
			frames := make([]int64, 0, len(want)+len(got))
			for n := range want {
				frames = append(frames, n)
			}
			for n := range got {
				if _, ok := want[n]; !ok {
					frames = append(frames, n)
				}
			}
			slices.Sort(frames)
			var diffs []string
			report := func(frame int64, field, ws, ours string) {
				k := acceptedDiff{rel, strconv.FormatInt(frame, 10), field}
				if _, ok := accepted[k]; ok {
					used[k] = true
					return
				}
				diffs = append(diffs, fmt.Sprintf("frame %d %s: tshark %s, ours %s", frame, field, ws, ours))
			}
			for _, n := range frames {
				w, inW := want[n]
				g, inG := got[n]
				total++
				switch {
				case !inW:
					report(n, "frame", "no TCP", "TCP")
					continue
				case !inG:
					report(n, "frame", "TCP", "no TCP")
					continue
				}
				ws, ours := strings.Join(w.analysis, ","), strings.Join(g.analysis, ",")
				before := len(diffs)
				if ws != ours {
					report(n, "analysis", dash(ws), dash(ours))
				}
				if w.dupNum != g.dupNum {
					report(n, "dup_ack_num", w.dupNum, g.dupNum)
				}
				if w.dupFrame != g.dupFrame {
					report(n, "dup_ack_frame", w.dupFrame, g.dupFrame)
				}
				if w.win != g.win {
					report(n, "win", w.win, g.win)
				}
				if !sameRTT(w.ackRTT, g.ackRTT) {
					report(n, "ack_rtt", w.ackRTT, g.ackRTT)
				}
				if w.inFlight != g.inFlight {
					report(n, "bytes_in_flight", w.inFlight, g.inFlight)
				}
				if len(diffs) > before {
					differ++
				}
			}
			for _, d := range diffs {
				t.Error(d)
			}
		})
	}
	for k, why := range accepted {
		if !used[k] {
			t.Errorf("accepted.tsv: %s frame %s %s no longer differs (%s): remove the line", k.capture, k.frame, k.field, why)
		}
	}
	t.Logf("%d frames compared, %d with unexplained differences", total, differ)
}

var _ = flowstate.AnalysisRetransmission
