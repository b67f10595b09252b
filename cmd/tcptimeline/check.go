package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// CheckOptions are the options of "tcptimeline check".
type CheckOptions struct {
	IO *IOStreams
	inputOptions
	Expect    []string
	Forbid    []string
	Anonymize bool
}

// expectation is one --expect or --forbid.
type expectation struct {
	label flowstate.Label
	exact int  // -1: at least one flow
	none  bool // --forbid
}

// NewCmdCheck builds "tcptimeline check".
func NewCmdCheck(io *IOStreams, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Check a capture for expected and forbidden labels (regression checks)",
		Long: `Analyse the capture and compare the flows' labels with expectations:
  --expect LABEL     at least one flow carries LABEL
  --expect LABEL=N   exactly N flows carry LABEL
  --forbid LABEL     no flow carries LABEL
Exit status 0 when every expectation holds, 1 with a message listing each
mismatch, 2 for bad arguments or an unreadable capture.`,
		Example: `  tcptimeline check testdata/lab/ghost/server.pcap --expect ghost-connection --forbid rst-on-overflow
  tcptimeline check seed002.pcap --expect synack-after-ack=3 --expect syn-dropped=1`,
		Args: opts.fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.setFiles(args); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runCheck(cmd.Context(), opts)
		},
	}
	opts.addFlags(cmd)
	cmd.Flags().StringArrayVar(&opts.Expect, "expect", nil, "`LABEL` or LABEL=N: at least one flow, or exactly N flows, carry it (repeatable)")
	cmd.Flags().StringArrayVar(&opts.Forbid, "forbid", nil, "no flow may carry this `LABEL` (repeatable)")
	cmd.Flags().BoolVar(&opts.Anonymize, "anonymize", false, "replace addresses, file and interface names in the messages with pseudonyms numbered by first appearance (host-1, capture-1, if-1, ...; ports kept)")
	_ = cmd.RegisterFlagCompletionFunc("expect", completeLabels)
	_ = cmd.RegisterFlagCompletionFunc("forbid", completeLabels)
	return cmd
}

// parseExpectations reads --expect and --forbid.
func parseExpectations(expect, forbid []string) ([]expectation, error) {
	var out []expectation
	for _, e := range expect {
		id, n, hasN := strings.Cut(e, "=")
		l, ok := flowstate.ParseLabel(strings.TrimSpace(id))
		if !ok {
			return nil, usagef("--expect %q: unknown label %q (known: %s)", e, id, knownLabels())
		}
		x := expectation{label: l, exact: -1}
		if hasN {
			v, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || v < 0 {
				return nil, usagef("--expect %q: the count after = must be a whole number", e)
			}
			x.exact = v
		}
		out = append(out, x)
	}
	for _, id := range forbid {
		l, ok := flowstate.ParseLabel(strings.TrimSpace(id))
		if !ok {
			return nil, usagef("--forbid: unknown label %q (known: %s)", id, knownLabels())
		}
		out = append(out, expectation{label: l, none: true})
	}
	if len(out) == 0 {
		return nil, usagef("nothing to check: give --expect or --forbid")
	}
	return out, nil
}

func runCheck(ctx context.Context, opts *CheckOptions) (err error) {
	addrs, names, anon := opts.pseudonyms(opts.Anonymize)
	defer func() { err = anonymizeErr(err, anon) }()
	exps, err := parseExpectations(opts.Expect, opts.Forbid)
	if err != nil {
		return err
	}
	keep, err := opts.flowFilter(names)
	if err != nil {
		return err
	}
	counts := map[flowstate.Label]int{}
	examples := map[flowstate.Label][]string{}
	a := &analysis{io: opts.IO, in: &opts.inputOptions, quiet: opts.Quiet, addrs: addrs, anon: anon, keep: keep}
	sum, openErrs, err := a.run(ctx, func(f *analyze.Flow) error {
		if !keep(f) {
			return nil
		}
		for _, l := range f.Labels.List() {
			counts[l]++
			if len(examples[l]) < 3 {
				examples[l] = append(examples[l], fmt.Sprintf("flow %d (%s -> %s)", f.ID, anon.AddrPort(f.Client), anon.AddrPort(f.Server)))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(openErrs) > 0 {
		return &inputError{openErrs}
	}
	// On partial data (an interrupt) only a mismatch more data cannot
	// undo is reported, and nothing passes.
	partial := sum.Interrupted || ctx.Err() != nil
	var bad, good []string
	for _, x := range exps {
		n := counts[x.label]
		seen := ""
		if n > 0 {
			seen = ": " + strings.Join(examples[x.label], ", ") // as --fail-on lists them
		}
		switch {
		case x.none && n > 0:
			bad = append(bad, fmt.Sprintf("forbidden %s found in %s%s", x.label, flows(n), seen))
		case x.none:
			good = append(good, fmt.Sprintf("%s absent, as required", x.label))
		case x.exact >= 0 && n > x.exact:
			bad = append(bad, fmt.Sprintf("expected %s in exactly %s, found %d%s", x.label, flows(x.exact), n, seen))
		case x.exact >= 0 && n != x.exact && !partial:
			bad = append(bad, fmt.Sprintf("expected %s in exactly %s, found %d%s", x.label, flows(x.exact), n, seen))
		case x.exact < 0 && n == 0 && !partial:
			bad = append(bad, fmt.Sprintf("expected %s in at least 1 flow, found none", x.label))
		case partial:
		default:
			good = append(good, fmt.Sprintf("%s in %s, as expected", x.label, flows(n)))
		}
	}
	w := &errWriter{w: opts.IO.Out}
	if partial {
		fmt.Fprintf(w, "interrupted: %s checked before the interrupt; the check is not passed on partial data\n", flows(sum.Flows))
	} else {
		for _, g := range good {
			fmt.Fprintf(w, "ok: %s\n", g)
		}
		fmt.Fprintf(w, "%s checked\n", flows(sum.Flows))
	}
	if w.err != nil {
		return writeError("standard output", w.err)
	}
	if len(bad) > 0 {
		return &findingError{"check failed:\n  " + strings.Join(bad, "\n  ")}
	}
	return nil
}

func flows(n int) string {
	if n == 1 {
		return "1 flow"
	}
	return fmt.Sprintf("%d flows", n)
}
