package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
)

// analysis runs the analyzer over the inputs of a command: it checks the
// files (a file that cannot be read is left out, and returned for the
// command's error, which names it once), applies the packet filters, shows
// progress on a terminal, and reports the captures' warnings at the end.
// Each file is opened only when the merge reaches its first packet
// (analyze.OpenLater), so a ring of thousands of files keeps one or two
// open.
type analysis struct {
	io     *IOStreams
	in     *inputOptions
	record bool
	// reuse: the renderer writes each flow at once and keeps none
	// (analyze.Options.Reuse).
	reuse bool
	quiet bool
	// recordLimit bounds the packets recorded per flow (analyze.Options);
	// addrs numbers the addresses for pseudonyms; anon renders file
	// names and addresses in messages.
	recordLimit int
	addrs       *analyze.AddrOrder
	anon        *render.Anonymizer
	// keep picks the flows shown (flowFilter: --flow, --port, --host);
	// the others are analysed but not handed out.
	keep func(*analyze.Flow) bool
	// live, when set, is told whether an input is live (a pipe, a FIFO),
	// before the first flow is handed out.
	live *bool
}

// countingFile counts the bytes read from a file, for the progress line.
type countingFile struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingFile) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// run analyses the inputs, handing each finished flow to emit. openErrs
// lists the files that could not be read; err is a failure of the run
// itself (an emit error, a usage error in the filters).
func (a *analysis) run(ctx context.Context, emit func(*analyze.Flow) error) (sum *analyze.Summary, openErrs []error, err error) {
	keep := a.keep
	if keep == nil {
		if keep, err = a.in.flowFilter(nil); err != nil {
			return nil, nil, err
		}
	}
	var read atomic.Int64
	var total int64
	var readers []*analyze.CaptureReader
	var fifos []*os.File
	defer func() {
		for _, f := range fifos {
			f.Close()
		}
	}()
	live := false
	var fileOf []int // fileOf[i]: the position in Files of readers[i]
	given := make(map[string]int, len(a.in.Files))
	for fi, name := range a.in.Files {
		// The same file named twice (a glob and its expansion, say) is
		// read twice and merged as two captures of one point: say so.
		if k := filepath.Clean(name); name != "-" {
			if first, ok := given[k]; ok {
				what := " (" + name + ")"
				if a.anon != nil {
					what = ""
				}
				fmt.Fprintf(a.io.ErrOut, "tcptimeline: notice: files %d and %d are the same file%s: read twice, merged as two captures of one point\n", first+1, fi+1, what)
			} else {
				given[k] = fi
			}
		}
		var r *analyze.CaptureReader
		if name == "-" {
			name := "stdin"
			if a.in.stdinName != "" {
				name = a.in.stdinName
			}
			var in io.Reader = countingFile{a.io.In, &read}
			if f, ok := a.io.In.(*os.File); ok && isLive(f) {
				in, live = newLiveInput(in, quietAfter), true
			}
			r, err = analyze.NewCaptureReader(name, in, len(readers))
		} else if st, serr := os.Stat(name); serr == nil && st.Mode()&os.ModeNamedPipe != 0 {
			// A FIFO is read once, as it comes: live.
			f, oerr := os.Open(name)
			if oerr != nil {
				err = &analyze.FileError{Name: name, Msg: "cannot open", Err: oerr}
			} else {
				fifos = append(fifos, f)
				live = true
				r, err = analyze.NewCaptureReader(name, newLiveInput(countingFile{f, &read}, quietAfter), len(readers))
			}
		} else {
			if st, serr := os.Stat(name); serr == nil && st.Mode().IsRegular() {
				total += st.Size()
			}
			r, err = analyze.OpenLater(name, len(readers), func(f io.Reader) io.Reader { return countingFile{f, &read} })
		}
		if err != nil {
			if a.anon != nil {
				// Main names the file; under --anonymize, by its pseudonym.
				err = errors.New(a.anon.Text(err.Error()))
			}
			openErrs = append(openErrs, err)
			continue
		}
		readers = append(readers, r)
		fileOf = append(fileOf, fi)
	}
	if len(readers) == 0 {
		return nil, openErrs, &inputError{openErrs}
	}
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()

	opts := analyze.Options{Record: a.record, Reuse: a.reuse, RecordLimit: a.recordLimit, Show: keep, Addresses: a.addrs, Live: live}
	if a.live != nil {
		*a.live = live
	}
	if len(a.in.vantages) > 0 {
		// The readers of the files that opened, in order: a file left
		// out takes its vantage with it.
		for _, i := range fileOf {
			opts.Vantages = append(opts.Vantages, a.in.vantages[i])
			opts.VantageNames = append(opts.VantageNames, a.in.vantageNames[i])
		}
	}
	var stopProgress func()
	if a.io.ErrTTY && !a.quiet {
		opts.Progress = new(atomic.Int64)
		stopProgress = a.progress(&read, total, opts.Progress)
	}
	sum, err = analyze.Run(ctx, readers, opts, emit)
	if stopProgress != nil {
		stopProgress()
	}
	if err != nil {
		return nil, openErrs, err
	}
	warnCaptures(a.io, sum, a.anon)
	if a.in.Flow != "" && sum.Flows-sum.Hidden == 0 && !sum.Interrupted {
		return nil, openErrs, usagef("no flow matches --flow %q", a.in.Flow)
	}
	return sum, openErrs, nil
}

// progress shows bytes read of the total and the read rate on stderr,
// refreshed twice a second, until the returned function is called. It
// measures wall time for the person watching; the analysis never does.
func (a *analysis) progress(read *atomic.Int64, total int64, packets *atomic.Int64) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(a.io.ErrOut, "\r\x1b[K")
				}
				return
			case <-tick.C:
				n := read.Load()
				el := time.Since(start).Seconds()
				pps := fmt.Sprintf("%.2f M TCP packets/s", float64(packets.Load())/el/1e6)
				if total > 0 {
					fmt.Fprintf(a.io.ErrOut, "\r\x1b[Kreading: %s of %s (%.0f%%), %s", mib(n), mib(total), 100*float64(n)/float64(total), pps)
				} else {
					fmt.Fprintf(a.io.ErrOut, "\r\x1b[Kreading: %s, %s", mib(n), pps)
				}
				shown = true
			}
		}
	}()
	return func() { close(done); <-finished }
}

func mib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
