package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
)

// kernelOptions are the flags that set the kernel's own evidence beside
// the capture: counter snapshots and ss output.
type kernelOptions struct {
	NStat []string
	SS    string
}

func (o *kernelOptions) addKernelFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.NStat, "nstat", nil, "reconcile with the kernel's counters in this `file` (nstat -az, cat /proc/net/netstat /proc/net/snmp, or netstat -s); twice: before and after, the difference is used")
	f.StringVar(&o.SS, "ss", "", "compare each listener's measured capacity with ss -lnt output in this `file` (one run, or several after timestamp lines)")
}

// maxKernelFile bounds what is read of a counter or ss file: the text of
// nstat -az is about 20 KiB, so more is not such a file.
const maxKernelFile = 16 << 20

// load reads and checks the files, before any analysis: an error names
// the file and line, and exits 2. It returns nil when no flag was given.
// filtered says --port or --host narrowed the capture.
func (o *kernelOptions) load(filtered bool) (*analyze.KernelEvidence, error) {
	if len(o.NStat) == 0 && o.SS == "" {
		return nil, nil
	}
	if len(o.NStat) > 2 {
		return nil, usagef("--nstat is given once (one snapshot) or twice (before and after), not %d times", len(o.NStat))
	}
	ev := &analyze.KernelEvidence{Filtered: filtered}
	var snaps []*analyze.KernelStats
	for _, name := range o.NStat {
		data, err := readKernelFile(name)
		if err != nil {
			return nil, err
		}
		k, err := analyze.ParseKernelStats(name, data)
		if err != nil {
			return nil, &inputError{[]error{err}}
		}
		snaps = append(snaps, k)
	}
	switch len(snaps) {
	case 1:
		ev.Counters = snaps[0]
	case 2:
		d, err := snaps[0].Sub(snaps[1])
		if err != nil {
			return nil, &inputError{[]error{err}}
		}
		ev.Counters = d
	}
	if o.SS != "" {
		data, err := readKernelFile(o.SS)
		if err != nil {
			return nil, err
		}
		ss, err := analyze.ParseSS(o.SS, data)
		if err != nil {
			return nil, &inputError{[]error{err}}
		}
		ev.SS = ss
	}
	return ev, nil
}

func readKernelFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &inputError{[]error{fmt.Errorf("%s: cannot open: %w", name, unwrapPath(err))}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKernelFile+1))
	if err != nil {
		return nil, &inputError{[]error{fmt.Errorf("%s: %w", name, unwrapPath(err))}}
	}
	if len(data) > maxKernelFile {
		return nil, &inputError{[]error{fmt.Errorf("%s: larger than %d MiB: not the text of nstat, netstat -s or ss", name, maxKernelFile>>20)}}
	}
	return data, nil
}

// unwrapPath drops the path an *os.PathError repeats: the message names
// the file already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
