package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// SummaryOptions are the options of "tcptimeline summary".
type SummaryOptions struct {
	IO *IOStreams
	inputOptions
	Format    string
	Anomalies bool
	All       bool
	Anonymize bool
	FailOn    []string
	kernelOptions
}

// NewCmdSummary builds "tcptimeline summary".
func NewCmdSummary(io *IOStreams, runF func(context.Context, *SummaryOptions) error) *cobra.Command {
	opts := &SummaryOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "summary FILE...",
		Short: "One row per flow, then the listener views and totals",
		Long: `Print one row per flow: client, server, start, duration, packets, the
connection state in Zeek's conn_state vocabulary, a Zeek-style history string,
and our labels; then per listener the overflow episodes, flows per label, the
accept queue's capacity when the capture shows it, the inferred sysctls and the
connect-time distribution; then totals.

It keeps no packets, so it runs in memory bounded by the live flows, on
captures of any size. A flood of unanswered SYNs is summarised per listener
(counts, sources, time range) after the first 20 rows; --all lists every flow.`,
		Example: `  tcptimeline summary incident.pcap
  tcptimeline summary --format csv ring.pcap* > flows.csv
  tcptimeline summary --fail-on ghost-connection --fail-on rst-on-overflow capture.pcap`,
		Args: opts.fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.setFiles(args); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runSummary(cmd.Context(), opts)
		},
	}
	opts.addFlags(cmd)
	opts.addKernelFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", "text", "output format: text, json, jsonl (one object per finished flow, as they finish) or csv")
	f.BoolVar(&opts.Anomalies, "anomalies", false, "list only flows that carry a label")
	f.BoolVar(&opts.All, "all", false, "list every flow, even in a flood of unanswered SYNs")
	f.BoolVar(&opts.Anonymize, "anonymize", false, "replace addresses, file and interface names with pseudonyms numbered by first appearance (host-1, capture-1, if-1, ...; ports kept)")
	f.StringSliceVar(&opts.FailOn, "fail-on", nil, "exit 1 when any flow carries this `label` (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "jsonl", "csv"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", completeLabels)
	return cmd
}

func runSummary(ctx context.Context, opts *SummaryOptions) (err error) {
	addrs, names, anon := opts.pseudonyms(opts.Anonymize)
	defer func() { err = anonymizeErr(err, anon) }()
	keep, err := opts.flowFilter(names)
	if err != nil {
		return err
	}
	failOn, err := parseLabels("--fail-on", opts.FailOn)
	if err != nil {
		return err
	}
	colour, err := opts.useColor(opts.IO)
	if err != nil {
		return err
	}
	switch opts.Format {
	case "text", "json", "jsonl", "csv":
	default:
		return usagef("--format must be text, json, jsonl or csv, not %q", opts.Format)
	}
	ropts := render.SummaryOptions{Format: opts.Format, All: opts.All,
		Options: render.Options{Color: colour && opts.Format == "text", Anomalies: opts.Anomalies, Stop: stopAfterInterrupt(ctx)}}
	if opts.Format == "csv" && (len(opts.NStat) > 0 || opts.SS != "") {
		return usagef("--nstat and --ss have no place in CSV (one row per flow): use --format text or json")
	}
	if ropts.Kernel, err = opts.kernelOptions.load(opts.filtered()); err != nil {
		return err
	}
	ropts.Anon = anon
	a := &analysis{io: opts.IO, in: &opts.inputOptions, quiet: opts.Quiet, addrs: addrs, anon: anon}
	return renderFlows(ctx, a, keep, failOn, render.NewSummary(opts.IO.Out, ropts))
}

// failOn collects the flows that carry a label given to --fail-on.
type failOn struct {
	want  flowstate.Labels
	hit   flowstate.Labels
	flows []string
	an    *render.Anonymizer
}

func newFailOn(want flowstate.Labels, an *render.Anonymizer) *failOn {
	return &failOn{want: want, an: an}
}

func (o *failOn) see(f *analyze.Flow) {
	if m := f.Labels & o.want; m != 0 {
		o.hit |= m
		if len(o.flows) < 5 {
			o.flows = append(o.flows, fmt.Sprintf("flow %d (%s -> %s)", f.ID, o.an.AddrPort(f.Client), o.an.AddrPort(f.Server)))
		}
	}
}

func (o *failOn) err() error {
	if o.hit == 0 {
		return nil
	}
	return &findingError{fmt.Sprintf("found %s in %s", strings.Join(o.hit.Strings(), ", "), strings.Join(o.flows, ", "))}
}
