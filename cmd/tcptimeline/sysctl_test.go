package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// Every sentence that names tcp_abort_on_overflow's value agrees with the
// value inferred for the listener (one function decides it): the story,
// the likely settings, the remedies, the text views and JSON. Recorded
// captures with 1 (lab abort-on-overflow), 0 (lab burst-slow-accept), and
// both read as one run: the same listener resetting and ignoring, as when
// the setting is changed during a capture.
func TestAbortOnOverflowSentencesAgree(t *testing.T) {
	abort1 := "../../testdata/lab/abort-on-overflow/server.pcap"
	abort0 := "../../testdata/lab/burst-slow-accept/server.pcap"
	claim := regexp.MustCompile(`tcp_abort_on_overflow=([01])\)`)
	for _, c := range []struct {
		name   string
		files  []string
		value  string
		story  []string // what the story must say, in order
		remedy string
	}{
		{"abort=1", []string{abort1}, "1",
			[]string{"reset 2 connections right after their handshake (tcp_abort_on_overflow=1)"},
			"`net.ipv4.tcp_abort_on_overflow` is 1 at 10.77.0.1:8000"},
		{"abort=0", []string{abort0}, "0",
			[]string{"ignored the final handshake ACK of 1 connection (tcp_abort_on_overflow=0)"},
			"`net.ipv4.tcp_abort_on_overflow` is 0 at 10.77.0.1:8000"},
		{"both", []string{abort1, abort0}, "0 and 1",
			[]string{"(as tcp_abort_on_overflow=0 does; this listener showed both behaviours",
				"(as tcp_abort_on_overflow=1 does; this listener showed both behaviours"},
			"`net.ipv4.tcp_abort_on_overflow` behaved as 0 and as 1 at 10.77.0.1:8000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			js, stderr, code := run(t, nil, append([]string{"summary", "--format", "json"}, c.files...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc struct {
				Listeners []struct {
					Inferred map[string]string `json:"inferred_sysctls"`
				} `json:"listeners"`
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil || len(doc.Listeners) != 1 {
				t.Fatalf("summary JSON: %v, %d listeners", err, len(doc.Listeners))
			}
			inferred := doc.Listeners[0].Inferred["net.ipv4.tcp_abort_on_overflow"]
			if !strings.HasPrefix(inferred, c.value+" (") {
				t.Fatalf("inferred %q, want the value %s", inferred, c.value)
			}
			if strings.Contains(inferred, " 1 flows") {
				t.Errorf("inferred %q: '1 flows'", inferred)
			}
			md, _, _ := run(t, nil, append([]string{"report"}, c.files...)...)
			story := section(t, md, "## What happened")
			for _, want := range c.story {
				if !strings.Contains(story, want) {
					t.Errorf("the story does not say %q:\n%s", want, story)
				}
			}
			// A value named as a fact is the value inferred; with both, no
			// value is named as the listener's.
			for _, part := range []string{story, section(t, md, "## Likely settings and what to change"), section(t, md, "## Remedies")} {
				for _, m := range claim.FindAllStringSubmatchIndex(part, -1) {
					v := part[m[2]:m[3]]
					hedged := strings.HasPrefix(part[max(0, m[0]-3):], "as ")
					if (c.value == "0 and 1" && !hedged) || (c.value != "0 and 1" && v != c.value) {
						t.Errorf("a sentence says tcp_abort_on_overflow=%s, the value inferred is %s: %q", v, c.value, part[max(0, m[0]-120):m[1]])
					}
				}
			}
			if settings := section(t, md, "## Likely settings and what to change"); !strings.Contains(settings, "`net.ipv4.tcp_abort_on_overflow` = "+inferred) {
				t.Errorf("the settings do not list %q:\n%s", inferred, settings)
			}
			remedies := section(t, md, "## Remedies")
			if !strings.Contains(remedies, c.remedy) {
				t.Errorf("the remedies do not say %q:\n%s", c.remedy, remedies)
			}
			text, _, _ := run(t, nil, append([]string{"summary", "--color", "never"}, c.files...)...)
			if !strings.Contains(text, "  inferred net.ipv4.tcp_abort_on_overflow = "+inferred+"\n") {
				t.Errorf("the text views do not say %q", inferred)
			}
		})
	}
}

// Where SYN cookies were inferred (tcp_syncookies 1 or 2), no sentence
// explains a drop by a SYN queue with syncookies off, over every pinned
// fixture (lab load has both cookies and SYNs dropped at a full accept
// queue).
func TestSyncookiesSentencesAgree(t *testing.T) {
	checked := 0
	for _, in := range goldenInputs(t) {
		js, _, code := run(t, nil, "summary", "--format", "json", in)
		if code != 0 {
			t.Fatalf("%s: exit %d", in, code)
		}
		var doc struct {
			Listeners []struct {
				Server   string            `json:"server"`
				Inferred map[string]string `json:"inferred_sysctls"`
			} `json:"listeners"`
		}
		if err := json.Unmarshal([]byte(js), &doc); err != nil {
			t.Fatal(err)
		}
		on := false
		for _, l := range doc.Listeners {
			on = on || strings.HasPrefix(l.Inferred["net.ipv4.tcp_syncookies"], "1 or 2 (")
		}
		if !on || len(doc.Listeners) != 1 {
			continue
		}
		checked++
		md, _, _ := run(t, nil, "report", in)
		text, _, _ := run(t, nil, "summary", "--color", "never", in)
		for _, out := range []string{md, text} {
			if strings.Contains(out, "syncookies off") {
				t.Errorf("%s: tcp_syncookies is inferred on, yet a sentence names syncookies off", in)
			}
		}
	}
	if checked < 3 {
		t.Errorf("only %d fixtures with SYN cookies inferred", checked)
	}
}
