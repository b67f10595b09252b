package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
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
  tcptimeline report --anonymize incident.pcap -o incident.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = expandGlobs(args)
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
	f.BoolVar(&opts.Anonymize, "anonymize", false, "replace addresses with stable pseudonyms (host-1, host-2, ...; ports kept)")
	return cmd
}

func runReport(ctx context.Context, opts *ReportOptions) error {
	keep, err := opts.flowFilter()
	if err != nil {
		return err
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
	a := &analysis{io: opts.IO, in: &opts.inputOptions, record: true, quiet: opts.Quiet}
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
	ropts := render.ReportOptions{Title: opts.Title, Kernel: kernel}
	if opts.Anonymize {
		ropts.Anon = render.NewAnonymizer()
	}
	var out bytes.Buffer
	switch format {
	case "html":
		ropts.ChartSVG, ropts.LadderSVG, err = figures(rep, ropts.Anon)
		if err != nil {
			return err
		}
		err = rep.HTML(&out, ropts)
	default:
		if opts.Output != "" {
			chartPath := strings.TrimSuffix(opts.Output, filepath.Ext(opts.Output)) + ".svg"
			chart, _, ferr := figures(rep, ropts.Anon)
			if ferr != nil {
				return ferr
			}
			if len(chart) > 0 {
				if err := os.WriteFile(chartPath, chart, 0o644); err != nil {
					return err
				}
				ropts.ChartLink = filepath.Base(chartPath)
			}
		}
		err = rep.Markdown(&out, ropts)
	}
	if err != nil {
		return err
	}
	if opts.Output == "" {
		_, err = opts.IO.Out.Write(out.Bytes())
	} else {
		err = os.WriteFile(opts.Output, out.Bytes(), 0o644)
		if err == nil {
			fmt.Fprintf(opts.IO.ErrOut, "tcptimeline: wrote %s\n", opts.Output)
		}
	}
	if err != nil {
		return err
	}
	if len(openErrs) > 0 {
		return &inputError{openErrs}
	}
	return nil
}
