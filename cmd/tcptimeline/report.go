package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// ReportOptions are the options of "tcptimeline report".
type ReportOptions struct {
	IO *IOStreams
	inputOptions
	Output    string
	Title     string
	Time      string
	Anonymize bool
	kernelOptions
}

// NewCmdReport builds "tcptimeline report".
func NewCmdReport(io *IOStreams, runF func(context.Context, *ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "report FILE...",
		Short: "Write a post-mortem report (Markdown, or self-contained HTML)",
		Long: `Write a post-mortem a person pastes into an incident document: what happened in
plain words, the evidence (counts, times, the retransmission schedules,
connect-time percentiles), the timeline of one representative flow per label,
the likely settings and what to change, and the remedies.

-o incident.md writes Markdown and the incident chart beside it
(incident.svg), linked from the report; -o incident.html writes one
self-contained page with the chart and the ladder diagram of a representative
flow inline. Without -o, Markdown goes to standard output.`,
		Example: `  tcptimeline report incident.pcap -o incident.md
  tcptimeline report --anonymize incident.pcap -o incident.html
  tcptimeline report --time abs incident.pcap -o incident.md   # timelines in UTC, to line up with logs`,
		Args: opts.fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.setFiles(args); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runReport(cmd.Context(), opts)
		},
	}
	opts.addFlags(cmd)
	opts.addKernelFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "write to this `file`: .md (Markdown, chart beside it) or .html (self-contained)")
	f.StringVar(&opts.Title, "title", "", "the report's title")
	f.StringVar(&opts.Time, "time", "rel", "the timelines' times: "+relTimeHelp+" or abs (UTC, microseconds)")
	_ = cmd.RegisterFlagCompletionFunc("time", cobra.FixedCompletions([]string{"rel", "abs"}, cobra.ShellCompDirectiveNoFileComp))
	f.BoolVar(&opts.Anonymize, "anonymize", false, "replace addresses, file and interface names with pseudonyms numbered by first appearance (host-1, capture-1, if-1, ...; ports kept)")
	return cmd
}

// reportRecordLimit bounds the packets recorded per flow for a report:
// its representative flows show their first and last halves, so a report
// stays readable, and its size bounded, whatever the flows' lengths.
const reportRecordLimit = 400

func runReport(ctx context.Context, opts *ReportOptions) (err error) {
	addrs, selector, anon := opts.pseudonyms(opts.Anonymize)
	defer func() { err = anonymizeErr(err, anon) }()
	keep, err := opts.flowFilter(selector)
	if err != nil {
		return err
	}
	if opts.Time != "rel" && opts.Time != "abs" {
		return usagef("--time must be rel or abs, not %q", opts.Time)
	}
	format := "md"
	switch ext := strings.ToLower(filepath.Ext(opts.Output)); ext {
	case ".html", ".htm":
		format = "html"
	case ".md", ".markdown", "":
	default:
		return usagef("-o %q: the report is .md or .html", opts.Output)
	}
	kernel, err := opts.kernelOptions.load(opts.filtered())
	if err != nil {
		return err
	}
	rep := &render.Report{Examples: map[flowstate.Label]*analyze.Flow{}}
	a := &analysis{io: opts.IO, in: &opts.inputOptions, record: true, recordLimit: reportRecordLimit, quiet: opts.Quiet, addrs: addrs, anon: anon, keep: keep}
	sum, openErrs, err := a.run(ctx, func(f *analyze.Flow) error {
		if !keep(f) {
			return nil
		}
		for _, l := range f.Labels.List() {
			if rep.Examples[l] == nil {
				rep.Examples[l] = f
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rep.Summary = sum
	ropts := render.ReportOptions{Title: opts.Title, Anon: anon, Kernel: kernel, AbsTime: opts.Time == "abs"}
	// The files to write: the report, and for Markdown to a file the
	// chart beside it, written first (both or neither). The report is
	// written as it is rendered, never held whole.
	var names []string
	var writes []func(io.Writer) error
	var doc func(io.Writer) error
	switch format {
	case "html":
		ropts.ChartSVG, ropts.LadderSVG, err = figures(rep, ropts.Anon, ropts.AbsTime)
		if err != nil {
			return err
		}
		doc = func(w io.Writer) error { return rep.HTML(w, ropts) }
	default:
		if opts.Output != "" {
			chartPath := strings.TrimSuffix(opts.Output, filepath.Ext(opts.Output)) + ".svg"
			chart, _, ferr := figures(rep, ropts.Anon, ropts.AbsTime)
			if ferr != nil {
				return ferr
			}
			if len(chart) > 0 {
				names, writes = append(names, chartPath), append(writes, bytesWriter(chart))
				ropts.ChartLink = filepath.Base(chartPath)
			}
		}
		doc = func(w io.Writer) error { return rep.Markdown(w, ropts) }
	}
	if opts.Output == "" {
		err = writeStdout(opts.IO, doc)
	} else {
		err = writeFiles(opts.IO, append(names, opts.Output), append(writes, doc))
	}
	if err != nil {
		return err
	}
	if len(openErrs) > 0 {
		return &inputError{openErrs}
	}
	return nil
}
