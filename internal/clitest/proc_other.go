//go:build !linux

package clitest

import "time"

// peakRSS is not known outside Linux.
func peakRSS(int) (uint64, bool) { return 0, false }

// cpuTime is not known outside Linux.
func cpuTime(int) (time.Duration, bool) { return 0, false }
