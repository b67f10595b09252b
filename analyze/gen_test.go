package analyze

// Generators of the hostile captures of issue 14, made in memory (or in a
// temporary directory) by the tests that use them: no large file is kept
// in the repository. They are synthetic, hand-made for these edge cases;
// none is a recording. `TCPTIMELINE_HOSTILE_DIR=dir go test ./analyze -run
// TestWriteHostile` writes each one there at full size, to measure the
// command line on them (see the README's Reliability section).

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// frame4 is an Ethernet, IPv4 and TCP frame (no TCP options) carrying
// plen zero bytes of payload, with correct checksums.
func frame4(src, dst [4]byte, sport, dport uint16, flags uint8, seq, ack uint32, plen int) []byte {
	f := make([]byte, 14+20+20+plen)
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(40+plen))
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
	tcp := f[34:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12], tcp[13] = 5<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	pseudo := uint32(6 + 20 + plen)
	for j := 12; j < 20; j += 2 {
		pseudo += uint32(binary.BigEndian.Uint16(ip[j:]))
	}
	binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
	return f
}

// TCP flag bytes.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// genRec is one generated packet.
type genRec struct {
	t     int64 // ns since the epoch
	frame []byte
}

// writePcap writes recs as a classic pcap, microsecond timestamps, in the
// order given.
func writePcap(w io.Writer, recs []genRec) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], magicMicro)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1)
	w.Write(h[:])
	var rh [16]byte
	for _, r := range recs {
		us := r.t / 1000
		binary.LittleEndian.PutUint32(rh[0:], uint32(us/1e6))
		binary.LittleEndian.PutUint32(rh[4:], uint32(us%1e6))
		binary.LittleEndian.PutUint32(rh[8:], uint32(len(r.frame)))
		binary.LittleEndian.PutUint32(rh[12:], uint32(len(r.frame)))
		w.Write(rh[:])
		w.Write(r.frame)
	}
}

// genConns makes n TCP connections from 10.1.0.0/16 to five servers,
// starting at random within span ns after start: most complete a
// handshake, exchange a request and a response and close with FINs; some
// SYNs go unanswered (retransmitted after 1 and 3 s), some connections end
// with a RST, some go idle without closing (so the idle timeout finishes
// them). The records are sorted by time.
func genConns(rng *rand.Rand, n int, start, span int64) []genRec {
	var recs []genRec
	ms := int64(1e6)
	for i := range n {
		c := [4]byte{10, 1, byte(i >> 8), byte(i)}
		s := [4]byte{10, 0, 0, byte(1 + i%5)}
		cp, sp := uint16(20000+rng.IntN(40000)), uint16(80)
		t := start + rng.Int64N(span)
		ci, si := rng.Uint32(), rng.Uint32()
		rtt := (1 + rng.Int64N(20)) * ms
		add := func(at int64, fromClient bool, flags uint8, seq, ack uint32, plen int) {
			if fromClient {
				recs = append(recs, genRec{at, frame4(c, s, cp, sp, flags, seq, ack, plen)})
			} else {
				recs = append(recs, genRec{at, frame4(s, c, sp, cp, flags, seq, ack, plen)})
			}
		}
		add(t, true, fSYN, ci, 0, 0)
		kind := rng.IntN(10)
		if kind == 0 {
			add(t+1000*ms, true, fSYN, ci, 0, 0)
			add(t+3000*ms, true, fSYN, ci, 0, 0)
			continue
		}
		add(t+rtt, false, fSYN|fACK, si, ci+1, 0)
		add(t+rtt+ms/10, true, fACK, ci+1, si+1, 0)
		t += rtt + ms
		add(t, true, fPSH|fACK, ci+1, si+1, 100)
		add(t+rtt, false, fPSH|fACK, si+1, ci+101, 1000)
		add(t+rtt+ms/10, true, fACK, ci+101, si+1001, 0)
		t += rtt + 5*ms
		switch kind {
		case 1:
			add(t, false, fRST|fACK, si+1001, ci+101, 0)
		case 2: // idle: the timeout ends it
		default:
			add(t, true, fFIN|fACK, ci+101, si+1001, 0)
			add(t+rtt, false, fFIN|fACK, si+1001, ci+102, 0)
			add(t+rtt+ms/10, true, fACK, ci+102, si+1002, 0)
		}
	}
	slices.SortStableFunc(recs, func(a, b genRec) int { return int(min(max(a.t-b.t, -1), 1)) })
	return recs
}

