package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// inputOptions are the flags of every command that analyses captures.
type inputOptions struct {
	Files []string
	Flow  string
	Ports []int
	Hosts []string
	Color string
	Quiet bool
}

func (o *inputOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Flow, "flow", "", "show one flow: its number (as printed), an endpoint `ip:port`, or ip:port-ip:port")
	f.IntSliceVar(&o.Ports, "port", nil, "keep only packets to or from this `port` (repeatable)")
	f.StringSliceVar(&o.Hosts, "host", nil, "keep only packets to or from this `ip` (repeatable)")
	f.StringVar(&o.Color, "color", "auto", "colour output: auto, always or never (NO_COLOR is honoured)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line on stderr")
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
}

// filtered reports whether --port or --host keep only part of the
// capture's packets.
func (o *inputOptions) filtered() bool { return len(o.Ports) > 0 || len(o.Hosts) > 0 }

// useColor decides colours from --color, NO_COLOR and the terminal.
func (o *inputOptions) useColor(io *IOStreams) (bool, error) {
	switch o.Color {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto", "":
		return io.OutTTY && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb", nil
	}
	return false, usagef("--color must be auto, always or never, not %q", o.Color)
}

// match builds the packet filter of --port and --host.
func (o *inputOptions) match() (func(*flowstate.Segment) bool, error) {
	if len(o.Ports) == 0 && len(o.Hosts) == 0 {
		return nil, nil
	}
	ports := map[uint16]bool{}
	for _, p := range o.Ports {
		if p < 0 || p > 65535 {
			return nil, usagef("--port %d is not a TCP port", p)
		}
		ports[uint16(p)] = true
	}
	hosts := map[flowstate.Addr]bool{}
	for _, h := range o.Hosts {
		ip, err := netip.ParseAddr(strings.Trim(h, "[]"))
		if err != nil {
			return nil, usagef("--host %q is not an IP address", h)
		}
		hosts[flowstate.AddrFromNetip(ip)] = true
	}
	return func(s *flowstate.Segment) bool {
		if len(ports) > 0 && !ports[s.SrcPort] && !ports[s.DstPort] {
			return false
		}
		if len(hosts) > 0 && !hosts[s.Src] && !hosts[s.Dst] {
			return false
		}
		return true
	}, nil
}

// flowFilter builds the --flow filter on finished flows.
func (o *inputOptions) flowFilter() (func(*analyze.Flow) bool, error) {
	spec := strings.TrimSpace(o.Flow)
	if spec == "" {
		return func(*analyze.Flow) bool { return true }, nil
	}
	if n, err := strconv.Atoi(spec); err == nil {
		return func(f *analyze.Flow) bool { return f.ID == n }, nil
	}
	var ends []netip.AddrPort
	for _, part := range strings.FieldsFunc(spec, func(r rune) bool { return r == '-' || r == '>' || r == ',' || r == ' ' }) {
		ap, err := netip.ParseAddrPort(part)
		if err != nil {
			return nil, usagef("--flow %q: want a flow number, ip:port or ip:port-ip:port ([v6]:port for IPv6)", spec)
		}
		ends = append(ends, ap)
	}
	return func(f *analyze.Flow) bool {
		for _, e := range ends {
			if e != f.Client && e != f.Server {
				return false
			}
		}
		return true
	}, nil
}

// expandGlobs expands shell-style patterns in file arguments (for ring
// buffers: 'ring.pcap*'), keeping arguments that match nothing as given
// so that their error names them.
func expandGlobs(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "-" && strings.ContainsAny(a, "*?[") {
			if m, err := filepath.Glob(a); err == nil && len(m) > 0 {
				out = append(out, m...)
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// warnCaptures writes each capture's warnings to stderr.
func warnCaptures(io *IOStreams, sum *analyze.Summary) {
	for _, c := range sum.Captures {
		for _, w := range c.Warnings {
			fmt.Fprintf(io.ErrOut, "tcptimeline: warning: %s\n", w)
		}
		if c.Undecodable > 0 {
			var why []string
			if c.TruncatedTCP > 0 {
				why = append(why, fmt.Sprintf("%d with a truncated TCP header", c.TruncatedTCP))
			}
			if c.BadIPVersion > 0 {
				why = append(why, fmt.Sprintf("%d with an IP version nibble that does not match the header type", c.BadIPVersion))
			}
			because := ""
			if len(why) > 0 {
				because = " (" + strings.Join(why, ", ") + ")"
			}
			fmt.Fprintf(io.ErrOut, "tcptimeline: warning: %s: %d packets could not be decoded and were skipped%s\n", c.Name, c.Undecodable, because)
		}
	}
}

// parseLabels parses label IDs given to --fail-on and similar flags.
func parseLabels(flag string, ids []string) (flowstate.Labels, error) {
	var set flowstate.Labels
	for _, id := range ids {
		l, ok := flowstate.ParseLabel(strings.TrimSpace(id))
		if !ok {
			return 0, usagef("%s: unknown label %q (known: %s)", flag, id, knownLabels())
		}
		set = set.Add(l)
	}
	return set, nil
}

func knownLabels() string {
	var ids []string
	for _, l := range flowstate.AllLabels() {
		ids = append(ids, l.String())
	}
	return strings.Join(ids, ", ")
}

func completeLabels(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var ids []string
	for _, l := range flowstate.AllLabels() {
		ids = append(ids, l.String())
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}
