package analyze

import (
	"context"
	"os"
	"testing"
)

// benchPipeline runs the whole analysis (read, decode, flow table, state
// machines, listener views) over path, b.N times.
func benchPipeline(b *testing.B, path string, record bool) {
	st, err := os.Stat(path)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(st.Size())
	var segs int64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, err := Open(path, 0)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Run(context.Background(), []*CaptureReader{r}, Options{Record: record}, func(*Flow) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		segs = sum.Segments
		r.Close()
	}
	b.ReportMetric(float64(segs)*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
}

// BenchmarkPipeline runs on the largest committed lab fixture.
func BenchmarkPipeline(b *testing.B) {
	benchPipeline(b, "../testdata/lab/burst-slow-accept/server.pcap", false)
}

// BenchmarkPipelineRecord keeps every packet, as the timeline does.
func BenchmarkPipelineRecord(b *testing.B) {
	benchPipeline(b, "../testdata/lab/burst-slow-accept/server.pcap", true)
}

// BenchmarkPipelineLarge runs on the capture named by
// TCPTIMELINE_BENCH_PCAP (e.g. one made by cmd/capgen).
func BenchmarkPipelineLarge(b *testing.B) {
	path := os.Getenv("TCPTIMELINE_BENCH_PCAP")
	if path == "" {
		b.Skip("set TCPTIMELINE_BENCH_PCAP to a capture")
	}
	benchPipeline(b, path, false)
}
