package flowstate

// Recording under Config.RecordLimit: the first half of the limit is
// kept as it comes, the rest is a ring of the latest packets, put back
// in order when the flow finishes. Packets are addressed by their index
// in the flow (0 for its first), as events and revisions name them.

// recordHalves returns how many packets the head and the tail ring keep;
// 0, 0 without a limit.
func (f *Flow) recordHalves() (head, tail int) {
	if f.cfg.RecordLimit <= 0 {
		return 0, 0
	}
	head = (f.cfg.RecordLimit + 1) / 2
	return head, max(f.cfg.RecordLimit-head, 1)
}

// record keeps packet idx (the flow's newest).
func (f *Flow) record(idx int, p Packet) {
	head, tail := f.recordHalves()
	if tail == 0 || idx < head+tail {
		f.Packets = append(f.Packets, p)
		return
	}
	f.Packets[head+(idx-head)%tail] = p
}

// packet returns the kept packet idx, or nil when it is not kept (not
// recording, or elided).
func (f *Flow) packet(idx int) *Packet {
	if !f.cfg.Record || idx < 0 || idx >= f.NPackets {
		return nil
	}
	head, tail := f.recordHalves()
	switch {
	case tail == 0 || f.NPackets <= head+tail:
		if idx < len(f.Packets) {
			return &f.Packets[idx]
		}
		return nil
	case idx < head:
		return &f.Packets[idx]
	case idx >= f.NPackets-tail:
		return &f.Packets[head+(idx-head)%tail]
	}
	return nil
}

// unrotate puts the tail ring back in packet order when packets were
// elided, and says how many and where.
func (f *Flow) unrotate() {
	head, tail := f.recordHalves()
	if tail == 0 || f.NPackets <= head+tail || !f.cfg.Record {
		return
	}
	ring := f.Packets[head : head+tail]
	oldest := (f.NPackets - tail - head) % tail
	rotated := make([]Packet, 0, tail)
	rotated = append(rotated, ring[oldest:]...)
	rotated = append(rotated, ring[:oldest]...)
	copy(ring, rotated)
	f.Elided, f.ElidedAt = f.NPackets-head-tail, head
}

// PacketIndex returns the index in the flow of kept packet i
// (Packets[i]): i itself unless packets were elided before it.
func (f *Flow) PacketIndex(i int) int {
	if f.Elided > 0 && i >= f.ElidedAt {
		return i + f.Elided
	}
	return i
}
