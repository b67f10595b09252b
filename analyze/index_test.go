package analyze

import (
	"math/rand"
	"testing"
)

// The flow index agrees with a map through inserts and removals, also
// when hashes collide in their low bits (long probe runs that wrap around
// the array) and in all 64 bits (told apart by the key).
func TestFlowIndexAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var x flowIndex
	model := map[flowKey]*liveFlow{}
	var keys []flowKey
	hashOf := func(k *flowKey) uint64 {
		// Few distinct hashes, spread over the top and bottom bits only.
		v := uint64(k.pa % 37)
		return v<<60 | (v*0x9e37)&0x3ff | 0x3f0
	}
	for step := 0; step < 60000; step++ {
		if len(keys) == 0 || rng.Intn(3) > 0 && len(keys) < 3000 {
			var k flowKey
			k.pa, k.pb = uint16(rng.Intn(65536)), uint16(rng.Intn(65536))
			k.a[15] = byte(rng.Intn(256))
			if _, ok := model[k]; ok {
				continue
			}
			lf := &liveFlow{key: k, h: hashOf(&k)}
			x.insert(lf.h, lf)
			model[k] = lf
			keys = append(keys, k)
		} else {
			i := rng.Intn(len(keys))
			k := keys[i]
			x.remove(model[k].h, model[k])
			delete(model, k)
			keys[i] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
		}
		if step%997 == 0 {
			for k, lf := range model {
				if got := x.find(lf.h, &k); got != lf {
					t.Fatalf("step %d: find(%v) = %p, want %p", step, k, got, lf)
				}
			}
			missing := flowKey{pa: 1, pb: 2}
			missing.a[0] = 0xff // never generated
			if got := x.find(hashOf(&missing), &missing); got != nil {
				t.Fatalf("step %d: found a key never inserted", step)
			}
			if x.n != len(model) {
				t.Fatalf("step %d: index holds %d flows, want %d", step, x.n, len(model))
			}
		}
	}
}

// The pending store's index agrees with a map through adds and removals
// at up to half load, where linear probing makes long runs.
func TestPendingIndexAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	s := newPendingStore(keyHasher(7))
	model := map[flowKey]*pendingFlow{}
	var keys []flowKey
	seg := syn(0, 1)
	for step := 0; step < 100000; step++ {
		if len(keys) == 0 || rng.Intn(3) > 0 && len(keys) < 5000 {
			var k flowKey
			k.pa, k.pb = uint16(rng.Intn(65536)), uint16(rng.Intn(65536))
			k.a[15] = byte(rng.Intn(256))
			if _, ok := model[k]; ok {
				continue
			}
			s.add(&k, s.hasher.hash(&k), &seg, int64(step))
			model[k] = s.get(&k, s.hasher.hash(&k))
			if model[k] == nil || model[k].key != k {
				t.Fatalf("step %d: flow not found right after add", step)
			}
			keys = append(keys, k)
		} else {
			i := rng.Intn(len(keys))
			k := keys[i]
			s.remove(model[k])
			delete(model, k)
			keys[i] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			if s.get(&k, s.hasher.hash(&k)) != nil {
				t.Fatalf("step %d: removed flow still found", step)
			}
		}
		if step%991 == 0 {
			for k, p := range model {
				if got := s.get(&k, s.hasher.hash(&k)); got != p {
					t.Fatalf("step %d: get(%v) = %p, want %p", step, k, got, p)
				}
			}
			if s.index.n != len(model) || s.len() != len(model) {
				t.Fatalf("step %d: index holds %d, store %d, want %d", step, s.index.n, s.len(), len(model))
			}
		}
	}
}
