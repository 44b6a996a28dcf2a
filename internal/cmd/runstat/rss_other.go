//go:build !linux

package main

import (
	"os"
	"time"
)

// maxRSSOf is not measured outside Linux (ru_maxrss units differ by system).
func maxRSSOf(*os.ProcessState) uint64 { return 0 }

// sampleTree is not measured outside Linux: there is no /proc to read.
func sampleTree(int, time.Duration) (stop func() uint64) { return func() uint64 { return 0 } }
