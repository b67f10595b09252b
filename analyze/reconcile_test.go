package analyze

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// kernelTruth is the part of a lab scenario's truth.json the
// reconciliation reads: the server's nstat -asz (a JSON map) and ss's
// LISTEN queue over time.
type kernelTruth struct {
	Server      string           `json:"server"`
	Backlog     int              `json:"backlog"`
	Nstat       map[string]int64 `json:"nstat"`
	ListenQueue []struct {
		T     time.Time `json:"t"`
		RecvQ int64     `json:"recv_q"`
		SendQ int64     `json:"send_q"`
	} `json:"listen_queue"`
}

// labKernelEvidence writes a scenario's truth back as the text nstat -asz
// and a timestamped ss -ltn loop would have printed, and reads it with
// the parsers a user's files go through.
func labKernelEvidence(t *testing.T, dir string) (*KernelEvidence, *kernelTruth) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr kernelTruth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	k, err := ParseKernelStats("nstat.txt", []byte(nstatText(tr.Nstat)))
	if err != nil {
		t.Fatal(err)
	}
	var ss strings.Builder
	for _, q := range tr.ListenQueue {
		fmt.Fprintf(&ss, "# %s\nState  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN %d %d %s 0.0.0.0:*\n", q.T.UTC().Format(time.RFC3339Nano), q.RecvQ, q.SendQ, tr.Server)
	}
	l, err := ParseSS("ss.txt", []byte(ss.String()))
	if err != nil {
		t.Fatal(err)
	}
	return &KernelEvidence{Counters: k, SS: l}, &tr
}

// nstatText prints counters as nstat -az does (#kernel, then
// "Name value rate", sorted here).
func nstatText(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("#kernel\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%-32s%-16d%6.1f\n", n, m[n], 0.0)
	}
	return b.String()
}

// On the lab's server-side captures the table holds each counter the
// truth file has, the kernel column is the truth, the capture column the
// listeners' counts, and the note's first words say which is larger.
func TestReconcileLabScenarios(t *testing.T) {
	for _, name := range []string{"syncookies-off", "ghost"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "lab", name)
			ev, tr := labKernelEvidence(t, dir)
			sum := labSummary(t, filepath.Join(dir, "server.pcap"))
			r := ev.Reconcile(sum)
			if len(r.Counters)+len(r.Missing) != int(NumCounters) {
				t.Fatalf("%d rows and %d missing, want %d in all", len(r.Counters), len(r.Missing), NumCounters)
			}
			for _, row := range r.Counters {
				k, ok := tr.Nstat[row.Counter.String()]
				if !ok || row.Kernel != k {
					t.Errorf("%s: kernel %d, truth %d (%v)", row.Counter, row.Kernel, k, ok)
				}
				var c int64
				for _, l := range sum.Listeners {
					c += l.Counts[row.Counter]
				}
				if row.Capture != c {
					t.Errorf("%s: capture %d, listeners' counts %d", row.Counter, row.Capture, c)
				}
				var lead string
				switch {
				case k == c && k == 0:
					lead = "equal: neither counted any"
				case k == c:
					lead = "equal: the capture accounts for"
				case k > c:
					lead = fmt.Sprintf("the kernel counted %d more", k-c)
				default:
					lead = fmt.Sprintf("the capture shows %d more than the kernel counted", c-k)
				}
				if !strings.HasPrefix(row.Note, lead) || k != c && !strings.Contains(row.Note, ". Possible: ") {
					t.Errorf("%s: kernel %d, capture %d: note %q, want it to start %q", row.Counter, k, c, row.Note, lead)
				}
				t.Logf("%s kernel %d capture %d: %s", row.Counter, k, c, row.Note)
			}
			for _, n := range r.Missing {
				if _, ok := tr.Nstat[n]; ok {
					t.Errorf("%s is in the truth but listed missing", n)
				}
			}
			// ss's Send-Q is the scenario's backlog; the capture measured
			// backlog + 1 on both scenarios (TestLabListeners).
			if len(r.Listeners) != 1 {
				t.Fatalf("%d ss rows", len(r.Listeners))
			}
			ssr := r.Listeners[0]
			if ssr.SendQ != [2]int64{int64(tr.Backlog), int64(tr.Backlog)} || ssr.Agreement != SSAgree || ssr.Snapshots != len(tr.ListenQueue) {
				t.Errorf("ss row %+v, want Send-Q %d agreeing in %d snapshots", ssr, tr.Backlog, len(tr.ListenQueue))
			}
			var peak int64
			for _, q := range tr.ListenQueue {
				peak = max(peak, q.RecvQ)
			}
			if ssr.RecvQPeak != peak || ssr.RecvQFull != (peak > int64(tr.Backlog)) || ssr.RecvQPeakTime == 0 {
				t.Errorf("Recv-Q peak %d full %v at %d, want %d", ssr.RecvQPeak, ssr.RecvQFull, ssr.RecvQPeakTime, peak)
			}
		})
	}
}

