package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// runTimeout bounds one FuzzRun input: the committed fixtures take
// milliseconds.
const runTimeout = 20 * time.Second

// fuzzSeedFiles are the committed captures FuzzRun starts from.
func fuzzSeedFiles() []string {
	var files []string
	for _, g := range []string{"../testdata/formats/*.pcap*", "../testdata/lab/*/server.pcap", "../testdata/seed002/seed002.pcap"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	return files
}

// FuzzRun analyses the input as a capture, end to end: reader, flow
// table, state machines, listener views and the JSON document. Properties:
//
//   - no panic, no hang (runTimeout); an input that does not open is an
//     ErrNotCapture error;
//   - Run returns no error, and every capture's counts add up (truncated
//     TCP headers and IP version mismatches are among the undecodable,
//     reassembled segments among the TCP ones);
//   - the JSON document decodes, has schema "tcptimeline/v1", one entry
//     per emitted flow, one packet per segment of each flow, and totals
//     equal to the Summary;
//   - every packet's (file, n) names a frame of its capture (1 <= n <=
//     captures[file].packets), and its time lies within the capture's
//     first and last timestamps (timestamps may go backwards in a file,
//     so a flow's times need not be ordered);
//   - Summary.Flows is the number of flows emitted, the flows' packets
//     add up to Summary.Segments, which is the TCP segments read;
//   - each recorded packet's states follow flowstate.Allowed;
//   - a run without Record reaches the same flows, labels, final states
//     and totals.
func FuzzRun(f *testing.F) {
	for _, name := range fuzzSeedFiles() {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure too: panic from another goroutine, which
		// ends the fuzzing worker so that the input is kept as a crasher.
		watchdog := time.AfterFunc(runTimeout, func() {
			panic(fmt.Sprintf("FuzzRun: the analysis of a %d-byte input did not finish in %v", len(data), runTimeout))
		})
		defer watchdog.Stop()
		r, err := analyze.NewCaptureReader("fuzz.pcap", bytes.NewReader(data), 0)
		if err != nil {
			if !errors.Is(err, analyze.ErrNotCapture) {
				t.Fatalf("open: %v does not match ErrNotCapture", err)
			}
			return
		}
		var (
			buf   bytes.Buffer
			flows []*analyze.Flow
		)
		j := render.NewJSON(&buf, render.Options{})
		sum, err := analyze.Run(context.Background(), []*analyze.CaptureReader{r}, analyze.Options{Record: true}, func(fl *analyze.Flow) error {
			flows = append(flows, fl)
			return j.Flow(fl)
		})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if err := j.Close(sum); err != nil {
			t.Fatalf("JSON: %v", err)
		}
		if len(sum.Captures) != 1 {
			t.Fatalf("%d captures in the summary", len(sum.Captures))
		}
		info := sum.Captures[0]
		if info.TCPPackets+info.NonTCP+info.Undecodable+info.IPFragments != info.Packets ||
			info.TruncatedTCP+info.BadIPVersion > info.Undecodable || info.Reassembled > info.TCPPackets {
			t.Fatalf("counts do not add up: %+v", info)
		}

		// The Summary and the flows.
		if sum.Flows != len(flows) {
			t.Fatalf("Summary.Flows %d, %d flows emitted", sum.Flows, len(flows))
		}
		var segs int64
		labelFlows := map[flowstate.Label]int{}
		for _, fl := range flows {
			segs += int64(fl.NPackets)
			for _, l := range fl.Labels.List() {
				labelFlows[l]++
			}
			prev := fl.Initial
			for i, p := range fl.Packets {
				if p.File != 0 || p.Frame < 1 || p.Frame > info.Packets {
					t.Fatalf("flow %d packet %d: file %d frame %d, the capture has %d", fl.ID, i, p.File, p.Frame, info.Packets)
				}
				if p.Time < info.FirstTime || p.Time > info.LastTime {
					t.Fatalf("flow %d packet %d: time %d outside the capture's [%d, %d]", fl.ID, i, p.Time, info.FirstTime, info.LastTime)
				}
				for side := range prev {
					if !flowstate.Allowed(prev[side], p.State[side]) {
						t.Fatalf("flow %d packet %d (frame %d): %v moves %v -> %v, not allowed",
							fl.ID, i, p.Frame, flowstate.Side(side), prev[side], p.State[side])
					}
				}
				prev = p.State
			}
		}
		if segs != sum.Segments || sum.Segments != info.TCPPackets {
			t.Fatalf("flows hold %d packets, Summary.Segments %d, TCP segments read %d", segs, sum.Segments, info.TCPPackets)
		}
		if !maps.Equal(labelFlows, sum.LabelFlows) {
			t.Fatalf("label counts %v, Summary.LabelFlows %v", labelFlows, sum.LabelFlows)
		}
		if sum.MaxLive > len(flows) {
			t.Fatalf("MaxLive %d above the %d flows", sum.MaxLive, len(flows))
		}

		checkJSON(t, buf.Bytes(), flows, sum)

		// Keeping new flows pending (compact) from the first one changes
		// nothing in the document.
		restore := analyze.KeepPendingFrom(0)
		rp, err := analyze.NewCaptureReader("fuzz.pcap", bytes.NewReader(data), 0)
		if err != nil {
			restore()
			t.Fatalf("open again: %v", err)
		}
		var pbuf bytes.Buffer
		pj := render.NewJSON(&pbuf, render.Options{})
		psum, err := analyze.Run(context.Background(), []*analyze.CaptureReader{rp}, analyze.Options{Record: true}, pj.Flow)
		restore()
		if err != nil {
			t.Fatalf("run with pending flows: %v", err)
		}
		if err := pj.Close(psum); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pbuf.Bytes(), buf.Bytes()) {
			t.Fatalf("the JSON document differs when flows are kept pending first")
		}

		// Without Record: the same conclusions.
		r2, err := analyze.NewCaptureReader("fuzz.pcap", bytes.NewReader(data), 0)
		if err != nil {
			t.Fatalf("second open: %v", err)
		}
		i := 0
		sum2, err := analyze.Run(context.Background(), []*analyze.CaptureReader{r2}, analyze.Options{}, func(fl *analyze.Flow) error {
			if i >= len(flows) {
				t.Fatalf("without Record: more than %d flows", len(flows))
			}
			w := flows[i]
			i++
			if fl.Client != w.Client || fl.Server != w.Server || fl.Labels != w.Labels || fl.NPackets != w.NPackets ||
				fl.EP[0].State != w.EP[0].State || fl.EP[1].State != w.EP[1].State || fl.EndReason != w.EndReason || len(fl.Packets) != 0 {
				t.Fatalf("without Record, flow %d: %v %v %v %d packets %v/%v %q; with: %v %v %v %d packets %v/%v %q",
					i, fl.Client, fl.Server, fl.Labels, fl.NPackets, fl.EP[0].State, fl.EP[1].State, fl.EndReason,
					w.Client, w.Server, w.Labels, w.NPackets, w.EP[0].State, w.EP[1].State, w.EndReason)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Run without Record: %v", err)
		}
		if i != len(flows) || sum2.Segments != sum.Segments || sum2.MaxLive != sum.MaxLive || !maps.Equal(sum2.LabelFlows, sum.LabelFlows) {
			t.Fatalf("without Record: %d flows, %d segments, max live %d, labels %v; with: %d, %d, %d, %v",
				i, sum2.Segments, sum2.MaxLive, sum2.LabelFlows, len(flows), sum.Segments, sum.MaxLive, sum.LabelFlows)
		}
	})
}

// checkJSON decodes the document and checks it against the run.
func checkJSON(t *testing.T, doc []byte, flows []*analyze.Flow, sum *analyze.Summary) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // nanosecond times do not fit a float64
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("the JSON document does not decode: %v\n%s", err, doc)
	}
	if m["schema"] != "tcptimeline/v1" {
		t.Fatalf("schema %v", m["schema"])
	}
	num := func(v any) int64 {
		t.Helper()
		n, ok := v.(json.Number)
		if !ok {
			t.Fatalf("%v (%T) is not a number", v, v)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			t.Fatalf("%v is not an integer", n)
		}
		return i
	}
	caps, _ := m["captures"].([]any)
	if len(caps) != len(sum.Captures) {
		t.Fatalf("%d captures in the JSON, %d in the summary", len(caps), len(sum.Captures))
	}
	type bounds struct{ packets, first, last int64 }
	var cb []bounds
	for _, c := range caps {
		c := c.(map[string]any)
		cb = append(cb, bounds{num(c["packets"]), num(c["first_time"]), num(c["last_time"])})
	}
	jflows, _ := m["flows"].([]any)
	if len(jflows) != len(flows) {
		t.Fatalf("%d flows in the JSON, %d emitted", len(jflows), len(flows))
	}
	for k, jf := range jflows {
		jf := jf.(map[string]any)
		pkts, _ := jf["packets"].([]any)
		if len(pkts) != flows[k].NPackets {
			t.Fatalf("JSON flow %d: %d packets, NPackets %d", k, len(pkts), flows[k].NPackets)
		}
		for i, p := range pkts {
			p := p.(map[string]any)
			file, n := num(p["file"]), num(p["n"])
			if file < 0 || file >= int64(len(cb)) || n < 1 || n > cb[file].packets {
				t.Fatalf("JSON flow %d packet %d: file %d n %d names no frame", k, i, file, n)
			}
			ts, err := time.Parse(time.RFC3339Nano, p["time"].(string))
			if err != nil {
				t.Fatalf("JSON flow %d packet %d: time %v", k, i, err)
			}
			first := time.Unix(0, cb[file].first).Truncate(time.Microsecond)
			if ts.Before(first) || ts.After(time.Unix(0, cb[file].last)) {
				t.Fatalf("JSON flow %d packet %d: time %v outside [%v, %v]", k, i, ts, first, time.Unix(0, cb[file].last))
			}
		}
	}
	tot, _ := m["totals"].(map[string]any)
	if tot == nil || num(tot["flows"]) != int64(sum.Flows) || num(tot["segments"]) != sum.Segments {
		t.Fatalf("totals %v, summary %d flows %d segments", tot, sum.Flows, sum.Segments)
	}
}

