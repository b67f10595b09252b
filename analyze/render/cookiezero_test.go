package render

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// The report's story offers tcp_synack_retries=0 beside SYN cookies only
// where the listener's settings leave it: lab burst-slow-accept's flow
// of port 41012 alone (a cookie shown only by its missing
// retransmission, no SYN-ACK resent at the listener) names it; the whole
// capture, whose timer resent SYN-ACKs, does not.
func TestReportCookiesSynAckRetriesZero(t *testing.T) {
	const path = "../../testdata/lab/burst-slow-accept/server.pcap"
	for _, c := range []struct {
		name  string
		match func(*flowstate.Segment) bool
		want  bool
	}{
		{"flow 41012 alone", func(s *flowstate.Segment) bool { return s.SrcPort == 41012 || s.DstPort == 41012 }, true},
		{"whole capture", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rd, err := analyze.Open(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			sum, err := analyze.Run(context.Background(), []*analyze.CaptureReader{rd}, analyze.Options{Match: c.match}, func(*analyze.Flow) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := (&Report{Summary: sum}).Markdown(&b, ReportOptions{}); err != nil {
				t.Fatal(err)
			}
			story := b.String()
			if i := strings.Index(story, "## What happened"); i >= 0 {
				story = story[i:]
			}
			if j := strings.Index(story[1:], "\n## "); j >= 0 {
				story = story[:j+1]
			}
			if !strings.Contains(story, "SYN cookies") {
				t.Fatalf("the story names no SYN cookies:\n%s", story)
			}
			// Both where the episode's alternatives are named and beside
			// the sentence on cookies.
			for _, s := range []string{"; tcp_synack_retries=0 (", "by SYN cookies (the SYN queue was full, or tcp_syncookies=2); or by a server that never retransmits its SYN-ACK (tcp_synack_retries=0)"} {
				if got := strings.Contains(story, s); got != c.want {
					t.Errorf("the story names %q: %v, want %v:\n%s", s, got, c.want, story)
				}
			}
			// One flow alone is one handshake, and the verb agrees.
			if c.want && !strings.Contains(story, "1 handshake was answered by SYN cookies") {
				t.Errorf("the story does not say \"1 handshake was answered\":\n%s", story)
			}
			if !c.want && strings.Contains(story, "tcp_synack_retries=0") {
				t.Errorf("the timer resent SYN-ACKs, yet the story names tcp_synack_retries=0:\n%s", story)
			}
		})
	}
}
