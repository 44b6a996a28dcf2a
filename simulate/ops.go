package simulate

import "strings"

// opInfo identifies an API in reports: what a row of the per-operation tables is about.
type opInfo struct {
	Service, Operation, Region, Resource string
	Unfiltered                           bool
}

// label is the row's name: "EC2 DescribeInstances", with the Region, resource and the EC2
// unfiltered variant when they are set.
func (o opInfo) label() string {
	var b strings.Builder
	b.WriteString(o.Service)
	b.WriteByte(' ')
	b.WriteString(o.Operation)
	if o.Unfiltered {
		b.WriteString(" (unfiltered)")
	}
	if o.Resource != "" {
		b.WriteString(" " + o.Resource)
	}
	if o.Region != "" && o.Region != "us-east-1" {
		b.WriteString(" @" + o.Region)
	}
	return b.String()
}

// opRun is one operation's tallies in one group during a run.
type opRun struct {
	c       Counters
	latency Histogram
	series  Series // in the bins of the run's series
}

// opSeries returns the series of call c's group and operation, with bin b (a bin of e.series)
// in it.
func (e *engine) opSeries(c *callState, b int) *Series {
	s := &e.groups[c.group].ops[c.v.op].series
	if s.Width == 0 {
		s.Width = e.series.Width
	}
	for s.Width < e.series.Width {
		s.coarsen()
	}
	if len(s.Attempts) <= b {
		s.bin(int64(b) * int64(s.Width))
	}
	return s
}

// count returns the counters of call c's group and operation.
func (e *engine) count(c *callState) *Counters {
	return &e.groups[c.group].ops[c.v.op].c
}

// capTally is a workload's server capacity over a load window: the most requests the server
// buckets it sends to could have accepted (their burst, their refill over the window, the new
// buckets of S3 partitions split off and the changes of server.capacity steps).
type capTally struct {
	tokens float64
	// onTime counts the calls that succeeded within the window, among calls to APIs with a
	// server limit: the share of capacity is onTime / tokens
	onTime uint64
	// unlimited: some of the workload's calls go to APIs without a server limit (left out of
	// tokens and onTime)
	unlimited bool
}

func (t *capTally) add(o capTally) {
	t.tokens += o.tokens
	t.onTime += o.onTime
	t.unlimited = t.unlimited || o.unlimited
}

// opResult is one operation's results in a run (or summed over runs), in a group or, at the
// strategy's level, over every group.
type opResult struct {
	info    opInfo
	c       Counters
	latency Histogram
	series  Series
	cap     capTally
	alone   *opResult // the same operation run alone (Operation.Alone), if asked for
}

// mergeOp adds o into the list ops (by o.info), returning the list.
func mergeOp(ops []*opResult, o *opResult) []*opResult {
	for _, x := range ops {
		if x.info == o.info {
			x.c.add(&o.c)
			x.latency.Merge(&o.latency)
			x.series.merge(o.series)
			x.cap.add(o.cap)
			if o.alone != nil {
				if x.alone == nil {
					x.alone = &opResult{info: o.info}
				}
				mergeOp([]*opResult{x.alone}, o.alone)
			}
			return ops
		}
	}
	cp := &opResult{info: o.info, c: o.c, latency: o.latency, cap: o.cap}
	cp.series.merge(o.series)
	if o.alone != nil {
		cp.alone = &opResult{info: o.info}
		mergeOp([]*opResult{cp.alone}, o.alone)
	}
	return append(ops, cp)
}
