package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// inputOptions are the flags of every command that analyses captures.
type inputOptions struct {
	Files []string
	Flow  string
	// stdinName names the standard input in the output ("stdin" when
	// empty): the demo's embedded capture.
	stdinName string
	Ports     []int
	Hosts     []string
	Color     string
	Quiet     bool
	// Vantage holds --vantage NAME=FILE[,FILE...]: the files of one
	// vantage point (pieces of its ring), appended to Files; vantages and
	// vantageNames, set by setFiles, map each file to its vantage (every
	// positional file is its own) and name ("" for positional files).
	Vantage      []string
	vantages     []int32
	vantageNames []string
}

func (o *inputOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Flow, "flow", "", "show one flow: its number (as printed), an endpoint `ip:port`, or ip:port-ip:port")
	f.IntSliceVar(&o.Ports, "port", nil, "show only flows to or from this `port` (repeatable; listener views still cover the whole capture)")
	f.StringSliceVar(&o.Hosts, "host", nil, "show only flows to or from this `ip` (repeatable; listener views still cover the whole capture)")
	f.StringVar(&o.Color, "color", "auto", "colour output: auto, always or never (NO_COLOR is honoured)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line on stderr")
	f.StringArrayVar(&o.Vantage, "vantage", nil, "the files of one capture point (pieces of its ring), as `NAME=FILE[,FILE...]` with NAME the point (client, server, router, ...), to be merged with other points' captures of the same packets (repeatable; without it every file is its own point)")
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

// match builds the filter of --port and --host, on a flow's endpoints
// (a segment's, either direction).
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

// pseudonymPrefix starts every host pseudonym --anonymize writes.
const pseudonymPrefix = "host-"

// pseudonyms sets up what --anonymize needs, and what --flow needs to
// take a pseudonym (host-3:8000): the run numbers its addresses by first
// appearance (analyze.AddrOrder), which names every address alike in
// every command. names matches pseudonyms; anon, for the output, is the
// same anonymizer with --anonymize and nil without.
func (o *inputOptions) pseudonyms(anonymize bool) (addrs *analyze.AddrOrder, names, anon *render.Anonymizer) {
	if !anonymize && !strings.Contains(o.Flow, pseudonymPrefix) {
		return nil, nil, nil
	}
	addrs = analyze.NewAddrOrder()
	names = render.NewRunAnonymizer(addrs, o.Files)
	if anonymize {
		anon = names
	}
	return addrs, names, anon
}

// flowEnd is one endpoint of a --flow selector: an address, or a
// pseudonym, and a port.
type flowEnd struct {
	ap        netip.AddrPort
	pseudonym string
	port      uint16
}

func (e *flowEnd) matches(ap netip.AddrPort, names *render.Anonymizer) bool {
	if e.pseudonym == "" {
		return e.ap == ap
	}
	return ap.Port() == e.port && names.MatchesAddr(e.pseudonym, ap.Addr())
}

// flowFilter builds the filter on finished flows of --flow, --port and
// --host; names resolves pseudonyms (from pseudonyms()). The filters pick
// what is shown: the analysis itself (flow numbers, listener views) always
// covers the whole capture.
func (o *inputOptions) flowFilter(names *render.Anonymizer) (func(*analyze.Flow) bool, error) {
	match, err := o.match()
	if err != nil {
		return nil, err
	}
	sel, err := o.flowSelector(names)
	if err != nil {
		return nil, err
	}
	if match == nil {
		return sel, nil
	}
	return func(f *analyze.Flow) bool {
		c, s := &f.EP[flowstate.Client], &f.EP[flowstate.Server]
		seg := flowstate.Segment{Src: c.Addr, SrcPort: c.Port, Dst: s.Addr, DstPort: s.Port}
		return match(&seg) && sel(f)
	}, nil
}

