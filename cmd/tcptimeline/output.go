package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Writing results. A file given to -o is written to a temporary file
// beside it and renamed over it only once complete, so a failed write
// (a full disk) leaves the old file as it was; each file written is named
// on stderr. A write error on standard output (> /dev/full) exits 2 like
// any output that cannot be written.

// outputError is output that could not be written: exit 2.
type outputError struct {
	name string
	err  error
}

func (e *outputError) Error() string { return fmt.Sprintf("cannot write %s: %v", e.name, e.err) }
func (e *outputError) Unwrap() error { return e.err }

func writeError(name string, err error) error {
	var oe *outputError
	if errors.As(err, &oe) {
		return err
	}
	return &outputError{name: name, err: unwrapPath(err)}
}

// errWriter remembers the first error of the writes through it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// tempWriter lets tests make the writes to a temporary file fail.
var tempWriter = func(f *os.File) io.Writer { return f }

// pendingFile is a file being written beside its target.
type pendingFile struct {
	target string
	f      *os.File
}

// createBeside starts writing target: a temporary file in its directory.
func createBeside(target string) (*pendingFile, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, writeError(target, err)
	}
	return &pendingFile{target: target, f: f}, nil
}

// write writes the file with fn and closes it; on an error it is
// removed.
func (p *pendingFile) write(fn func(io.Writer) error) error {
	bw := bufio.NewWriterSize(tempWriter(p.f), 64<<10)
	err := fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(p.f.Name(), 0o644)
	}
	if err != nil {
		os.Remove(p.f.Name())
		return writeError(p.target, err)
	}
	return nil
}

// commit renames the temporary file over its target.
func (p *pendingFile) commit() error {
	if err := os.Rename(p.f.Name(), p.target); err != nil {
		os.Remove(p.f.Name())
		return writeError(p.target, err)
	}
	return nil
}

func (p *pendingFile) discard() { os.Remove(p.f.Name()) }

// writeFiles writes each named file beside it (write[i] writes names[i]),
// then, once every one is complete, renames them into place in order and
// names each on stderr. If any write fails, none of the targets is
// touched.
func writeFiles(streams *IOStreams, names []string, write []func(io.Writer) error) error {
	var pend []*pendingFile
	defer func() {
		for _, p := range pend {
			if p != nil {
				p.discard()
			}
		}
	}()
	for i, name := range names {
		p, err := createBeside(name)
		if err != nil {
			return err
		}
		if err := p.write(write[i]); err != nil {
			return err
		}
		pend = append(pend, p)
	}
	for i, p := range pend {
		if err := p.commit(); err != nil {
			return err
		}
		pend[i] = nil
		fmt.Fprintf(streams.ErrOut, "tcptimeline: wrote %s\n", p.target)
	}
	return nil
}

// bytesWriter returns a write function for writeFiles that writes data.
func bytesWriter(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// writeStdout writes to standard output with fn; an error exits 2.
func writeStdout(streams *IOStreams, fn func(io.Writer) error) error {
	w := &errWriter{w: streams.Out}
	err := fn(w)
	if w.err != nil {
		err = w.err
	}
	if err != nil {
		return writeError("standard output", err)
	}
	return nil
}