// genBackwards is a capture of 3000 connections over 20 minutes whose
// timestamps go backwards often: one record in 20 is written up to 3 s
// early, one in 500 up to 200 s early (within the flow timeouts, so not
// corrupt), and at two thirds of the file the clock steps back 30 minutes
// for good (a clock reset, not a corrupt record).
func genBackwards(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	start := t0.UnixNano()
	recs := genConns(rng, 3000, start, 1200e9)
	for i := range recs {
		switch {
		case rng.IntN(20) == 0:
			recs[i].t -= rng.Int64N(3e9)
		case rng.IntN(500) == 0:
			recs[i].t -= rng.Int64N(200e9)
		}
		if i >= len(recs)*2/3 {
			recs[i].t -= 1800e9
		}
	}
	var b bytes.Buffer
	writePcap(&b, recs)
	return b.Bytes()
}

// ngBlock appends a pcapng block of type typ with body (padded to 4 bytes).
func ngBlock(out []byte, typ uint32, body []byte) []byte {
	pad := (4 - len(body)%4) % 4
	n := uint32(12 + len(body) + pad)
	out = binary.LittleEndian.AppendUint32(out, typ)
	out = binary.LittleEndian.AppendUint32(out, n)
	out = append(out, body...)
	out = append(out, make([]byte, pad)...)
	return binary.LittleEndian.AppendUint32(out, n)
}

// ngOpt appends a pcapng option.
func ngOpt(out []byte, code uint16, val []byte) []byte {
	out = binary.LittleEndian.AppendUint16(out, code)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(val)))
	out = append(out, val...)
	return append(out, make([]byte, (4-len(val)%4)%4)...)
}

// ngSHBBody is a section header's body, version 1.0, length unknown.
func ngSHBBody() []byte {
	b := binary.LittleEndian.AppendUint32(nil, ngBOM)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 0)
	return binary.LittleEndian.AppendUint64(b, ^uint64(0))
}

// ngIDBBody is an Ethernet interface's body with options opts (end of
// options added).
func ngIDBBody(opts []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 1)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = append(b, opts...)
	if len(opts) > 0 {
		b = ngOpt(b, 0, nil)
	}
	return b
}

// appendEPB appends an enhanced packet block of interface id at t (µs).
func appendEPB(out []byte, id uint32, t int64, frame []byte) []byte {
	us := uint64(t / 1000)
	b := binary.LittleEndian.AppendUint32(nil, id)
	b = binary.LittleEndian.AppendUint32(b, uint32(us>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(us))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = append(b, frame...)
	return ngBlock(out, ngEPB, b)
}

// genNRBFlood writes a gzip-compressed pcapng of blocks name resolution
// blocks, each of perBlock IPv4 records with names of nameLen bytes, with
// the packets of 100 connections spread among them.
func genNRBFlood(w io.Writer, blocks, perBlock, nameLen int) {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	out := ngBlock(nil, ngSHB, ngSHBBody())
	out = ngBlock(out, ngIDB, ngIDBBody(nil))
	var nrb []byte
	name := bytes.Repeat([]byte("a"), nameLen)
	for i := range perBlock {
		rec := append([]byte{10, 9, byte(i >> 8), byte(i)}, name...)
		rec = append(rec, 0)
		nrb = ngOpt(nrb, 1, rec) // nrb_record_ipv4
	}
	nrb = ngOpt(nrb, 0, nil)
	recs := genConns(rand.New(rand.NewPCG(1, 2)), 100, t0.UnixNano(), 60e9)
	every := max(blocks/len(recs), 1)
	for i := 0; i < blocks || len(recs) > 0; i++ {
		if i < blocks {
			out = ngBlock(out, 4, nrb)
		}
		if i%every == 0 && len(recs) > 0 {
			out = appendEPB(out, 0, recs[0].t, recs[0].frame)
			recs = recs[1:]
		}
		if len(out) > 1<<20 {
			zw.Write(out)
			out = out[:0]
		}
	}
	zw.Write(out)
	zw.Close()
}

// genInterfaces writes a gzip-compressed pcapng of n Ethernet interfaces,
// each with a 65,000-byte name, a 65,000-byte description and two
// 65,000-byte comments, and the packets of 200 connections spread over
// them.
func genInterfaces(w io.Writer, n int) {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	out := ngBlock(nil, ngSHB, ngSHBBody())
	big := bytes.Repeat([]byte("x"), 65000)
	for i := range n {
		name := append([]byte("if"+strconv.Itoa(i)+"-"), big...)[:65000]
		var opts []byte
		opts = ngOpt(opts, ifName, name)
		opts = ngOpt(opts, 3, big) // if_description
		opts = ngOpt(opts, 1, big) // opt_comment
		opts = ngOpt(opts, 1, big)
		out = ngBlock(out, ngIDB, ngIDBBody(opts))
		if len(out) > 1<<20 {
			zw.Write(out)
			out = out[:0]
		}
	}
	recs := genConns(rand.New(rand.NewPCG(3, 4)), 200, t0.UnixNano(), 60e9)
	for i, r := range recs {
		out = appendEPB(out, uint32(i%n), r.t, r.frame)
	}
	zw.Write(out)
	zw.Close()
}

// genServers is a classic pcap of one SYN to each of n servers, then the
// same again gap ns later: few packets, each listener seen twice, a long
// time apart.
func genServers(n int, gap int64) []byte {
	var recs []genRec
	start := t0.UnixNano()
	for round := range 2 {
		for i := range n {
			s := [4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)}
			t := start + int64(round)*gap + int64(i)*1e5
			recs = append(recs, genRec{t, frame4([4]byte{10, 0, 0, 1}, s, uint16(30000+round), 80, fSYN, uint32(i), 0, 0)})
		}
	}
	var b bytes.Buffer
	writePcap(&b, recs)
	return b.Bytes()
}