// flowSelector builds the --flow filter.
func (o *inputOptions) flowSelector(names *render.Anonymizer) (func(*analyze.Flow) bool, error) {
	spec := strings.TrimSpace(o.Flow)
	if spec == "" {
		return func(*analyze.Flow) bool { return true }, nil
	}
	if n, err := strconv.Atoi(spec); err == nil {
		return func(f *analyze.Flow) bool { return f.ID == n }, nil
	}
	bad := usagef("--flow %q: want a flow number, ip:port, ip:port-ip:port ([v6]:port for IPv6) or a pseudonym as --anonymize writes it (host-3:8000)", spec)
	var ends []flowEnd
	for _, part := range splitFlowSpec(spec) {
		if strings.HasPrefix(part, pseudonymPrefix) {
			name, port, ok := strings.Cut(part, ":")
			p, err := strconv.ParseUint(port, 10, 16)
			if n, nerr := strconv.Atoi(strings.TrimPrefix(name, pseudonymPrefix)); !ok || err != nil || nerr != nil || n < 1 || names == nil {
				return nil, bad
			}
			ends = append(ends, flowEnd{pseudonym: name, port: uint16(p)})
			continue
		}
		ap, err := netip.ParseAddrPort(part)
		if err != nil {
			return nil, bad
		}
		ends = append(ends, flowEnd{ap: ap})
	}
	return func(f *analyze.Flow) bool {
		for i := range ends {
			if !ends[i].matches(f.Client, names) && !ends[i].matches(f.Server, names) {
				return false
			}
		}
		return true
	}, nil
}

// splitFlowSpec splits "a-b", "a->b", "a,b" or "a b" into endpoints; a
// pseudonym's own '-' (host-3) is not a separator.
func splitFlowSpec(spec string) []string {
	spec = strings.ReplaceAll(spec, pseudonymPrefix, "\x00")
	parts := strings.FieldsFunc(spec, func(r rune) bool { return r == '-' || r == '>' || r == ',' || r == ' ' })
	for i := range parts {
		parts[i] = strings.ReplaceAll(parts[i], "\x00", pseudonymPrefix)
	}
	return parts
}

// anonError is an error whose message goes through --anonymize's
// anonymizer (file names, addresses), keeping what it wraps for the exit
// status.
type anonError struct {
	err error
	an  *render.Anonymizer
}

func (e *anonError) Error() string { return e.an.Text(e.err.Error()) }
func (e *anonError) Unwrap() error { return e.err }

// anonymizeErr wraps err for an, when both are set.
func anonymizeErr(err error, an *render.Anonymizer) error {
	if err == nil || an == nil {
		return err
	}
	return &anonError{err, an}
}

// fileArgs accepts the positional files: at least one, unless --vantage
// gives them.
func (o *inputOptions) fileArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 && len(o.Vantage) == 0 {
		return fmt.Errorf("requires at least 1 arg(s), only received 0")
	}
	return nil
}

// setFiles sets Files from the positional arguments (globs expanded),
// then the files of each --vantage, and which vantage each file is.
func (o *inputOptions) setFiles(args []string) error {
	if err := o.setFileList(args); err != nil {
		return err
	}
	// Standard input can be read once: a second "-" would read it empty.
	if n := slices.Index(o.Files, "-"); n >= 0 && slices.Contains(o.Files[n+1:], "-") {
		return usagef(`"-" (standard input) given more than once: it can be read once`)
	}
	return nil
}

func (o *inputOptions) setFileList(args []string) error {
	o.Files = expandGlobs(args)
	o.vantages, o.vantageNames = nil, nil
	if len(o.Vantage) == 0 {
		return nil
	}
	for i := range o.Files {
		o.vantages = append(o.vantages, int32(i))
		o.vantageNames = append(o.vantageNames, "")
	}
	next := int32(len(o.Files))
	names := map[string]bool{}
	for _, v := range o.Vantage {
		name, list, ok := strings.Cut(v, "=")
		if !ok || name == "" || list == "" {
			return usagef("--vantage %q: want NAME=FILE[,FILE...]", v)
		}
		if names[name] {
			return usagef("--vantage %s given twice: list its files once, comma-separated", name)
		}
		names[name] = true
		for _, f := range expandGlobs(strings.Split(list, ",")) {
			if f == "" {
				return usagef("--vantage %q: an empty file name", v)
			}
			o.Files = append(o.Files, f)
			o.vantages = append(o.vantages, next)
			o.vantageNames = append(o.vantageNames, name)
		}
		next++
	}
	return nil
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

// warnCaptures writes each capture's warnings to stderr, through an
// (--anonymize) when it is set.
func warnCaptures(io *IOStreams, sum *analyze.Summary, an *render.Anonymizer) {
	an.Learn(sum.Captures)
	for _, c := range sum.Captures {
		for _, w := range c.Warnings {
			fmt.Fprintf(io.ErrOut, "tcptimeline: warning: %s\n", an.Text(w))
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
			fmt.Fprintf(io.ErrOut, "tcptimeline: warning: %s: %d packets could not be decoded and were skipped%s\n", an.CaptureName(c), c.Undecodable, because)
		}
	}
	for _, w := range sum.Warnings {
		fmt.Fprintf(io.ErrOut, "tcptimeline: warning: %s\n", an.Text(w))
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
