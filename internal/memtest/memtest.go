// Package memtest measures the memory a piece of code takes, for tests that bound it: the
// bytes it allocates (runtime/metrics /gc/heap/allocs:bytes, which bounds its peak from above
// and does not depend on when the collector runs) and the live heap it leaves behind.
package memtest

import (
	"runtime"
	"runtime/metrics"
)

// Allocated returns the bytes of heap memory f allocates (by every goroutine while f runs:
// run it alone).
func Allocated(f func()) uint64 {
	before := read("/gc/heap/allocs:bytes")
	f()
	return read("/gc/heap/allocs:bytes") - before
}

// Live returns the bytes of live heap objects after a full collection.
func Live() uint64 {
	runtime.GC()
	return read("/gc/heap/live:bytes")
}

// InUse returns the bytes of live heap objects (after a full collection) plus goroutine
// stacks: what a server holds for its connections.
func InUse() uint64 {
	return Live() + read("/memory/classes/heap/stacks:bytes")
}

func read(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