// writeRing writes the connections of a capture of files*5 connections
// over files*10 s into that many classic pcap files in dir, one after the
// other in time (a tcpdump -G ring), and returns their names in order.
func writeRing(t testing.TB, dir string, files int) []string {
	t.Helper()
	recs := genConns(rand.New(rand.NewPCG(5, 6)), files*5, t0.UnixNano(), int64(files)*10e9)
	var names []string
	per := (len(recs) + files - 1) / files
	for i := range files {
		name := filepath.Join(dir, "ring.pcap"+strconv.Itoa(i))
		var b bytes.Buffer
		writePcap(&b, recs[min(i*per, len(recs)):min((i+1)*per, len(recs))])
		if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// peakHeap runs f and returns the most live heap memory seen while it
// ran above what was live before it began: the heap marked live by each
// garbage collection, sampled every 2 ms (garbage not yet collected
// depends on the collector's pace, not on what the code keeps). What
// earlier tests of the package left reachable (fixtures loaded once and
// kept) is not f's, so it is subtracted: the figure is the same alone and
// in the whole suite.
func peakHeap(f func()) uint64 {
	runtime.GC()
	base := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(base)
	before := base[0].Value.Uint64()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	metrics.Read(sample)
	close(done)
	wg.Wait()
	peak = max(peak, sample[0].Value.Uint64())
	if peak < before {
		return 0
	}
	return peak - before
}

// TestWriteHostile writes every generated hostile capture at full size to
// $TCPTIMELINE_HOSTILE_DIR, for measuring the command line on them.
func TestWriteHostile(t *testing.T) {
	dir := os.Getenv("TCPTIMELINE_HOSTILE_DIR")
	if dir == "" {
		t.Skip("set TCPTIMELINE_HOSTILE_DIR to a directory to write the hostile captures to")
	}
	write := func(name string, gen func(io.Writer)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		gen(f)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write("nrb-3mb.pcapng.gz", func(w io.Writer) { genNRBFlood(w, 6000, 64, 1000) })
	write("nrb-flood.pcapng.gz", func(w io.Writer) { genNRBFlood(w, 40000, 64, 1000) })
	write("nrb-small-records.pcapng.gz", func(w io.Writer) { genNRBFlood(w, 3000, 4000, 8) })
	write("interfaces.pcapng.gz", func(w io.Writer) { genInterfaces(w, 5000) })
	write("servers-20k.pcap", func(w io.Writer) { w.Write(genServers(20000, 2e6*1e9)) })
	write("servers-60k.pcap", func(w io.Writer) { w.Write(genServers(60000, 2e6*1e9)) })
	write("backwards.pcap", func(w io.Writer) { w.Write(genBackwards(1)) })
	ring := filepath.Join(dir, "ring")
	os.MkdirAll(ring, 0o755)
	writeRing(t, ring, 5000)
}

// BenchmarkHostileServers runs the summary pipeline over one SYN to each
// of 20,000 servers, then the same again 2,000,000 s later (issue 14's
// 2.8 MB capture that took 61 s and 1.6 GB: each listener's per-second
// chart series spans the whole time). Skipped unless
// TCPTIMELINE_SLOW_BENCH is set, until the listener views stop growing
// with the time span.
func BenchmarkHostileServers(b *testing.B) {
	if os.Getenv("TCPTIMELINE_SLOW_BENCH") == "" {
		b.Skip("set TCPTIMELINE_SLOW_BENCH=1: slow until the listener views' series are bounded")
	}
	data := genServers(20000, 2e6*1e9)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := NewCaptureReader("servers.pcap", bytes.NewReader(data), 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(b.Context(), []*CaptureReader{r}, Options{}, func(*Flow) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostileNRBFlood reads a pcapng.gz whose name resolution blocks
// hold 2.5 GB of records (a 19 MB file): the time is gzip's and the
// skipping of the blocks.
func BenchmarkHostileNRBFlood(b *testing.B) {
	var gz bytes.Buffer
	genNRBFlood(&gz, 40000, 64, 1000)
	b.SetBytes(int64(gz.Len()))
	for b.Loop() {
		r, err := NewCaptureReader("nrb.pcapng.gz", bytes.NewReader(gz.Bytes()), 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(b.Context(), []*CaptureReader{r}, Options{}, func(*Flow) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