// corpusInput reads a committed fuzz corpus file's []byte literal.
func corpusInput(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, lit, ok := bytes.Cut(raw, []byte("\n"))
	lit = bytes.TrimSpace(lit)
	if !ok || !bytes.HasPrefix(lit, []byte("[]byte(")) {
		t.Fatalf("%s: not a fuzz corpus file: %q", path, raw[:min(len(raw), 40)])
	}
	s, err := strconv.Unquote(string(lit[len("[]byte(") : len(lit)-1]))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

// The same capture gives the same document whatever the number of flow
// tables (1, 2, 3, 5 or 8: which flows share a table changes) and whether
// new flows are kept pending first or not, also when its timestamps go
// backwards: the tables' clock is the run's, which never does, so each
// flow's finish time depends on that flow alone. Inputs: the committed
// fixture whose time goes backwards, every FuzzRun crasher, and three
// generated captures of 3000 flows with backward jumps of up to 3 s, up
// to 200 s and one of 30 minutes.
func TestRunIsDeterministicWhenTimeGoesBackwards(t *testing.T) {
	inputs := map[string][]byte{}
	if b, err := os.ReadFile("../testdata/formats/backwards-time.pcap"); err == nil {
		inputs["backwards-time.pcap"] = b
	}
	crashers, _ := filepath.Glob("testdata/fuzz/FuzzRun/*")
	for _, path := range crashers {
		inputs[filepath.Base(path)] = corpusInput(t, path)
	}
	for seed := uint64(1); seed <= 3; seed++ {
		inputs["generated-"+strconv.FormatUint(seed, 10)] = analyze.GenBackwards(seed)
	}
	backwards := 0
	for name, data := range inputs {
		var first []byte
		for i, shards := range []int{1, 2, 3, 5, 8, 1, 2, 3, 5, 8} {
			restore := func() {}
			if i >= 5 {
				restore = analyze.KeepPendingFrom(0)
			}
			r, err := analyze.NewCaptureReader(name, bytes.NewReader(data), 0)
			if err != nil {
				restore()
				if errors.Is(err, analyze.ErrNotCapture) {
					break
				}
				t.Fatal(err)
			}
			var buf bytes.Buffer
			j := render.NewJSON(&buf, render.Options{})
			sum, err := analyze.RunShards(context.Background(), []*analyze.CaptureReader{r}, analyze.Options{Record: true}, j.Flow, shards)
			restore()
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Close(sum); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = bytes.Clone(buf.Bytes())
				if sum.Captures[0].TimeBackwards > 0 {
					backwards++
				}
			} else if !bytes.Equal(buf.Bytes(), first) {
				t.Fatalf("%s: %d shards (pending first: %v) gave another document than 1 shard", name, shards, i >= 5)
			}
		}
	}
	if backwards < 5 {
		t.Errorf("only %d inputs have timestamps going backwards", backwards)
	}
}
