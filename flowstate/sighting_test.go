package flowstate

import "testing"

// A packet recorded again at another vantage point is a sighting, not a
// second packet; a retransmission (another IP ID or timestamp, or the same
// vantage again) and a record beyond the window are packets.
func TestSightings(t *testing.T) {
	cli, srv := AddrFrom4([4]byte{10, 0, 0, 2}), AddrFrom4([4]byte{10, 0, 0, 1})
	syn := func(file int32, at int64, ipid uint16, ts uint32) Segment {
		s := Segment{Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, Seq: 100, Flags: SYN, File: file, Time: at, IPID: ipid, Frame: at}
		s.Opt.WScale, s.Opt.HasTS, s.Opt.TSVal = -1, ts != 0, ts
		return s
	}
	for _, c := range []struct {
		name    string
		second  Segment
		sighted bool
	}{
		{"same packet at the other vantage", syn(1, 1e9+5e6, 7, 1000), true},
		{"the same vantage again: a retransmission", syn(0, 1e9+5e6, 7, 1000), false},
		{"another IP ID: a retransmission", syn(1, 1e9+5e6, 8, 1000), false},
		{"another timestamp: a retransmission", syn(1, 1e9+5e6, 7, 2000), false},
		{"beyond the window", syn(1, 1e9+3e9, 7, 1000), false},
		{"no ID nor timestamp, within 150 ms", syn(1, 1e9+100e6, 0, 0), false}, // the first has an ID: they differ
	} {
		first := syn(0, 1e9, 7, 1000)
		f := NewFlow(&first, Config{Record: true, MultiVantage: true})
		f.Process(&first)
		second := c.second
		f.Process(&second)
		if got := f.Sighted() == 1; got != c.sighted || f.NPackets != 2-f.Sighted() {
			t.Errorf("%s: %d sightings, %d packets; want sighted %v", c.name, f.Sighted(), f.NPackets, c.sighted)
		}
		if c.sighted && (len(f.Sightings()) != 1 || f.Sightings()[0].Packet != 0 || f.Sightings()[0].File != 1 || f.EP[Client].SYNs != 1) {
			t.Errorf("%s: sightings %+v, client SYNs %d", c.name, f.Sightings(), f.EP[Client].SYNs)
		}
	}
	// Without an ID or a timestamp, the window is short: 100 ms apart is
	// the same packet, 180 ms (near a retransmission timer) is not.
	for _, c := range []struct {
		dt      int64
		sighted bool
	}{{100e6, true}, {180e6, false}} {
		first := syn(0, 1e9, 0, 0)
		f := NewFlow(&first, Config{MultiVantage: true})
		f.Process(&first)
		second := syn(1, 1e9+c.dt, 0, 0)
		f.Process(&second)
		if got := f.Sighted() == 1; got != c.sighted {
			t.Errorf("bare SYN %d ms later: sighted %v, want %v", c.dt/1e6, got, c.sighted)
		}
	}
}
