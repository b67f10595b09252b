package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// TimelineOptions are the options of "tcptimeline timeline".
type TimelineOptions struct {
	IO *IOStreams
	inputOptions
	Format    string
	Time      string
	Anomalies bool
	FailOn    []string
	Anonymize bool
	kernelOptions
}

// renderer is what the timeline writes flows to.
type renderer interface {
	Flow(*analyze.Flow) error
	Close(*analyze.Summary) error
}

// NewCmdTimeline builds "tcptimeline timeline". runF replaces the run
// function in tests.
func NewCmdTimeline(io *IOStreams, runF func(context.Context, *TimelineOptions) error) *cobra.Command {
	opts := &TimelineOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "timeline FILE...",
		Short: "Print the annotated timeline of every TCP flow",
		Long: `Print one line per TCP packet, grouped by flow: time, direction, flags in
tcpdump notation, seq/ack relative to each side's ISN, payload length, the
state each endpoint was in after the packet (as known at the end of the flow),
labels, and a plain-language explanation of every labelled packet. The
listener and capture views follow.

Several files are read as one capture merged by timestamp (tcpdump -C/-G -W
ring buffers); files that recorded the same packets at different points
(the client's and the server's captures) are merged as vantage points of
one incident, each packet once, with where else it was seen (--vantage
names each point and its files). "-" reads standard input, so this works
live, each flow printed as soon as it finishes (2 s after its close, or its
idle timeout):
  tcpdump -U -w - port 8080 | tcptimeline timeline -
An interrupt (Ctrl-C) prints the flows still open and the views.`,
		Example: `  tcptimeline timeline incident.pcap
  tcptimeline timeline --anomalies --time abs ring.pcap0 ring.pcap1
  tcptimeline timeline --format json incident.pcapng.gz | jq '.flows[].labels'`,
		Args: opts.fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.setFiles(args); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTimeline(cmd.Context(), opts)
		},
	}
	opts.addFlags(cmd)
	opts.addKernelFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", "text", "output format: text, json or jsonl (one JSON object per finished flow)")
	f.StringVar(&opts.Time, "time", "rel", "times: "+relTimeHelp+" or abs (UTC, microseconds)")
	f.BoolVar(&opts.Anomalies, "anomalies", false, "show only flows that carry a label")
	f.StringSliceVar(&opts.FailOn, "fail-on", nil, "exit 1 when any flow carries this `label` (repeatable)")
	f.BoolVar(&opts.Anonymize, "anonymize", false, "replace addresses, file and interface names with pseudonyms numbered by first appearance (host-1, capture-1, if-1, ...; ports kept)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "jsonl"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("time", cobra.FixedCompletions([]string{"rel", "abs"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", completeLabels)
	return cmd
}

// relTimeHelp describes --time rel, as the renderers write it.
const relTimeHelp = "rel (since the run's first packet: ms; h:mm:ss.µs for a flow past an hour; UTC dates for one past a day)"

func runTimeline(ctx context.Context, opts *TimelineOptions) (err error) {
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
	if opts.Time != "rel" && opts.Time != "abs" {
		return usagef("--time must be rel or abs, not %q", opts.Time)
	}
	ropts := render.Options{Color: colour && opts.Format == "text", AbsTime: opts.Time == "abs", Anomalies: opts.Anomalies, MultiFile: len(opts.Files) > 1,
		Stop: stopAfterInterrupt(ctx)}
	if ropts.Kernel, err = opts.kernelOptions.load(opts.filtered()); err != nil {
		return err
	}
	ropts.Anon = anon
	var r renderer
	switch opts.Format {
	case "text":
		r = render.NewText(opts.IO.Out, ropts)
	case "json":
		r = render.NewJSON(opts.IO.Out, ropts)
	case "jsonl":
		r = render.NewJSONLines(opts.IO.Out, ropts)
	default:
		return usagef("--format must be text, json or jsonl, not %q", opts.Format)
	}

	a := &analysis{io: opts.IO, in: &opts.inputOptions, record: true, reuse: true, quiet: opts.Quiet, addrs: addrs, anon: anon}
	return renderFlows(ctx, a, keep, failOn, r)
}

// flusher is a renderer that can write out what it buffered.
type flusher interface{ Flush() error }

// renderFlows runs the analysis and hands the flows --flow keeps to r,
// then the summary; the error says which --fail-on labels were found, or
// which inputs could not be read. On live input each flow is flushed out
// as soon as it is written.
func renderFlows(ctx context.Context, a *analysis, keep func(*analyze.Flow) bool, failOn flowstate.Labels, r renderer) error {
	fails := newFailOn(failOn, a.anon)
	a.keep = keep
	var live bool
	a.live = &live
	fl, _ := r.(flusher)
	sum, openErrs, err := a.run(ctx, func(f *analyze.Flow) error {
		if !keep(f) {
			return nil
		}
		fails.see(f)
		if err := r.Flow(f); err != nil || !live || fl == nil {
			return err
		}
		return fl.Flush()
	})
	if err != nil {
		return err
	}
	if err := r.Close(sum); err != nil {
		return writeError("standard output", err)
	}
	if len(openErrs) > 0 {
		return &inputError{openErrs}
	}
	return fails.err()
}
