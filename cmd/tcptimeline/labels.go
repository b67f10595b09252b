package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze/render"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// NewCmdLabels builds "tcptimeline labels": every label the analysis
// gives, with what it means, for --fail-on, check and --anomalies.
func NewCmdLabels(io *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "labels",
		Short: "List every label, with what it means",
		Long: `List every label the analysis can give a flow, with what it means. Each is
decided by one rule (flowstate/rules.go) that names its evidence, the
look-alikes it refuses and the kernel code it mirrors; the README's label
table says the same.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
			for _, l := range flowstate.AllLabels() {
				fmt.Fprintf(tw, "%s\t%s\n", l, render.LabelMeaning(l))
			}
			if err := tw.Flush(); err != nil {
				return writeError("standard output", err)
			}
			return nil
		},
	}
}
