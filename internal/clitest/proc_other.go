//go:build !linux

package clitest

import (
	"os"
	"time"
)

// maxRSS is not measured outside Linux (ru_maxrss units differ by system).
func maxRSS(*os.ProcessState) uint64 { return 0 }

// cpuTime is not known outside Linux.
func cpuTime(int) (time.Duration, bool) { return 0, false }
