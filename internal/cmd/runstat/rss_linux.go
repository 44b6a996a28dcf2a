package main

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// maxRSSOf returns the kernel's ru_maxrss of a finished process (kilobytes on Linux): the
// largest resident set of the process or of any descendant it waited for.
func maxRSSOf(ps *os.ProcessState) uint64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 0 {
		return uint64(ru.Maxrss) << 10
	}
	return 0
}

// sampleTree samples, every interval, the summed resident set of root and all its
// descendants, until the returned stop function is called; stop returns the largest sum seen.
func sampleTree(root int, interval time.Duration) (stop func() uint64) {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		end  = make(chan struct{})
	)
	page := uint64(os.Getpagesize())
	go func() {
		defer close(end)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if sum := treeRSS(root, page); sum > 0 {
				mu.Lock()
				peak = max(peak, sum)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-end
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// treeRSS sums the resident set sizes of root and its descendants, read from /proc.
func treeRSS(root int, page uint64) uint64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	rss := map[int]uint64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... ; comm may contain spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		// Fields after comm: state(0) ppid(1) ... rss is field 24 of the line, index 21 here.
		if len(f) < 22 {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		pages, _ := strconv.ParseUint(string(f[21]), 10, 64)
		parent[pid] = ppid
		rss[pid] = pages * page
	}
	var sum uint64
	for pid, r := range rss {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				sum += r
				break
			}
		}
	}
	return sum
}