// The fixture recorded with its counters (testdata/kernel): the kernel's
// ListenOverflows and SyncookiesSent are all in the capture; its
// TCPSynRetrans are the clients' own SYN retransmissions, on the same
// host, which the note names.
func TestReconcileKernelFixture(t *testing.T) {
	before, err := readKernel(t, "nstat-before.txt")
	if err != nil {
		t.Fatal(err)
	}
	after, err := readKernel(t, "nstat-after.txt")
	if err != nil {
		t.Fatal(err)
	}
	d, err := before.Sub(after)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := readSS(t, "ss-snapshots.txt")
	if err != nil {
		t.Fatal(err)
	}
	sum := labSummary(t, kernelDir+"overflow.pcap")
	r := (&KernelEvidence{Counters: d, SS: ss}).Reconcile(sum)
	want := map[Counter][2]int64{
		CounterListenOverflows: {15, 15}, CounterListenDrops: {15, 15}, CounterReqQFullDrop: {0, 0}, CounterSyncookiesSent: {3, 3},
		CounterSynRetrans: {15, 0}, CounterDeferAcceptDrop: {0, 0}, CounterEmbryonicRsts: {0, 0},
	}
	if len(r.Counters) != len(want) || len(r.Missing) != 0 {
		t.Fatalf("%d rows, missing %v", len(r.Counters), r.Missing)
	}
	for _, row := range r.Counters {
		w := want[row.Counter]
		if row.Kernel != w[0] || row.Capture != w[1] {
			t.Errorf("%s: kernel %d capture %d, want %v", row.Counter, row.Kernel, row.Capture, w)
		}
	}
	if n := r.Counters[CounterSynRetrans].Note; !strings.Contains(n, "clients on the server's own host retransmitted SYNs") {
		t.Errorf("TCPSynRetrans note %q does not name the clients' own retransmissions", n)
	}
	if n := r.Counters[CounterListenOverflows]; len(n.Listeners) != 1 || n.Listeners[0].Server.String() != "127.0.0.1:8000" {
		t.Errorf("ListenOverflows by listener: %v", n.Listeners)
	}
	if len(r.Listeners) != 2 {
		t.Fatalf("%d ss rows", len(r.Listeners))
	}
	if a := r.Listeners[0]; a.Server.String() != "127.0.0.1:8000" || a.Agreement != SSAgree || a.RecvQPeak != 3 || !a.RecvQFull || a.Snapshots != 8 {
		t.Errorf("listener 8000: %+v", a)
	}
	// Phase B's listener came after the last ss snapshot.
	if b := r.Listeners[1]; b.Server.String() != "127.0.0.1:8005" || b.Agreement != SSNoSocket {
		t.Errorf("listener 8005: %+v", b)
	}
	if r.Unmatched != 5 {
		t.Errorf("%d unmatched ss sockets, want the 5 idle listeners", r.Unmatched)
	}
}

func TestSSVerdicts(t *testing.T) {
	for _, tc := range []struct {
		row     SSRow
		several int
		want    SSAgreement
		note    string
	}{
		{SSRow{Snapshots: 1, SendQ: [2]int64{2, 2}, Capacity: 3}, 1, SSAgree, "Send-Q 2 is the listen backlog in force"},
		{SSRow{Snapshots: 1, SendQ: [2]int64{2, 2}, Capacity: 5}, 1, SSDisagree, "accepted without a word on the wire"},
		{SSRow{Snapshots: 1, SendQ: [2]int64{128, 128}, Capacity: 5}, 1, SSDisagree, "queued before the capture began"},
		{SSRow{Snapshots: 1, SendQ: [2]int64{4, 4}}, 1, SSNotMeasured, "holds 5 (Send-Q + 1)"},
		{SSRow{Snapshots: 2, SendQ: [2]int64{4, 128}, Capacity: 5}, 1, SSChanged, "4 to 128"},
		{SSRow{Snapshots: 1, SendQ: [2]int64{4, 4}, Capacity: 5}, 2, SSSeveral, "SO_REUSEPORT"},
		{SSRow{}, 0, SSNoSocket, "no LISTEN socket"},
	} {
		a, n := ssVerdict(&tc.row, tc.several)
		if a != tc.want || !strings.Contains(n, tc.note) {
			t.Errorf("%+v: %s %q, want %s %q", tc.row, a, n, tc.want, tc.note)
		}
	}
}
